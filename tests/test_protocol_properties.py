"""Hypothesis properties of a whole handshake: the right secret always succeeds; a wrong secret,
any flipped byte of any message or of the sealed state, or a context swap always fails with the
one AuthenticationError."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counts import count
from devicesrp.errors import AuthenticationError, RemoteProtocolError
from devicesrp.protocol import (
    ChallengeContext,
    ClientHandshake,
    ClientResponse,
    ClientState,
    DeviceCredentials,
    Flow,
    ServerEngine,
    UserCredentials,
    VerifierRecord,
)
from devicesrp.srp import cognito
from devicesrp.srp.timestamp import canonical_timestamp, format_timestamp
from test_protocol_support import (
    CLIENT_ID,
    DEVICE_KEY,
    GROUP_KEY,
    NOW,
    POOL_ID,
    USER,
    device_context,
    ring,
)

EXAMPLES = count(ci=40, soak=1000)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=False,
)

secrets32 = st.binary(min_size=32, max_size=32).filter(any)
passwords = st.text(min_size=1, max_size=64)
salts = st.binary(min_size=1, max_size=32).filter(any)


def handshake(
    password: str, salt: bytes, a: bytes, b: bytes, challenge_id: bytes, nonce: bytes
) -> tuple[ClientHandshake, ServerEngine, VerifierRecord, ChallengeContext, ClientResponse]:
    engine = ServerEngine(ring(1))
    config = cognito.device_verifier(GROUP_KEY, DEVICE_KEY, password, salt)
    record = VerifierRecord.for_device(GROUP_KEY, DEVICE_KEY, config)
    context = device_context()
    client = ClientHandshake(
        DeviceCredentials(GROUP_KEY, DEVICE_KEY, password), require_server_proof=True
    )
    a_pub = client.start(a)
    challenge = engine.begin(
        record, context, a_pub, b=b, now=NOW, challenge_id=challenge_id, nonce=nonce
    )
    response = client.respond(challenge, now=NOW + 2)
    return client, engine, record, context, response


@SETTINGS
@given(
    password=passwords,
    salt=salts,
    a=secrets32,
    b=secrets32,
    challenge_id=st.binary(min_size=16, max_size=16),
    nonce=st.binary(min_size=12, max_size=12),
)
def test_right_secret_always_succeeds(
    password: str, salt: bytes, a: bytes, b: bytes, challenge_id: bytes, nonce: bytes
) -> None:
    client, engine, record, context, response = handshake(password, salt, a, b, challenge_id, nonce)
    result = engine.finish(record, context, response, now=NOW + 3)
    assert result.challenge_id == challenge_id
    client.finish(result.server_proof)
    assert client.state is ClientState.DONE


@SETTINGS
@given(right=passwords, wrong=passwords, a=secrets32, b=secrets32)
def test_wrong_secret_always_fails(right: str, wrong: str, a: bytes, b: bytes) -> None:
    if right == wrong:
        wrong = right + "!"
    engine = ServerEngine(ring(1))
    config = cognito.device_verifier(GROUP_KEY, DEVICE_KEY, right, b"\x01" * 16)
    record = VerifierRecord.for_device(GROUP_KEY, DEVICE_KEY, config)
    client = ClientHandshake(DeviceCredentials(GROUP_KEY, DEVICE_KEY, wrong))
    a_pub = client.start(a)
    challenge = engine.begin(
        record, device_context(), a_pub, b=b, now=NOW, challenge_id=b"i" * 16, nonce=b"n" * 12
    )
    response = client.respond(challenge, now=NOW)
    with pytest.raises(AuthenticationError) as info:
        engine.finish(record, device_context(), response, now=NOW)
    assert str(info.value) == "authentication failed"


def flip(data: bytes, position: int, mask: int) -> bytes:
    out = bytearray(data)
    out[position % len(out)] ^= mask
    return bytes(out)


MESSAGES = ["A", "B", "salt", "secret_block", "timestamp", "signature", "server_proof"]


@SETTINGS
@given(
    a=secrets32,
    b=secrets32,
    which=st.sampled_from(MESSAGES),
    position=st.integers(min_value=0, max_value=10_000),
    mask=st.integers(min_value=1, max_value=255),
)
def test_any_flipped_byte_of_any_message_fails(
    a: bytes, b: bytes, which: str, position: int, mask: int
) -> None:
    """Client and server each see the other's messages tampered with in flight."""
    password = "device-password"
    engine = ServerEngine(ring(1))
    config = cognito.device_verifier(GROUP_KEY, DEVICE_KEY, password, b"\x05" * 16)
    record = VerifierRecord.for_device(GROUP_KEY, DEVICE_KEY, config)
    context = device_context()
    client = ClientHandshake(
        DeviceCredentials(GROUP_KEY, DEVICE_KEY, password), require_server_proof=True
    )
    a_pub = client.start(a)
    if which == "A":
        a_pub = int.from_bytes(flip(a_pub.to_bytes(384, "big"), position, mask), "big")
    kw = {"b": b, "now": NOW, "challenge_id": b"c" * 16, "nonce": b"n" * 12}
    try:
        challenge = engine.begin(record, context, a_pub, **kw)  # type: ignore[arg-type]
    except AuthenticationError:
        return  # a flipped A that is no longer a safe value: refused at once
    if which == "B":
        b_flipped = flip(challenge.B.to_bytes(384, "big"), position, mask)
        challenge = dataclasses.replace(challenge, B=int.from_bytes(b_flipped, "big"))
    if which == "salt":
        challenge = dataclasses.replace(challenge, salt=flip(challenge.salt, position, mask))
    if which == "secret_block":
        sealed = flip(base64.b64decode(challenge.secret_block), position, mask)
        challenge = dataclasses.replace(challenge, secret_block=base64.b64encode(sealed).decode())
    try:
        response = client.respond(challenge, now=NOW)
    except RemoteProtocolError:
        assert which == "B"  # a flipped B outside 1 < B < N - 1: the client refuses
        return
    if which == "timestamp":
        # A flipped character either no longer parses (a parameter error, tested elsewhere) or
        # names another instant or spelling: only the latter reaches verification.
        text = flip(response.timestamp.encode(), position, mask).decode("latin-1")
        response = dataclasses.replace(response, timestamp=text)
    if which == "signature":
        sig = flip(base64.b64decode(response.signature), position, mask)
        response = dataclasses.replace(response, signature=base64.b64encode(sig).decode())
    if which == "server_proof":
        result = engine.finish(record, context, response, now=NOW)
        with pytest.raises(AuthenticationError):
            client.finish(flip(result.server_proof, position, mask))
        return
    try:
        engine.finish(record, context, response, now=NOW)
    except AuthenticationError:
        return
    except ValueError:
        assert which == "timestamp"  # unparsable after the flip
        return
    # Only a flip that leaves the canonical TIMESTAMP rendering unchanged may pass (e.g. the
    # case of the zone name): the signature covers the canonical form, not the spelling.
    assert which == "timestamp"
    assert canonical_timestamp(response.timestamp) == format_timestamp(NOW)


