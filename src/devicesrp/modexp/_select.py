"""Choose the backend once, at import: native core, then gmpy2, then built-in pow.

``DEVICESRP_MODEXP_BACKEND=native|gmpy2|python`` forces one (an unavailable forced backend is an
error, never a silent fallback).
"""

from __future__ import annotations

import importlib
import importlib.util
import os

from ..errors import BackendError
from ._backend import Backend
from ._pyint import PythonBackend, load_gmpy2

BACKEND_ENV = "DEVICESRP_MODEXP_BACKEND"
ORDER = ("native", "gmpy2", "python")


def _load_native() -> tuple[Backend | None, str]:
    if importlib.util.find_spec(f"{__package__}._native_backend") is None:
        return None, "native core not present in this build"
    native = importlib.import_module(f"{__package__}._native_backend")
    loaded: tuple[Backend | None, str] = native.load()
    return loaded


def available_backends() -> dict[str, Backend]:
    """Every backend that loads on this machine, by name (tests run the differential on each).

    The native core appears once per CPU path it can run here (``native/ifma``,
    ``native/portable``), so one test run checks every path.
    """
    found: dict[str, Backend] = {}
    if importlib.util.find_spec(f"{__package__}._native_backend") is not None:
        native = importlib.import_module(f"{__package__}._native_backend")
        paths: dict[str, Backend] = native.path_backends()
        found.update(paths)
    gmp = load_gmpy2()
    if gmp is not None:
        found["gmpy2"] = gmp
    found["python"] = PythonBackend()
    return found


def select_backend() -> tuple[Backend, list[str]]:
    """The backend to use and the reasons any better one was passed over."""
    notes: list[str] = []
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced and forced not in ORDER:
        raise BackendError(f"{BACKEND_ENV} must be one of {', '.join(ORDER)}")
    native, why = _load_native()
    if native is None:
        notes.append(why)
    gmp = load_gmpy2()
    if gmp is None:
        notes.append("gmpy2 not installed")
    candidates: dict[str, Backend | None] = {
        "native": native,
        "gmpy2": gmp,
        "python": PythonBackend(),
    }
    if forced:
        chosen = candidates[forced]
        if chosen is None:
            raise BackendError(f"{BACKEND_ENV}={forced} but that backend is unavailable")
        return chosen, notes
    for name in ORDER:
        backend = candidates[name]
        if backend is not None:
            return backend, notes
    raise AssertionError("unreachable: the python backend always loads")
