"""The client engine: published known answers through the deterministic twin, the state machine,
a rogue server's B (row 3), u = 0 (row 4), the server proof (row 24), secret hygiene."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from devicesrp.errors import (
    AuthenticationError,
    InvalidParameterError,
    InvalidTypeError,
    LocalProtocolError,
    RemoteProtocolError,
)
from devicesrp.protocol import (
    TRANSITIONS,
    Challenge,
    ClientEvent,
    ClientHandshake,
    ClientState,
    DeviceCredentials,
    UserCredentials,
)
from devicesrp.srp import cognito
from devicesrp.srp.encoding import pad_bytes
from devicesrp.srp.groups import COGNITO_GROUP
from devicesrp.srp.timestamp import parse_timestamp
from test_protocol_support import (
    DEVICE_KEY,
    DEVICE_PASSWORD,
    GROUP_KEY,
    NOW,
    POOL_ID,
    USER_PASSWORD,
    ModexpSpy,
    det,
    device_run,
)
from vectors import load

N = COGNITO_GROUP.N


def salt_from_hex(text: str) -> bytes:
    """Clients read SALT as an integer (odd-length hex included) and re-PAD it."""
    return pad_bytes(int(text, 16))


def kat_cases() -> list[tuple[Any, ...]]:
    """(name, credentials, identity, B, salt, block, timestamp, a, expected A, signature)."""
    cases = []
    alex = load("cognito_kat_alexrudd_cognito-srp.json")
    ai = alex["inputs"]
    cases.append(
        (
            "alexrudd-user",
            UserCredentials(ai["user_pool_id"], ai["password"]),
            ai["USER_ID_FOR_SRP"],
            int(ai["SRP_B_hex_as_sent"], 16),
            salt_from_hex(ai["SALT_hex_as_sent"]),
            ai["SECRET_BLOCK_base64"],
            ai["TIMESTAMP"],
            int(ai["a_decimal"]).to_bytes(4, "big"),
            int(alex["expected"]["A_decimal"]),
            alex["expected"]["PASSWORD_CLAIM_SIGNATURE"],
        )
    )
    ryan = load("cognito_kat_ryanmab_aws-cognito-srp.json")
    common = ryan["common_inputs"]
    for i, case in enumerate(ryan["user_srp"]):
        inp = case["inputs"]
        cases.append(
            (
                f"ryanmab-user-{i}",
                UserCredentials(inp["pool_id"], inp["password"]),
                inp["USER_ID_FOR_SRP"],
                int(inp["SRP_B_hex"], 16),
                salt_from_hex(inp["SALT_hex"]),
                common["SECRET_BLOCK_base64"],
                common["TIMESTAMP"],
                bytes.fromhex(common["a_hex"]),
                int(ryan["expected_A_hex"], 16),
                case["expected"]["PASSWORD_CLAIM_SIGNATURE"],
            )
        )
    for i, case in enumerate(ryan["device_srp"]):
        inp = case["inputs"]
        cases.append(
            (
                f"ryanmab-device-{i}",
                DeviceCredentials(inp["DeviceGroupKey"], inp["DeviceKey"], inp["device_password"]),
                inp["DeviceKey"],
                int(inp["SRP_B_hex"], 16),
                salt_from_hex(inp["SALT_hex"]),
                common["SECRET_BLOCK_base64"],
                common["TIMESTAMP"],
                bytes.fromhex(common["a_hex"]),
                int(ryan["expected_A_hex"], 16),
                case["expected"]["PASSWORD_CLAIM_SIGNATURE"],
            )
        )
    simon = load("cognito_kat_simonmcallister0210_cognito-srp-helper.json")
    su = simon["user_srp"]["inputs"]
    cases.append(
        (
            "simonmcallister-user",
            UserCredentials(su["poolId"], su["password"]),
            su["USER_ID_FOR_SRP"],
            int(su["SRP_B_hex"], 16),
            salt_from_hex(su["SALT_hex"]),
            su["SECRET_BLOCK_base64"],
            su["TIMESTAMP"],
            bytes.fromhex(su["smallA_hex"]),
            int(simon["user_srp"]["expected"]["largeA_hex"], 16),
            simon["user_srp"]["expected"]["PASSWORD_CLAIM_SIGNATURE"],
        )
    )
    sd = simon["device_srp (DEVICE_PASSWORD_VERIFIER)"]["inputs"]
    cases.append(
        (
            "simonmcallister-device",
            DeviceCredentials(sd["DeviceGroupKey"], sd["DeviceKey"], sd["DeviceRandomPassword"]),
            sd["DeviceKey"],
            int(sd["SRP_B_hex"], 16),
            salt_from_hex(sd["salt_int_effective_hex"]),
            sd["SECRET_BLOCK_base64"],
            sd["TIMESTAMP"],
            bytes.fromhex(sd["smallA_hex"]),
            None,
            simon["device_srp (DEVICE_PASSWORD_VERIFIER)"]["expected"]["PASSWORD_CLAIM_SIGNATURE"],
        )
    )
    return cases


@pytest.mark.parametrize("case", kat_cases(), ids=lambda c: c[0])
def test_published_signatures_through_the_engine(case: tuple[Any, ...]) -> None:
    _name, creds, identity, b_pub, salt, block, timestamp, a, a_expected, signature = case
    client = ClientHandshake(creds)
    a_pub = client.start(a)
    if a_expected is not None:
        assert a_pub == a_expected
    challenge = Challenge(identity=identity, salt=salt, B=b_pub, secret_block=block)
    response = client.respond(challenge, now=parse_timestamp(timestamp))
    assert response.timestamp == timestamp
    assert response.secret_block == block
    assert response.signature == signature
    assert client.state is ClientState.AWAITING_RESULT
    client.finish(None)  # Cognito sends no server proof; this client does not demand one
    assert client.state is ClientState.DONE


def test_transition_table_is_the_only_order() -> None:
    assert dict(TRANSITIONS) == {
        (ClientState.IDLE, ClientEvent.START): ClientState.AWAITING_CHALLENGE,
        (ClientState.AWAITING_CHALLENGE, ClientEvent.CHALLENGE): ClientState.AWAITING_RESULT,
        (ClientState.AWAITING_RESULT, ClientEvent.RESULT): ClientState.DONE,
    }


def _challenge(run_counter: int = 0) -> Challenge:
    return device_run(run_counter).challenge


@pytest.mark.parametrize(
    "calls",
    [
        ["respond"],  # a challenge before start
        ["finish"],
        ["start", "start"],
        ["start", "finish"],
        ["start", "respond", "respond"],
        ["start", "respond", "start"],
        ["start", "respond", "finish", "finish"],
        ["start", "respond", "finish", "start"],
    ],
)
def test_calls_out_of_order_are_local_errors_and_terminal(calls: list[str]) -> None:
    run = device_run()
    client = ClientHandshake(DeviceCredentials(GROUP_KEY, DEVICE_KEY, DEVICE_PASSWORD))
    actions = {
        "start": lambda: client.start(det("a", 32)),
        "respond": lambda: client.respond(run.challenge, now=NOW),
        "finish": lambda: client.finish(None),
    }
    for call in calls[:-1]:
        actions[call]()
    with pytest.raises(LocalProtocolError):
        actions[calls[-1]]()
    assert client.state is ClientState.ERROR
    for action in actions.values():  # ERROR is terminal: nothing works afterwards
        with pytest.raises(LocalProtocolError):
            action()


def test_bad_argument_is_terminal_too() -> None:
    client = ClientHandshake(UserCredentials(POOL_ID, USER_PASSWORD))
    with pytest.raises(InvalidTypeError):
        client.start("not bytes")  # type: ignore[arg-type]
    assert client.state is ClientState.ERROR
    client = ClientHandshake(UserCredentials(POOL_ID, USER_PASSWORD))
    with pytest.raises(InvalidParameterError):
        client.start(b"\x00" * 32)
    assert client.state is ClientState.ERROR


# Row 3: a rogue server's B; the client raises before exponentiating and sends nothing.
@pytest.mark.parametrize("b_pub", [0, N, 2 * N, N + 5, 2**3072, 1, N - 1, -1, -N])
def test_rogue_b_is_refused_before_secret_work(b_pub: int, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _challenge()
    client = ClientHandshake(DeviceCredentials(GROUP_KEY, DEVICE_KEY, DEVICE_PASSWORD))
    client.start(det("a", 32))
    spy = ModexpSpy(monkeypatch)
    with pytest.raises(RemoteProtocolError) as info:
        client.respond(dataclasses.replace(good, B=b_pub), now=NOW)
    assert info.value.field == "B"
    assert spy.calls == []
    assert client.state is ClientState.ERROR


# Row 4: u = 0 (a hash forced to zero) aborts the client before secret work.
def test_u_zero_aborts_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    good = _challenge()
    client = ClientHandshake(DeviceCredentials(GROUP_KEY, DEVICE_KEY, DEVICE_PASSWORD))
    client.start(det("a", 32))
    monkeypatch.setattr(cognito, "hex_hash", lambda text, hash_name="sha256": "00" * 32)
    spy = ModexpSpy(monkeypatch)
    with pytest.raises(RemoteProtocolError) as info:
        client.respond(good, now=NOW)
    assert info.value.field == "u"
    assert spy.calls == []


def test_u_zero_aborts_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    run = device_run()
    monkeypatch.setattr(cognito, "hex_hash", lambda text, hash_name="sha256": "00" * 32)
    with pytest.raises(AuthenticationError):
        run.engine.begin(
            run.record, run.context, run.A, b=det("b", 32), now=NOW,
            challenge_id=det("id", 16), nonce=det("n", 12),
        )  # fmt: skip


def test_challenge_for_another_device_is_refused() -> None:
    good = _challenge()
    client = ClientHandshake(DeviceCredentials(GROUP_KEY, DEVICE_KEY, DEVICE_PASSWORD))
    client.start(det("a", 32))
    with pytest.raises(RemoteProtocolError):
        client.respond(dataclasses.replace(good, identity="us-east-1_someone-else"), now=NOW)


@pytest.mark.parametrize("block", ["", "not base64!", "QUJDRA=", "QUJDRA===", "QUJDRB==", " QUJD"])
def test_malformed_secret_block_from_server_is_remote_error(block: str) -> None:
    good = _challenge()
    client = ClientHandshake(DeviceCredentials(GROUP_KEY, DEVICE_KEY, DEVICE_PASSWORD))
    client.start(det("a", 32))
    with pytest.raises(RemoteProtocolError):
        client.respond(dataclasses.replace(good, secret_block=block), now=NOW)


# Row 24: the project's client refuses a tampered or missing server proof.
def test_server_proof_verifies() -> None:
    run = device_run()
    run.client.finish(run.finish().server_proof)
    assert run.client.state is ClientState.DONE


def test_missing_server_proof_is_refused_when_required() -> None:
    run = device_run(require_server_proof=True)
    run.finish()
    with pytest.raises(AuthenticationError):
        run.client.finish(None)
    assert run.client.state is ClientState.ERROR


def test_missing_server_proof_is_accepted_when_not_required() -> None:
    run = device_run(require_server_proof=False)
    run.client.finish(None)
    assert run.client.state is ClientState.DONE


def test_every_flipped_bit_of_the_server_proof_is_refused() -> None:
    run = device_run(require_server_proof=False)
    proof = run.finish().server_proof
    for bit in range(8 * len(proof)):
        tampered = bytearray(proof)
        tampered[bit // 8] ^= 1 << (bit % 8)
        client = device_run(require_server_proof=False).client
        with pytest.raises(AuthenticationError):
            client.finish(bytes(tampered))
        assert client.state is ClientState.ERROR
    for bad in (b"", proof[:-1], proof + b"\x00", bytes(32)):
        client = device_run(require_server_proof=False).client
        with pytest.raises(AuthenticationError):
            client.finish(bad)


def test_proof_from_another_handshake_is_refused() -> None:
    other = device_run(7).finish().server_proof
    run = device_run(8)
    with pytest.raises(AuthenticationError):
        run.client.finish(other)


def test_secrets_stay_out_of_repr() -> None:
    creds = DeviceCredentials(GROUP_KEY, DEVICE_KEY, DEVICE_PASSWORD)
    user = UserCredentials(POOL_ID, USER_PASSWORD)
    run = device_run()
    texts = [repr(creds), str(creds), repr(user), repr(run.client), repr(run.record)]
    texts += [repr(run.engine), repr(run.engine.ring), repr(run.engine.ring.current)]
    secrets = [DEVICE_PASSWORD, USER_PASSWORD, run.record.verifier.hex(), det("key", 32, 1).hex()]
    secrets += [repr(run.record.verifier)[2:40], repr(det("key", 32, 1))[2:40]]
    for text in texts:
        for secret in secrets:
            assert secret not in text
