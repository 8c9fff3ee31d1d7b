"""Backends on Python integers: built-in ``pow`` and gmpy2.

Neither is constant time in the sense the project needs (values cross Python ints, and
``mpz_powm_sec`` hides only the exponent's bits, for same-size operands), so both report
``constant_time = False``; the API then refuses secret work on them unless the user opts in.
The fused SRP operations are written once here, over the backend's ``powmod_secret``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _to_bytes(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


@dataclass(frozen=True)
class _PlainFixedBase:
    backend: _IntBackend
    base: int
    modulus: int
    exp_bits: int

    def pow(self, exp: int) -> int:
        return self.backend.powmod_secret(self.base, exp, self.modulus, self.exp_bits)


class _IntBackend:
    name = "abstract"
    cpu_path = "python-int"
    constant_time = False
    detail = ""

    def powmod_secret(self, base: int, exp: int, modulus: int, exp_bits: int) -> int:
        raise NotImplementedError

    def powmod_public(self, base: int, exp: int, modulus: int) -> int:
        raise NotImplementedError

    def fixed_base(self, base: int, modulus: int, exp_bits: int) -> _PlainFixedBase:
        return _PlainFixedBase(self, base % modulus, modulus, exp_bits)

    def srp_verifier(self, g: int, x: bytes, modulus: int) -> bytes:
        """v = g^x mod N."""
        n_len = (modulus.bit_length() + 7) // 8
        v = self.powmod_secret(g, int.from_bytes(x, "big"), modulus, 8 * len(x))
        return _to_bytes(v, n_len)

    def srp_server_public(self, g: int, k: int, v: bytes, b: bytes, modulus: int) -> int:
        """B = (k*v + g^b) mod N."""
        gb = self.powmod_secret(g, int.from_bytes(b, "big"), modulus, 8 * len(b))
        return (k * int.from_bytes(v, "big") + gb) % modulus

    def srp_client_premaster(
        self, g: int, k: int, x: bytes, a: bytes, u: int, b_pub: int, modulus: int
    ) -> bytes:
        """S = (B - k*g^x)^(a + u*x) mod N."""
        n_len = (modulus.bit_length() + 7) // 8
        x_int = int.from_bytes(x, "big")
        gx = self.powmod_secret(g, x_int, modulus, 8 * len(x))
        base = (b_pub - k * gx) % modulus
        exp = int.from_bytes(a, "big") + u * x_int
        exp_bits = max(8 * len(a), u.bit_length() + 8 * len(x)) + 1
        return _to_bytes(self.powmod_secret(base, exp, modulus, exp_bits), n_len)

    def srp_server_premaster(self, a_pub: int, v: bytes, u: int, b: bytes, modulus: int) -> bytes:
        """S = (A * v^u)^b mod N."""
        n_len = (modulus.bit_length() + 7) // 8
        vu = self.powmod_public(int.from_bytes(v, "big"), u, modulus)
        base = a_pub * vu % modulus
        s = self.powmod_secret(base, int.from_bytes(b, "big"), modulus, 8 * len(b))
        return _to_bytes(s, n_len)


class PythonBackend(_IntBackend):
    """CPython's built-in ``pow``: always available, slow, variable time."""

    name = "python"
    detail = "built-in pow (variable time)"

    def powmod_secret(self, base: int, exp: int, modulus: int, exp_bits: int) -> int:
        return pow(base % modulus, exp, modulus)

    def powmod_public(self, base: int, exp: int, modulus: int) -> int:
        return pow(base % modulus, exp, modulus)


class Gmpy2Backend(_IntBackend):
    """GMP through gmpy2: ``powmod_sec`` for secret exponents, ``powmod`` for public ones."""

    name = "gmpy2"
    cpu_path = "gmp"

    def __init__(self, gmpy2: Any) -> None:
        self._gmpy2 = gmpy2
        self.detail = (
            f"gmpy2 {gmpy2.version()} / GMP {gmpy2.mp_version()}: powmod_sec hides exponent bits "
            "only for same-size operands (not constant time here)"
        )

    def powmod_secret(self, base: int, exp: int, modulus: int, exp_bits: int) -> int:
        if exp == 0:  # mpz_powm_sec requires a positive exponent
            return 1
        return int(self._gmpy2.powmod_sec(base % modulus, exp, modulus))

    def powmod_public(self, base: int, exp: int, modulus: int) -> int:
        return int(self._gmpy2.powmod(base % modulus, exp, modulus))


def load_gmpy2() -> Gmpy2Backend | None:
    try:
        import gmpy2
    except ImportError:
        return None
    return Gmpy2Backend(gmpy2)
