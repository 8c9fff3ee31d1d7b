"""The client SDK end to end against a real ``devicesrp serve`` (a subprocess on 127.0.0.1 with a
temp SQLite file, or PostgreSQL; shared per test process through tests/clients/harness.py).
Pools and users are created with SigV4-signed boto3 admin calls; every flow the SDK offers runs
over the wire: SRP sign-in, NewDeviceMetadata -> ConfirmDevice -> remembered per pool policy and
caller's choice, device SRP, TOTP setup and MFA replaced by a remembered device, stale device
retry, SECRET_HASH, NEW_PASSWORD_REQUIRED, refresh, devices, sign-out, the server proof, the
TIMESTAMP under a German locale, and the CLI."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import subprocess
import sys
import textwrap
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from clients.harness import HERMETIC_ENV, Service, postgres_reachable, shared_service
from clients.raw import Totp
from devicesrp.client import (
    Callbacks,
    Client,
    DeviceSecrets,
    MemoryDeviceStore,
    NewPassword,
    StoreKey,
)
from devicesrp.errors import AuthenticationError, ChallengeNotHandledError, ServiceError
from test_http_service import make_user

PASSWORD = "Corr3ct-Horse!"


@pytest.fixture(autouse=True)
def hermetic_boto(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in HERMETIC_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", raising=False)


def start(backend: str, factory: pytest.TempPathFactory) -> Service:
    if backend == "postgres":
        reason = postgres_reachable()
        if reason is not None:
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
    return shared_service(backend, Path(factory.getbasetemp() / f"client-{backend}"))


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return start("sqlite", tmp_path_factory)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def any_svc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Service:
    return start(request.param, tmp_path_factory)


def make_pool(
    svc: Service,
    devices: str = "always",
    *,
    replaces_mfa: bool = True,
    mfa: str = "OFF",
    secret: bool = False,
) -> tuple[str, str, str | None]:
    admin = svc.admin()
    kwargs: dict[str, Any] = {"PoolName": f"c{uuid.uuid4().hex[:8]}"}
    if devices != "off":
        kwargs["DeviceConfiguration"] = {
            "ChallengeRequiredOnNewDevice": replaces_mfa,
            "DeviceOnlyRememberedOnUserPrompt": devices == "optin",
        }
    pool_id = admin.create_user_pool(**kwargs)["UserPool"]["Id"]
    if mfa != "OFF":
        admin.set_user_pool_mfa_config(
            UserPoolId=pool_id,
            SoftwareTokenMfaConfiguration={"Enabled": True},
            MfaConfiguration=mfa,
        )
    created = admin.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app", GenerateSecret=secret
    )["UserPoolClient"]
    return pool_id, created["ClientId"], created.get("ClientSecret")


def client_for(svc: Service, pool_id: str, client_id: str, **kwargs: Any) -> Client:
    kwargs.setdefault("store", MemoryDeviceStore())
    kwargs.setdefault("device_name", "pytest-box")
    return Client(pool_id, client_id, endpoint_url=svc.url, **kwargs)


def admin_device(svc: Service, pool_id: str, user: str, key: str) -> dict[str, str]:
    device = svc.admin().admin_get_device(UserPoolId=pool_id, Username=user, DeviceKey=key)
    return {a["Name"]: a["Value"] for a in device["Device"]["DeviceAttributes"]}


def code_of(exc: pytest.ExceptionInfo[ServiceError]) -> str:
    return exc.value.code


def test_remembered_device_story(any_svc: Service) -> None:
    svc = any_svc
    pool_id, client_id, _ = make_pool(svc)
    make_user(svc, pool_id)
    client = client_for(svc, pool_id, client_id, require_server_proof=True)
    with pytest.raises(ServiceError) as wrong:
        client.sign_in("alice", PASSWORD + "x")
    assert code_of(wrong) == "NotAuthorizedException"
    first = client.sign_in("alice", PASSWORD)
    assert first.new_device and first.remembered is True and first.server_proofs == 1
    key = first.device_key or ""
    attrs = admin_device(svc, pool_id, "alice", key)
    assert attrs["device_name"] == "pytest-box"
    assert attrs["dev:device_remembered_status"] == "remembered"
    second = client.sign_in("alice", PASSWORD)
    assert second.device_authenticated and second.device_key == key
    assert second.server_proofs >= 1  # the device step vouches for the tokens
    assert second.tokens.claims()["device_key"] == key
    listed = client.list_devices(second.tokens)
    assert [d.device_key for d in listed] == [key]
    assert listed[0].name == "pytest-box" and listed[0].remembered is True
    assert listed[0].last_authenticated is not None
    assert client.get_device(second.tokens, key).device_key == key
    refreshed = client.refresh("alice", second.tokens.refresh_token or "")
    assert refreshed.claims()["device_key"] == key
    client.sign_out(second.tokens)
    with pytest.raises(ServiceError) as revoked:
        client.refresh("alice", second.tokens.refresh_token or "")
    assert code_of(revoked) == "NotAuthorizedException"
    third = client.sign_in("alice", PASSWORD)
    assert third.device_authenticated
    assert client.forget_device(third.tokens) == key
    assert client.stored_device("alice") is None
    fourth = client.sign_in("alice", PASSWORD)
    assert fourth.new_device and fourth.device_key != key


@pytest.mark.parametrize(
    ("policy", "answer", "remembered"),
    [
        ("always", None, "remembered"),
        ("never", None, "not_remembered"),
        ("ask", True, "remembered"),
    ],
)
def test_opt_in_pool_and_the_remember_policy(
    svc: Service, policy: str, answer: bool | None, remembered: str
) -> None:
    pool_id, client_id, _ = make_pool(svc, "optin")
    make_user(svc, pool_id)
    asked: list[str] = []

    def ask(key: str) -> bool:
        asked.append(key)
        return bool(answer)

    client = client_for(
        svc, pool_id, client_id, remember=policy, callbacks=Callbacks(remember_device=ask)
    )
    result = client.sign_in("alice", PASSWORD)
    assert result.new_device and result.device_error is None
    assert result.remembered is (remembered == "remembered")
    attrs = admin_device(svc, pool_id, "alice", result.device_key or "")
    assert attrs["dev:device_remembered_status"] == remembered
    assert len(asked) == (1 if policy == "ask" else 0)
    # Tracked either way: the next sign-in runs the device step.
    assert client.sign_in("alice", PASSWORD).device_authenticated


def test_totp_setup_then_a_remembered_device_replaces_mfa(svc: Service) -> None:
    pool_id, client_id, _ = make_pool(svc, mfa="ON")
    make_user(svc, pool_id)
    client = client_for(svc, pool_id, client_id)
    with pytest.raises(ChallengeNotHandledError) as unhandled:
        client.sign_in("alice", PASSWORD)
    assert unhandled.value.challenge == "MFA_SETUP"
    totps: list[Totp] = []
    prompted: list[int] = []

    def setup(secret: str) -> str:
        totps.append(Totp(secret))
        return totps[0].code()

    def code() -> str:
        prompted.append(1)
        return totps[0].code()

    callbacks = Callbacks(totp_setup=setup, totp_code=code)
    first = client.sign_in("alice", PASSWORD, callbacks=callbacks)
    assert first.new_device and len(totps) == 1
    second = client.sign_in("alice", PASSWORD, callbacks=callbacks)
    assert second.device_authenticated and prompted == []  # MFA replaced by the device
    other = client_for(svc, pool_id, client_id)  # a new machine: MFA again
    assert other.sign_in("alice", PASSWORD, callbacks=callbacks).new_device
    assert prompted == [1]


def test_mfa_then_device_step_when_devices_do_not_replace_mfa(svc: Service) -> None:
    pool_id, client_id, _ = make_pool(svc, mfa="ON", replaces_mfa=False)
    make_user(svc, pool_id)
    client = client_for(svc, pool_id, client_id)
    totp: list[Totp] = []

    def setup(secret: str) -> str:
        totp.append(Totp(secret))
        return totp[0].code()

    callbacks = Callbacks(totp_setup=setup, totp_code=lambda: totp[0].code())
    assert client.sign_in("alice", PASSWORD, callbacks=callbacks).new_device
    again = client.sign_in("alice", PASSWORD, callbacks=callbacks)
    assert again.device_authenticated and not again.new_device


def test_stale_device_is_cleared_and_the_sign_in_retried(svc: Service) -> None:
    pool_id, client_id, _ = make_pool(svc)
    make_user(svc, pool_id)
    store = MemoryDeviceStore()
    client = client_for(svc, pool_id, client_id, store=store)
    old = client.sign_in("alice", PASSWORD).device_key or ""
    svc.admin().admin_forget_device(UserPoolId=pool_id, Username="alice", DeviceKey=old)
    sent: list[tuple[str, str | None]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        answers = params.get("ChallengeResponses") or params.get("AuthParameters") or {}
        sent.append((params.get("ChallengeName", "InitiateAuth"), answers.get("DEVICE_KEY")))

    for op in ("InitiateAuth", "RespondToAuthChallenge"):
        client.cognito.meta.events.register(f"provide-client-params.cognito-idp.{op}", record)
    result = client.sign_in("alice", PASSWORD)
    assert result.new_device and result.device_key not in (None, old)
    # The service accepted the same claim once more without the device (no new InitiateAuth).
    assert sent == [("InitiateAuth", old), ("PASSWORD_VERIFIER", old), ("PASSWORD_VERIFIER", None)]
    stored = store.load(StoreKey(pool_id, client_id, "alice"))
    assert stored is not None and stored.device_key == result.device_key
    assert client.sign_in("alice", PASSWORD).device_authenticated


def test_wrong_device_password_is_refused_and_the_device_kept(svc: Service) -> None:
    pool_id, client_id, _ = make_pool(svc)
    make_user(svc, pool_id)
    store = MemoryDeviceStore()
    client = client_for(svc, pool_id, client_id, store=store)
    client.sign_in("alice", PASSWORD)
    key = StoreKey(pool_id, client_id, "alice")
    good = store.load(key)
    assert good is not None
    store.save(key, DeviceSecrets(good.device_key, good.device_group_key, "A" * 56))
    with pytest.raises(ServiceError) as refused:
        client.sign_in("alice", PASSWORD)
    assert code_of(refused) == "NotAuthorizedException"
    assert store.load(key) is not None  # a wrong secret is not a stale device
    store.save(key, good)
    assert client.sign_in("alice", PASSWORD).device_authenticated


def test_app_client_with_a_secret(svc: Service) -> None:
    pool_id, client_id, secret = make_pool(svc, secret=True)
    assert secret
    make_user(svc, pool_id)
    with pytest.raises(ServiceError):
        client_for(svc, pool_id, client_id).sign_in("alice", PASSWORD)
    client = client_for(svc, pool_id, client_id, client_secret=secret)
    assert client.sign_in("alice", PASSWORD).new_device
    result = client.sign_in("alice", PASSWORD)
    assert result.device_authenticated
    assert client.refresh("alice", result.tokens.refresh_token or "").access_token
    client.sign_out(result.tokens)
    with pytest.raises(ServiceError):
        client.refresh("alice", result.tokens.refresh_token or "")


def test_new_password_required(svc: Service) -> None:
    pool_id, client_id, _ = make_pool(svc)
    make_user(svc, pool_id, permanent=False)
    client = client_for(svc, pool_id, client_id)
    with pytest.raises(ChallengeNotHandledError) as unhandled:
        client.sign_in("alice", PASSWORD)
    assert unhandled.value.challenge == "NEW_PASSWORD_REQUIRED"
    new = "An0ther-Passw0rd!"
    callbacks = Callbacks(new_password=lambda attrs, required: NewPassword(new))
    assert client.sign_in("alice", PASSWORD, callbacks=callbacks).tokens
    with pytest.raises(ServiceError):
        client.sign_in("alice", PASSWORD)
    assert client.sign_in("alice", new).tokens


def test_pool_without_device_tracking(svc: Service) -> None:
    pool_id, client_id, _ = make_pool(svc, "off")
    make_user(svc, pool_id)
    client = client_for(svc, pool_id, client_id)
    result = client.sign_in("alice", PASSWORD)
    assert not result.new_device and result.device_key is None
    assert client.stored_device("alice") is None


LOCALE_CHILD = textwrap.dedent(
    """
    import locale, sys, time
    locale.setlocale(locale.LC_ALL, "")
    assert locale.getlocale(locale.LC_TIME)[0] == "de_DE", locale.getlocale(locale.LC_TIME)
    from devicesrp.client import Client, MemoryDeviceStore
    # No endpoint_url: boto3 takes it from AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER.
    client = Client(sys.argv[1], sys.argv[2], store=MemoryDeviceStore())
    first = client.sign_in("alice", sys.argv[3])
    second = client.sign_in("alice", sys.argv[3])
    print(time.strftime("%a %b", time.gmtime()), first.new_device, second.device_authenticated)
    """
)


def test_timestamp_under_a_german_locale_against_the_service(svc: Service) -> None:
    german = "de_DE.UTF-8"
    probe = subprocess.run(
        [sys.executable, "-c", "import locale; locale.setlocale(locale.LC_ALL, '')"],
        env={**os.environ, "LC_ALL": german},
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{german} is not installed (.ci/services.sh installs it)")
        pytest.skip(f"{german} locale not installed")
    pool_id, client_id, _ = make_pool(svc)
    make_user(svc, pool_id)
    env = {
        **os.environ,
        **HERMETIC_ENV,
        "LC_ALL": german,
        "TZ": "America/St_Johns",  # a half-hour offset from UTC
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": svc.url,
    }
    child = subprocess.run(
        [sys.executable, "-c", LOCALE_CHILD, pool_id, client_id, PASSWORD],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    day, _month, new_device, device_step = child.stdout.split()
    assert (new_device, device_step) == ("True", "True")  # the service accepted every TIMESTAMP
    assert day in {"Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"}  # the child really was German
    # The contrast the issue names: pycognito's device step formats TIMESTAMP with strftime, so
    # under the same locale the service refuses it, for the same user and a confirmed device.
    device_client = client_for(svc, pool_id, client_id)
    assert device_client.sign_in("alice", PASSWORD).new_device
    device = device_client.stored_device("alice")
    assert device is not None
    pycognito = subprocess.run(
        [
            sys.executable,
            "-c",
            PYCOGNITO_CHILD,
            pool_id,
            client_id,
            PASSWORD,
            device.device_key,
            device.device_group_key,
            device.device_password,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert pycognito.returncode == 0, pycognito.stderr[-2000:]
    assert pycognito.stdout.split() == ["refused", "InvalidParameterException"]


PYCOGNITO_CHILD = textwrap.dedent(
    """
    import locale, os, sys
    locale.setlocale(locale.LC_ALL, "")
    import boto3
    from botocore.exceptions import ClientError
    from pycognito.aws_srp import AWSSRP
    pool, client_id, password, key, group, device_password = sys.argv[1:7]
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    srp = AWSSRP("alice", password, pool, client_id, client=cognito, device_key=key,
                 device_group_key=group, device_password=device_password)
    try:
        srp.authenticate_user()
        print("accepted")
    except ClientError as exc:
        print("refused", exc.response["Error"]["Code"])
    """
)


def test_cli_login_against_the_service(svc: Service, tmp_path: Path) -> None:
    pool_id, client_id, _ = make_pool(svc, "optin")
    make_user(svc, pool_id, "bob")
    store = tmp_path / "devices.json"
    env = {
        **os.environ,
        **HERMETIC_ENV,
        "DEVICESRP_POOL_ID": pool_id,
        "DEVICESRP_CLIENT_ID": client_id,
    }
    base = [sys.executable, "-m", "devicesrp", "client"]
    common = ["--endpoint-url", svc.url, "--store", str(store), "--username", "bob"]
    # --remember ask: the answer "y" follows the password on standard input.
    login = subprocess.run(
        [*base, "login", *common, "--password-stdin", "--remember", "ask", "--json"],
        input=f"{PASSWORD}\ny\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert login.returncode == 0, login.stderr
    summary = json.loads(login.stdout)
    assert summary["new_device"] and summary["remembered"] is True
    attrs = admin_device(svc, pool_id, "bob", summary["device_key"])
    assert attrs["dev:device_remembered_status"] == "remembered"
    listed = subprocess.run(
        [*base, "devices", "list", *common, "--remote", "--password-stdin", "--json"],
        input=f"{PASSWORD}\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert [d["device_key"] for d in shown["stored"]] == [summary["device_key"]]
    remote = {d["device_key"]: d for d in shown["service"]}
    assert remote[summary["device_key"]]["this_device"] is True
    assert remote[summary["device_key"]]["remembered"] is True
    assert remote[summary["device_key"]]["name"]
    again = subprocess.run(
        [*base, "devices", "forget", *common, "--password-stdin"],
        input=f"{PASSWORD}\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    devices = svc.admin().admin_list_devices(UserPoolId=pool_id, Username="bob")["Devices"]
    assert devices == []


# -- the server proof, tampered on the way (row 24) -------------------------------------------


@contextlib.contextmanager
def proof_tampering_proxy(upstream: str, mode: str) -> Iterator[str]:
    """A loopback proxy to ``upstream`` that flips one bit of, or drops, the server proof."""
    target = urllib.parse.urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            skip = {"host", "content-length", "connection"}
            headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
            conn.request("POST", "/", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for name, value in resp.getheaders():
                lower = name.lower()
                if lower in {"content-length", "connection", "transfer-encoding", "date", "server"}:
                    continue
                if lower == "x-devicesrp-server-proof":
                    if mode == "drop":
                        continue
                    raw = bytearray(base64.b64decode(value))
                    raw[-1] ^= 0x80
                    value = base64.b64encode(bytes(raw)).decode()
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_tampered_server_proof_keeps_no_tokens(any_svc: Service) -> None:
    pool_id, client_id, _ = make_pool(any_svc)
    make_user(any_svc, pool_id)
    with proof_tampering_proxy(any_svc.url, "flip") as url:
        client = Client(pool_id, client_id, store=MemoryDeviceStore(), endpoint_url=url)
        with pytest.raises(AuthenticationError):
            client.sign_in("alice", PASSWORD)
        assert client.stored_device("alice") is None
    # Nothing was confirmed: the client stopped at the proof.
    assert any_svc.admin().admin_list_devices(UserPoolId=pool_id, Username="alice")["Devices"] == []
    # Through the service directly the same client succeeds (the proof is right there).
    direct = client_for(any_svc, pool_id, client_id, require_server_proof=True)
    assert direct.sign_in("alice", PASSWORD).server_proofs == 1


def test_a_missing_server_proof_is_refused_only_when_required(any_svc: Service) -> None:
    pool_id, client_id, _ = make_pool(any_svc)
    make_user(any_svc, pool_id)
    with proof_tampering_proxy(any_svc.url, "drop") as url:
        strict = Client(
            pool_id,
            client_id,
            store=MemoryDeviceStore(),
            endpoint_url=url,
            require_server_proof=True,
        )
        with pytest.raises(AuthenticationError):
            strict.sign_in("alice", PASSWORD)
        lenient = Client(pool_id, client_id, store=MemoryDeviceStore(), endpoint_url=url)
        result = lenient.sign_in("alice", PASSWORD)
        assert result.server_proofs == 0 and result.new_device  # Cognito sends no proof either


def test_sms_mfa_code_from_the_outbox_then_replaced_by_the_device(svc: Service) -> None:
    import re

    from devicesrp.store import open_store

    db_url = getattr(svc, "db_url", None) or f"sqlite:///{svc.log_path.parent / 'service.sqlite3'}"
    pool_id, client_id, _ = make_pool(svc)
    admin = svc.admin()
    admin.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        SmsMfaConfiguration={"SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::0:role/sns"}},
        MfaConfiguration="ON",
    )
    make_user(svc, pool_id, "sam", phone="+15555550100")
    admin.admin_set_user_mfa_preference(
        UserPoolId=pool_id, Username="sam", SMSMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    destinations: list[str | None] = []
    last_id = [0]

    def sms(destination: str | None) -> str:
        destinations.append(destination)
        store = open_store(db_url)
        try:
            messages = store.read_outbox(pool_id, after_id=last_id[0])
        finally:
            store.close()
        assert messages, "no SMS in the outbox"
        last_id[0] = messages[-1].message_id
        found = re.search(r"\b(\d{6})\b", messages[-1].body)
        assert found is not None
        return found.group(1)

    client = client_for(svc, pool_id, client_id)
    first = client.sign_in("sam", PASSWORD, callbacks=Callbacks(sms_code=sms))
    assert first.new_device and len(destinations) == 1
    assert destinations[0] is not None and destinations[0].endswith("0100")
    second = client.sign_in("sam", PASSWORD, callbacks=Callbacks(sms_code=sms))
    assert second.device_authenticated and len(destinations) == 1  # no SMS this time


def test_sign_out_everywhere(svc: Service) -> None:
    pool_id, client_id, _ = make_pool(svc)
    make_user(svc, pool_id)
    client = client_for(svc, pool_id, client_id)
    other = client.sign_in("alice", PASSWORD).tokens  # a second session of the same user
    tokens = client.sign_in("alice", PASSWORD).tokens
    assert client.list_devices(other)
    client.sign_out(tokens, everywhere=True)
    for session in (tokens, other):
        with pytest.raises(ServiceError) as refused:
            client.refresh("alice", session.refresh_token or "")
        assert refused.value.code == "NotAuthorizedException"
    with pytest.raises(ServiceError) as denied:
        client.list_devices(other)
    assert denied.value.code == "NotAuthorizedException"
