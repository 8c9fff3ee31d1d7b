"""The arithmetic core: modular exponentiation for SRP, constant time wherever a secret is involved.

Public API (final names; backends change behind it):

- ``powmod_secret(base, exp, modulus, exp_bits)``: ``base^exp mod modulus`` for a secret ``exp`` of
  declared length ``exp_bits``; constant time in the values of ``base`` and ``exp`` on a
  constant-time backend.
- ``powmod_public(base, exp, modulus)``: the fastest path, for public exponents.
- ``FixedBase(base, modulus, exp_bits).pow(exp)``: precomputed tables for a fixed base
  (the generator).
- The fused SRP operations, secrets in and out as fixed-length big-endian bytes:
  ``srp_verifier`` (v = g^x), ``srp_server_public`` (B = k*v + g^b),
  ``srp_client_premaster`` (S = (B - k*g^x)^(a + u*x)), ``srp_server_premaster`` (S = (A*v^u)^b).
- ``backend_info()``: which backend and CPU path is in use and whether it is constant time.

Contract: odd modulus, 1 < modulus < 2**8192; ``0 <= exp < 2**exp_bits``; a base may be negative or
``>= modulus`` (it is reduced first). Anything else raises ``InvalidParameterError``
(a ``ValueError``) or ``InvalidTypeError`` (a ``TypeError``).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import VariableTimeBackendError
from . import _contract as c
from ._backend import Backend, FixedBaseTable
from ._select import available_backends, select_backend

__all__ = [
    "FixedBase",
    "available_backends",
    "backend_info",
    "powmod_public",
    "powmod_secret",
    "srp_client_premaster",
    "srp_server_premaster",
    "srp_server_public",
    "srp_verifier",
]

ALLOW_ENV = "DEVICESRP_ALLOW_VARIABLE_TIME"

_backend, _notes = select_backend()


def _secret_backend() -> Backend:
    """The backend for secret work; refuses a variable-time one unless the user opted in."""
    if not _backend.constant_time and os.environ.get(ALLOW_ENV) != "1":
        raise VariableTimeBackendError(
            f"the {_backend.name} backend is not constant time; secret operations are refused "
            f"(set {ALLOW_ENV}=1 to accept variable-time arithmetic)"
        )
    return _backend


def backend_info() -> dict[str, Any]:
    """``backend``, ``cpu_path``, ``constant_time`` and notes on any backend passed over."""
    return {
        "backend": _backend.name,
        "cpu_path": _backend.cpu_path,
        "constant_time": _backend.constant_time,
        "detail": _backend.detail,
        "fallback_notes": list(_notes),
        "variable_time_allowed": os.environ.get(ALLOW_ENV) == "1",
    }


def powmod_secret(base: int, exp: int, modulus: int, exp_bits: int) -> int:
    """base^exp mod modulus, exp secret and < 2**exp_bits; the work depends only on exp_bits."""
    m = c.check_modulus(modulus)
    bits = c.check_exp_bits(exp_bits)
    e = c.check_secret_exp(exp, bits)
    b = c.check_int("base", base)
    return _secret_backend().powmod_secret(b, e, m, bits)


def powmod_public(base: int, exp: int, modulus: int) -> int:
    """base^exp mod modulus for a public exp (variable time)."""
    m = c.check_modulus(modulus)
    e = c.check_public_exp(exp)
    b = c.check_int("base", base)
    return _backend.powmod_public(b, e, m)


class FixedBase:
    """Precomputed powers of a fixed ``base`` mod ``modulus``, for secret exps < 2**exp_bits."""

    __slots__ = ("_table", "exp_bits", "modulus")

    def __init__(self, base: int, modulus: int, exp_bits: int) -> None:
        self.modulus = c.check_modulus(modulus)
        self.exp_bits = c.check_exp_bits(exp_bits)
        b = c.check_int("base", base)
        self._table: FixedBaseTable = _secret_backend().fixed_base(b, self.modulus, self.exp_bits)

    def pow(self, exp: int) -> int:
        """base^exp mod modulus, constant time in exp on a constant-time backend."""
        e = c.check_secret_exp(exp, self.exp_bits)
        _secret_backend()
        return self._table.pow(e)

    def __repr__(self) -> str:
        return f"FixedBase(modulus_bits={self.modulus.bit_length()}, exp_bits={self.exp_bits})"


def srp_verifier(g: int, x: bytes, modulus: int) -> bytes:
    """v = g^x mod N; x secret bytes (its length declares its size); v as len(N) bytes."""
    m = c.check_modulus(modulus)
    gg = c.check_public_residue("g", g, m)
    xb = c.check_secret_bytes("x", x)
    return _secret_backend().srp_verifier(gg, xb, m)


def srp_server_public(g: int, k: int, v: bytes, b: bytes, modulus: int) -> int:
    """B = (k*v + g^b) mod N — RFC 5054 §2.5.3; v and b secret bytes, B public."""
    m = c.check_modulus(modulus)
    gg = c.check_public_residue("g", g, m)
    kk = c.check_public_residue("k", k, m)
    vb = c.check_secret_bytes("v", v, exact_len=c.modulus_len(m))
    bb = c.check_secret_bytes("b", b)
    return _secret_backend().srp_server_public(gg, kk, vb, bb, m)


def srp_client_premaster(
    g: int, k: int, x: bytes, a: bytes, u: int, b_pub: int, modulus: int
) -> bytes:
    """S = (B - k*g^x)^(a + u*x) mod N — RFC 5054 §2.6; x, a secret bytes; S as len(N) bytes.

    The caller has already checked B (1 < B < N-1) and u != 0; here only the ranges.
    """
    m = c.check_modulus(modulus)
    gg = c.check_public_residue("g", g, m)
    kk = c.check_public_residue("k", k, m)
    xb = c.check_secret_bytes("x", x)
    ab = c.check_secret_bytes("a", a)
    uu = c.check_public_exp(u)
    bp = c.check_public_residue("B", b_pub, m)
    return _secret_backend().srp_client_premaster(gg, kk, xb, ab, uu, bp, m)


def srp_server_premaster(a_pub: int, v: bytes, u: int, b: bytes, modulus: int) -> bytes:
    """S = (A * v^u)^b mod N — RFC 5054 §2.6; v, b secret bytes; S as len(N) bytes.

    v^u has a public exponent but a secret base: constant time in v on a constant-time backend.
    """
    m = c.check_modulus(modulus)
    ap = c.check_public_residue("A", a_pub, m)
    vb = c.check_secret_bytes("v", v, exact_len=c.modulus_len(m))
    uu = c.check_public_exp(u)
    bb = c.check_secret_bytes("b", b)
    return _secret_backend().srp_server_premaster(ap, vb, uu, bb, m)
