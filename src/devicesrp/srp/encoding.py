"""Encodings of the Cognito SRP profile: PAD, hexHash, and strict parsers for peer-sent text.

``PAD(i)`` is Java's ``BigInteger.toByteArray()`` in hex, as every Cognito client computes it
(amazon-cognito-identity-js ``padHex``): the minimal two's-complement big-endian form. It is not
fixed-width padding to len(N). The parsers accept exactly one spelling family and cap the length
before looking at the content, so hostile input costs O(cap).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from ..errors import InvalidParameterError, InvalidTypeError

__all__ = [
    "fixed_bytes",
    "hex_hash",
    "pad_bytes",
    "pad_hex",
    "parse_base64",
    "parse_hex",
    "to_hex",
]

_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")


def _check_int(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(field, "int", value)
    return value


def _check_str(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(field, "str", value)
    return value


def pad_hex(value: int) -> str:
    """PAD(i) = hex(BigInteger(i).toByteArray()) for i >= 0, lowercase — amazon-cognito-identity-js.

    Minimal hex; a leading ``0`` if its length is odd; then ``00`` if the first nibble is 8..f.
    ``PAD(0) == "00"``. A negative value is an ``InvalidParameterError`` (it never occurs in SRP).
    """
    i = _check_int("value", value)
    if i < 0:
        raise InvalidParameterError("value", "must not be negative")
    text = format(i, "x")
    if len(text) % 2:
        text = "0" + text
    if text[0] in "89abcdef":
        text = "00" + text
    return text


def pad_bytes(value: int) -> bytes:
    """bytes(PAD(i)): the minimal two's-complement big-endian bytes of i >= 0."""
    i = _check_int("value", value)
    if i < 0:
        raise InvalidParameterError("value", "must not be negative")
    # bit_length // 8 + 1 bytes always leave room for a clear sign bit.
    return i.to_bytes(i.bit_length() // 8 + 1, "big")


def to_hex(value: int) -> str:
    """Minimal lowercase hex of i >= 0, the wire form of SRP_A and SRP_B (``0`` for zero)."""
    i = _check_int("value", value)
    if i < 0:
        raise InvalidParameterError("value", "must not be negative")
    return format(i, "x")


def fixed_bytes(field: str, value: int, length: int) -> bytes:
    """i as exactly ``length`` big-endian bytes (0 <= i < 256**length)."""
    i = _check_int(field, value)
    if not 0 <= i < 1 << (8 * length):
        raise InvalidParameterError(field, f"does not fit in {length} bytes")
    return i.to_bytes(length, "big")


def hex_hash(hex_text: str, hash_name: str = "sha256") -> str:
    """hexHash(h) = hex(H(bytes spelled by h)) — amazon-cognito-identity-js ``hexHash``.

    ``hex_text`` must have even length (PAD values always do).
    """
    text = _check_str("hex_text", hex_text)
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise InvalidParameterError("hex_text", "not an even-length hex string") from None
    if len(data) * 2 != len(text):  # fromhex skips whitespace between bytes
        raise InvalidParameterError("hex_text", "not an even-length hex string")
    try:
        return hashlib.new(hash_name, data).hexdigest()
    except (TypeError, ValueError):
        raise InvalidParameterError("hash_name", "unknown hash") from None


def parse_hex(field: str, text: object, max_len: int) -> int:
    """A non-negative integer from strict hex: ASCII ``[0-9a-fA-F]``, 1..max_len characters.

    No sign, no ``0x``, no whitespace or underscores, no non-ASCII digits (all of which Python's
    ``int(text, 16)`` would accept). Leading zeros are allowed (PAD forms start with ``00``).
    The error names ``field`` and never echoes the text.
    """
    s = _check_str(field, text)
    if not s:
        raise InvalidParameterError(field, "empty")
    if len(s) > max_len:
        raise InvalidParameterError(field, f"longer than {max_len} hex digits")
    if _HEX_DIGITS.fullmatch(s) is None:
        raise InvalidParameterError(field, "not a hex string (digits 0-9, a-f, A-F only)")
    return int(s, 16)


def parse_base64(field: str, text: object, max_bytes: int, *, allow_empty: bool = False) -> bytes:
    """Bytes from strict, canonical standard base64 (RFC 4648 §4, with ``=`` padding).

    Rejects other alphabets, whitespace, missing or extra padding and non-zero unused bits (so
    each byte string has exactly one accepted spelling); the length is capped before decoding.
    """
    s = _check_str(field, text)
    if not s and not allow_empty:
        raise InvalidParameterError(field, "empty")
    max_chars = 4 * ((max_bytes + 2) // 3)
    if len(s) > max_chars:
        raise InvalidParameterError(field, f"longer than {max_bytes} bytes")
    if not s.isascii():
        raise InvalidParameterError(field, "not base64")
    try:
        data = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterError(field, "not base64") from None
    if base64.b64encode(data).decode("ascii") != s:
        raise InvalidParameterError(field, "not canonical base64")
    if len(data) > max_bytes:
        raise InvalidParameterError(field, f"longer than {max_bytes} bytes")
    return data
