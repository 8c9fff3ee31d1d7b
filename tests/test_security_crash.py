"""Row 27 at the service level: the server process SIGKILLed while clients sign in, confirm and
forget devices over HTTP, then restarted on the same database, over and over (SQLite and
PostgreSQL).

Acknowledged = the client received the 200. After every kill, before the restart: the database
passes its integrity checks (SQLite ``integrity_check`` and ``foreign_key_check``), no device row
is half-written (a confirmed device has its salt and verifier, an unconfirmed one neither), every
acknowledged ConfirmDevice is there with the verifier that was sent, every acknowledged
ForgetDevice stays forgotten, every device an acknowledged sign-in issued exists (unless forgotten
since). The restart itself must come up healthy on the crashed database.

The server: every ``REAL_EVERY``-th cycle runs the real ``devicesrp serve`` command; the others
fork this test process and run the same ASGI app (``devicesrp.http.serve.create_app``) under
uvicorn with serve's options — the same code in a separate process, without an interpreter
start-up per cycle (which would cost about a second each on the CI machine). Counts:
``count(ci=100, soak=1_000)`` cycles on SQLite, ``count(ci=20, soak=300)`` on PostgreSQL.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from clients.harness import ADMIN_KEY_ID, ADMIN_SECRET, HERMETIC_ENV, postgres_reachable
from counts import count
from devicesrp import live
from devicesrp.protocol.client import ClientHandshake
from devicesrp.protocol.values import UserCredentials

TARGET = "AWSCognitoIdentityProviderService."
PASSWORD = "Crash-Pa55word!"
REAL_EVERY = 10
WORKERS = 3
USERS = 12


@dataclass
class Ledger:
    """What the clients were told succeeded, in order."""

    lines: list[tuple[str, str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, kind: str, device_key: str, verifier: bytes = b"") -> None:
        with self.lock:
            self.lines.append((kind, device_key, verifier))


def post(url: str, op: str, body: dict[str, Any], timeout: float = 10) -> dict[str, Any] | None:
    """The 200 body, or None for anything else (refused, reset by the kill, timed out)."""
    request = urllib.request.Request(
        url + "/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + op},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            doc: dict[str, Any] = json.loads(resp.read())
            return doc
    except urllib.error.HTTPError as exc:
        assert exc.code < 500, (op, exc.code, exc.read())
        return None
    except (OSError, ValueError, http.client.HTTPException):  # the server died under us
        return None


def sign_in(url: str, pool: str, client: str, user: str) -> dict[str, Any] | None:
    hs = ClientHandshake(UserCredentials(pool, PASSWORD))
    params = {"USERNAME": user, "SRP_A": format(live.start(hs), "x")}
    start = post(
        url,
        "InitiateAuth",
        {"ClientId": client, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": params},
    )
    if start is None:
        return None
    from clients.raw import _challenge

    cp = start["ChallengeParameters"]
    claim = live.respond(hs, _challenge(cp, cp["USER_ID_FOR_SRP"]))
    answer = {
        "USERNAME": cp["USERNAME"],
        "PASSWORD_CLAIM_SECRET_BLOCK": claim.secret_block,
        "TIMESTAMP": claim.timestamp,
        "PASSWORD_CLAIM_SIGNATURE": claim.signature,
    }
    done = post(
        url,
        "RespondToAuthChallenge",
        {"ClientId": client, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": answer},
    )
    return None if done is None else done.get("AuthenticationResult")


def work(
    url: str,
    pool: str,
    client: str,
    users: list[str],
    ledger: Ledger,
    stop: threading.Event,
    seed: int,
) -> None:
    """Sign in (a new device), confirm it, forget it; every step acknowledged on its 200."""
    rng = random.Random(seed)
    while not stop.is_set():
        tokens = sign_in(url, pool, client, rng.choice(users))
        if tokens is None:
            continue
        meta = tokens["NewDeviceMetadata"]
        key = meta["DeviceKey"]
        ledger.ack("new", key)
        _, verifier = live.new_device_secret(meta["DeviceGroupKey"], key)
        body = {
            "AccessToken": tokens["AccessToken"],
            "DeviceKey": key,
            "DeviceSecretVerifierConfig": {
                "Salt": base64.b64encode(verifier.salt).decode(),
                "PasswordVerifier": base64.b64encode(verifier.password_verifier).decode(),
            },
        }
        if post(url, "ConfirmDevice", body) is None:
            continue
        ledger.ack("confirm", key, verifier.password_verifier)
        if rng.random() < 0.5:
            # sent = maybe done: a forget that committed just before the kill has no ack
            ledger.ack("forget sent", key)
            forget = {"AccessToken": tokens["AccessToken"], "DeviceKey": key}
            if post(url, "ForgetDevice", forget) is not None:
                ledger.ack("forget", key)


# -- the server process -----------------------------------------------------------------------


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def fork_server(config_path: Path, env: dict[str, str], sock: socket.socket) -> int:
    """A child running serve's app under uvicorn on ``sock``; it leaves only by a signal."""
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.environ.update(env)
            import uvicorn

            from devicesrp.http.config import load_config
            from devicesrp.http.serve import create_app

            config = load_config(str(config_path), os.environ, {})
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(config),
                    fd=sock.fileno(),
                    access_log=False,
                    proxy_headers=False,
                    server_header=False,
                    log_level="critical",
                    lifespan="on",
                )
            )
            server.run()
            code = 0
        finally:
            os._exit(code)
    return pid


