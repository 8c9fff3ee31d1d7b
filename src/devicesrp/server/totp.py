"""TOTP codes: RFC 6238 over RFC 4226 HOTP, HMAC-SHA-1, 6 digits, 30-second steps, ±1 step.

HOTP(K, C) = Truncate(HMAC-SHA-1(K, C as 8 bytes big-endian)) mod 10**6 — RFC 4226 §5.3
TOTP(K, T) = HOTP(K, floor(T / 30))                                     — RFC 6238 §4.2

Pure: the time is an argument. :func:`verify` returns the step it matched so that the caller can
refuse a second use of the same step (a code is good once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

from ..errors import InvalidParameterError

__all__ = ["DIGITS", "STEP_SECONDS", "decode_secret", "encode_secret", "hotp", "totp", "verify"]

DIGITS = 6
STEP_SECONDS = 30
WINDOW = 1
_SECRET_BYTES = (10, 64)


def encode_secret(secret: bytes) -> str:
    """Base32 without padding: the form authenticator apps and Cognito's SecretCode use."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def decode_secret(text: str) -> bytes:
    """Strict base32 (case-insensitive, padding optional) of 10..64 bytes."""
    if not isinstance(text, str) or not 16 <= len(text) <= 104 or not text.isascii():
        raise InvalidParameterError("SecretCode", "must be base32 of 10..64 bytes")
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        raw = base64.b32decode(padded, casefold=False)
    except ValueError:
        raise InvalidParameterError("SecretCode", "not base32") from None
    if not _SECRET_BYTES[0] <= len(raw) <= _SECRET_BYTES[1]:
        raise InvalidParameterError("SecretCode", "must be base32 of 10..64 bytes")
    return raw


def hotp(key: bytes, counter: int) -> str:
    """RFC 4226 §5.3 dynamic truncation, zero-padded to 6 digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def totp(key: bytes, now: float) -> str:
    return hotp(key, int(now // STEP_SECONDS))


def verify(key: bytes, code: str, now: float, last_step: int | None = None) -> int | None:
    """The step ``code`` matches within ±1 step of ``now`` and after ``last_step``, else None.

    Every candidate is compared (no early exit) so the time taken does not say which step matched.
    """
    if not isinstance(code, str) or len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = int(now // STEP_SECONDS)
    found: int | None = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(hotp(key, step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found
