"""PAD, hexHash and the strict hex / base64 parsers: properties and hostile inputs."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devicesrp.errors import InvalidParameterError, InvalidTypeError
from devicesrp.srp.encoding import (
    fixed_bytes,
    hex_hash,
    pad_bytes,
    pad_hex,
    parse_base64,
    parse_hex,
    to_hex,
)

BIG = st.integers(min_value=0, max_value=1 << 8200)


# --- PAD -----------------------------------------------------------------------------------------


def java_to_byte_array(value: int) -> bytes:
    """Java BigInteger.toByteArray() by its definition: the shortest two's complement."""
    length = 1
    while not -(1 << (8 * length - 1)) <= value < 1 << (8 * length - 1):
        length += 1
    return value.to_bytes(length, "big", signed=True)


@given(BIG)
def test_pad_is_java_to_byte_array(value: int) -> None:
    assert bytes.fromhex(pad_hex(value)) == java_to_byte_array(value)
    assert pad_bytes(value) == java_to_byte_array(value)


@given(BIG)
def test_pad_round_trips_and_is_canonical(value: int) -> None:
    text = pad_hex(value)
    assert text == text.lower() and len(text) % 2 == 0
    assert parse_hex("v", text, len(text)) == value
    assert int(text[:2], 16) < 0x80  # never looks negative
    if value:  # minimal: a 00 prefix only when the next nibble would read as a sign bit
        assert not (text.startswith("00") and text[2] in "01234567")


@pytest.mark.parametrize("value", [-1, -(1 << 3072)])
def test_pad_rejects_negative(value: int) -> None:
    for fn in (pad_hex, pad_bytes, to_hex):
        with pytest.raises(InvalidParameterError):
            fn(value)


@pytest.mark.parametrize("value", [True, 1.0, "1", b"\x01", None])
def test_pad_rejects_non_int(value: object) -> None:
    with pytest.raises(InvalidTypeError):
        pad_hex(value)  # type: ignore[arg-type]


@given(BIG)
def test_to_hex_is_minimal(value: int) -> None:
    text = to_hex(value)
    assert int(text, 16) == value and (text == "0" or not text.startswith("0"))


@given(st.integers(min_value=0, max_value=(1 << 256) - 1))
def test_fixed_bytes(value: int) -> None:
    assert fixed_bytes("u", value, 32) == value.to_bytes(32, "big")
    with pytest.raises(InvalidParameterError):
        fixed_bytes("u", value + (1 << 256), 32)


@given(st.binary(max_size=600))
def test_hex_hash_hashes_the_bytes(data: bytes) -> None:
    assert hex_hash(data.hex()) == hashlib.sha256(data).hexdigest()
    assert hex_hash(data.hex().upper()) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("text", ["0", "abc", "0g", "00 11", "０１"])
def test_hex_hash_rejects_non_hex(text: str) -> None:
    with pytest.raises(InvalidParameterError):
        hex_hash(text)


# --- strict hex ----------------------------------------------------------------------------------


@given(BIG, st.booleans(), st.integers(min_value=0, max_value=3))
def test_parse_hex_accepts_every_plain_spelling(value: int, upper: bool, zeros: int) -> None:
    text = "0" * zeros + format(value, "X" if upper else "x")
    assert parse_hex("SRP_A", text, len(text)) == value


HOSTILE_HEX = [
    "",
    "-1",
    "+1",
    "0x1",
    "0X1",
    " 1",
    "1 ",
    "1\n",
    "\t1",
    "1_0",
    "１",  # fullwidth digit: int(x, 16) would accept it
    "١٢",  # Arabic-Indic digits
    "g",
    "1.0",
    "0o17",
    "1,0",
    "ab\x00",
    "é",
]


@pytest.mark.parametrize("text", HOSTILE_HEX)
def test_parse_hex_rejects_non_canonical(text: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_hex("SRP_A", text, 770)
    assert info.value.field == "SRP_A"
    assert len(text.strip()) < 3 or text.strip() not in str(info.value)  # never echoed


@given(st.text(max_size=40))
def test_parse_hex_accepts_exactly_ascii_hex(text: str) -> None:
    ok = text != "" and all(c in "0123456789abcdefABCDEF" for c in text)
    if ok:
        assert parse_hex("f", text, 40) == int(text, 16)
    else:
        with pytest.raises(InvalidParameterError):
            parse_hex("f", text, 40)


def test_parse_hex_caps_length_before_content() -> None:
    assert parse_hex("SRP_A", "f" * 770, 770) == int("f" * 770, 16)
    for text in ("f" * 771, "z" * 10**6, "1" * 10**6):
        with pytest.raises(InvalidParameterError, match="longer than 770"):
            parse_hex("SRP_A", text, 770)


@pytest.mark.parametrize("value", [None, 1, b"ab", ["a"]])
def test_parse_hex_rejects_non_str(value: object) -> None:
    with pytest.raises(InvalidTypeError):
        parse_hex("SRP_A", value, 770)


# --- strict base64 ------------------------------------------------------------------------------


@given(st.binary(min_size=1, max_size=300))
def test_parse_base64_round_trip(data: bytes) -> None:
    assert parse_base64("SECRET_BLOCK", base64.b64encode(data).decode(), 300) == data


@given(st.binary(min_size=1, max_size=64))
def test_parse_base64_rejects_every_other_spelling(data: bytes) -> None:
    canonical = base64.b64encode(data).decode()
    variants = {
        canonical.rstrip("="),  # missing padding
        canonical + "=",  # extra padding
        " " + canonical,
        canonical + "\n",
        base64.urlsafe_b64encode(data).decode(),  # other alphabet
        canonical[:-1] + "\x00",
    }
    variants.discard(canonical)
    for text in variants:
        with pytest.raises(InvalidParameterError):
            parse_base64("SECRET_BLOCK", text, 64)


def test_parse_base64_rejects_nonzero_unused_bits() -> None:
    assert parse_base64("f", "AA==", 4) == b"\x00"
    for text in ("AB==", "AAB=", "QQ==x"):
        with pytest.raises(InvalidParameterError):
            parse_base64("f", text, 4)


def test_parse_base64_caps_and_empty() -> None:
    with pytest.raises(InvalidParameterError, match="longer than 3 bytes"):
        parse_base64("f", base64.b64encode(b"abcd").decode(), 3)
    with pytest.raises(InvalidParameterError, match="longer than"):
        parse_base64("f", "A" * 10**6, 1000)
    with pytest.raises(InvalidParameterError, match="empty"):
        parse_base64("f", "", 10)
    assert parse_base64("f", "", 10, allow_empty=True) == b""
    with pytest.raises(InvalidParameterError):
        parse_base64("f", "QUFB\u00e9", 10)
    with pytest.raises(InvalidTypeError):
        parse_base64("f", b"QUFB", 10)


def test_hex_hash_other_hashes() -> None:
    assert hex_hash("00", "sha1") == hashlib.sha1(b"\x00").hexdigest()
    for bad in ("nohash", "shake_128"):
        with pytest.raises(InvalidParameterError):
            hex_hash("00", bad)
