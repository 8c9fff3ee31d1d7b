"""``devicesrp admin`` and ``devicesrp keys`` on a real SQLite file, with a real ``devicesrp serve``
on the same database for the device and rotation stories: operator commands work while the
service runs, and a key rotation does not break a sign-in in flight."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clients.harness import HERMETIC_ENV, serve_process
from devicesrp.cli import main

PASSWORD = "Corr3ct-Horse!"


def code_in(body: str) -> str:
    found = re.search(r"\b(\d{6})\b", body)
    assert found is not None, "no code in the message"
    return found.group(1)


def _kek_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVICESRP_KEK", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.delenv("DEVICESRP_KEK_FILE", raising=False)
    monkeypatch.delenv("DEVICESRP_KEK_PREVIOUS", raising=False)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    _kek_env(monkeypatch)
    return f"sqlite:///{tmp_path / 'admin.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The same commands on both backends (PostgreSQL: a fresh schema of database ``test``)."""
    _kek_env(monkeypatch)
    if request.param == "postgres":
        from pgutil import new_schema

        return new_schema("cliadmin")
    return f"sqlite:///{tmp_path / 'admin.sqlite3'}"


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None) -> Any:
    """main(argv) in this process; returns (exit code, parsed --json output or text, stderr)."""
    if stdin is not None:
        import io

        sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(argv))
    finally:
        sys.stdin = sys.__stdin__
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in argv and code == 0 else out), err


def make_pool(capsys: pytest.CaptureFixture[str], db: str, *extra: str) -> tuple[str, str]:
    code, made, _ = run(capsys, "admin", "pool", "create", "shop", "--db", db, "--json", *extra)
    assert code == 0
    return made["pool_id"], made["client_id"]