def exec_server(config_path: Path, env: dict[str, str], port: int, log: Path) -> int:
    launcher = "import sys; from devicesrp.cli import main; sys.exit(main())"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                launcher,
                "serve",
                "--config",
                str(config_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env={**os.environ, **HERMETIC_ENV, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc.pid


def healthy(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        time.sleep(0.02)
    return False


# -- what must hold after each kill -------------------------------------------------------------


def expected(ledger: Ledger) -> tuple[dict[str, bytes], set[str], set[str]]:
    """(confirmed key -> verifier, forgotten keys, issued keys) as acknowledged so far."""
    confirmed: dict[str, bytes] = {}
    forgotten: set[str] = set()
    issued: set[str] = set()
    maybe_forgotten: set[str] = set()
    for kind, key, verifier in ledger.lines:
        if kind == "new":
            issued.add(key)
        elif kind == "confirm":
            confirmed[key] = verifier
        elif kind == "forget sent":
            maybe_forgotten.add(key)
        else:
            forgotten.add(key)
    for key in maybe_forgotten:  # sent but maybe not acknowledged: either state is right
        confirmed.pop(key, None)
        issued.discard(key)
    return confirmed, forgotten, issued


def check_rows(rows: list[tuple[str, Any, Any, int]], ledger: Ledger) -> None:
    """rows: (device_key, salt, verifier, confirmed) of every device in the pool."""
    by_key = {key: (salt, verifier, confirmed) for key, salt, verifier, confirmed in rows}
    for key, salt, verifier, confirmed in rows:
        assert (salt is None) == (verifier is None), f"device {key} half-written"
        assert bool(confirmed) == (verifier is not None), f"device {key} half-confirmed"
    confirmed, forgotten, issued = expected(ledger)
    for key, verifier in confirmed.items():
        assert key in by_key, f"acknowledged ConfirmDevice of {key} lost"
        stored = int.from_bytes(bytes(by_key[key][1]), "big")  # stored without leading zeros
        assert stored == int.from_bytes(verifier, "big"), f"confirmed verifier of {key} changed"
    for key in forgotten:
        assert key not in by_key, f"acknowledged ForgetDevice of {key} lost"
    for key in issued:
        assert key in by_key, f"device {key} of an acknowledged sign-in lost"


DEVICE_ROWS = "SELECT device_key, salt, verifier, confirmed FROM devices WHERE pool_id = ?"


def check_sqlite(path: Path, pool: str, ledger: Ledger) -> None:
    conn = sqlite3.connect(path, timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        check_rows(conn.execute(DEVICE_ROWS, (pool,)).fetchall(), ledger)
    finally:
        conn.close()


def check_postgres(url: str, pool: str, ledger: Ledger) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(DEVICE_ROWS.replace("?", "%s"), (pool,)).fetchall()
    check_rows([(k, s, v, c) for k, s, v, c in rows], ledger)


# -- the loop -------------------------------------------------------------------------------------


@dataclass
class Setup:
    config: Path
    env: dict[str, str]
    pool: str = ""
    client: str = ""
    users: list[str] = field(default_factory=list)


def seed(setup: Setup, url: str) -> None:
    """The pool, client and users, through the first server's own admin API."""
    from test_security_fuzz import sign as sigv4

    def admin(op: str, body: dict[str, Any]) -> dict[str, Any]:
        raw = json.dumps(body).encode()
        host = url.split("://", 1)[1]
        headers = {k.decode(): v.decode() for k, v in sigv4(raw, op, host)}
        request = urllib.request.Request(url + "/", data=raw, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as resp:
            doc: dict[str, Any] = json.loads(resp.read())
            return doc

    pool = admin(
        "CreateUserPool",
        {
            "PoolName": "crash",
            "DeviceConfiguration": {
                "ChallengeRequiredOnNewDevice": True,
                "DeviceOnlyRememberedOnUserPrompt": False,
            },
        },
    )
    setup.pool = pool["UserPool"]["Id"]
    client = admin("CreateUserPoolClient", {"UserPoolId": setup.pool, "ClientName": "c"})
    setup.client = client["UserPoolClient"]["ClientId"]
    for i in range(USERS):
        name = f"crash{i}"
        admin(
            "AdminCreateUser",
            {
                "UserPoolId": setup.pool,
                "Username": name,
                "TemporaryPassword": PASSWORD,
                "MessageAction": "SUPPRESS",
            },
        )
        admin(
            "AdminSetUserPassword",
            {"UserPoolId": setup.pool, "Username": name, "Password": PASSWORD, "Permanent": True},
        )
        setup.users.append(name)


@dataclass(frozen=True)
class Report:
    cycles: int
    acks: int
    real_serve_cycles: int
    killed_after_acks: int


def crash_cycles(setup: Setup, cycles: int, verify: Callable[[Ledger], None], log: Path) -> Report:
    rng = random.Random(27)
    ledger = Ledger()
    real = killed_after_acks = 0
    for cycle in range(cycles):
        use_real = cycle % REAL_EVERY == REAL_EVERY - 1
        if use_real:
            sock = listening_socket()
            port = sock.getsockname()[1]
            sock.close()  # the real command binds it itself
            pid = exec_server(setup.config, setup.env, port, log)
            real += 1
        else:
            sock = listening_socket()
            port = sock.getsockname()[1]
            pid = fork_server(setup.config, setup.env, sock)
            sock.close()  # the child holds it; it closes when the child dies
        url = f"http://127.0.0.1:{port}"
        try:
            assert healthy(url, time.monotonic() + 60), f"cycle {cycle}: no restart"
            if not setup.pool:
                seed(setup, url)
            stop = threading.Event()
            before = len(ledger.lines)
            threads = [
                threading.Thread(
                    target=work,
                    args=(url, setup.pool, setup.client, setup.users, ledger, stop, cycle * 7 + w),
                    daemon=True,
                )
                for w in range(WORKERS)
            ]
            for t in threads:
                t.start()
            # kill once writes are flowing (however loaded the machine), at a random moment
            deadline = time.monotonic() + 30
            while len(ledger.lines) == before and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        killed_after_acks += len(ledger.lines) > before
        stop.set()
        for t in threads:
            t.join(timeout=30)
        verify(ledger)
    acks = sum(1 for kind, _, _ in ledger.lines if kind != "forget sent")
    return Report(cycles, acks, real, killed_after_acks)


def write_config(path: Path, db: str) -> Path:
    path.write_text(
        f'[server]\ndb = "{db}"\naccess_log = true\n'
        "[throttle]\naddress_per_second = 0\nclient_per_second = 0\n"
        f'[[admin_keys]]\nkey_id = "{ADMIN_KEY_ID}"\nsecret = "{ADMIN_SECRET}"\n'
    )
    return path


def kek_env() -> dict[str, str]:
    return {"DEVICESRP_KEK": base64.b64encode(os.urandom(32)).decode()}


@pytest.mark.timeout(count(ci=900, soak=4 * 3600))
@pytest.mark.matrix(27)
def test_serve_survives_sigkill_cycles_on_sqlite(
    tmp_path: Path, matrix_cases: Callable[[int], None]
) -> None:
    db = tmp_path / "crash.sqlite3"
    setup = Setup(write_config(tmp_path / "crash.toml", f"sqlite:///{db}"), kek_env())
    cycles = count(ci=100, soak=1_000)
    report = crash_cycles(
        setup, cycles, lambda ledger: check_sqlite(db, setup.pool, ledger), tmp_path / "serve.log"
    )
    print(f"SQLite: {report}")
    assert report.cycles == cycles and report.real_serve_cycles == cycles // REAL_EVERY
    assert report.killed_after_acks == cycles and report.acks >= cycles
    matrix_cases(cycles)


@pytest.fixture
def pg_db() -> Iterator[str]:
    reason = postgres_reachable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    import psycopg

    from clients.harness import PG_ADMIN_URL

    name = f"devicesrp_crash_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.timeout(count(ci=900, soak=2 * 3600))
@pytest.mark.matrix(27, 31)
def test_serve_survives_sigkill_cycles_on_postgres(
    tmp_path: Path, pg_db: str, matrix_cases: Callable[[int], None]
) -> None:
    setup = Setup(write_config(tmp_path / "crash.toml", pg_db), kek_env())
    cycles = count(ci=20, soak=300)
    report = crash_cycles(
        setup,
        cycles,
        lambda ledger: check_postgres(pg_db, setup.pool, ledger),
        tmp_path / "serve.log",
    )
    print(f"PostgreSQL: {report}")
    assert report.cycles == cycles and report.killed_after_acks == cycles
    matrix_cases(cycles)
