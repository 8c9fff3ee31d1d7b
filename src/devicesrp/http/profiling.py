"""CPU accounting for the service benchmark, off unless ``DEVICESRP_PROFILE_DIR`` is set.

Each worker keeps exclusive CPU time (``time.thread_time``; a nested category's time is taken out
of its parent's) for: ``engine`` (the SRP server engine), ``jwt`` (signing and verifying tokens),
``sql`` (each statement through the database driver, and the BEGIN and COMMIT of each unit of
work), ``storage`` (the rest of every store call: row decoding, record checks, units) and
``handler`` (the rest of the operations). Once ready it creates ``<dir>/<pid>.ready``; on SIGUSR1
it writes the totals to ``<dir>/<pid>.json``. The benchmark reads them with the process's own
utime+stime, whose remainder is the HTTP stack (uvicorn, Starlette, parsing, logging).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from ..protocol import ServerEngine
from ..server.tokens import TokenIssuer
from ..store._base import Tx
from .app import Service

PROFILE_ENV = "DEVICESRP_PROFILE_DIR"
F = TypeVar("F", bound=Callable[..., Any])


class Ledger:
    """Exclusive CPU seconds and call counts per category, for this process."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._local = threading.local()
        self._lock = threading.Lock()

    def wrap(self, category: str, fn: F) -> F:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack: list[float] = self._local.__dict__.setdefault("stack", [])
            stack.append(0.0)
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.thread_time() - start
                own = elapsed - stack.pop()
                if stack:
                    stack[-1] += elapsed
                with self._lock:
                    self.totals[category] = self.totals.get(category, 0.0) + own
                    self.calls[category] = self.calls.get(category, 0) + 1

        return timed  # type: ignore[return-value]

    def wrap_context(self, category: str, factory: Callable[..., Any]) -> Callable[..., Any]:
        """Time a context manager's entry and exit (a unit's BEGIN and COMMIT), not its body."""

        @functools.wraps(factory)
        @contextmanager
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            cm = self.wrap(category, factory)(*args, **kwargs)
            value = self.wrap(category, cm.__enter__)()
            try:
                yield value
            except BaseException as exc:
                if not self.wrap(category, cm.__exit__)(type(exc), exc, exc.__traceback__):
                    raise
            else:
                self.wrap(category, cm.__exit__)(None, None, None)

        return timed

    def dump(self, directory: Path) -> None:
        with self._lock:
            doc = {"pid": os.getpid(), "cpu": dict(self.totals), "calls": dict(self.calls)}
        tmp = directory / f".{os.getpid()}.tmp"
        tmp.write_text(json.dumps(doc))
        tmp.replace(directory / f"{os.getpid()}.json")


def install(service: Service, store: Any) -> None:
    """Instrument this process when ``DEVICESRP_PROFILE_DIR`` is set (benchmarks only)."""
    directory = os.environ.get(PROFILE_ENV)
    if not directory:
        return
    ledger = Ledger()
    for name in ("begin", "finish"):
        setattr(ServerEngine, name, ledger.wrap("engine", getattr(ServerEngine, name)))
    for name in ("__init__", "_sign", "verify_access"):  # __init__ loads the signing keys
        setattr(TokenIssuer, name, ledger.wrap("jwt", getattr(TokenIssuer, name)))
    Tx.run = ledger.wrap("sql", Tx.run)  # type: ignore[method-assign]
    for name in dir(store):
        attr = getattr(store, name)
        # run_unit runs a whole operation: only the unit's BEGIN/COMMIT (transaction) is timed
        if name == "transaction":
            setattr(store, name, ledger.wrap_context("sql", attr))
        elif not name.startswith("_") and callable(attr) and name != "run_unit":
            setattr(store, name, ledger.wrap("storage", attr))
    service.operations = {
        name: replace(op, handler=ledger.wrap("handler", op.handler))
        for name, op in service.operations.items()
    }
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGUSR1, lambda *_: ledger.dump(path))
    # only now may the benchmark signal this process (SIGUSR1's default action is to exit)
    (path / f"{os.getpid()}.ready").touch()
