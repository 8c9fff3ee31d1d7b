"""The native backend: the constant-time C core (``devicesrp.modexp._core``) behind the Backend API.

Two multiplier kernels share one exponentiation layer: ``portable`` (64-bit limbs, any x86-64 or
other 64-bit CPU) and ``ifma`` (AVX-512 IFMA, 52-bit digits), chosen at load by CPUID + XGETBV
unless ``DEVICESRP_MODEXP_PATH=portable|ifma`` forces one. Secrets cross into C as fixed-length
big-endian bytes (length from the declared size, never from the value) and come back as
``len(N)``-byte strings; the C code releases the GIL while it computes.

Montgomery contexts are cached per modulus and fixed-base tables per (base, modulus): each is
built once per process (again only if a larger exponent size is asked for) under a lock, and is
immutable afterwards, so threads share them.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections import OrderedDict
from types import ModuleType
from typing import Any

from ..errors import BackendError
from ._backend import Backend

PATH_ENV = "DEVICESRP_MODEXP_PATH"
PATHS = ("portable", "ifma")
_MODULUS_CACHE = 32  # distinct moduli kept (the project pins one or two groups)
_TABLE_CACHE = 8  # fixed-base tables kept (bases): each is at most 4 MiB
_MIN_TABLE_BITS = 512
# Fused operations use g's table for secrets up to this size (bits): 256-bit secrets, SHA-256 x
# values and the 1024-bit `a` of the official JavaScript clients.
_G_TABLE_MAX_BITS = 1024


def _nbytes(modulus: int) -> int:
    return (modulus.bit_length() + 7) // 8


def _residue(value: int, modulus: int) -> bytes:
    """value mod N as len(N) bytes; in-range values (every SRP value) skip the reduction."""
    if not 0 <= value < modulus:
        value %= modulus
    return value.to_bytes(_nbytes(modulus), "big")


class NativeFixedBase:
    """A fixed-base table in C; ``pow`` sends the exponent at the table's declared width."""

    __slots__ = ("_exp_len", "_table")

    def __init__(self, table: Any, exp_bits: int) -> None:
        self._table = table
        self._exp_len = (exp_bits + 7) // 8

    def pow(self, exp: int) -> int:
        return int.from_bytes(self._table.pow(exp.to_bytes(self._exp_len, "big")), "big")

    def __repr__(self) -> str:
        return f"NativeFixedBase({self._table.info})"


