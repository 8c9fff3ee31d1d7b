"""The server engine: happy paths, hostile A, binding, windows, rotation (security-matrix rows
1, 2, 6, 7, 8, 10, 11, 13, 14, 16 at the engine level)."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from counts import count
from devicesrp import modexp
from devicesrp.errors import (
    AuthenticationError,
    InvalidParameterError,
    InvalidTimestampError,
    InvalidTypeError,
)
from devicesrp.protocol import (
    DEFAULT_CHALLENGE_LIFETIME,
    DEFAULT_TIMESTAMP_SKEW,
    Challenge,
    ChallengeState,
    ClientResponse,
    ClientState,
    ServerEngine,
    open_challenge,
    seal_challenge,
)
from devicesrp.protocol.values import VerifierRecord
from devicesrp.srp import cognito
from devicesrp.srp.groups import COGNITO_GROUP
from devicesrp.srp.timestamp import format_timestamp
from test_protocol_support import (
    DEVICE_KEY,
    DEVICE_PASSWORD,
    GROUP_KEY,
    NOW,
    ModexpSpy,
    Run,
    det,
    device_context,
    device_record,
    device_run,
    ring,
    user_context,
    user_record,
    user_run,
)

N = COGNITO_GROUP.N


def begin(
    engine: ServerEngine, a_pub: int, counter: int = 0, record: VerifierRecord | None = None
) -> Challenge:
    return engine.begin(
        record or device_record(),
        device_context(),
        a_pub,
        b=det("b", 32, counter),
        now=NOW,
        challenge_id=det("id", 16, counter),
        nonce=det("nonce", 12, counter),
    )


def test_device_handshake_succeeds_and_returns_challenge_id_and_proof() -> None:
    run = device_run()
    result = run.finish()
    assert result.challenge_id == det("id", 16, 0)
    assert result.issued_at == NOW
    assert len(result.server_proof) == 32
    run.client.finish(result.server_proof)
    assert run.client.state is ClientState.DONE


def test_user_handshake_succeeds() -> None:
    run = user_run()
    result = run.finish()
    run.client.finish(result.server_proof)
    assert run.client.state is ClientState.DONE


def test_secret_block_is_compact_base64() -> None:
    run = device_run()
    assert len(run.challenge.secret_block) <= 700
    assert run.challenge.identity == DEVICE_KEY
    assert run.challenge.salt == run.record.salt


def test_begin_is_deterministic_in_its_arguments() -> None:
    engine = ServerEngine(ring(1))
    a_pub = cognito.client_public(det("a", 32))
    assert begin(engine, a_pub) == begin(engine, a_pub)
    assert begin(engine, a_pub, 0) != begin(engine, a_pub, 1)


# Row 1 and 2: unsafe A is the uniform error and no secret exponentiation with b happens.
@pytest.mark.parametrize(
    "a_pub", [0, N, 2 * N, 7 * N, -N, 1, N - 1, N + 1, 2**3072, -1, 2**3072 + N]
)
def test_unsafe_a_is_rejected_before_any_work_with_b(
    a_pub: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, record = ServerEngine(ring(1)), device_record()
    spy = ModexpSpy(monkeypatch)
    with pytest.raises(AuthenticationError) as info:
        begin(engine, a_pub, record=record)
    assert str(info.value) == "authentication failed"
    assert spy.calls == []


@pytest.mark.parametrize("a_pub", [0, N, 2 * N, 7 * N])
def test_forged_block_with_a_zero_class_and_s_zero_proof_fails(
    a_pub: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a block sealed with the server's own key (a leaked key) cannot smuggle A ≡ 0 in."""
    engine = ServerEngine(ring(1))
    u = 1 + int.from_bytes(det("u", 31), "big")
    state = ChallengeState(
        challenge_id=det("id", 16), issued_at=NOW, u=u, masked_b=det("b", 32), A=a_pub or N
    )
    block = seal_challenge(state, device_context(), engine.ring, det("nonce", 12))
    blob = open_challenge(block, device_context(), engine.ring)
    key = cognito.derive_key((0).to_bytes(384, "big"), u)  # S = 0, what A ≡ 0 would force
    timestamp = format_timestamp(NOW)
    signature = cognito.claim_signature(
        key, device_record().realm, DEVICE_KEY, _sealed_bytes(block), timestamp
    )
    record = device_record()
    spy = ModexpSpy(monkeypatch)
    with pytest.raises(AuthenticationError):
        engine.finish(
            record,
            device_context(),
            ClientResponse(block, timestamp, signature),
            now=NOW,
        )
    assert blob.A % N == 0
    assert spy.calls == []


