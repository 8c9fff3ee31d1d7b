"""The demo's ``devicesrp serve``: a child process on SQLite in a directory, on a free loopback
port, waited for through ``/health`` and always stopped (terminate, then kill after 15 s)."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import DeviceSrpError

__all__ = ["DemoFailure", "Service", "running_service"]


class DemoFailure(DeviceSrpError):
    """The story did not happen as narrated (the message says which step)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Service:
    """A ``devicesrp serve`` child process of the demo."""

    url: str
    db_url: str
    admin_key: tuple[str, str]
    proc: subprocess.Popen[bytes]
    log_path: Path


@contextlib.contextmanager
def running_service(
    workdir: Path, timeout: float = 60.0, tick: Callable[[], None] | None = None
) -> Iterator[Service]:
    """Start ``devicesrp serve`` on SQLite in ``workdir``; stop it on the way out, always."""
    key = ("AKIDDEVICESRPDEMO", secrets.token_urlsafe(24))
    config = workdir / "devicesrp.toml"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f'[[admin_keys]]\nkey_id = "{key[0]}"\nsecret = "{key[1]}"\n')
    db_url = f"sqlite:///{workdir / 'devicesrp.sqlite3'}"
    log_path = workdir / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVICESRP_KEK")}
    base = [sys.executable, "-m", "devicesrp", "serve", "--host", "127.0.0.1"]
    base += ["--db", db_url, "--config", str(config)]
    for attempt in range(3):
        port = _free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
                [*base, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, log_path, timeout, tick)
            break
        except DemoFailure:
            _stop(proc)
            taken = "address already in use" in log_path.read_text(errors="replace").lower()
            if not taken or attempt == 2:  # another process took the free port: try another
                raise
        except BaseException:  # interrupted while starting: the child never outlives us
            _stop(proc)
            raise
    try:
        yield Service(url, db_url, key, proc, log_path)
    finally:
        _stop(proc)


def _wait_healthy(
    url: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    timeout: float,
    tick: Callable[[], None] | None = None,
) -> None:
    """Poll /health; ``tick`` is called about once a second while waiting (progress)."""
    deadline = time.monotonic() + timeout
    next_tick = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if tick is not None and time.monotonic() >= next_tick:
            tick()
            next_tick += 1.0
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise DemoFailure(f"devicesrp serve exited with {proc.returncode}:\n{tail}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        time.sleep(0.1)
    raise DemoFailure(f"devicesrp serve did not answer /health within {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