class NativeBackend:
    """Backend over the C core for one CPU path (``portable`` or ``ifma``)."""

    name = "native"
    constant_time = True

    def __init__(self, core: ModuleType, path: str, *, generic: bool = False) -> None:
        self._core = core
        self.cpu_path = path
        self._generic = generic  # portable path without MULX/ADX even where the CPU has them
        kernel = core.Modulus(b"\x03", path, generic).kernel
        self.detail = f"native C core, {path} Montgomery kernel ({kernel}), GIL released"
        self._lock = threading.Lock()
        self._moduli: OrderedDict[int, Any] = OrderedDict()
        self._tables: OrderedDict[tuple[int, int], Any] = OrderedDict()

    def _modulus(self, modulus: int) -> Any:
        with self._lock:
            ctx = self._moduli.get(modulus)
            if ctx is None:
                n_bytes = modulus.to_bytes(_nbytes(modulus), "big")
                ctx = self._core.Modulus(n_bytes, self.cpu_path, self._generic)
                self._moduli[modulus] = ctx
                if len(self._moduli) > _MODULUS_CACHE:
                    self._moduli.popitem(last=False)
            else:
                self._moduli.move_to_end(modulus)
            return ctx

    def _table(self, base: int, modulus: int, exp_bits: int) -> Any:
        """The C table for (base mod N, N), built at most once per process for a given size.

        One table serves every exponent size up to its own (pow reads only the rows the
        exponent's declared width needs), so a request for more bits replaces it with a larger
        one; at least _MIN_TABLE_BITS are built, enough for every SRP secret of 256 to 512 bits.
        """
        ctx = self._modulus(modulus)
        base_bytes = _residue(base, modulus)
        key = (int.from_bytes(base_bytes, "big"), modulus)
        with self._lock:
            table = self._tables.get(key)
            if table is None or table.info["exp_bits"] < exp_bits:
                table = ctx.fixed_base(base_bytes, max(exp_bits, _MIN_TABLE_BITS))
                self._tables[key] = table
                if len(self._tables) > _TABLE_CACHE:
                    self._tables.popitem(last=False)
            else:
                self._tables.move_to_end(key)
            return table

    def _g_table(self, g: int, modulus: int, secret_len: int) -> Any:
        """g's table when the secret is within _G_TABLE_MAX_BITS, else None (the general ladder)."""
        if 8 * secret_len > _G_TABLE_MAX_BITS:
            return None
        return self._table(g, modulus, 8 * secret_len)

    def powmod_secret(self, base: int, exp: int, modulus: int, exp_bits: int) -> int:
        ctx = self._modulus(modulus)
        out = ctx.powmod_secret(
            _residue(base, modulus), exp.to_bytes((exp_bits + 7) // 8, "big"), exp_bits
        )
        return int.from_bytes(out, "big")

    def powmod_public(self, base: int, exp: int, modulus: int) -> int:
        ctx = self._modulus(modulus)
        exp_bytes = exp.to_bytes((exp.bit_length() + 7) // 8, "big")
        return int.from_bytes(ctx.powmod_public(_residue(base, modulus), exp_bytes), "big")

    def fixed_base(self, base: int, modulus: int, exp_bits: int) -> NativeFixedBase:
        return NativeFixedBase(self._table(base, modulus, exp_bits), exp_bits)

    def srp_verifier(self, g: int, x: bytes, modulus: int) -> bytes:
        """v = g^x mod N."""
        ctx = self._modulus(modulus)
        result: bytes = ctx.g_pow(_residue(g, modulus), x, self._g_table(g, modulus, len(x)))
        return result

    def srp_server_public(self, g: int, k: int, v: bytes, b: bytes, modulus: int) -> int:
        """B = (k*v + g^b) mod N."""
        ctx = self._modulus(modulus)
        table = self._g_table(g, modulus, len(b))
        out = ctx.srp_server_public(_residue(g, modulus), _residue(k, modulus), v, b, table)
        return int.from_bytes(out, "big")

    def srp_client_premaster(
        self, g: int, k: int, x: bytes, a: bytes, u: int, b_pub: int, modulus: int
    ) -> bytes:
        """S = (B - k*g^x)^(a + u*x) mod N; the exponent is formed in C at a fixed width."""
        ctx = self._modulus(modulus)
        u_bytes = u.to_bytes(max(1, (u.bit_length() + 7) // 8), "big")
        table = self._g_table(g, modulus, len(x))
        result: bytes = ctx.srp_client_premaster(
            _residue(g, modulus),
            _residue(k, modulus),
            x,
            a,
            u_bytes,
            u.bit_length(),
            _residue(b_pub, modulus),
            table,
        )
        return result

    def srp_server_premaster(self, a_pub: int, v: bytes, u: int, b: bytes, modulus: int) -> bytes:
        """S = (A * v^u)^b mod N; v^u is constant time in v (public u)."""
        ctx = self._modulus(modulus)
        u_bytes = u.to_bytes((u.bit_length() + 7) // 8, "big")
        result: bytes = ctx.srp_server_premaster(_residue(a_pub, modulus), v, u_bytes, b)
        return result


def _import_core() -> tuple[ModuleType | None, str]:
    try:
        core = importlib.import_module(f"{__package__}._core")
    except ImportError as exc:
        return None, f"native core not built ({exc}); reinstall with a C compiler to get it"
    return core, ""


def _self_test(backend: NativeBackend) -> bool:
    """A few fixed known answers, so a miscompiled kernel is passed over rather than used."""
    modulus = (1 << 127) - 1  # a Mersenne prime: two limbs, three IFMA digits
    cases = ((3, 5, 1019), (7, (1 << 100) + 12345, modulus), (modulus - 2, 65537, modulus))
    for base, exp, mod in cases:
        expected = pow(base, exp, mod)
        if backend.powmod_secret(base, exp, mod, exp.bit_length()) != expected:
            return False
        if backend.powmod_public(base, exp, mod) != expected:
            return False
    return True


def cpu_paths() -> list[str]:
    """The CPU paths this machine can run, best first (empty when the core is not built)."""
    core, _ = _import_core()
    if core is None:
        return []
    return ["ifma", "portable"] if core.cpu_has_ifma() else ["portable"]


def load_path(path: str) -> NativeBackend | None:
    """A backend for one CPU path, or None if the core is not built or the CPU cannot run it."""
    if path not in PATHS:
        raise BackendError(f"unknown native CPU path {path!r}; expected one of {', '.join(PATHS)}")
    core, _ = _import_core()
    if core is None or path not in cpu_paths():
        return None
    backend = NativeBackend(core, path)
    return backend if _self_test(backend) else None


def path_backends() -> dict[str, NativeBackend]:
    """One backend per CPU path this machine runs, keyed ``native/<path>`` (benchmarks, tests)."""
    found: dict[str, NativeBackend] = {}
    for path in cpu_paths():
        backend = load_path(path)
        if backend is not None:
            found[f"native/{path}"] = backend
    return found


def load() -> tuple[Backend | None, str]:
    """The native backend on the best (or the forced) CPU path, else None and the reason."""
    core, why = _import_core()
    if core is None:
        return None, why
    forced = os.environ.get(PATH_ENV, "").strip().lower()
    if forced and forced not in PATHS:
        raise BackendError(f"{PATH_ENV} must be one of {', '.join(PATHS)}")
    paths = cpu_paths()
    if forced and forced not in paths:
        raise BackendError(f"{PATH_ENV}={forced} but this CPU (or OS) cannot run that path")
    path = forced or paths[0]
    backend = NativeBackend(core, path)
    if not _self_test(backend):
        return None, f"native core ({path} path) failed its self-test; not used"
    return backend, ""
