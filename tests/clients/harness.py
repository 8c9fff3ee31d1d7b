"""Real servers for the HTTP tests: uvicorn in a thread (transport tests) or ``devicesrp serve``
in a subprocess (service and real-client tests), always on 127.0.0.1 with an ephemeral port."""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

REPO = Path(__file__).resolve().parents[2]
HERMETIC_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def thread_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread; yields the endpoint URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"devicesrp serve exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        time.sleep(0.1)
    raise RuntimeError("devicesrp serve did not become healthy")


@contextlib.contextmanager
def serve_process(
    args: list[str], env: dict[str, str], log_path: Path, timeout: float = 60.0
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``devicesrp serve`` with ``args`` (which must not set --host/--port); yields the URL."""
    port = free_port()
    full_env = {**os.environ, **HERMETIC_ENV, **env}
    launcher = "import sys; from devicesrp.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", launcher, "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, timeout)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- shared `devicesrp serve` processes, one per backend per test process

ADMIN_KEY_ID = "AKIDDEVICESRPTEST"
ADMIN_SECRET = "devicesrp-test-admin-secret-value"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Service:
    """A running ``devicesrp serve``: its URL, backend and log file."""

    url: str
    backend: str
    log_path: Path
    db_url: str = ""
    kek: str = field(default="", repr=False)

    def admin(self, **config: Any) -> Any:
        """A boto3 client with the admin credentials (SigV4-signed Admin* calls)."""
        return boto3_client(self.url, ADMIN_KEY_ID, ADMIN_SECRET, **config)

    def public(self, **config: Any) -> Any:
        """A boto3 client with credentials nobody configured (user-facing calls are unsigned
        by botocore's model anyway)."""
        return boto3_client(self.url, "AKIDUSER", "not-an-admin", **config)


def boto3_client(url: str, key_id: str, secret: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    for name, value in HERMETIC_ENV.items():
        os.environ.setdefault(name, value)
    retries = config.pop("retries", {"total_max_attempts": 1, "mode": "standard"})
    return boto3.client(
        "cognito-idp",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries=retries, **config),
    )


_running: dict[str, Service] = {}
_cleanups: list[Any] = []


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"PostgreSQL at 127.0.0.1:5432 not reachable ({type(exc).__name__})"


def _fresh_postgres_db() -> str:
    import psycopg

    name = f"devicesrp_http_{os.getpid()}_{int(time.time())}_{os.urandom(3).hex()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    _cleanups.append(drop)
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def fresh_database(backend: str, workdir: Path) -> str:
    """A new empty database URL: a SQLite file in ``workdir`` or a PostgreSQL database dropped at
    exit (skipped, or failed under CI, when PostgreSQL is unreachable)."""
    if backend == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{workdir / f'db-{os.urandom(3).hex()}.sqlite3'}"
    reason = postgres_reachable()
    if reason is not None:
        import pytest

        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return _fresh_postgres_db()


def _service_config(workdir: Path) -> Path:
    config = workdir / "devicesrp.toml"
    config.write_text(
        "[server]\naccess_log = true\n"
        "[throttle]\naddress_per_second = 0\nclient_per_second = 0\n"
        f'[[admin_keys]]\nkey_id = "{ADMIN_KEY_ID}"\nsecret = "{ADMIN_SECRET}"\n'
    )
    return config


def shared_service(backend: str, workdir: Path) -> Service:
    """Start (once per test process) ``devicesrp serve`` on ``backend``; stopped at exit."""
    if backend in _running:
        return _running[backend]
    workdir.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{workdir / 'service.sqlite3'}" if backend == "sqlite" else _fresh_postgres_db()
    config = _service_config(workdir)
    env = {"DEVICESRP_KEK": base64.b64encode(os.urandom(32)).decode()}
    log_path = workdir / f"serve-{backend}.log"
    ctx = serve_process(["--db", db, "--config", str(config)], env, log_path)
    url, _ = ctx.__enter__()
    _cleanups.insert(0, lambda: ctx.__exit__(None, None, None))
    _running[backend] = Service(url, backend, log_path, db, env["DEVICESRP_KEK"])
    return _running[backend]


def update_pool_settings(svc: Service, pool_id: str, **changes: Any) -> None:
    """``devicesrp admin pool set`` on the service's database, the way an operator sets what no
    Cognito operation carries: ``challenge_seconds=300``, ``max_remembered_devices=1``,
    ``device_cap_mode="evict"``, ``device_ticket=False``... (keywords are the command's options,
    booleans on/off). The service reads a pool's settings from the store on every request."""
    options: list[str] = []
    for name, value in changes.items():
        shown = ("on" if value else "off") if isinstance(value, bool) else str(value)
        options += [f"--{name.replace('_', '-')}", shown]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVICESRP_KEK")}
    command = ["admin", "pool", "set", pool_id, "--db", svc.db_url, *options]
    done = subprocess.run(
        [sys.executable, "-m", "devicesrp", *command],
        capture_output=True,
        text=True,
        env={**env, "DEVICESRP_KEK": svc.kek},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def own_service(
    backend: str, workdir: Path, env: dict[str, str] | None = None
) -> Iterator[Service]:
    """A ``devicesrp serve`` of the caller's own (a fresh database, the shared service's settings,
    ``env`` added to its environment, e.g. a faked clock), stopped and its database dropped on
    exit. ``Service.kek`` is its KEK, for ``devicesrp keys`` against the same database."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = fresh_database(backend, workdir)
    config = _service_config(workdir)
    kek = base64.b64encode(os.urandom(32)).decode()
    log_path = workdir / f"serve-{backend}.log"
    args = ["--db", db, "--config", str(config)]
    with serve_process(args, {"DEVICESRP_KEK": kek, **(env or {})}, log_path) as (url, _):
        yield Service(url, backend, log_path, db, kek)


@atexit.register
def _stop_all() -> None:
    while _cleanups:
        with contextlib.suppress(Exception):
            _cleanups.pop(0)()