def test_pool_create_sets_the_app_clients_auth_flows(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, made, _ = run(capsys, "admin", "pool", "create", "pw", "--db", db, "--json")
    assert code == 0 and made["auth_flows"] == [  # Cognito's default: ExplicitAuthFlows omitted
        "ALLOW_CUSTOM_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]
    flows = ("--auth-flow", "ALLOW_USER_PASSWORD_AUTH", "--auth-flow", "ALLOW_REFRESH_TOKEN_AUTH")
    code, made, _ = run(capsys, "admin", "pool", "create", "pw", "--db", db, "--json", *flows)
    assert code == 0
    assert made["auth_flows"] == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]


def test_pools_users_and_their_errors(capsys: pytest.CaptureFixture[str], any_db: str) -> None:
    db = any_db
    pool, client = make_pool(capsys, db, "--mfa", "on", "--factor", "sms", "--devices", "opt-in")
    assert pool.startswith("us-east-1_") and len(client) == 26
    code, pools, _ = run(capsys, "admin", "pool", "list", "--db", db, "--json")
    assert code == 0 and pools == [
        {"pool_id": pool, "name": "shop", "created": pools[0]["created"], "clients": [client]}
    ]
    code, settings, _ = run(capsys, "admin", "pool", "show", pool, "--db", db, "--json")
    assert code == 0 and settings["mfa"]["mode"] == "ON" and settings["mfa"]["sms"]
    assert settings["device_configuration"]["DeviceOnlyRememberedOnUserPrompt"] is True
    args = ["admin", "user", "create", pool, "bob", "--db", db, "--password-stdin", "--json"]
    code, user, _ = run(
        capsys, *args, "--attr", "phone_number=+15555550123", "--sms-mfa", stdin=PASSWORD + "\n"
    )
    assert code == 0 and user["status"] == "CONFIRMED"
    code, shown, _ = run(capsys, "admin", "user", "show", pool, "bob", "--db", db, "--json")
    assert shown["attributes"]["phone_number"] == "+15555550123"
    assert shown["mfa"] == ["SMS_MFA"] and shown["preferred_mfa"] == "SMS_MFA"
    code, users, _ = run(capsys, "admin", "user", "list", pool, "--db", db, "--json")
    assert [u["username"] for u in users] == ["bob"]
    # A duplicate, an unknown user or pool: exit 1 with one line naming the error.
    code, _, err = run(capsys, *args, stdin=PASSWORD + "\n")
    assert code == 1 and err.startswith("devicesrp admin user create: ") and "\n" == err[-1]
    assert PASSWORD not in err
    code, _, err = run(capsys, "admin", "user", "show", pool, "nobody", "--db", db)
    assert code == 1 and "UserNotFoundError" in err
    code, _, err = run(capsys, "admin", "pool", "show", "us-east-1_nope", "--db", db)
    assert code == 1 and "does not exist" in err
    # Bad input: exit 2.
    code, _, err = run(capsys, *args[:-1], "--attr", "novalue", stdin=PASSWORD + "\n")
    assert code == 2 and "name=value" in err
    code, _, err = run(capsys, *args, stdin="\n")
    assert code == 2 and "password" in err
    code, _, err = run(capsys, "admin", "pool", "list", "--db", "mysql://x")
    assert code == 2
    with pytest.raises(SystemExit) as usage:
        main(["admin", "pool", "create"])
    assert usage.value.code == 2
    # A weak password is the domain's refusal (exit 1), the password never echoed.
    code, _, err = run(
        capsys,
        "admin",
        "user",
        "create",
        pool,
        "eve",
        "--db",
        db,
        "--password-stdin",
        stdin="short\n",
    )
    assert code == 1 and "short" not in err
    code, shown, _ = run(capsys, "admin", "user", "disable", pool, "bob", "--db", db, "--json")
    assert code == 0 and shown == {"username": "bob", "enabled": False}
    code, shown, _ = run(capsys, "admin", "user", "show", pool, "bob", "--db", db, "--json")
    assert shown["enabled"] is False
    assert run(capsys, "admin", "user", "enable", pool, "bob", "--db", db)[0] == 0
    code, shown, _ = run(capsys, "admin", "user", "show", pool, "bob", "--db", db, "--json")
    assert shown["enabled"] is True
    code, _, _ = run(capsys, "admin", "user", "delete", pool, "bob", "--db", db)
    assert code == 0
    code, users, _ = run(capsys, "admin", "user", "list", pool, "--db", db, "--json")
    assert users == []


def test_devices_and_outbox_while_the_service_runs(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    from devicesrp.client import Callbacks, Client, MemoryDeviceStore

    pool, client_id = make_pool(capsys, db, "--mfa", "on", "--factor", "sms")
    args = ["admin", "user", "create", pool, "sam", "--db", db, "--password-stdin", "--sms-mfa"]
    assert run(capsys, *args, "--attr", "phone_number=+15555550100", stdin=PASSWORD + "\n")[0] == 0
    env = {"DEVICESRP_KEK": os.environ["DEVICESRP_KEK"]}
    with serve_process(["--db", db], env, tmp_path / "serve.log") as (url, _):

        def sms(destination: str | None) -> str:
            code, messages, _ = run(capsys, "admin", "outbox", pool, "--db", db, "--json")
            assert code == 0 and messages[-1]["to"] == "+15555550100"
            return code_in(messages[-1]["body"])

        for name, value in HERMETIC_ENV.items():
            os.environ.setdefault(name, value)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDUSER")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "unused")
        client = Client(
            pool,
            client_id,
            endpoint_url=url,
            store=MemoryDeviceStore(),
            device_name="cli-box",
            callbacks=Callbacks(sms_code=sms),
        )
        first = client.sign_in("sam", PASSWORD)
        assert first.new_device
        code, devices, _ = run(capsys, "admin", "device", "list", pool, "sam", "--db", db, "--json")
        assert code == 0 and [d["device_key"] for d in devices] == [first.device_key]
        assert devices[0]["attributes"]["device_name"] == "cli-box" and devices[0]["remembered"]
        assert client.sign_in("sam", PASSWORD).device_authenticated
        forget = ["admin", "device", "forget", pool, "sam", str(first.device_key), "--db", db]
        assert run(capsys, *forget)[0] == 0
        assert run(capsys, *forget)[0] == 1  # already forgotten
        code, devices, _ = run(capsys, "admin", "device", "list", pool, "sam", "--db", db, "--json")
        assert devices == []
        again = client.sign_in("sam", PASSWORD)  # the service no longer knows the device
        assert not again.device_authenticated and again.new_device


def _cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devicesrp", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_keys_rotate_does_not_break_a_sign_in_in_flight(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    from devicesrp.client import Callbacks, Client, MemoryDeviceStore

    pool, client_id = make_pool(capsys, db, "--mfa", "on", "--factor", "sms")
    args = ["admin", "user", "create", pool, "sam", "--db", db, "--password-stdin", "--sms-mfa"]
    assert run(capsys, *args, "--attr", "phone_number=+15555550100", stdin=PASSWORD + "\n")[0] == 0
    env = {"DEVICESRP_KEK": os.environ["DEVICESRP_KEK"]}
    rotated: list[dict[str, str]] = []
    with serve_process(["--db", db], env, tmp_path / "serve.log") as (url, _):

        def sms(destination: str | None) -> str:
            # The Session of this sign-in was sealed by the current key: rotate now, in flight.
            done = _cli(env, "keys", "rotate", "--db", db, "--json")
            assert done.returncode == 0, done.stderr
            rotated.append(json.loads(done.stdout))
            _, messages, _ = run(capsys, "admin", "outbox", pool, "--db", db, "--json")
            return code_in(messages[-1]["body"])

        for name, value in HERMETIC_ENV.items():
            os.environ.setdefault(name, value)
        client = Client(
            pool,
            client_id,
            endpoint_url=url,
            store=MemoryDeviceStore(),
            callbacks=Callbacks(sms_code=sms),
        )
        first = client.sign_in("sam", PASSWORD)
        assert len(rotated) == 1 and set(rotated[0]) == {"seal", "jwt", "totp", "fake-salt"}
        # Tokens issued before the rotation still work; the device step runs on new keys.
        done = _cli(env, "keys", "rotate", "--kind", "seal", "--db", db)
        assert done.returncode == 0, done.stderr
        assert [d.device_key for d in client.list_devices(first.tokens)] == [first.device_key]
        assert client.sign_in("sam", PASSWORD).device_authenticated
    code, keys, _ = run(capsys, "keys", "list", "--db", db, "--json")
    kinds = [k["kind"] for k in keys]
    assert kinds.count("seal") == 3 and kinds.count("jwt") == 2
    assert kinds.count("totp") == 1 and kinds.count("fake-salt") == 1  # re-wrapped, one live copy
    code, retired, _ = run(capsys, "keys", "retire", "--kind", "seal", "--db", db, "--json")
    assert code == 0 and len(retired["retired"]) == 2
    code, _, err = run(capsys, "keys", "retire", "--kind", "seal", "--keep", "0", "--db", db)
    assert code == 2 and "keep" in err


def test_kek_change_through_rotate_and_retire(
    capsys: pytest.CaptureFixture[str], any_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = any_db
    old = os.environ["DEVICESRP_KEK"]
    new = base64.b64encode(os.urandom(32)).decode()
    assert run(capsys, "keys", "rotate", "--db", db)[0] == 0  # keys exist under the old KEK
    monkeypatch.setenv("DEVICESRP_KEK", new)
    code, _, err = run(capsys, "keys", "rotate", "--kind", "totp", "--db", db)
    assert code == 2 and "KekError" in err and old not in err and new not in err
    monkeypatch.setenv("DEVICESRP_KEK_PREVIOUS", old)
    assert run(capsys, "keys", "rotate", "--db", db)[0] == 0
    code, keys, _ = run(capsys, "keys", "list", "--db", db, "--json")
    stale = {(k["kind"], k["under_current_kek"]) for k in keys}
    assert ("seal", False) in stale and ("totp", False) not in stale
    for kind in ("seal", "jwt"):
        assert run(capsys, "keys", "retire", "--kind", kind, "--db", db)[0] == 0
    code, keys, _ = run(capsys, "keys", "list", "--db", db, "--json")
    assert all(k["under_current_kek"] for k in keys) and len(keys) == 4
    monkeypatch.delenv("DEVICESRP_KEK_PREVIOUS")
    assert (
        run(capsys, "keys", "rotate", "--db", db)[0] == 0
    )  # every live key opens under the new one


def test_pool_set_changes_what_the_domain_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each setting ``admin pool set`` changes is the one the domain then applies (an
    IdentityProvider on an injected clock over the same SQLite file); a bad value changes
    nothing."""
    from devicesrp.server.errors import NotAuthorizedError, TooManyRequestsError
    from devicesrp.server.kek import Kek
    from test_server_harness import PASSWORD as DOMAIN_PASSWORD
    from test_server_harness import (
        POOL,
        SignIn,
        confirm_new_device,
        device_login,
        make_env,
        open_backend,
        password_login,
        tokens_of,
    )

    raw = os.urandom(32)
    monkeypatch.setenv("DEVICESRP_KEK", base64.b64encode(raw).decode())
    store = open_backend("sqlite", tmp_path)
    db = f"sqlite:///{tmp_path}/server.db"
    env = make_env(store, kek=Kek(raw))
    env.idp.admin_create_user(POOL, "alice", DOMAIN_PASSWORD, temporary=False)

    def pool_set(*options: str) -> tuple[int, Any, str]:
        return run(capsys, "admin", "pool", "set", POOL, "--db", db, "--json", *options)

    def late_proof(age: int) -> bool:
        s = SignIn(env, "alice")
        s.initiate()
        env.clock.advance(age)
        try:
            tokens_of(s.respond(s.proof()))
            return True
        except NotAuthorizedError:
            return False

    # Challenge lifetime: 180 s by default, then 300 s.
    assert not late_proof(181)
    code, shown, err = pool_set("--challenge-seconds", "300")
    assert code == 0, err
    assert shown["challenge_seconds"] == 300 and shown["max_remembered_devices"] is None
    assert late_proof(299) and not late_proof(301)

    # Sign-in starts per name per minute.
    env.clock.advance(60)
    assert pool_set("--signin-starts-per-minute", "2")[0] == 0
    SignIn(env, "alice").initiate()
    SignIn(env, "alice").initiate()
    with pytest.raises(TooManyRequestsError):
        SignIn(env, "alice").initiate()
    assert pool_set("--signin-starts-per-minute", "0")[0] == 0
    SignIn(env, "alice").initiate()

    # Token lifetimes (the pool's default for its clients).
    assert password_login(env, "alice").expires_in == 3600
    assert pool_set("--access-token-seconds", "600")[0] == 0
    first = password_login(env, "alice")
    assert first.expires_in == 600

    # Remembered-device cap in evict mode: the least recently used device goes.
    code, shown, _ = pool_set("--max-remembered-devices", "1", "--device-cap-mode", "evict")
    assert code == 0 and (shown["max_remembered_devices"], shown["device_cap_mode"]) == (1, "evict")
    old = confirm_new_device(env, first)
    env.clock.advance(1)
    new = confirm_new_device(env, password_login(env, "alice"))
    kept = env.idp.admin_list_devices(POOL, "alice").devices
    assert [d.device_key for d in kept if d.remembered] == [new.key] != [old.key]
    device_login(env, "alice", new)

    # pycognito's Session-less device step: its ticket's lifetime, then the switch.
    def sessionless_device_step(wait: int) -> bool:
        s = SignIn(env, "alice")
        s.initiate()
        s.respond(s.proof(device_key=new.key, with_session=False))
        env.clock.advance(wait)
        try:
            s.respond(s.device_srp_auth(new, with_session=False, reuse_a=True))
            return True
        except NotAuthorizedError:
            return False

    assert sessionless_device_step(10)
    assert pool_set("--device-ticket-seconds", "5")[0] == 0
    assert not sessionless_device_step(10) and sessionless_device_step(4)
    assert pool_set("--device-ticket", "off")[0] == 0
    assert not sessionless_device_step(0)

    # Refresh-token rotation with no grace: the old token dies at once.
    def refresh(token: str | None) -> Any:
        return env.idp.get_tokens_from_refresh_token("client1", token, device_key=new.key)

    signed = device_login(env, "alice", new)
    assert refresh(signed.refresh_token).refresh_token is None  # Cognito: no rotation
    assert pool_set("--refresh-rotation", "on", "--refresh-grace-seconds", "0")[0] == 0
    rotated = refresh(signed.refresh_token)
    assert rotated.refresh_token not in (None, signed.refresh_token)
    env.clock.advance(1)
    with pytest.raises(NotAuthorizedError):
        refresh(signed.refresh_token)

    # Bad values: exit 2, one line naming the setting, nothing changed (not even the good one).
    before = env.idp.pool_settings(POOL)
    for bad in (
        ["--challenge-seconds", "900", "--max-remembered-devices", "0"],
        ["--max-remembered-devices", "5", "--challenge-seconds", "100"],
        ["--signin-starts-per-minute", "-1"],
        ["--device-ticket-seconds", "301"],
        ["--refresh-grace-seconds", "3601"],
        ["--access-token-seconds", "60"],
        ["--challenge-seconds", "3m"],
        [],
    ):
        code, _, err = pool_set(*bad)
        assert code == 2 and err.count("\n") == 1 and "InvalidParameterError" in err, (bad, err)
    with pytest.raises(SystemExit) as usage:
        main(["admin", "pool", "set", POOL, "--db", db, "--device-cap-mode", "lru"])
    assert usage.value.code == 2
    assert env.idp.pool_settings(POOL) == before
    code, _, err = run(capsys, "admin", "pool", "set", "us-east-1_nope", "--db", db, "--json")
    assert code == 2  # nothing to change is checked first
    code, _, err = run(
        capsys, "admin", "pool", "set", "us-east-1_nope", "--db", db, "--challenge-seconds", "300"
    )
    assert code == 1 and "does not exist" in err
    code, shown, _ = run(capsys, "admin", "pool", "show", POOL, "--db", db, "--json")
    assert (shown["device_ticket_enabled"], shown["refresh_rotation"]) == (False, True)
    assert shown["tokens"]["access"] == 600 and shown["refresh_grace_seconds"] == 0
    store.close()
