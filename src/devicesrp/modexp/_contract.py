"""Argument checks shared by every backend: the contract of the modexp API."""

from __future__ import annotations

from ..errors import InvalidParameterError, InvalidTypeError

MAX_MODULUS_BITS = 8192
# Fused SRP exponents (a + u*x) may exceed the modulus size; secrets beyond this are not sensible.
MAX_EXP_BITS = 16384


def check_int(field: str, value: object) -> int:
    """Accept a plain int (bool is refused: it is almost always a bug)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(field, "int", value)
    return value


def check_modulus(modulus: object) -> int:
    """Odd modulus, 1 < modulus < 2**8192."""
    m = check_int("modulus", modulus)
    if m <= 1:
        raise InvalidParameterError("modulus", "must be greater than 1")
    if m % 2 == 0:
        raise InvalidParameterError("modulus", "must be odd")
    if m.bit_length() > MAX_MODULUS_BITS:
        raise InvalidParameterError("modulus", f"longer than {MAX_MODULUS_BITS} bits")
    return m


def check_exp_bits(exp_bits: object) -> int:
    bits = check_int("exp_bits", exp_bits)
    if not 1 <= bits <= MAX_EXP_BITS:
        raise InvalidParameterError("exp_bits", f"must be in 1..{MAX_EXP_BITS}")
    return bits


def check_secret_exp(exp: object, exp_bits: int) -> int:
    """0 <= exp < 2**exp_bits; the message never shows the value."""
    e = check_int("exp", exp)
    if e < 0 or e.bit_length() > exp_bits:
        raise InvalidParameterError("exp", f"must be in [0, 2**{exp_bits})")
    return e


def check_public_exp(exp: object) -> int:
    e = check_int("exp", exp)
    if e < 0:
        raise InvalidParameterError("exp", "must not be negative")
    if e.bit_length() > MAX_EXP_BITS:
        raise InvalidParameterError("exp", f"longer than {MAX_EXP_BITS} bits")
    return e


def check_secret_bytes(field: str, value: object, *, exact_len: int | None = None) -> bytes:
    """A secret as big-endian bytes; its length (not its value) declares its size."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidTypeError(field, "bytes", value)
    data = bytes(value)
    if exact_len is not None:
        if len(data) != exact_len:
            raise InvalidParameterError(field, f"must be exactly {exact_len} bytes")
    elif not 1 <= len(data) <= MAX_EXP_BITS // 8:
        raise InvalidParameterError(field, f"must be 1..{MAX_EXP_BITS // 8} bytes")
    return data


def modulus_len(modulus: int) -> int:
    """Byte length of values modulo ``modulus`` (the fixed width of secrets that leave the API)."""
    return (modulus.bit_length() + 7) // 8


def check_public_residue(field: str, value: object, modulus: int) -> int:
    """A public group element, validated upstream by the protocol; here only 0 <= value < N."""
    v = check_int(field, value)
    if not 0 <= v < modulus:
        raise InvalidParameterError(field, "must be in [0, modulus)")
    return v
