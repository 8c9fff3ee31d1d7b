"""The client's sign-in flows, unit level, against MiniCognito (a real HTTP server on 127.0.0.1
whose SRP answers come from devicesrp's server engine). End-to-end evidence against
``devicesrp serve`` is in tests/test_client_service.py."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devicesrp.client import (
    Callbacks,
    Client,
    MemoryDeviceStore,
    NewPassword,
    RememberPolicy,
    StoreKey,
)
from devicesrp.errors import (
    AuthenticationError,
    ChallengeNotHandledError,
    DeviceNotFoundError,
    InvalidParameterError,
    RemoteProtocolError,
    ServiceError,
)
from devicesrp.srp.groups import COGNITO_GROUP
from test_client_minicognito import CLIENT_ID, POOL_ID, MiniCognito, serving

PASSWORD = "Corr3ct horse battery staple!"
TOTP = Callbacks(totp_code=lambda: "123456")


@pytest.fixture(autouse=True)
def hermetic_boto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def service() -> MiniCognito:
    svc = MiniCognito()
    svc.add_user("alice", PASSWORD)
    return svc


@pytest.fixture
def url(service: MiniCognito) -> Iterator[str]:
    with serving(service) as endpoint:
        yield endpoint


def make(url: str, **kwargs: Any) -> Client:
    kwargs.setdefault("store", MemoryDeviceStore())
    return Client(POOL_ID, CLIENT_ID, endpoint_url=url, device_name="unit-test", **kwargs)


def test_first_sign_in_confirms_and_stores_a_device_then_device_srp(
    service: MiniCognito, url: str
) -> None:
    client = make(url)
    first = client.sign_in("alice", PASSWORD)
    assert first.new_device and first.remembered is True and first.device_error is None
    assert not first.device_authenticated
    assert first.server_proofs == 1
    stored = client.stored_device("alice")
    assert stored is not None and stored.device_key == first.device_key
    device = service.devices[stored.device_key]
    assert device.name == "unit-test" and device.remembered
    # The always-remember pool needs no UpdateDeviceStatus.
    assert service.sent("UpdateDeviceStatus") == []
    # The verifier we sent is a real one: the device step succeeds with the stored password.
    confirm = service.sent("ConfirmDevice")[0]["DeviceSecretVerifierConfig"]
    assert len(base64.b64decode(confirm["Salt"])) in (16, 17)
    service.requests.clear()
    second = client.sign_in("alice", PASSWORD)
    assert second.device_authenticated and not second.new_device
    assert second.device_key == stored.device_key
    assert second.server_proofs == 2
    assert second.tokens.claims()["device_key"] == stored.device_key
    init = service.sent("InitiateAuth")[0]["AuthParameters"]
    steps = {b["ChallengeName"]: b for b in service.sent("RespondToAuthChallenge")}
    assert init["DEVICE_KEY"] == stored.device_key
    assert steps["PASSWORD_VERIFIER"]["ChallengeResponses"]["DEVICE_KEY"] == stored.device_key
    # A fresh a for the device step (pycognito re-uses the user's A), and Session echoed.
    assert steps["DEVICE_SRP_AUTH"]["ChallengeResponses"]["SRP_A"] != init["SRP_A"]
    assert len(steps["DEVICE_SRP_AUTH"]["Session"]) >= 20
    assert len(steps["DEVICE_PASSWORD_VERIFIER"]["Session"]) >= 20
    for body in steps.values():
        assert body["ChallengeResponses"]["USERNAME"] == "alice"


def test_wire_values_are_canonical(service: MiniCognito, url: str) -> None:
    make(url).sign_in("alice", PASSWORD)
    srp_a = service.sent("InitiateAuth")[0]["AuthParameters"]["SRP_A"]
    assert re.fullmatch(r"[1-9a-f][0-9a-f]*", srp_a)
    assert 1 < int(srp_a, 16) < COGNITO_GROUP.N - 1
    claim = service.sent("RespondToAuthChallenge")[0]["ChallengeResponses"]
    stamp = claim["TIMESTAMP"]
    assert re.fullmatch(
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
        r"[1-9][0-9]? [0-2][0-9]:[0-5][0-9]:[0-5][0-9] UTC [0-9]{4}",
        stamp,
    )
    expected = time.strftime("%H:%M", time.gmtime())
    assert stamp.split(" ")[3][:5] in {
        expected,
        time.strftime("%H:%M", time.gmtime(time.time() - 60)),
    }
    assert len(base64.b64decode(claim["PASSWORD_CLAIM_SIGNATURE"])) == 32


@pytest.mark.parametrize(
    ("policy", "answer", "remembered"),
    [("always", None, True), ("never", None, False), ("ask", True, True), ("ask", False, False)],
)
def test_opt_in_pool_follows_the_remember_policy(
    service: MiniCognito, url: str, policy: str, answer: bool | None, remembered: bool
) -> None:
    service.opt_in = True
    asked: list[str] = []

    def ask(key: str) -> bool:
        asked.append(key)
        assert answer is not None
        return answer

    client = make(url, remember=policy, callbacks=Callbacks(remember_device=ask))
    result = client.sign_in("alice", PASSWORD)
    assert result.new_device and result.remembered is remembered
    assert service.devices[result.device_key or ""].remembered is remembered
    assert asked == ([result.device_key] if policy == "ask" else [])
    updates = service.sent("UpdateDeviceStatus")
    assert [u["DeviceRememberedStatus"] for u in updates] == (["remembered"] if remembered else [])
    assert client.stored_device("alice") is not None  # tracked either way


def test_ask_without_a_callback_is_refused_before_any_request(
    service: MiniCognito, url: str
) -> None:
    with pytest.raises(InvalidParameterError):
        make(url, remember="ask").sign_in("alice", PASSWORD)
    with pytest.raises(InvalidParameterError):
        make(url, remember="sometimes")
    with pytest.raises(TypeError):
        make(url, store={"alice": "device"})
    with pytest.raises(InvalidParameterError):
        make(url).sign_in("", PASSWORD)
    assert service.requests == []


def test_always_pool_with_never_marks_the_device_not_remembered(
    service: MiniCognito, url: str
) -> None:
    result = make(url, remember=RememberPolicy.NEVER).sign_in("alice", PASSWORD)
    assert result.remembered is False
    assert [u["DeviceRememberedStatus"] for u in service.sent("UpdateDeviceStatus")] == [
        "not_remembered"
    ]
    assert not service.devices[result.device_key or ""].remembered


def test_totp_is_asked_then_skipped_for_a_remembered_device(service: MiniCognito, url: str) -> None:
    service.users["alice"].totp = True
    client = make(url)
    with pytest.raises(ChallengeNotHandledError) as caught:
        client.sign_in("alice", PASSWORD)
    assert caught.value.challenge == "SOFTWARE_TOKEN_MFA"
    asked: list[int] = []

    def totp() -> str:
        asked.append(1)
        return "123456"

    first = client.sign_in("alice", PASSWORD, callbacks=Callbacks(totp_code=totp))
    assert first.new_device and asked == [1]
    second = client.sign_in("alice", PASSWORD, callbacks=Callbacks(totp_code=totp))
    assert second.device_authenticated and asked == [1]  # the remembered device replaced MFA
    # A pool that does not let devices replace MFA: TOTP first, then the device step.
    service.device_replaces_mfa = False
    third = client.sign_in("alice", PASSWORD, callbacks=Callbacks(totp_code=totp))
    assert third.device_authenticated and asked == [1, 1]


def test_wrong_totp_code_is_a_service_error(service: MiniCognito, url: str) -> None:
    service.users["alice"].totp = True
    with pytest.raises(ServiceError) as caught:
        make(url).sign_in("alice", PASSWORD, callbacks=Callbacks(totp_code=lambda: "000000"))
    assert caught.value.code == "CodeMismatchException"


def test_sms_and_mfa_selection(service: MiniCognito, url: str) -> None:
    service.users["alice"].mfa = "sms"
    seen: list[str | None] = []

    def sms(destination: str | None) -> str:
        seen.append(destination)
        return "654321"

    assert make(url).sign_in("alice", PASSWORD, callbacks=Callbacks(sms_code=sms)).tokens
    assert seen == ["+*******1234"]
    service.users["alice"].mfa = "select"
    offered: list[tuple[str, ...]] = []

    def choose(options: Any) -> str:
        offered.append(tuple(options))
        return "SOFTWARE_TOKEN_MFA"

    callbacks = Callbacks(select_mfa=choose, totp_code=lambda: "123456")
    assert make(url).sign_in("alice", PASSWORD, callbacks=callbacks).tokens
    assert offered == [("SMS_MFA", "SOFTWARE_TOKEN_MFA")]
    with pytest.raises(ChallengeNotHandledError):
        make(url).sign_in("alice", PASSWORD, callbacks=Callbacks(select_mfa=lambda o: "EMAIL"))


def test_totp_setup(service: MiniCognito, url: str) -> None:
    service.users["alice"].mfa = "setup"
    secrets_seen: list[str] = []

    def setup(secret: str) -> str:
        secrets_seen.append(secret)
        return "123456"

    result = make(url).sign_in("alice", PASSWORD, callbacks=Callbacks(totp_setup=setup))
    assert result.tokens and secrets_seen == ["JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"]
    verify = service.sent("VerifySoftwareToken")[0]
    assert verify["FriendlyDeviceName"] == "unit-test"
    assert service.users["alice"].totp


def test_new_password_required(service: MiniCognito, url: str) -> None:
    service.users["alice"].new_password_required = True
    with pytest.raises(ChallengeNotHandledError):
        make(url).sign_in("alice", PASSWORD)
    service.users["alice"].new_password_required = True
    given: list[Any] = []

    def new_password(attributes: Any, required: Any) -> NewPassword:
        given.append((dict(attributes), tuple(required)))
        return NewPassword("N3w password!", {"name": "Alice"})

    client = make(url, callbacks=Callbacks(new_password=new_password))
    assert client.sign_in("alice", PASSWORD).tokens
    assert given == [({"email": "x@example.com"}, ())]
    answer = [
        b
        for b in service.sent("RespondToAuthChallenge")
        if b["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    ][-1]["ChallengeResponses"]
    assert answer["NEW_PASSWORD"] == "N3w password!" and answer["userAttributes.name"] == "Alice"
    assert client.sign_in("alice", "N3w password!").device_authenticated


def test_stale_device_is_cleared_and_the_password_step_retried(
    service: MiniCognito, url: str
) -> None:
    client = make(url)
    old = client.sign_in("alice", PASSWORD).device_key
    assert old is not None
    del service.devices[old]  # the service forgot it
    service.requests.clear()
    result = client.sign_in("alice", PASSWORD)
    assert result.new_device and result.device_key != old
    stored = client.stored_device("alice")
    assert stored is not None and stored.device_key == result.device_key
    inits = service.sent("InitiateAuth")
    assert [i["AuthParameters"].get("DEVICE_KEY") for i in inits] == [old]
    # The same claim answered twice: with the stale device, then without it.
    first, second = service.sent("RespondToAuthChallenge")[:2]
    assert first["ChallengeResponses"].pop("DEVICE_KEY") == old
    assert first == second


def test_device_forgotten_during_the_device_step_restarts_without_it(
    service: MiniCognito, url: str
) -> None:
    client = make(url)
    old = client.sign_in("alice", PASSWORD).device_key or ""

    def forget_now(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        if reply.get("ChallengeName") == "DEVICE_SRP_AUTH":
            service.devices.pop(old, None)  # forgotten between the password and device steps
        return reply

    service.tamper["RespondToAuthChallenge"] = forget_now
    service.requests.clear()
    result = client.sign_in("alice", PASSWORD)
    assert result.new_device and not result.device_authenticated
    stored = client.stored_device("alice")
    assert stored is not None and stored.device_key == result.device_key != old
    inits = service.sent("InitiateAuth")
    assert [i["AuthParameters"].get("DEVICE_KEY") for i in inits] == [old, None]


def test_a_device_key_the_service_does_not_know_without_a_store_entry_raises(
    service: MiniCognito, url: str
) -> None:
    client = make(url)
    client.sign_in("alice", PASSWORD)
    stored = client.stored_device("alice")
    assert stored is not None
    del service.devices[stored.device_key]
    with pytest.raises(DeviceNotFoundError) as caught:
        client.get_device(client.sign_in("alice", PASSWORD).tokens, stored.device_key)
    assert caught.value.message == "Device does not exist."


def test_secret_hash_on_every_step(url: str, service: MiniCognito) -> None:
    service.client_secret = "s3cr3t-of-the-app-client"
    with pytest.raises(ServiceError) as caught:
        make(url).sign_in("alice", PASSWORD)
    assert "secret hash" in caught.value.message
    client = make(url, client_secret="s3cr3t-of-the-app-client")
    tokens = client.sign_in("alice", PASSWORD).tokens
    assert client.sign_in("alice", PASSWORD).device_authenticated
    assert client.refresh("alice", tokens.refresh_token or "").access_token
    hashed = [b["ChallengeResponses"] for b in service.sent("RespondToAuthChallenge")]
    assert all("SECRET_HASH" in r for r in hashed) and len(hashed) >= 4


# -- the server proof -------------------------------------------------------------------------


def flip(proof: bytes) -> bytes:
    return bytes([proof[0] ^ 1]) + proof[1:]


@pytest.mark.parametrize("require", [False, True])
def test_a_wrong_server_proof_is_refused_and_nothing_follows(
    service: MiniCognito, url: str, require: bool
) -> None:
    service.proof_tamper = flip
    with pytest.raises(AuthenticationError):
        make(url, require_server_proof=require).sign_in("alice", PASSWORD)
    assert service.sent("ConfirmDevice") == []


def test_wrong_device_step_proof_refuses_tokens(service: MiniCognito, url: str) -> None:
    client = make(url)
    client.sign_in("alice", PASSWORD)
    calls = {"n": 0}

    def second_only(proof: bytes) -> bytes:
        calls["n"] += 1
        return flip(proof) if calls["n"] == 2 else proof

    service.proof_tamper = second_only
    with pytest.raises(AuthenticationError):
        client.sign_in("alice", PASSWORD)
    assert calls["n"] == 2


def test_missing_server_proof(service: MiniCognito, url: str) -> None:
    service.proof_encoding = "none"
    assert make(url).sign_in("alice", PASSWORD).server_proofs == 0
    with pytest.raises(AuthenticationError):
        make(url, require_server_proof=True).sign_in("alice", PASSWORD)


def test_hex_server_proof_and_required_proofs(service: MiniCognito, url: str) -> None:
    service.proof_encoding = "hex"
    client = make(url, require_server_proof=True)
    assert client.sign_in("alice", PASSWORD).server_proofs == 1
    assert client.sign_in("alice", PASSWORD).server_proofs == 2


def test_required_proof_is_the_last_srp_steps(service: MiniCognito, url: str) -> None:
    """A server that proves only on the token answer: the device step vouches for a device
    sign-in; a password step followed only by MFA has no proof and is refused."""
    service.proof_with_tokens_only = True
    client = make(url, require_server_proof=True)
    assert client.sign_in("alice", PASSWORD).server_proofs == 1  # password -> tokens
    assert client.sign_in("alice", PASSWORD).server_proofs == 1  # password -> device -> tokens
    service.users["alice"].totp = True
    client.store.delete(StoreKey(POOL_ID, CLIENT_ID, "alice"))
    with pytest.raises(AuthenticationError):
        client.sign_in("alice", PASSWORD, callbacks=TOTP)  # password -> MFA -> tokens
    assert make(url).sign_in("alice", PASSWORD, callbacks=TOTP).server_proofs == 0


@pytest.mark.parametrize("header", ["", "zz" * 32, "AAAA", base64.b64encode(b"x" * 31).decode()])
def test_a_malformed_server_proof_header_is_refused(
    service: MiniCognito, url: str, header: str
) -> None:
    service.proof_tamper = lambda proof: None
    original = service._proof_header

    def bad(proof: bytes) -> dict[str, str]:
        return {"x-devicesrp-server-proof": header}

    service._proof_header = bad  # type: ignore[method-assign]
    try:
        with pytest.raises((RemoteProtocolError, AuthenticationError)):
            make(url).sign_in("alice", PASSWORD)
    finally:
        service._proof_header = original  # type: ignore[method-assign]


# -- hostile or broken answers ----------------------------------------------------------------

N = COGNITO_GROUP.N


def challenge_params(**changes: Any) -> Any:
    def tamper(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        params = dict(reply.get("ChallengeParameters", {}))
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return {**reply, "ChallengeParameters": params}

    return tamper


@pytest.mark.parametrize(
    "changes",
    [
        {"SRP_B": "0"},
        {"SRP_B": format(N, "x")},
        {"SRP_B": format(2 * N, "x")},
        {"SRP_B": format(N - 1, "x")},
        {"SRP_B": "1"},
        {"SRP_B": "-5"},
        {"SRP_B": ""},
        {"SRP_B": "0x10"},
        {"SRP_B": "f" * 2000},
        {"SALT": "xyz"},
        {"SALT": "ab" * 200},
        {"SECRET_BLOCK": "not base64!"},
        {"SECRET_BLOCK": None},
        {"USER_ID_FOR_SRP": None},
        {"USER_ID_FOR_SRP": "a\x00b"},
    ],
)
def test_a_rogue_password_challenge_is_refused_before_any_proof(
    service: MiniCognito, url: str, changes: dict[str, Any]
) -> None:
    service.tamper["InitiateAuth"] = challenge_params(**changes)
    with pytest.raises(RemoteProtocolError):
        make(url).sign_in("alice", PASSWORD)
    assert service.sent("RespondToAuthChallenge") == []  # no proof went out


def replace_reply(**changes: Any) -> Any:
    def tamper(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        return {**reply, **changes}

    return tamper


@pytest.mark.parametrize(
    "changes",
    [
        {"ChallengeName": "SMS_MFA", "AuthenticationResult": {"AccessToken": "a.b.c"}},
        {"Session": "short"},
        {"ChallengeName": None, "AuthenticationResult": None},
    ],
)
def test_malformed_step_answers(service: MiniCognito, url: str, changes: dict[str, Any]) -> None:
    service.tamper["InitiateAuth"] = replace_reply(**changes)
    with pytest.raises(RemoteProtocolError):
        make(url).sign_in("alice", PASSWORD)


def test_an_unknown_challenge_is_not_handled(service: MiniCognito, url: str) -> None:
    service.tamper["RespondToAuthChallenge"] = replace_reply(
        ChallengeName="CUSTOM_CHALLENGE", AuthenticationResult=None, Session="s" * 40
    )
    with pytest.raises(ChallengeNotHandledError) as caught:
        make(url).sign_in("alice", PASSWORD)
    assert caught.value.challenge == "CUSTOM_CHALLENGE"


def tokens_tamper(**changes: Any) -> Any:
    def tamper(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        if "AuthenticationResult" not in reply:
            return reply
        result = dict(reply["AuthenticationResult"])
        for key, value in changes.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        return {**reply, "AuthenticationResult": result}

    return tamper


@pytest.mark.parametrize(
    "changes",
    [
        {"AccessToken": "not-a-jwt"},
        {"IdToken": None},
        {"RefreshToken": None},
        {"ExpiresIn": 0},
        {"ExpiresIn": -5},
        {"TokenType": "Mac"},
        {"NewDeviceMetadata": {"DeviceKey": "no_UPPER", "DeviceGroupKey": "g"}},
        {"NewDeviceMetadata": {"DeviceKey": "us-east-1_abc"}},
    ],
)
def test_malformed_tokens_are_refused(
    service: MiniCognito, url: str, changes: dict[str, Any]
) -> None:
    service.tamper["RespondToAuthChallenge"] = tokens_tamper(**changes)
    client = make(url)
    with pytest.raises(RemoteProtocolError):
        client.sign_in("alice", PASSWORD)
    assert service.sent("ConfirmDevice") == [] and client.stored_device("alice") is None


def test_a_device_challenge_for_another_device_is_refused(service: MiniCognito, url: str) -> None:
    client = make(url)
    client.sign_in("alice", PASSWORD)

    def other_device(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        if reply.get("ChallengeName") != "DEVICE_PASSWORD_VERIFIER":
            return reply
        return challenge_params(DEVICE_KEY="us-east-1_0000-1111")(body, reply)

    service.tamper["RespondToAuthChallenge"] = other_device
    with pytest.raises(RemoteProtocolError):
        client.sign_in("alice", PASSWORD)
    names = [b["ChallengeName"] for b in service.sent("RespondToAuthChallenge")]
    assert "DEVICE_PASSWORD_VERIFIER" not in names


def test_a_server_going_in_circles_is_stopped(service: MiniCognito, url: str) -> None:
    service.users["alice"].totp = True

    def loop(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        session = service._session(next="SOFTWARE_TOKEN_MFA", device=None)
        return {"ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": session}

    service.tamper["RespondToAuthChallenge"] = loop
    with pytest.raises(RemoteProtocolError, match="more than"):
        make(url).sign_in("alice", PASSWORD, callbacks=TOTP)


# -- tokens and devices -----------------------------------------------------------------------


def test_refresh_list_get_forget_and_sign_out(service: MiniCognito, url: str) -> None:
    store = MemoryDeviceStore()
    client = make(url, store=store)
    # Three devices (three machines), then this one.
    for _ in range(3):
        make(url).sign_in("alice", PASSWORD)
    result = client.sign_in("alice", PASSWORD)
    tokens = client.sign_in("alice", PASSWORD).tokens
    refreshed = client.refresh("alice", tokens.refresh_token or "")
    assert refreshed.refresh_token == tokens.refresh_token  # not rotated: the old one is kept
    refresh_init = service.sent("InitiateAuth")[-1]["AuthParameters"]
    assert refresh_init["DEVICE_KEY"] == result.device_key
    devices = client.list_devices(tokens, page_size=1)  # four pages
    assert len(devices) == 4 and len(service.sent("ListDevices")) == 4
    mine = client.get_device(tokens, result.device_key or "")
    assert mine.name == "unit-test" and mine.remembered is True
    assert mine.created is not None and mine.created.year == 2023
    assert client.forget_device(tokens) == result.device_key  # the token's own device
    assert client.stored_device("alice") is None
    assert len(client.list_devices(tokens)) == 3
    client.sign_out(tokens)
    with pytest.raises(ServiceError):
        client.refresh("alice", tokens.refresh_token or "")


def test_list_devices_refuses_a_repeating_page_token(service: MiniCognito, url: str) -> None:
    client = make(url)
    tokens = client.sign_in("alice", PASSWORD).tokens
    service.tamper["ListDevices"] = replace_reply(PaginationToken="0")
    with pytest.raises(RemoteProtocolError):
        client.list_devices(tokens)


# -- boto3 conventions ------------------------------------------------------------------------


def test_endpoint_from_the_boto3_environment_variable(
    service: MiniCognito, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", url)
    client = Client(POOL_ID, CLIENT_ID, store=MemoryDeviceStore())
    assert client.cognito.meta.region_name == "us-east-1"  # from the pool id
    assert client.sign_in("alice", PASSWORD).tokens
    assert service.sent("InitiateAuth")


def test_an_unreachable_endpoint_is_a_service_error() -> None:
    from botocore.config import Config

    client = Client(
        POOL_ID,
        CLIENT_ID,
        store=MemoryDeviceStore(),
        endpoint_url="http://127.0.0.1:9",
        boto_config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=2
        ),
    )
    assert client.cognito.meta.config.retries["total_max_attempts"] == 1
    with pytest.raises(ServiceError) as caught:
        client.sign_in("alice", PASSWORD)
    assert PASSWORD not in str(caught.value)


def test_errors_and_reprs_never_show_secrets(service: MiniCognito, url: str) -> None:
    client = make(url, client_secret="app-secret-value")
    service.client_secret = "another"
    with pytest.raises(ServiceError) as caught:
        client.sign_in("alice", PASSWORD)
    text = str(caught.value) + repr(client)
    assert PASSWORD not in text and "app-secret-value" not in text
    service.client_secret = "app-secret-value"
    result = client.sign_in("alice", PASSWORD)
    assert result.tokens.access_token not in repr(result)
    stored = client.stored_device("alice")
    assert stored is not None and stored.device_password not in repr(stored)


# -- TIMESTAMP under a non-English locale -----------------------------------------------------

GERMAN = "de_DE.UTF-8"
LOCALE_CHILD = textwrap.dedent(
    """
    import locale, sys, time
    locale.setlocale(locale.LC_ALL, "")
    assert locale.getlocale(locale.LC_TIME)[0] == "de_DE", locale.getlocale(locale.LC_TIME)
    local_day = time.strftime("%a", time.gmtime())
    from devicesrp.client import Client, MemoryDeviceStore
    client = Client(sys.argv[1], sys.argv[2], store=MemoryDeviceStore(), endpoint_url=sys.argv[3])
    client.sign_in("alice", sys.argv[4])
    client.sign_in("alice", sys.argv[4])  # and the device step
    print(local_day)
    """
)


def german_available() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import locale; locale.setlocale(locale.LC_ALL, '')"],
        env={**os.environ, "LC_ALL": GERMAN},
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def test_timestamp_is_english_utc_under_a_german_locale(service: MiniCognito, url: str) -> None:
    if not german_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{GERMAN} is not installed (.ci/services.sh installs it)")
        pytest.skip(f"{GERMAN} locale not installed (run .ci/services.sh)")
    env = {**os.environ, "LC_ALL": GERMAN, "TZ": "Asia/Kolkata"}  # not UTC, half-hour offset
    child = subprocess.run(
        [sys.executable, "-c", LOCALE_CHILD, POOL_ID, CLIENT_ID, url, PASSWORD],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    local_day = child.stdout.strip()
    english = time.strftime("%a", time.gmtime())
    stamps = [
        b["ChallengeResponses"]["TIMESTAMP"]
        for b in service.sent("RespondToAuthChallenge")
        if "TIMESTAMP" in b["ChallengeResponses"]
    ]
    assert len(stamps) == 3  # password, password, device: all accepted by the server
    assert local_day != english  # the child's locale really was German
    for stamp in stamps:
        assert stamp.split(" ")[0] == english and " UTC " in stamp
        # the German day is not the stamp's (an equality test: "Fr" is part of "Fri", "Mo" of
        # "Mon", "Sa" of "Sat", so a substring test failed on those days)
        assert stamp.split(" ")[0] != local_day
    hour = int(stamps[0].split(" ")[3][:2])
    assert hour in {time.gmtime().tm_hour, time.gmtime(time.time() - 120).tm_hour}
    assert json.dumps(stamps).isascii()


def test_no_secret_reaches_any_log(
    service: MiniCognito, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever devicesrp logs (DEBUG and up) and everything else at INFO and up during sign-ins
    is searched for the password and the device password, in plain text, hex and base64
    (security-matrix row 26). botocore's own DEBUG logging is left off here: it prints request
    bodies (tokens, the ConfirmDevice verifier) by boto3's design, not ours."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="devicesrp")
    logging.getLogger("devicesrp.client").debug("capture check")
    client = make(url)
    client.sign_in("alice", PASSWORD)
    client.sign_in("alice", PASSWORD)
    stored = client.stored_device("alice")
    assert stored is not None and "capture check" in caplog.text
    for secret in (PASSWORD, stored.device_password):
        raw = secret.encode()
        for form in (secret, raw.hex(), base64.b64encode(raw).decode()):
            assert form not in caplog.text
