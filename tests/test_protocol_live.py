"""The live wrappers: randomness from secrets, the real clock, and a full handshake through them."""

from __future__ import annotations

import base64

import pytest

from devicesrp import live
from devicesrp.errors import InvalidParameterError, InvalidTypeError
from devicesrp.protocol import (
    ChallengeContext,
    ClientHandshake,
    ClientState,
    DeviceCredentials,
    Flow,
    KeyRing,
    ServerEngine,
    VerifierRecord,
)
from test_protocol_support import CLIENT_ID, POOL_ID, USER, ring

GROUP_KEY = "-LiveGroup"
DEVICE_KEY = "us-east-1_11111111-2222-4333-8444-555555555555"


def test_live_device_handshake() -> None:
    password, config = live.new_device_secret(GROUP_KEY, DEVICE_KEY)
    assert len(password) == 56 and len(base64.b64decode(password)) == 40
    record = VerifierRecord.for_device(GROUP_KEY, DEVICE_KEY, config)
    engine = ServerEngine(KeyRing([live.new_sealing_key(7)]))
    context = ChallengeContext(Flow.DEVICE_PASSWORD, POOL_ID, CLIENT_ID, USER, DEVICE_KEY)
    client = ClientHandshake(
        DeviceCredentials(GROUP_KEY, DEVICE_KEY, password), require_server_proof=True
    )
    a_pub = live.start(client)
    challenge = live.begin(engine, record, context, a_pub)
    response = live.respond(client, challenge)
    result = live.finish(engine, record, context, response)
    client.finish(result.server_proof)
    assert client.state is ClientState.DONE
    assert abs(result.issued_at - live.now()) <= 5
    # Fresh randomness every time: another begin for the same A gives another block and B.
    again = live.begin(engine, record, context, a_pub)
    assert again.B != challenge.B and again.secret_block != challenge.secret_block


def test_fresh_values_differ() -> None:
    assert live.new_secret() != live.new_secret()
    assert len(live.new_secret(64)) == 64
    assert live.new_sealing_key(1).secret != live.new_sealing_key(1).secret
    (p1, c1), (p2, c2) = (live.new_device_secret(GROUP_KEY, DEVICE_KEY) for _ in range(2))
    assert p1 != p2 and c1.salt != c2.salt and c1.password_verifier != c2.password_verifier
    assert ServerEngine(ring(1))  # the deterministic ring helper stays usable beside live keys


def test_secret_size_is_validated() -> None:
    with pytest.raises(InvalidParameterError):
        live.new_secret(16)
    with pytest.raises(InvalidTypeError):
        live.new_secret(32.0)  # type: ignore[arg-type]
