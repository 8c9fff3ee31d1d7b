"""The `devicesrp serve` command as users run it: zero-config start, bad settings, a wrong KEK,
two workers, TLS, throttling under a flood (security matrix row 34) and a log free of secrets."""

from __future__ import annotations

import base64
import datetime
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from clients.harness import (
    ADMIN_KEY_ID,
    ADMIN_SECRET,
    HERMETIC_ENV,
    Service,
    free_port,
    fresh_database,
    serve_process,
)
from clients.raw import confirm_new_device, sign_in
from test_http_service import PASSWORD, make_pool, make_user

LAUNCH = "import sys; from devicesrp.cli import main; sys.exit(main())"


def run_serve(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 60) -> Any:
    return subprocess.run(
        [sys.executable, "-c", LAUNCH, "serve", *args],
        cwd=cwd,
        env={**os.environ, **HERMETIC_ENV, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def kek() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_zero_config_start_uses_an_embedded_sqlite_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVICESRP_KEK")}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**env, **HERMETIC_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        from clients.harness import wait_healthy

        wait_healthy(f"http://127.0.0.1:{port}", proc)  # type: ignore[arg-type]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/" in out and "devicesrp.sqlite3" in out
    assert (tmp_path / ".devicesrp" / "devicesrp.sqlite3").is_file()
    key_file = tmp_path / ".devicesrp" / "devicesrp.kek"
    assert key_file.stat().st_mode & 0o077 == 0  # readable by the owner only


def test_bad_settings_and_wrong_kek_stop_the_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nworkers = 0\n")
    result = run_serve(["--config", str(bad)], tmp_path, {"DEVICESRP_KEK": kek()})
    assert result.returncode == 2 and "workers" in result.stderr
    result = run_serve(["--db", "postgresql://nobody@127.0.0.1:1/x"], tmp_path, {})
    assert result.returncode == 2 and "DEVICESRP_KEK" in result.stderr
    db = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    with serve_process(["--db", db], {"DEVICESRP_KEK": kek()}, tmp_path / "first.log"):
        pass  # keys are created under the first KEK
    result = run_serve(["--db", db, "--port", str(free_port())], tmp_path, {"DEVICESRP_KEK": kek()})
    assert result.returncode == 2 and "does not open" in result.stderr


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_workers_share_state_and_the_log_holds_no_secrets(tmp_path: Path, backend: str) -> None:
    config = tmp_path / "devicesrp.toml"
    config.write_text(
        '[server]\ntrusted_proxies = ["127.0.0.1"]\n'
        f'[[admin_keys]]\nkey_id = "{ADMIN_KEY_ID}"\nsecret = "{ADMIN_SECRET}"\n'
        "[throttle]\naddress_per_second = 0\nclient_per_second = 0\n"
    )
    db = fresh_database(backend, tmp_path)
    log = tmp_path / "serve.log"
    args = ["--db", db, "--config", str(config), "--workers", "2"]
    with serve_process(args, {"DEVICESRP_KEK": kek()}, log) as (url, _):
        svc = Service(url, backend, log)
        pool_id, client_id = make_pool(svc, "always")
        make_user(svc, pool_id)
        # fresh connections land on either worker; challenges and sessions live in the store
        results = [sign_in(svc.public(), pool_id, client_id, "alice", PASSWORD) for _ in range(4)]
        # behind a trusted proxy, X-Forwarded-For is the address a device is last seen at
        proxied = svc.public()
        proxied.meta.events.register(
            "before-sign.cognito-idp.*",
            lambda request, **_: request.headers.__setitem__("X-Forwarded-For", "198.51.100.23"),
        )
        device, _ = confirm_new_device(proxied, results[0].tokens)
        again = sign_in(proxied, pool_id, client_id, "alice", PASSWORD, device=device)
        listed = proxied.list_devices(AccessToken=again.tokens["AccessToken"])["Devices"]
        seen_at = {a["Name"]: a["Value"] for a in listed[0]["DeviceAttributes"]}["last_ip_used"]
        assert seen_at == "198.51.100.23"
    text = log.read_text()
    assert text.count(" InitiateAuth 200 ") == 5
    assert " 198.51.100.23 InitiateAuth 200 " in text
    secrets_seen = [PASSWORD, ADMIN_SECRET]
    for r in results:
        secrets_seen += [r.tokens["AccessToken"], r.tokens["IdToken"], r.tokens["RefreshToken"]]
    assert not [s for s in secrets_seen if s in text]


def test_two_workers_answer_keep_alive_requests_without_a_delayed_ack_stall(tmp_path: Path) -> None:
    """With --workers > 1 uvicorn's own listening socket left Nagle's algorithm on: each
    response's body (its second write) waited for the client's delayed ACK, >= 40 ms on Linux, on
    every request of a kept-alive connection. The bound sits far from both (about 1 ms here)."""
    import http.client
    import statistics

    db = f"sqlite:///{tmp_path / 'nodelay.sqlite3'}"
    with serve_process(
        ["--db", db, "--workers", "2"], {"DEVICESRP_KEK": kek()}, tmp_path / "s.log"
    ) as (
        url,
        _,
    ):
        host, port = url.split("//")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.ListDevices",
        }
        took = []
        for _ in range(21):
            start = time.perf_counter()
            conn.request("POST", "/", body=b"{}", headers=headers)
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 400  # no AccessToken: refused, on the same connection
            took.append(time.perf_counter() - start)
        conn.close()
    assert statistics.median(took[1:]) < 0.030, took


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LAUNCH,
            "serve",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp_path / 't.sqlite3'}",
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ],
        env={**os.environ, **HERMETIC_ENV, "DEVICESRP_KEK": kek()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        deadline = 60
        body = None
        for _ in range(deadline * 10):
            try:
                with urllib.request.urlopen(
                    f"https://127.0.0.1:{port}/health", context=ctx, timeout=2
                ) as resp:
                    body = json.loads(resp.read())
                    break
            except OSError:
                time.sleep(0.1)
        assert body == {"status": "ok"}
        with pytest.raises(OSError):  # plain HTTP is not spoken on the TLS port
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert f"https://127.0.0.1:{port}/" in out


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_flood_from_one_address_is_throttled_and_others_are_served(
    tmp_path: Path, backend: str
) -> None:
    """Row 34: past the configured rate, sign-in starts get TooManyRequestsException (answered by
    the transport before any operation runs, so before any modexp); other addresses and app
    clients are still served, and a password spray through one app client is capped too."""
    config = tmp_path / "devicesrp.toml"
    config.write_text(
        '[server]\ntrusted_proxies = ["127.0.0.1"]\n'
        "[throttle]\naddress_per_second = 0.01\naddress_burst = 6\n"
        "client_per_second = 0.01\nclient_burst = 30\n"
        f'[[admin_keys]]\nkey_id = "{ADMIN_KEY_ID}"\nsecret = "{ADMIN_SECRET}"\n'
    )
    db = fresh_database(backend, tmp_path)
    log = tmp_path / "serve.log"
    # the CPU ledger counts the SRP engine's calls in the server process (benchmark hook)
    ledger_dir = tmp_path / "ledger"
    env = {"DEVICESRP_KEK": kek(), "DEVICESRP_PROFILE_DIR": str(ledger_dir)}
    with serve_process(["--db", db, "--config", str(config)], env, log) as (url, _):
        svc = Service(url, backend, log, db)
        admin_from = "198.51.100.1"

        def client_from(address: str) -> Any:
            c = svc.admin()
            c.meta.events.register(
                "before-sign.cognito-idp.*",
                lambda request, **_: request.headers.__setitem__("X-Forwarded-For", address),
            )
            return c

        admin = client_from(admin_from)
        pool_id = admin.create_user_pool(PoolName="flood")["UserPool"]["Id"]
        client_id = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="a")[
            "UserPoolClient"
        ]["ClientId"]
        other_client = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="b")[
            "UserPoolClient"
        ]["ClientId"]

        def start(c: Any, cid: str, user: str) -> str:
            try:
                c.initiate_auth(
                    ClientId=cid,
                    AuthFlow="USER_SRP_AUTH",
                    AuthParameters={"USERNAME": user, "SRP_A": "a" * 768},
                )
                return "ok"
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])

        flooder = client_from("203.0.113.66")
        flood = [start(flooder, client_id, "victim") for _ in range(20)]
        assert flood.count("ok") == 6
        assert set(flood[6:]) == {"TooManyRequestsException"}
        # a spray: one password, many users, many addresses, one app client
        spray = [start(client_from(f"192.0.2.{i}"), client_id, f"user{i}") for i in range(30)]
        assert spray.count("TooManyRequestsException") == 30 - (30 - 6)
        assert start(client_from("192.0.2.200"), other_client, "someone") == "ok"
        assert svc.admin().list_users(UserPoolId=pool_id)["Users"] == []  # still up
        # the engine began exactly one challenge per admitted sign-in start: none for the
        # 20 throttled ones
        admitted = flood.count("ok") + spray.count("ok") + 1
        (pid,) = [int(p.stem) for p in ledger_dir.glob("*.ready")]
        os.kill(pid, signal.SIGUSR1)
        dump = ledger_dir / f"{pid}.json"
        for _ in range(100):
            if dump.exists():
                break
            time.sleep(0.05)
        assert json.loads(dump.read_text())["calls"]["engine"] == admitted
    assert log.read_text().count("TooManyRequestsException") == 20


@pytest.mark.postgres
def test_health_reports_a_lost_database(tmp_path: Path) -> None:
    """/health is 200 while PostgreSQL answers and 503 (within seconds) once it does not."""
    import psycopg

    from clients.harness import PG_ADMIN_URL, postgres_reachable

    reason = postgres_reachable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"devicesrp_http_health_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        db = f"postgresql://postgres@127.0.0.1:5432/{name}"
        with serve_process(["--db", db], {"DEVICESRP_KEK": kek()}, tmp_path / "s.log") as (url, _):
            with urllib.request.urlopen(f"{url}/health", timeout=10) as resp:
                assert resp.status == 200
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(f"{url}/health", timeout=60)
            assert info.value.code == 503
            assert json.loads(info.value.read()) == {"status": "unavailable"}
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