@SETTINGS
@given(
    a=secrets32,
    field=st.sampled_from(["flow", "pool_id", "client_id", "user", "device"]),
    other=st.text(min_size=1, max_size=40),
)
def test_context_swap_always_fails(a: bytes, field: str, other: str) -> None:
    password = "pw"
    engine = ServerEngine(ring(1))
    config = cognito.device_verifier(GROUP_KEY, DEVICE_KEY, password, b"\x07" * 16)
    record = VerifierRecord.for_device(GROUP_KEY, DEVICE_KEY, config)
    context = device_context()
    client = ClientHandshake(DeviceCredentials(GROUP_KEY, DEVICE_KEY, password))
    a_pub = client.start(a)
    challenge = engine.begin(
        record, context, a_pub, b=b"\x09" * 32, now=NOW, challenge_id=b"c" * 16, nonce=b"n" * 12
    )
    response = client.respond(challenge, now=NOW)
    values = {"pool_id": POOL_ID, "client_id": CLIENT_ID, "user": USER, "device": DEVICE_KEY}
    if field == "flow":
        swapped = ChallengeContext(Flow.USER_PASSWORD, POOL_ID, CLIENT_ID, USER, DEVICE_KEY)
    else:
        if other == values[field]:
            other += "x"
        swapped = dataclasses.replace(context, **{field: other})
        if field == "device":
            record = dataclasses.replace(record, identity=other)
    with pytest.raises(AuthenticationError):
        engine.finish(record, swapped, response, now=NOW)


@SETTINGS
@given(
    user_id=st.text(min_size=1, max_size=40),
    pool_name=st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True),
    password=passwords,
    salt=salts,
    a=secrets32,
    b=secrets32,
)
def test_user_step_right_password_succeeds_wrong_fails(
    user_id: str, pool_name: str, password: str, salt: bytes, a: bytes, b: bytes
) -> None:
    """Any UTF-8 user id and password: both sides hash P, I and the secret alike."""
    pool_id = f"eu-west-1_{pool_name}"
    x = cognito.compute_x(salt.hex(), pool_name, user_id, password)
    record = VerifierRecord.for_user(pool_id, user_id, salt, cognito.compute_verifier(x))
    context = ChallengeContext(Flow.USER_PASSWORD, pool_id, CLIENT_ID, USER)
    engine = ServerEngine(ring(1))
    for attempt, ok in ((password, True), (password + "x", False)):
        client = ClientHandshake(UserCredentials(pool_id, attempt))
        challenge = engine.begin(
            record, context, client.start(a), b=b, now=NOW, challenge_id=b"c" * 16, nonce=b"n" * 12
        )
        assert challenge.identity == user_id
        response = client.respond(challenge, now=NOW)
        if ok:
            assert engine.finish(record, context, response, now=NOW).challenge_id == b"c" * 16
        else:
            with pytest.raises(AuthenticationError):
                engine.finish(record, context, response, now=NOW)