def _sealed_bytes(block: str) -> bytes:
    return base64.b64decode(block)


def test_begin_type_errors_are_typed() -> None:
    engine = ServerEngine(ring(1))
    with pytest.raises(InvalidTypeError):
        engine.begin(
            device_record(), device_context(), "12", b=det("b", 32), now=NOW,
            challenge_id=det("id", 16), nonce=det("n", 12),
        )  # fmt: skip
    with pytest.raises(InvalidParameterError):
        engine.begin(
            device_record(), device_context(), 5, b=b"\x00" * 32, now=NOW,
            challenge_id=det("id", 16), nonce=det("n", 12),
        )  # fmt: skip
    with pytest.raises(InvalidParameterError):
        engine.begin(
            device_record(), device_context(), 5, b=det("b", 16), now=NOW,
            challenge_id=det("id", 16), nonce=det("n", 12),
        )  # fmt: skip
    with pytest.raises(InvalidParameterError):
        engine.begin(
            device_record(), device_context(), 5, b=det("b", 32), now=NOW,
            challenge_id=det("id", 15), nonce=det("n", 12),
        )  # fmt: skip
    with pytest.raises(InvalidParameterError):
        engine.begin(
            device_record(), device_context(), 5, b=det("b", 32), now=NOW,
            challenge_id=det("id", 16), nonce=det("n", 11),
        )  # fmt: skip


def test_device_step_must_name_the_records_device() -> None:
    with pytest.raises(InvalidParameterError):
        begin_other = ServerEngine(ring(1)).begin
        begin_other(
            device_record(), device_context(device="us-east-1_other"), 5, b=det("b", 32),
            now=NOW, challenge_id=det("id", 16), nonce=det("n", 12),
        )  # fmt: skip


# Row 6: the wrong device password, every time, the one generic error.
def test_wrong_secret_is_always_the_uniform_error() -> None:
    for i in range(count(ci=30, soak=1000)):
        run = device_run(i, password=f"wrong-{i}")
        with pytest.raises(AuthenticationError) as info:
            run.finish()
        assert str(info.value) == "authentication failed"


# Row 7: a client that holds only v (stolen verifier) cannot log in.
def test_stolen_verifier_cannot_log_in() -> None:
    engine = ServerEngine(ring(1))
    record = device_record()
    v = int.from_bytes(record.verifier, "big")
    for i in range(count(ci=3, soak=100)):
        a = det("evil-a", 32, i)
        a_pub = cognito.client_public(a)
        challenge = begin(engine, a_pub, i)
        # With v the attacker can strip k*v from B, leaving g^b, and raise it to a: g^(ab).
        # The real S is g^(b(a + ux)); the missing (v^u)^b needs b.
        g_b = (challenge.B - cognito.COGNITO_K * v) % N
        for guess in (g_b, v):
            s_guess = modexp.powmod_public(guess, int.from_bytes(a, "big"), N)
            u = cognito.compute_u(a_pub, challenge.B)
            key = cognito.derive_key(s_guess.to_bytes(384, "big"), u)
            timestamp = format_timestamp(NOW)
            signature = cognito.claim_signature(
                key, record.realm, DEVICE_KEY, _sealed_bytes(challenge.secret_block), timestamp
            )
            response = ClientResponse(challenge.secret_block, timestamp, signature)
            with pytest.raises(AuthenticationError):
                engine.finish(record, device_context(), response, now=NOW)


