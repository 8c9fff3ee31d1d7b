"""Byte compatibility of the whole client, not just its math: the deterministic twin (fixed
``a``, device secret bytes and clock) drives complete sign-ins over boto3 and real HTTP against
a scripted endpoint that answers with the published values, and what the client SENDS must be
the published answers: PASSWORD_CLAIM_SIGNATURE (user and device steps), SECRET_HASH over the
sub, TIMESTAMP, SRP_A, and the ConfirmDevice verifier (vectors/README.md for provenance)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from devicesrp.client import Client, MemoryDeviceStore
from devicesrp.errors import ServiceError
from devicesrp.srp.timestamp import parse_timestamp
from test_client_minicognito import Refusal, fake_jwt, serving
from vectors import load

SIMON = load("cognito_kat_simonmcallister0210_cognito-srp-helper.json")
RYAN = load("cognito_kat_ryanmab_aws-cognito-srp.json")
USER = SIMON["user_srp"]
VERIFIER = SIMON["device_verifier (ConfirmDevice)"]
DEVICE = SIMON["device_srp (DEVICE_PASSWORD_VERIFIER)"]


@pytest.fixture(autouse=True)
def hermetic_boto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


class Scripted:
    """Answers each operation from a queue of canned replies and records the requests."""

    def __init__(self, replies: list[tuple[str, dict[str, Any]]]) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def handle(self, op: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        self.requests.append((op, body))
        expected, reply = self.replies.pop(0)
        if op != expected:
            raise Refusal("ScriptMismatch", f"client sent {op}, script expected {expected}")
        return reply, {}


def queue(*chunks: bytes) -> Callable[[int], bytes]:
    """The twin's entropy: hands out fixed byte strings in order of use."""
    pending = list(chunks)

    def entropy(nbytes: int) -> bytes:
        return pending.pop(0)

    return entropy


def small_a(hex_text: str) -> bytes:
    # The engine takes a >= 32 bytes; leading zero bytes keep the value (and A) unchanged.
    return int(hex_text, 16).to_bytes(32, "big")


def tokens(new_device: dict[str, str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "AccessToken": fake_jwt({"username": USER["inputs"]["USER_ID_FOR_SRP"]}),
        "IdToken": fake_jwt({"token_use": "id"}),
        "RefreshToken": "refresh-" + uuid.uuid4().hex,
        "ExpiresIn": 3600,
        "TokenType": "Bearer",
    }
    if new_device:
        result["NewDeviceMetadata"] = new_device
    return {"AuthenticationResult": result}


def password_verifier() -> dict[str, Any]:
    i = USER["inputs"]
    return {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": i["SALT_hex"],
            "SRP_B": i["SRP_B_hex"],
            "SECRET_BLOCK": i["SECRET_BLOCK_base64"],
            "USER_ID_FOR_SRP": i["USER_ID_FOR_SRP"],
            "USERNAME": i["USER_ID_FOR_SRP"],
        },
    }


