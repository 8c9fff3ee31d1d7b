"""Attacks on the sign-in through the domain, on both stores: concurrent replay (row 9), user
enumeration (row 17), lockout (row 19), cross binding (row 10), state order (row 11), Session
tamper, challenge expiry (row 14) with an injected clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from counts import count
from devicesrp.server.errors import DomainError, NotAuthorizedError
from devicesrp.server.flow import RespondRequest
from devicesrp.server.lockout import user_key
from test_server_harness import (
    POOL,
    Env,
    SignIn,
    confirm_new_device,
    make_env,
    open_backend,
    password_login,
    tokens_of,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    store = open_backend(request.param, tmp_path)
    e = make_env(store)
    e.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    e.idp.admin_create_user(POOL, "bob", "Corr3ct-horse!")
    yield e
    store.close()


def outcome(env: Env, request: RespondRequest) -> str:
    try:
        env.idp.respond_to_auth_challenge(request)
        return "ok"
    except DomainError as exc:
        return f"{exc.cognito_type}:{exc.message}"


def test_concurrent_replay_exactly_one_success(env: Env) -> None:
    """Row 9: 100 simultaneous submissions of one valid proof -> exactly 1 success per round."""
    rounds = count(ci=50, soak=200)
    with ThreadPoolExecutor(max_workers=100) as pool:
        for _ in range(rounds):
            s = SignIn(env, "alice")
            s.initiate()
            request = s.proof()
            barrier = threading.Barrier(100)

            def submit(
                _: int, request: RespondRequest = request, barrier: threading.Barrier = barrier
            ) -> str:
                barrier.wait()
                return outcome(env, request)

            results = list(pool.map(submit, range(100)))
            assert results.count("ok") == 1, results
            assert set(results) == {"ok", "NotAuthorizedException:Incorrect username or password."}
    # Replays are not password guesses: the user is not locked out by them.
    record = env.store.get_lockout(
        "signin.user", user_key(POOL, env.store.get_user(POOL, "alice").sub)
    )  # type: ignore[union-attr]
    assert record is None or record.failures == 0
    password_login(env, "alice")


def test_unknown_names_get_stable_fake_challenges(env: Env) -> None:
    """Row 17: same shapes, stable salt per name, same errors."""
    n = count(ci=200, soak=1000)
    known = SignIn(env, "alice").initiate()
    shapes = set()
    for i in range(n):
        name = f"ghost{i}"
        first = SignIn(env, name).initiate()
        again = SignIn(env, name).initiate()
        assert first.parameters["SALT"] == again.parameters["SALT"]
        assert first.parameters["USER_ID_FOR_SRP"] == first.parameters["USERNAME"] == name
        assert first.parameters["SRP_B"] != again.parameters["SRP_B"]
        assert set(first.parameters) == set(known.parameters)
        assert first.name == known.name
        assert len(first.session or "") - len(known.session or "") in range(-8, 9)
        shapes.add(len(first.parameters["SALT"]))
    # PAD of 16 random bytes, the form real salts have: mostly 32 or 34 hex digits (a leading
    # zero byte, 1 in 256, makes it shorter).
    assert {32, 34} <= shapes and all(n % 2 == 0 and n <= 34 for n in shapes)
    salts = {SignIn(env, f"ghost{i}").initiate().parameters["SALT"] for i in range(20)}
    assert len(salts) == 20
    # The failing proof: identical error for a known name and an unknown one.
    errors = set()
    for name in ("alice", "ghost1"):
        s = SignIn(env, name)
        s.initiate()
        errors.add(outcome(env, s.proof(password="Wrong-horse1!")))
    assert errors == {"NotAuthorizedException:Incorrect username or password."}


def test_unknown_names_lock_like_known_ones_in_a_bounded_table(env: Env) -> None:
    env.rt.unknown_name_table_size = 10
    for name in ("alice", "nobody"):
        answers = []
        for _ in range(6):
            s = SignIn(env, name)
            s.initiate()
            answers.append(outcome(env, s.proof(password="Wrong-horse1!")))
        assert answers[:5] == ["NotAuthorizedException:Incorrect username or password."] * 5
        assert answers[5] == "NotAuthorizedException:Password attempts exceeded"
    for i in range(30):
        s = SignIn(env, f"spray{i}")
        s.initiate()
        outcome(env, s.proof(password="Wrong-horse1!"))
    with env.store.transaction():
        pass
    total = sum(
        1 for i in range(30) if env.store.get_lockout("signin.name", _name_key(env, f"spray{i}"))
    )
    assert 0 < total <= 10


def _name_key(env: Env, name: str) -> str:
    from devicesrp.server.identity import principal_for

    return principal_for(env.rt, env.settings(), name, None).lockout_key


def test_lockout_schedule_with_injected_clock(env: Env) -> None:
    """Row 19: backoff from the 6th attempt; the right proof while locked gets the same error."""
    for _ in range(5):
        s = SignIn(env, "alice")
        s.initiate()
        assert "Incorrect" in outcome(env, s.proof(password="Wrong-horse1!"))
    s = SignIn(env, "alice")
    s.initiate()
    assert outcome(env, s.proof()) == "NotAuthorizedException:Password attempts exceeded"
    env.clock.advance(1.0)
    s = SignIn(env, "alice")
    s.initiate()
    assert outcome(env, s.proof(password="Wrong-horse1!")).endswith(
        "Incorrect username or password."
    )
    s = SignIn(env, "alice")
    s.initiate()
    assert outcome(env, s.proof()).endswith("Password attempts exceeded")
    env.clock.advance(1.999)
    s = SignIn(env, "alice")
    s.initiate()
    assert outcome(env, s.proof()).endswith("Password attempts exceeded")
    env.clock.advance(0.001)
    s = SignIn(env, "alice")
    s.initiate()
    tokens_of(s.respond(s.proof()))  # success resets the counter
    s = SignIn(env, "alice")
    s.initiate()
    assert outcome(env, s.proof(password="Wrong-horse1!")).endswith(
        "Incorrect username or password."
    )


def test_password_and_device_failures_share_one_counter(env: Env) -> None:
    device = confirm_new_device(env, password_login(env, "alice"))
    for _ in range(3):
        s = SignIn(env, "alice")
        s.initiate()
        outcome(env, s.proof(password="Wrong-horse1!"))
    for _ in range(2):
        s = SignIn(env, "alice")
        s.initiate()
        s.respond(s.proof(device_key=device.key))
        s.respond(s.device_srp_auth(device))
        assert "Incorrect" in outcome(env, s.device_proof(device, password="wrong"))
    s = SignIn(env, "alice")
    s.initiate()
    assert outcome(env, s.proof()).endswith("Password attempts exceeded")


def test_concurrent_wrong_proofs_keep_the_counter_exact(env: Env) -> None:
    n = 20
    requests = []
    for _ in range(n):
        s = SignIn(env, "bob")
        s.initiate()
        requests.append(s.proof(password="Wrong-horse1!"))
    barrier = threading.Barrier(n)

    def submit(request: RespondRequest) -> str:
        barrier.wait()
        return outcome(env, request)

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(submit, requests))
    evaluated = sum(r.endswith("Incorrect username or password.") for r in results)
    locked = sum(r.endswith("Password attempts exceeded") for r in results)
    assert evaluated + locked == n and evaluated >= 5
    bob = env.store.get_user(POOL, "bob")
    assert bob is not None
    record = env.store.get_lockout("signin.user", user_key(POOL, bob.sub))
    assert record is not None and record.failures == evaluated


def test_cross_binding_is_refused(env: Env) -> None:
    """Row 10: alice's secret block answered as bob, or through another app client."""
    other = env.idp.create_client(POOL, "client2")
    s = SignIn(env, "alice")
    s.initiate()
    request = s.proof()
    as_bob = RespondRequest(
        request.client_id,
        request.challenge_name,
        {**request.responses, "USERNAME": "bob"},
        request.session,
    )
    via_other = RespondRequest(
        other.client_id, request.challenge_name, request.responses, request.session
    )
    for bad in (as_bob, via_other):
        assert outcome(env, bad) == "NotAuthorizedException:Incorrect username or password."
    tokens_of(s.respond(request))  # the genuine answer was not spent by the attempts


