"""OpenSSL's BN_mod_exp_mont and BN_mod_exp_mont_consttime through ctypes: a measuring stick.

Benchmarks only, never a runtime dependency. Loaded by SONAME; one BN_CTX and one BN_MONT_CTX per
modulus; operands converted from and to Python ints on every call, as devicesrp's API does.
"""

from __future__ import annotations

import ctypes
from typing import Any

_lib: Any = None


def load() -> Any:
    """The libcrypto handle with prototypes set, or raise OSError."""
    global _lib
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL("libcrypto.so.3")
    vp, ip = ctypes.c_void_p, ctypes.c_int
    protos = {
        "BN_new": (vp, []),
        "BN_free": (None, [vp]),
        "BN_clear_free": (None, [vp]),
        "BN_bin2bn": (vp, [ctypes.c_char_p, ip, vp]),
        "BN_bn2binpad": (ip, [vp, ctypes.c_char_p, ip]),
        "BN_CTX_new": (vp, []),
        "BN_CTX_free": (None, [vp]),
        "BN_MONT_CTX_new": (vp, []),
        "BN_MONT_CTX_free": (None, [vp]),
        "BN_MONT_CTX_set": (ip, [vp, vp, vp]),
        "BN_mod_exp_mont": (ip, [vp, vp, vp, vp, vp, vp]),
        "BN_mod_exp_mont_consttime": (ip, [vp, vp, vp, vp, vp, vp]),
        "OpenSSL_version": (ctypes.c_char_p, [ip]),
    }
    for name, (res, args) in protos.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _lib = lib
    return lib


def version() -> str:
    return str(load().OpenSSL_version(0).decode())


class OpenSSLModexp:
    """Modular exponentiation by OpenSSL for one odd modulus."""

    def __init__(self, modulus: int) -> None:
        self._lib = lib = load()
        self._len = (modulus.bit_length() + 7) // 8
        self._ctx = lib.BN_CTX_new()
        self._m = self._bn(modulus)
        self._mont = lib.BN_MONT_CTX_new()
        if not lib.BN_MONT_CTX_set(self._mont, self._m, self._ctx):
            raise OSError("BN_MONT_CTX_set failed")
        self._modulus = modulus

    def _bn(self, value: int) -> Any:
        data = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
        return self._lib.BN_bin2bn(data, len(data), None)

    def _run(self, fn: Any, base: int, exp: int) -> int:
        lib = self._lib
        b, e, r = self._bn(base % self._modulus), self._bn(exp), lib.BN_new()
        try:
            if not fn(r, b, e, self._m, self._ctx, self._mont):
                raise OSError("BN_mod_exp failed")
            out = ctypes.create_string_buffer(self._len)
            lib.BN_bn2binpad(r, out, self._len)
            return int.from_bytes(out.raw, "big")
        finally:
            lib.BN_clear_free(b)
            lib.BN_clear_free(e)
            lib.BN_clear_free(r)

    def mont(self, base: int, exp: int) -> int:
        """BN_mod_exp_mont: OpenSSL's variable-time path."""
        return self._run(self._lib.BN_mod_exp_mont, base, exp)

    def consttime(self, base: int, exp: int) -> int:
        """BN_mod_exp_mont_consttime: OpenSSL's constant-time path (the reference)."""
        return self._run(self._lib.BN_mod_exp_mont_consttime, base, exp)

    def __del__(self) -> None:
        lib = getattr(self, "_lib", None)
        if lib is not None:
            lib.BN_MONT_CTX_free(self._mont)
            lib.BN_free(self._m)
            lib.BN_CTX_free(self._ctx)
