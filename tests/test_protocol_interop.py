"""The server engine against an independent client: pycognito's own SRP math (AWSSRP, run
offline with ``client=object()``) answers challenges from ``ServerEngine.begin``; ``finish``
must accept its proofs and refuse them for a wrong password. pycognito signs over its own
TIMESTAMP of the real clock, so the live wrappers supply ``now``."""

from __future__ import annotations

import pytest

from devicesrp import live
from devicesrp.errors import AuthenticationError
from devicesrp.protocol import (
    ChallengeContext,
    ClientResponse,
    Flow,
    ServerEngine,
    VerifierRecord,
)
from devicesrp.srp import cognito
from devicesrp.srp.encoding import to_hex
from test_protocol_support import CLIENT_ID, POOL_ID, USER, det, ring

pycognito_srp = pytest.importorskip("pycognito.aws_srp")

GROUP_KEY = "-InteropGroup"
DEVICE_KEY = "us-east-1_9a8b7c6d-5e4f-4321-8fed-cba987654321"
USER_ID_FOR_SRP = "8f0e2c1a-3b4d-4e5f-9a8b-7c6d5e4f3a2b"


def aws_srp(password: str, **device: str) -> object:
    return pycognito_srp.AWSSRP(
        username="alice",
        password=password,
        pool_id=POOL_ID,
        client_id=CLIENT_ID,
        client=object(),  # never called: only the math runs
        **device,
    )


@pytest.mark.parametrize(("password", "ok"), [("Tr0ub4dor&3", True), ("Tr0ub4dor&4", False)])
def test_pycognito_user_step(password: str, ok: bool) -> None:
    salt = det("interop-salt", 16)
    x = cognito.compute_x(salt.hex(), cognito.pool_name(POOL_ID), USER_ID_FOR_SRP, "Tr0ub4dor&3")
    record = VerifierRecord.for_user(POOL_ID, USER_ID_FOR_SRP, salt, cognito.compute_verifier(x))
    context = ChallengeContext(Flow.USER_PASSWORD, POOL_ID, CLIENT_ID, USER)
    engine = ServerEngine(ring(1))
    client = aws_srp(password)
    challenge = live.begin(engine, record, context, client.large_a_value)  # type: ignore[attr-defined]
    params = {
        "USER_ID_FOR_SRP": challenge.identity,
        "SALT": challenge.salt.hex(),
        "SRP_B": to_hex(challenge.B),
        "SECRET_BLOCK": challenge.secret_block,
        "USERNAME": USER_ID_FOR_SRP,
    }
    answer = client.process_challenge(params, {"USERNAME": "alice"})  # type: ignore[attr-defined]
    response = ClientResponse(
        answer["PASSWORD_CLAIM_SECRET_BLOCK"],
        answer["TIMESTAMP"],
        answer["PASSWORD_CLAIM_SIGNATURE"],
    )
    if ok:
        assert live.finish(engine, record, context, response).challenge_id
    else:
        with pytest.raises(AuthenticationError):
            live.finish(engine, record, context, response)


@pytest.mark.parametrize("right", [True, False])
def test_pycognito_device_step(right: bool) -> None:
    password, config = live.new_device_secret(GROUP_KEY, DEVICE_KEY)
    record = VerifierRecord.for_device(GROUP_KEY, DEVICE_KEY, config)
    context = ChallengeContext(Flow.DEVICE_PASSWORD, POOL_ID, CLIENT_ID, USER, DEVICE_KEY)
    engine = ServerEngine(ring(1))
    client = aws_srp(
        "user-password",
        device_key=DEVICE_KEY,
        device_group_key=GROUP_KEY,
        device_password=password if right else password[::-1],
    )
    # pycognito re-uses its user-phase A for the device step (doc: real-clients.md).
    challenge = live.begin(engine, record, context, client.large_a_value)  # type: ignore[attr-defined]
    answer = client.process_device_challenge(  # type: ignore[attr-defined]
        {
            "USERNAME": "alice",
            "SALT": challenge.salt.hex(),
            "SRP_B": to_hex(challenge.B),
            "SECRET_BLOCK": challenge.secret_block,
        }
    )
    response = ClientResponse(
        answer["PASSWORD_CLAIM_SECRET_BLOCK"],
        answer["TIMESTAMP"],
        answer["PASSWORD_CLAIM_SIGNATURE"],
    )
    if right:
        assert live.finish(engine, record, context, response).challenge_id
    else:
        with pytest.raises(AuthenticationError):
            live.finish(engine, record, context, response)