# Row 8 (engine part): the same proof finishes twice with the same id; the store consumes it.
def test_replayed_proof_carries_the_same_challenge_id() -> None:
    run = device_run(3)
    first, second = run.finish(), run.finish()
    assert first.challenge_id == second.challenge_id == det("id", 16, 3)
    assert device_run(4).finish().challenge_id != first.challenge_id


# Row 10: a block bound to one (pool, client, user, device, flow) fails for any other.
@pytest.mark.parametrize(
    "change",
    [
        {"pool_id": "us-east-1_OtherPool"},
        {"client_id": "other-client"},
        {"user": "another-user"},
        {"device": "us-east-1_00000000-0000-4000-8000-000000000000"},
    ],
)
def test_cross_binding_fails(change: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    run = device_run()
    context = device_context(**change)
    record = run.record
    if "device" in change:  # the attacker's own device record, to pass the caller guard
        record = dataclasses.replace(record, identity=change["device"])
    spy = ModexpSpy(monkeypatch)
    with pytest.raises(AuthenticationError):
        run.finish(context=context, record=record)
    assert spy.calls == []


# Row 11 (engine level): a user-step block cannot answer the device step, nor the reverse.
def test_flow_swap_fails() -> None:
    user = user_run()
    with pytest.raises(AuthenticationError):
        user.finish(context=device_context(), record=device_record())
    device = device_run()
    with pytest.raises(AuthenticationError):
        device.finish(context=user_context(device=DEVICE_KEY), record=user_record())
    with pytest.raises(AuthenticationError):
        device.finish(context=user_context(), record=user_record())


# Row 13: TIMESTAMP skew, accepted iff |now - ts| <= W.
@pytest.mark.parametrize("offset", [-1, 0, 1])
@pytest.mark.parametrize("sign", [1, -1])
def test_timestamp_skew_window(offset: int, sign: int) -> None:
    skew = DEFAULT_TIMESTAMP_SKEW
    delta = sign * (skew + offset)  # the client's clock relative to the server's
    run = device_run(client_now=NOW + 60 + delta)
    if offset <= 0:
        assert run.finish(now=NOW + 60).challenge_id
    else:
        with pytest.raises(AuthenticationError):
            run.finish(now=NOW + 60)


def test_skew_window_is_configurable() -> None:
    engine = ServerEngine(ring(1), timestamp_skew=10)
    run = device_run(engine=engine, client_now=NOW + 11)
    with pytest.raises(AuthenticationError):
        run.finish(now=NOW)
    assert run.finish(now=NOW + 1).challenge_id


# Row 14: challenge expiry, valid iff age <= lifetime.
@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_challenge_lifetime(offset: int) -> None:
    age = DEFAULT_CHALLENGE_LIFETIME + offset
    run = device_run(client_now=NOW + age)
    if offset <= 0:
        assert run.finish(now=NOW + age).issued_at == NOW
    else:
        with pytest.raises(AuthenticationError):
            run.finish(now=NOW + age)


def test_block_from_the_future_beyond_the_skew_window_fails() -> None:
    run = device_run(client_now=NOW)
    assert run.finish(now=NOW - DEFAULT_TIMESTAMP_SKEW).challenge_id
    with pytest.raises(AuthenticationError):
        run.finish(now=NOW - DEFAULT_TIMESTAMP_SKEW - 1)


def test_lifetime_is_configurable() -> None:
    engine = ServerEngine(ring(1), challenge_lifetime=30)
    run = device_run(engine=engine, client_now=NOW + 31)
    with pytest.raises(AuthenticationError):
        run.finish(now=NOW + 31)
    assert run.finish(now=NOW + 30).challenge_id


# Row 16: seal with K1, rotate to [K2, K1], verify, retire K1, verify.
def test_key_rotation_keeps_logins_in_flight_until_retirement() -> None:
    run = device_run(engine=ServerEngine(ring(1)))
    rotated = ServerEngine(ring(1).rotated(ring(2).current))
    assert rotated.ring.current.key_id == 2
    in_flight = dataclasses.replace(run, engine=rotated)
    assert in_flight.finish().challenge_id == det("id", 16, 0)
    fresh = device_run(5, engine=rotated)
    assert fresh.challenge.secret_block[:8] != run.challenge.secret_block[:8]  # key id 2 header
    retired = ServerEngine(rotated.ring.retired(1))
    with pytest.raises(AuthenticationError):
        dataclasses.replace(run, engine=retired).finish()
    assert dataclasses.replace(fresh, engine=retired).finish().challenge_id == det("id", 16, 5)


def test_unparsable_timestamp_is_a_parameter_error_not_an_auth_error() -> None:
    run = device_run()
    for bad in ["", "yesterday", "Tue Feb 30 25:61:61 XYZ 2025", "x" * 100_000, "Tue\x00"]:
        response = dataclasses.replace(run.response, timestamp=bad)
        with pytest.raises(InvalidTimestampError):
            run.finish(response=response)


def _client_key(run: Run, counter: int = 0) -> bytes:
    """K recomputed from the client's secrets, as a client with another formatter holds it."""
    x = cognito.compute_x(run.challenge.salt.hex(), GROUP_KEY, DEVICE_KEY, DEVICE_PASSWORD)
    u = cognito.compute_u(run.A, run.challenge.B)
    return cognito.derive_key(
        cognito.client_premaster(x, det("a", 32, counter), u, run.challenge.B), u
    )


def test_signature_over_non_canonical_timestamp_fails_as_wrong_signature() -> None:
    """Doc §3: the service verifies over the canonical re-rendering of the parsed instant."""
    run = device_run()
    key = _client_key(run)
    block = _sealed_bytes(run.challenge.secret_block)
    ts = run.response.timestamp  # canonical, e.g. "Wed Nov 26 15:13:21 UTC 2025"
    other_day = "Mon" if not ts.startswith("Mon") else "Tue"
    variants = [ts.replace("UTC", "GMT"), other_day + ts[3:], ts.replace(" UTC", " +0000")]
    for variant in variants:
        signed_variant = cognito.claim_signature(key, GROUP_KEY, DEVICE_KEY, block, variant)
        response = ClientResponse(run.challenge.secret_block, variant, signed_variant)
        with pytest.raises(AuthenticationError):
            run.finish(response=response)
        # The same spelling with a signature over the canonical form is what the service accepts.
        accepted = dataclasses.replace(run.response, timestamp=variant)
        assert run.finish(response=accepted).challenge_id == det("id", 16, 0)


def test_engine_config_is_validated() -> None:
    with pytest.raises(InvalidTypeError):
        ServerEngine("not a ring")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        ServerEngine(ring(1), challenge_lifetime=-1)
    with pytest.raises(InvalidTypeError):
        ServerEngine(ring(1), timestamp_skew=1.5)  # type: ignore[arg-type]


def test_finish_rejects_wrong_types() -> None:
    run = device_run()
    with pytest.raises(InvalidTypeError):
        run.finish(response=("block", "ts", "sig"))
    with pytest.raises(InvalidTypeError):
        run.finish(now="now")
    with pytest.raises(InvalidTypeError):
        ClientResponse(run.response.secret_block, run.response.timestamp, b"sig")  # type: ignore[arg-type]


def test_one_engine_serves_threads() -> None:
    """The engine is immutable and the native core releases the GIL: threads share one engine."""
    from concurrent.futures import ThreadPoolExecutor

    engine = ServerEngine(ring(1))

    def login(i: int) -> bytes:
        run = device_run(100 + i, engine=engine)
        result = run.finish()
        run.client.finish(result.server_proof)
        return result.challenge_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(login, range(count(ci=12, soak=200))))
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "signature", ["", "x", "A" * 43, "A" * 45, "A" * 10**6, "é" * 44, "\x00" * 44]
)
def test_malformed_signature_fails_before_any_work(
    signature: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = device_run()
    spy = ModexpSpy(monkeypatch)
    with pytest.raises(AuthenticationError):
        run.finish(response=dataclasses.replace(run.response, signature=signature))
    assert spy.calls == []