def test_state_order(env: Env) -> None:
    """Row 11: DEVICE_PASSWORD_VERIFIER without DEVICE_SRP_AUTH; DEVICE_SRP_AUTH twice."""
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(env, "alice")
    s.initiate()
    pv = s.respond(s.proof(device_key=device.key))
    assert pv.challenge is not None
    # A device proof over the user-step's block (no DEVICE_SRP_AUTH happened).
    user_challenge = s.challenge
    s.challenge = SignIn(env, "alice").initiate()
    with pytest.raises(NotAuthorizedError):
        s.respond(s.device_proof(device))
    s.challenge = user_challenge
    dsa = s.device_srp_auth(device)
    env.idp.respond_to_auth_challenge(dsa)
    with pytest.raises(NotAuthorizedError):
        env.idp.respond_to_auth_challenge(dsa)


def test_every_flipped_session_byte_is_refused(env: Env) -> None:
    device = confirm_new_device(env, password_login(env, "alice"))
    s = SignIn(env, "alice")
    s.initiate()
    out = s.respond(s.proof(device_key=device.key))
    assert out.challenge is not None and out.challenge.session is not None
    session = out.challenge.session
    assert 20 <= len(session) <= 1024
    request = s.device_srp_auth(device)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i in range(len(session)):
        swapped = alphabet[(alphabet.index(session[i]) + 1) % 64] if session[i] in alphabet else "A"
        tampered = session[:i] + swapped + session[i + 1 :]
        bad = RespondRequest(request.client_id, request.challenge_name, request.responses, tampered)
        assert outcome(env, bad).startswith("NotAuthorizedException"), i
    for bad_session in ("", "x" * 19, "v1" + "A" * 2000, session + "A", session[:-1]):
        bad = RespondRequest(
            request.client_id, request.challenge_name, request.responses, bad_session
        )
        assert outcome(env, bad).startswith("NotAuthorizedException")
    assert outcome(env, request) == "ok"


@pytest.mark.parametrize(("age", "ok"), [(179, True), (180, True), (181, False)])
def test_challenge_expiry(env: Env, age: int, ok: bool) -> None:
    """Row 14: accepted iff the challenge's age <= its lifetime (180 s by default)."""
    s = SignIn(env, "alice")
    s.initiate()
    env.clock.advance(age)
    result = outcome(env, s.proof())
    assert (result == "ok") is ok, result