def test_simonmcallister_user_device_verifier_and_device_vectors() -> None:
    i = USER["inputs"]
    session = "S" * 40
    device_key = VERIFIER["inputs"]["DeviceKey"]
    script = Scripted(
        [
            ("InitiateAuth", password_verifier()),
            (
                "RespondToAuthChallenge",
                tokens(
                    {
                        "DeviceKey": device_key,
                        "DeviceGroupKey": VERIFIER["inputs"]["DeviceGroupKey"],
                    }
                ),
            ),
            ("ConfirmDevice", {"UserConfirmationNecessary": False}),
            # Second sign-in: password step, then the device step.
            ("InitiateAuth", password_verifier()),
            (
                "RespondToAuthChallenge",
                {"ChallengeName": "DEVICE_SRP_AUTH", "Session": session, "ChallengeParameters": {}},
            ),
            (
                "RespondToAuthChallenge",
                {
                    "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
                    "Session": session + "2",
                    "ChallengeParameters": {
                        "SALT": DEVICE["inputs"]["salt_int_effective_hex"],
                        "SRP_B": DEVICE["inputs"]["SRP_B_hex"],
                        "SECRET_BLOCK": DEVICE["inputs"]["SECRET_BLOCK_base64"],
                        "USERNAME": DEVICE["inputs"]["USERNAME (challenge param)"],
                        "DEVICE_KEY": device_key,
                    },
                },
            ),
            ("RespondToAuthChallenge", tokens()),
        ]
    )
    a = small_a(i["smallA_hex"])
    entropy = queue(
        a,
        bytes.fromhex(VERIFIER["inputs"]["effective_random_password_bytes_hex"]),
        bytes.fromhex(VERIFIER["inputs"]["effective_salt_bytes_hex_before_padHex"]),
        a,  # second sign-in, user step
        small_a(DEVICE["inputs"]["smallA_hex"]),  # device step
    )
    epoch = i["TIMESTAMP_epoch_ms"] // 1000
    with serving(script) as url:  # type: ignore[arg-type]
        client = Client(
            i["poolId"],
            i["clientId"],
            client_secret=i["client_secret"],
            store=MemoryDeviceStore(),
            endpoint_url=url,
            entropy=entropy,
            clock=lambda: epoch,
            device_name="vector",
        )
        first = client.sign_in(i["username_sent_in_InitiateAuth"], i["password"])
        second = client.sign_in(i["username_sent_in_InitiateAuth"], i["password"])
    assert script.replies == []
    sent = script.requests
    init = sent[0][1]["AuthParameters"]
    assert init["SRP_A"] == USER["expected"]["largeA_hex"].lower().lstrip("0")
    assert init["USERNAME"] == "john.doe"
    claim = sent[1][1]["ChallengeResponses"]
    assert claim["TIMESTAMP"] == i["TIMESTAMP"]
    assert claim["PASSWORD_CLAIM_SIGNATURE"] == USER["expected"]["PASSWORD_CLAIM_SIGNATURE"]
    assert claim["USERNAME"] == i["USER_ID_FOR_SRP"]
    assert claim["SECRET_HASH"] == USER["expected"]["SECRET_HASH(USER_ID_FOR_SRP=sub)"]
    # ConfirmDevice carries exactly the published verifier.
    config = sent[2][1]["DeviceSecretVerifierConfig"]
    assert config["Salt"] == VERIFIER["expected"]["Salt_base64"]
    assert config["PasswordVerifier"] == VERIFIER["expected"]["PasswordVerifier_base64"]
    assert first.new_device and first.device_key == device_key
    stored = client.stored_device("john.doe")
    assert stored is not None
    assert stored.device_password == VERIFIER["expected"]["DeviceRandomPassword"]
    # The device step: fresh A from the device's a, Session echoed, the published signature.
    assert sent[4][1]["ChallengeResponses"]["DEVICE_KEY"] == device_key
    device_start = sent[5][1]
    assert device_start["ChallengeName"] == "DEVICE_SRP_AUTH"
    assert device_start["Session"] == session
    assert device_start["ChallengeResponses"]["DEVICE_KEY"] == device_key
    device_claim = sent[6][1]
    assert device_claim["Session"] == session + "2"
    responses = device_claim["ChallengeResponses"]
    assert responses["TIMESTAMP"] == DEVICE["inputs"]["TIMESTAMP"]
    assert responses["PASSWORD_CLAIM_SIGNATURE"] == DEVICE["expected"]["PASSWORD_CLAIM_SIGNATURE"]
    assert second.device_authenticated


@pytest.mark.parametrize("case", range(2))
def test_ryanmab_user_vectors(case: int) -> None:
    common = RYAN["common_inputs"]
    vector = RYAN["user_srp"][case]
    i = vector["inputs"]
    block = common["SECRET_BLOCK_base64"]  # hex-looking, but decoded as base64 (see note)
    challenge = {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": i["SALT_hex"],
            "SRP_B": i["SRP_B_hex"],
            "SECRET_BLOCK": block,
            "USER_ID_FOR_SRP": i["USER_ID_FOR_SRP"],
        },
    }
    script = Scripted([("InitiateAuth", challenge), ("RespondToAuthChallenge", tokens())])
    epoch = parse_timestamp(common["TIMESTAMP"])
    with serving(script) as url:  # type: ignore[arg-type]
        client = Client(
            i["pool_id"],
            "ryanclient",
            store=MemoryDeviceStore(),
            endpoint_url=url,
            entropy=queue(bytes.fromhex(common["a_hex"])),
            clock=lambda: epoch,
        )
        client.sign_in(i["USER_ID_FOR_SRP"], i["password"])
    assert script.requests[0][1]["AuthParameters"]["SRP_A"] == RYAN["expected_A_hex"].lstrip("0")
    claim = script.requests[1][1]["ChallengeResponses"]
    assert claim["TIMESTAMP"] == common["TIMESTAMP"]
    assert claim["PASSWORD_CLAIM_SIGNATURE"] == vector["expected"]["PASSWORD_CLAIM_SIGNATURE"]


def test_scripted_endpoint_refuses_an_unexpected_operation() -> None:
    """The script must notice a client that strays from the expected sequence."""
    script = Scripted([("ListDevices", {})])
    with serving(script) as url:  # type: ignore[arg-type]
        client = Client("us-east-1_x", "c", store=MemoryDeviceStore(), endpoint_url=url)
        with pytest.raises(ServiceError) as caught:
            client.sign_in("u", "p")
    assert caught.value.code == "ScriptMismatch"
    assert [op for op, _ in script.requests] == ["InitiateAuth"]
