"""The attack rows of the security matrix against a running ``devicesrp serve``, on SQLite and on
PostgreSQL, over plain HTTP on 127.0.0.1 (rows 1, 2, 6-13, 15, 17-19, 29-31, 35).

The engine- and domain-level tests of these rows (tests/test_protocol_*, test_server_*) drive
injected clocks and exact boundaries; here the same attacks go through the real wire, the real
process and the real database, with the real clock. Every refusal must be an HTTP 400 in the AWS
error shape, never a 5xx, and never carry tokens. Each test records its outcomes per backend;
row 31 (backend parity) then asserts that PostgreSQL answered exactly as SQLite did.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from clients.harness import Service, postgres_reachable, shared_service
from counts import count
from devicesrp import live, modexp
from devicesrp.protocol.client import ClientHandshake
from devicesrp.protocol.server import DEFAULT_TIMESTAMP_SKEW
from devicesrp.protocol.values import Challenge, DeviceCredentials
from devicesrp.srp import cognito
from devicesrp.srp.groups import COGNITO_GROUP
from devicesrp.srp.timestamp import format_timestamp, parse_timestamp
from test_http_service import PASSWORD, make_pool, make_user

pytestmark = pytest.mark.timeout(count(ci=900, soak=3 * 3600))
N = COGNITO_GROUP.N
TARGET = "AWSCognitoIdentityProviderService."
WRONG = ("NotAuthorizedException", "Incorrect username or password.")
LOCKED = ("NotAuthorizedException", "Password attempts exceeded")
TOO_LARGE = "RequestEntityTooLargeException"
EXPIRED = ("NotAuthorizedException", "Invalid session for the user, session is expired.")

# backend -> test name -> outcomes, for the parity check (row 31)
OUTCOMES: dict[str, dict[str, list[Any]]] = {}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def svc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Service:
    if request.param == "postgres":
        reason = postgres_reachable()
        if reason is not None:
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
    base = tmp_path_factory.getbasetemp() / f"http-{request.param}"
    return shared_service(request.param, Path(base))


# -- the wire ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def error(self) -> tuple[str, str]:
        return str(self.body.get("__type", "")), str(self.body.get("message", ""))

    @property
    def tokens(self) -> dict[str, Any] | None:
        result = self.body.get("AuthenticationResult")
        return result if isinstance(result, dict) else None


def post(url: str, op: str, body: dict[str, Any] | bytes) -> Reply:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url + "/",
        data=data,
        method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + op},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    reply = Reply(status, json.loads(raw) if raw else {})
    assert status < 500, (op, status, reply.body)
    if status != 200:
        assert status in (400, 413) and reply.error[0].endswith("Exception"), (status, reply.body)
        assert reply.tokens is None
    return reply


def refused(reply: Reply, *allowed: tuple[str, str] | str) -> tuple[int, str, str]:
    """Assert a refusal of one of the ``allowed`` (type, message) pairs or types."""
    assert reply.status in (400, 413) and reply.tokens is None, reply
    kind, message = reply.error
    assert any(a == (kind, message) or a == kind for a in allowed), (kind, message)
    return reply.status, kind, message


def record(svc: Service, request: pytest.FixtureRequest, outcomes: list[Any]) -> None:
    name = request.node.originalname
    OUTCOMES.setdefault(svc.backend, {})[name] = outcomes


# -- a world of pools, clients, users and a device ------------------------------------------------


@dataclass
class Device:
    key: str
    group: str
    password: str = field(repr=False)
    verifier: bytes = field(repr=False)


@dataclass
class World:
    svc: Service
    pool: str
    client: str
    other_client: str
    other_pool: str
    other_pool_client: str

    @property
    def url(self) -> str:
        return self.svc.url

    def user(self, pool: str | None = None) -> str:
        """A fresh user (lockout counters are per user)."""
        return make_user(self.svc, pool or self.pool, f"u{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="module")
def world(svc: Service) -> World:
    pool, client = make_pool(svc, "always")
    other = svc.admin().create_user_pool_client(UserPoolId=pool, ClientName="other")
    other_pool, other_pool_client = make_pool(svc, "always")
    return World(
        svc, pool, client, other["UserPoolClient"]["ClientId"], other_pool, other_pool_client
    )


@dataclass
class UserProof:
    """The client side of the password step, computing K itself so that any TIMESTAMP text and
    any signing time can be produced (the attacker's freedom)."""

    pool: str
    password: str = field(repr=False)
    a: bytes = field(default_factory=lambda: live.new_secret(), repr=False)

    @property
    def A(self) -> int:
        return cognito.client_public(self.a)

    def answer(
        self, params: dict[str, str], *, stamp: str | None = None, at: int | None = None
    ) -> dict[str, str]:
        identity = params["USER_ID_FOR_SRP"]
        x = cognito.compute_x(params["SALT"], cognito.pool_name(self.pool), identity, self.password)
        key = cognito.client_session_key(x, self.a, self.A, int(params["SRP_B"], 16))
        text = stamp if stamp is not None else format_timestamp(at or live.now())
        block = base64.b64decode(params["SECRET_BLOCK"])
        return {
            "USERNAME": params["USERNAME"],
            "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
            "TIMESTAMP": text,
            "PASSWORD_CLAIM_SIGNATURE": cognito.claim_signature(
                key, cognito.pool_name(self.pool), identity, block, text
            ),
        }


def initiate(
    w: World, name: str, srp_a: str, *, client: str | None = None, device: str | None = None
) -> Reply:
    params = {"USERNAME": name, "SRP_A": srp_a}
    if device is not None:
        params["DEVICE_KEY"] = device
    body = {"ClientId": client or w.client, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": params}
    return post(w.url, "InitiateAuth", body)


def respond(
    w: World,
    name: str,
    responses: dict[str, Any],
    *,
    session: str | None = None,
    client: str | None = None,
) -> Reply:
    body: dict[str, Any] = {
        "ClientId": client or w.client,
        "ChallengeName": name,
        "ChallengeResponses": responses,
    }
    if session is not None:
        body["Session"] = session
    return post(w.url, "RespondToAuthChallenge", body)


def password_step(
    w: World, name: str, password: str = PASSWORD, *, device: str | None = None
) -> tuple[Reply, dict[str, str]]:
    """InitiateAuth + PASSWORD_VERIFIER; returns the reply and the answer that was sent."""
    proof = UserProof(w.pool, password)
    start = initiate(w, name, format(proof.A, "x"), device=device)
    assert start.status == 200, start.body
    answer = proof.answer(start.body["ChallengeParameters"])
    if device is not None:
        answer["DEVICE_KEY"] = device
    return respond(w, "PASSWORD_VERIFIER", answer), answer


def remember_device(w: World, name: str) -> tuple[Device, str]:
    """A first sign-in, then ConfirmDevice with a verifier this test holds; (device, access)."""
    reply, _ = password_step(w, name)
    tokens = reply.tokens
    assert tokens is not None, reply.body
    meta = tokens["NewDeviceMetadata"]
    password, verifier = live.new_device_secret(meta["DeviceGroupKey"], meta["DeviceKey"])
    confirmed = post(
        w.url,
        "ConfirmDevice",
        {
            "AccessToken": tokens["AccessToken"],
            "DeviceKey": meta["DeviceKey"],
            "DeviceName": "security",
            "DeviceSecretVerifierConfig": {
                "Salt": base64.b64encode(verifier.salt).decode(),
                "PasswordVerifier": base64.b64encode(verifier.password_verifier).decode(),
            },
        },
    )
    assert confirmed.status == 200, confirmed.body
    device = Device(meta["DeviceKey"], meta["DeviceGroupKey"], password, verifier.password_verifier)
    return device, tokens["AccessToken"]


@dataclass
class DeviceStep:
    """A device step in progress: the DEVICE_SRP_AUTH reply and the a behind its SRP_A."""

    reply: Reply
    a: bytes = field(repr=False)


def device_challenge(w: World, name: str, device: Device, session: str) -> DeviceStep:
    a = live.new_secret()
    hs = ClientHandshake(DeviceCredentials(device.group, device.key, device.password))
    srp_a = format(hs.start(a), "x")
    reply = respond(
        w,
        "DEVICE_SRP_AUTH",
        {"USERNAME": name, "DEVICE_KEY": device.key, "SRP_A": srp_a},
        session=session,
    )
    return DeviceStep(reply, a)


def device_answer(step: DeviceStep, device: Device, *, at: int | None = None) -> dict[str, str]:
    """The DEVICE_PASSWORD_VERIFIER answer to ``step``'s challenge with ``device``'s password
    (the same a, so a wrong password changes nothing but the secret)."""
    cp = step.reply.body["ChallengeParameters"]
    hs = ClientHandshake(DeviceCredentials(device.group, device.key, device.password))
    hs.start(step.a)
    claim = hs.respond(_challenge(cp, device.key), now=at or live.now())
    return {
        "USERNAME": cp["USERNAME"],
        "DEVICE_KEY": device.key,
        "PASSWORD_CLAIM_SECRET_BLOCK": claim.secret_block,
        "TIMESTAMP": claim.timestamp,
        "PASSWORD_CLAIM_SIGNATURE": claim.signature,
    }


def _challenge(cp: dict[str, str], identity: str) -> Challenge:
    salt = cp["SALT"]
    return Challenge(
        identity,
        bytes.fromhex(salt.zfill(len(salt) + len(salt) % 2)),
        int(cp["SRP_B"], 16),
        cp["SECRET_BLOCK"],
    )


def to_device_step(w: World, name: str, device: Device) -> DeviceStep:
    reply, _ = password_step(w, name, device=device.key)
    assert reply.body.get("ChallengeName") == "DEVICE_SRP_AUTH", reply.body
    step = device_challenge(w, name, device, reply.body["Session"])
    assert step.reply.body.get("ChallengeName") == "DEVICE_PASSWORD_VERIFIER", step.reply.body
    return step


def device_sign_in(w: World, name: str, device: Device) -> Reply:
    step = to_device_step(w, name, device)
    return respond(
        w,
        "DEVICE_PASSWORD_VERIFIER",
        device_answer(step, device),
        session=step.reply.body["Session"],
    )


@pytest.fixture(scope="module")
def alice(world: World) -> tuple[str, Device, str]:
    name = world.user()
    device, access = remember_device(world, name)
    return name, device, access


ZERO_CLASS = {"0": "0", "N": format(N, "x"), "2N": format(2 * N, "x"), "7N": format(7 * N, "x")}
ZERO_CLASS["-N"] = "-" + format(N, "x")
OUT_OF_RANGE = {
    "1": "1",
    "N-1": format(N - 1, "x"),
    "N+1": format(N + 1, "x"),
    "2^3072": format(2**3072, "x"),
    "empty": "",
    "sign": "+" + "ab" * 32,
    "0x": "0x" + "ab" * 32,
    "whitespace": " " + "ab" * 32,
    "unicode digits": "١٢٣" * 10,
    "771 chars": "f" * 771,
    "40,000 chars": "f" * 40_000,
}


# -- rows 1 and 2: a hostile A, at the password step and at the device step ------------------------


@pytest.mark.matrix(1, 2)
def test_hostile_srp_a_is_refused_at_both_steps(
    svc: Service,
    world: World,
    alice: tuple[str, Device, str],
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name, device, _ = alice
    outcomes = []
    for label, value in {**ZERO_CLASS, **OUT_OF_RANGE}.items():
        reply = initiate(world, name, value)
        outcome = refused(reply, WRONG, "InvalidParameterException", TOO_LARGE)
        if label in ZERO_CLASS:
            assert outcome[1:] == WRONG, (label, outcome)
        outcomes.append((label, "user", outcome))
        step, _ = password_step(world, name, device=device.key)
        session = step.body["Session"]
        reply = respond(
            world,
            "DEVICE_SRP_AUTH",
            {"USERNAME": name, "DEVICE_KEY": device.key, "SRP_A": value},
            session=session,
        )
        outcome = refused(reply, WRONG, "InvalidParameterException", TOO_LARGE)
        if label in ZERO_CLASS:
            assert outcome[1:] == WRONG, (label, outcome)
        outcomes.append((label, "device", outcome))
    # a forged zero-class proof cannot even be attempted: no challenge was ever issued for it,
    # and the device still signs in afterwards (nothing was consumed or locked)
    assert device_sign_in(world, name, device).tokens is not None
    record(svc, request, outcomes)
    matrix_cases(len(outcomes))


# -- row 6: the wrong device secret; row 7: an attacker holding only the verifier ----------------


@pytest.mark.matrix(6)
def test_wrong_device_secret_is_the_one_generic_error(
    svc: Service,
    world: World,
    alice: tuple[str, Device, str],
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name, device, _ = alice
    runs = count(ci=12, soak=1000)
    outcomes = set()
    for i in range(runs):
        wrong = Device(device.key, device.group, base64.b64encode(os.urandom(40)).decode(), b"")
        step = to_device_step(world, name, device)
        reply = respond(
            world,
            "DEVICE_PASSWORD_VERIFIER",
            device_answer(step, wrong),
            session=step.reply.body["Session"],
        )
        outcomes.add(refused(reply, WRONG))
        if i % 4 == 3:  # a right sign-in between bursts keeps the user out of lockout
            assert device_sign_in(world, name, device).tokens is not None
    assert outcomes == {(400, *WRONG)}
    record(svc, request, sorted(outcomes))
    matrix_cases(runs)


@pytest.mark.matrix(7)
def test_stolen_verifier_cannot_sign_in(
    svc: Service,
    world: World,
    alice: tuple[str, Device, str],
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    """With v the attacker strips k*v from B and raises g^b to a; the real S also needs
    (v^u)^b, which takes b. Both guesses (g^(ab) and v^a) fail."""
    name, device, _ = alice
    v = int.from_bytes(device.verifier, "big")
    outcomes = []
    for guess_name in ("g^(ab)", "v^a", "g^(ab)", "v^a"):
        step = to_device_step(world, name, device)
        cp = step.reply.body["ChallengeParameters"]
        B = int(cp["SRP_B"], 16)
        A = cognito.client_public(step.a)
        base = (B - cognito.COGNITO_K * v) % N if guess_name == "g^(ab)" else v
        guess = modexp.powmod_secret(base, int.from_bytes(step.a, "big"), N, 8 * len(step.a))
        key = cognito.derive_key(guess.to_bytes(384, "big"), cognito.compute_u(A, B))
        stamp = format_timestamp(live.now())
        block = base64.b64decode(cp["SECRET_BLOCK"])
        answer = {
            "USERNAME": cp["USERNAME"],
            "DEVICE_KEY": device.key,
            "PASSWORD_CLAIM_SECRET_BLOCK": cp["SECRET_BLOCK"],
            "TIMESTAMP": stamp,
            "PASSWORD_CLAIM_SIGNATURE": cognito.claim_signature(
                key, device.group, device.key, block, stamp
            ),
        }
        reply = respond(
            world, "DEVICE_PASSWORD_VERIFIER", answer, session=step.reply.body["Session"]
        )
        outcomes.append((guess_name, refused(reply, WRONG)))
    assert device_sign_in(world, name, device).tokens is not None
    record(svc, request, outcomes)
    matrix_cases(len(outcomes))


# -- rows 8 and 9: replay, sequential and concurrent ---------------------------------------------


@pytest.mark.matrix(8)
def test_replayed_proofs_are_refused(
    svc: Service,
    world: World,
    alice: tuple[str, Device, str],
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name, device, _ = alice
    first, answer = password_step(world, name, device=device.key)
    assert first.body.get("ChallengeName") == "DEVICE_SRP_AUTH"
    again = respond(world, "PASSWORD_VERIFIER", answer)
    outcomes = [("password step", refused(again, WRONG))]
    step = device_challenge(world, name, device, first.body["Session"])
    proof = device_answer(step, device)
    session = step.reply.body["Session"]
    ok = respond(world, "DEVICE_PASSWORD_VERIFIER", proof, session=session)
    assert ok.tokens is not None
    for _ in range(3):
        reply = respond(world, "DEVICE_PASSWORD_VERIFIER", proof, session=session)
        outcomes.append(("device step", refused(reply, WRONG)))
    record(svc, request, outcomes)
    matrix_cases(len(outcomes))


@pytest.mark.matrix(9)
def test_concurrent_replay_has_exactly_one_winner(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    """100 simultaneous submissions of one valid proof over 100 connections, per round."""
    rounds, width = count(ci=3, soak=200), 100
    name = world.user()
    wins = []
    with ThreadPoolExecutor(max_workers=width) as pool:
        for _ in range(rounds):
            proof = UserProof(world.pool, PASSWORD)
            start = initiate(world, name, format(proof.A, "x"))
            answer = proof.answer(start.body["ChallengeParameters"])
            barrier = threading.Barrier(width)

            def submit(
                _: int, answer: dict[str, str] = answer, b: threading.Barrier = barrier
            ) -> Reply:
                b.wait()
                return respond(world, "PASSWORD_VERIFIER", answer)

            replies = list(pool.map(submit, range(width)))
            winners = [r for r in replies if r.tokens is not None]
            losers = {refused(r, WRONG) for r in replies if r.tokens is None}
            assert len(winners) == 1 and losers == {(400, *WRONG)}, (len(winners), losers)
            wins.append(len(winners))
    # replays are not password guesses: the user is not locked out by them
    assert password_step(world, name)[0].tokens is not None
    record(svc, request, wins)
    matrix_cases(rounds * width)


# -- row 10: a secret block used for another user, client or pool --------------------------------


@pytest.mark.matrix(10)
def test_cross_binding_is_refused(
    svc: Service,
    world: World,
    alice: tuple[str, Device, str],
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name, device, _ = alice
    bob = world.user()
    outcomes = []
    for target in ("user", "client", "pool client"):
        proof = UserProof(world.pool, PASSWORD)
        start = initiate(world, name, format(proof.A, "x"))
        answer = proof.answer(start.body["ChallengeParameters"])
        client = {"client": world.other_client, "pool client": world.other_pool_client}
        if target == "user":
            answer["USERNAME"] = bob
        reply = respond(world, "PASSWORD_VERIFIER", answer, client=client.get(target))
        outcomes.append((target, refused(reply, WRONG, "ResourceNotFoundException")))
    # the device step: alice's device challenge answered in bob's name, or for another device
    other_device, _ = remember_device(world, bob)
    step = to_device_step(world, name, device)
    answer = device_answer(step, device)
    for field_name, value in (("USERNAME", bob), ("DEVICE_KEY", other_device.key)):
        forged = {**answer, field_name: value}
        reply = respond(
            world, "DEVICE_PASSWORD_VERIFIER", forged, session=step.reply.body["Session"]
        )
        outcomes.append((field_name, refused(reply, WRONG, "ResourceNotFoundException")))
    assert device_sign_in(world, name, device).tokens is not None
    record(svc, request, outcomes)
    matrix_cases(len(outcomes))


# -- row 11: state order ---------------------------------------------------------------------------


@pytest.mark.matrix(11)
def test_device_steps_out_of_order_are_refused(
    svc: Service,
    world: World,
    alice: tuple[str, Device, str],
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name, device, _ = alice
    outcomes = []
    # DEVICE_PASSWORD_VERIFIER with no DEVICE_SRP_AUTH: a device proof over the password step's
    # own challenge (the only block the client holds), sent with the password step's Session
    a = live.new_secret()
    srp_a = format(cognito.client_public(a), "x")
    start = initiate(world, name, srp_a, device=device.key)
    user_step = DeviceStep(start, a)
    first, _ = password_step(world, name, device=device.key)
    reply = respond(
        world,
        "DEVICE_PASSWORD_VERIFIER",
        device_answer(user_step, device),
        session=first.body["Session"],
    )
    outcomes.append(("verifier without srp_auth", refused(reply, WRONG)))
    # DEVICE_SRP_AUTH twice on one Session
    first, _ = password_step(world, name, device=device.key)
    once = device_challenge(world, name, device, first.body["Session"])
    assert once.reply.status == 200
    twice = device_challenge(world, name, device, first.body["Session"])
    outcomes.append(("srp_auth twice", refused(twice.reply, WRONG, EXPIRED)))
    # DEVICE_SRP_AUTH with no password step: no Session, a made-up Session
    for session in (None, base64.b64encode(secrets.token_bytes(96)).decode()):
        a = format(cognito.client_public(live.new_secret()), "x")
        body = {"USERNAME": name, "DEVICE_KEY": device.key, "SRP_A": a}
        reply = respond(world, "DEVICE_SRP_AUTH", body, session=session)
        outcomes.append(("no password step", refused(reply, WRONG, EXPIRED, "InvalidParameter")))
    assert device_sign_in(world, name, device).tokens is not None  # nothing changed
    record(svc, request, outcomes)
    matrix_cases(len(outcomes))


# -- rows 12 and 13: TIMESTAMP format and skew ----------------------------------------------------

STAMPS = [
    "Tue Jan 01 06:06:09 UTC 2019",  # zero-padded day
    "Wed Jan 1 06:06:09 UTC 2019",  # wrong weekday
    "Tue Jan 1 06:06:09 GMT 2019",
    "Tue Jan 1 06:06:09 +0000 2019",
    "Di Jan 1 06:06:09 UTC 2019",  # another language
    "Tue Jan 1 06:06:09 UTC 2019 ",
    "Thu Feb 29 06:06:09 UTC 2019",  # not a leap year
    "Tue Jan 1 24:00:00 UTC 2019",
    "x" * 100_000,
    "Tue Jan 1 06:06:09\x00 UTC 2019",
]


def _parsable(stamp: str) -> bool:
    try:
        parse_timestamp(stamp)
    except ValueError:
        return False
    return True


@pytest.mark.matrix(12)
def test_timestamp_formats_on_the_wire(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    """Unparsable -> InvalidParameterException; parsable but not what the signature covers
    (signed over the text as sent, verified over the canonical re-rendering) -> NotAuthorized."""
    outcomes = []
    name = world.user()
    for i, stamp in enumerate(STAMPS):
        if i % 4 == 3:
            assert password_step(world, name)[0].tokens is not None  # reset the counter
        proof = UserProof(world.pool, PASSWORD)
        start = initiate(world, name, format(proof.A, "x"))
        reply = respond(
            world, "PASSWORD_VERIFIER", proof.answer(start.body["ChallengeParameters"], stamp=stamp)
        )
        if len(stamp) > 60_000:  # past the body cap: refused before it is even parsed
            outcome = refused(reply, TOO_LARGE)
        elif _parsable(stamp):
            outcome = refused(reply, WRONG)
        else:
            outcome = refused(reply, "InvalidParameterException")
        outcomes.append(outcome)
    record(svc, request, outcomes)
    matrix_cases(len(outcomes))


@pytest.mark.matrix(13)
def test_timestamp_skew_on_the_real_clock(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    """W = 300 s: stamps 3 s inside the window either side pass, 3 s outside fail (the exact
    W-1/W/W+1 boundaries need an injected clock: tests/test_protocol_server.py)."""
    w_ = DEFAULT_TIMESTAMP_SKEW
    name = world.user()
    outcomes = []
    for shift, ok in ((-(w_ - 3), True), (w_ - 3, True), (-(w_ + 3), False), (w_ + 3, False)):
        proof = UserProof(world.pool, PASSWORD)
        start = initiate(world, name, format(proof.A, "x"))
        answer = proof.answer(start.body["ChallengeParameters"], at=int(time.time()) + shift)
        reply = respond(world, "PASSWORD_VERIFIER", answer)
        if ok:
            assert reply.tokens is not None, (shift, reply.body)
            outcomes.append((shift, "ok"))
        else:
            outcomes.append((shift, refused(reply, WRONG)))
    record(svc, request, outcomes)
    matrix_cases(len(outcomes))


# -- row 15: the SECRET_BLOCK tampered on the way (every bit in the soak, 240 spread in CI) -----


@pytest.mark.matrix(15)
def test_bit_flips_of_the_secret_block_are_refused(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name = world.user()
    proof = UserProof(world.pool, PASSWORD)
    start = initiate(world, name, format(proof.A, "x"))
    params = start.body["ChallengeParameters"]
    answer = proof.answer(params)
    block = base64.b64decode(params["SECRET_BLOCK"])
    variants = []
    total = 8 * len(block)
    stride = max(1, total // count(ci=240, soak=total))  # soak: every bit; CI: spread evenly
    for bit in range(0, total, stride):
        flipped = bytearray(block)
        flipped[bit // 8] ^= 1 << (bit % 8)
        variants.append(base64.b64encode(bytes(flipped)).decode())
    variants += [
        base64.b64encode(block[:n]).decode() for n in (0, 1, len(block) // 2, len(block) - 1)
    ]
    variants += [base64.b64encode(block + b"\x00").decode(), params["SECRET_BLOCK"] + "=="]
    variants += [base64.urlsafe_b64encode(block).decode(), params["SECRET_BLOCK"].rstrip("=")]
    variants = [v for v in variants if v != params["SECRET_BLOCK"]]
    kinds = set()
    for text in variants:
        reply = respond(world, "PASSWORD_VERIFIER", {**answer, "PASSWORD_CLAIM_SECRET_BLOCK": text})
        kinds.add(refused(reply, WRONG, LOCKED, "InvalidParameterException"))
    # the untouched block still works: tampering did not consume or corrupt it... unless the
    # user got locked by the failures, which is the lockout doing its job
    final = respond(world, "PASSWORD_VERIFIER", answer)
    assert final.tokens is not None or final.error == LOCKED, final.body
    record(svc, request, sorted(kinds))
    matrix_cases(len(variants))


# -- rows 17 and 18: user enumeration; unknown vs forgotten device --------------------------------


@pytest.mark.matrix(17)
def test_unknown_names_look_like_known_ones(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    known = world.user()
    a = format(cognito.client_public(live.new_secret()), "x")
    reference = initiate(world, known, a).body
    n = count(ci=40, soak=1000)
    salt_lengths = set()
    for i in range(n):
        ghost = f"ghost-{svc.backend}-{i}-{uuid.uuid4().hex[:6]}"
        first, again = initiate(world, ghost, a).body, initiate(world, ghost, a).body
        assert set(first) == set(reference) and first["ChallengeName"] == "PASSWORD_VERIFIER"
        p1, p2 = first["ChallengeParameters"], again["ChallengeParameters"]
        assert set(p1) == set(reference["ChallengeParameters"])
        assert p1["SALT"] == p2["SALT"] and p1["SRP_B"] != p2["SRP_B"]
        assert p1["USER_ID_FOR_SRP"] == p1["USERNAME"] == ghost
        ref_block = len(reference["ChallengeParameters"]["SECRET_BLOCK"])
        assert abs(len(p1["SECRET_BLOCK"]) - ref_block) <= 8
        salt_lengths.add(len(p1["SALT"]))
    assert all(length <= 34 and length % 2 == 0 for length in salt_lengths)
    # the failing proof and the lockout: the same words for a ghost and for a real user
    outcomes: dict[str, list[tuple[int, str, str]]] = {}
    for label, name in (("known", world.user()), ("unknown", f"ghost-{uuid.uuid4().hex}")):
        seen = []
        for _ in range(6):
            proof = UserProof(world.pool, "Wrong-horse-1!")
            start = initiate(world, name, format(proof.A, "x"))
            answer = proof.answer(start.body["ChallengeParameters"])
            seen.append(refused(respond(world, "PASSWORD_VERIFIER", answer), WRONG, LOCKED))
        outcomes[label] = seen
    assert outcomes["known"] == outcomes["unknown"], outcomes
    assert outcomes["known"][:5] == [(400, *WRONG)] * 5 and outcomes["known"][5] == (400, *LOCKED)
    record(svc, request, [outcomes["known"]])
    matrix_cases(2 * n + 12)


@pytest.mark.matrix(18)
def test_unknown_and_forgotten_devices_get_the_documented_answers(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name = world.user()
    device, access = remember_device(world, name)
    forgotten, _ = remember_device(world, name)
    gone = post(world.url, "ForgetDevice", {"AccessToken": access, "DeviceKey": forgotten.key})
    assert gone.status == 200, gone.body
    outcomes = []
    for label, key in (
        ("never issued", f"{world.pool.split('_')[0]}_{uuid.uuid4()}"),
        ("forgotten", forgotten.key),
    ):
        reply, _ = password_step(world, name, device=key)
        outcomes.append(
            (label, refused(reply, ("ResourceNotFoundException", "Device does not exist.")))
        )
    wrong = Device(device.key, device.group, "not-the-device-password", b"")
    step = to_device_step(world, name, device)
    reply = respond(
        world,
        "DEVICE_PASSWORD_VERIFIER",
        device_answer(step, wrong),
        session=step.reply.body["Session"],
    )
    outcomes.append(("wrong secret", refused(reply, WRONG)))
    record(svc, request, outcomes)
    matrix_cases(len(outcomes))


# -- row 19: lockout on the real clock -----------------------------------------------------------


@pytest.mark.matrix(19)
def test_lockout_backoff_on_the_real_clock(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    """5 wrong proofs, then the right one gets the lockout answer; after the 1 s backoff the
    right one passes."""
    name = world.user()
    outcomes = []
    for _ in range(5):
        reply, _ = password_step(world, name, "Wrong-horse-1!")
        outcomes.append(refused(reply, WRONG))
    reply, _ = password_step(world, name)
    outcomes.append(refused(reply, LOCKED))
    time.sleep(2.1)
    assert password_step(world, name)[0].tokens is not None
    record(svc, request, outcomes)
    matrix_cases(len(outcomes) + 1)


# -- rows 29, 30 and 35: ConfirmDevice races and bounds; ForgetDevice mid-login -------------------


def _confirm(w: World, access: str, key: str, salt: bytes, verifier: bytes) -> Reply:
    return post(
        w.url,
        "ConfirmDevice",
        {
            "AccessToken": access,
            "DeviceKey": key,
            "DeviceSecretVerifierConfig": {
                "Salt": base64.b64encode(salt).decode(),
                "PasswordVerifier": base64.b64encode(verifier).decode(),
            },
        },
    )


def _devices(w: World, access: str) -> list[str]:
    reply = post(w.url, "ListDevices", {"AccessToken": access, "Limit": 60})
    assert reply.status == 200, reply.body
    return sorted(d["DeviceKey"] for d in reply.body["Devices"])


@pytest.mark.matrix(29)
def test_confirm_device_races_keep_one_record_and_never_overwrite(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name = world.user()
    first, _ = password_step(world, name)
    tokens = first.tokens
    assert tokens is not None
    meta, access = tokens["NewDeviceMetadata"], tokens["AccessToken"]
    password, verifier = live.new_device_secret(meta["DeviceGroupKey"], meta["DeviceKey"])
    with ThreadPoolExecutor(max_workers=20) as pool:
        barrier = threading.Barrier(20)

        def confirm(_: int) -> Reply:
            barrier.wait()
            return _confirm(
                world, access, meta["DeviceKey"], verifier.salt, verifier.password_verifier
            )

        replies = list(pool.map(confirm, range(20)))
    statuses = sorted({r.status for r in replies})
    assert statuses == [200], [r.body for r in replies if r.status != 200]
    assert _devices(world, access) == [meta["DeviceKey"]]
    # a different verifier for the confirmed key is refused, and the first one still works
    _, other = live.new_device_secret(meta["DeviceGroupKey"], meta["DeviceKey"])
    overwrite = _confirm(world, access, meta["DeviceKey"], other.salt, other.password_verifier)
    outcome = refused(overwrite, ("DeviceKeyExistsException", "Device key already exists."))
    device = Device(meta["DeviceKey"], meta["DeviceGroupKey"], password, verifier.password_verifier)
    assert device_sign_in(world, name, device).tokens is not None
    record(svc, request, [statuses, outcome[:2]])
    matrix_cases(21)


@pytest.mark.matrix(30)
def test_forget_between_the_device_steps_gives_no_tokens(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name = world.user()
    device, access = remember_device(world, name)
    step = to_device_step(world, name, device)
    answer = device_answer(step, device)
    assert (
        post(world.url, "ForgetDevice", {"AccessToken": access, "DeviceKey": device.key}).status
        == 200
    )
    reply = respond(world, "DEVICE_PASSWORD_VERIFIER", answer, session=step.reply.body["Session"])
    outcome = refused(reply, WRONG, ("ResourceNotFoundException", "Device does not exist."))
    record(svc, request, [outcome])
    matrix_cases(1)


@pytest.mark.matrix(35)
def test_confirm_device_bounds_store_nothing(
    svc: Service,
    world: World,
    request: pytest.FixtureRequest,
    matrix_cases: Callable[[int], None],
) -> None:
    name = world.user()
    first, _ = password_step(world, name)
    tokens = first.tokens
    assert tokens is not None
    key, access = tokens["NewDeviceMetadata"]["DeviceKey"], tokens["AccessToken"]
    good_salt, good_v = os.urandom(16), (N // 2).to_bytes(384, "big")
    cases: dict[str, tuple[Any, Any]] = {
        "salt of 65 bytes": (os.urandom(65), good_v),
        "verifier of 385 bytes": (good_salt, b"\x01" + good_v),
        "verifier 0": (good_salt, bytes(384)),
        "verifier 1": (good_salt, (1).to_bytes(384, "big")),
        "verifier N-1": (good_salt, (N - 1).to_bytes(384, "big")),
        "verifier N": (good_salt, N.to_bytes(384, "big")),
        "empty salt": (b"", good_v),
    }
    outcomes = []
    for label, (salt, verifier) in cases.items():
        outcomes.append(
            (
                label,
                refused(_confirm(world, access, key, salt, verifier), "InvalidParameterException"),
            )
        )
    for label, salt_text in (("bad base64", "***"), ("base64 without padding", "QUJD")):
        body = {
            "AccessToken": access,
            "DeviceKey": key,
            "DeviceSecretVerifierConfig": {
                "Salt": salt_text if label == "bad base64" else "QUJ",
                "PasswordVerifier": base64.b64encode(good_v).decode(),
            },
        }
        outcomes.append(
            (label, refused(post(world.url, "ConfirmDevice", body), "InvalidParameterException"))
        )
    assert _devices(world, access) == []  # nothing stored
    record(svc, request, outcomes)
    matrix_cases(len(outcomes))


# -- row 31: PostgreSQL answered every attack exactly as SQLite did --------------------------------


@pytest.mark.matrix(31)
def test_backends_answer_every_attack_alike(
    svc: Service, matrix_cases: Callable[[int], None]
) -> None:
    if svc.backend != "postgres":
        pytest.skip("compared once both backends have run (on the postgres parameter)")
    sqlite, postgres = OUTCOMES.get("sqlite", {}), OUTCOMES.get("postgres", {})
    if not sqlite:
        pytest.skip("the SQLite half did not run in this session")
    assert sorted(postgres) == sorted(sqlite)
    for name in sqlite:
        assert postgres[name] == sqlite[name], name
    matrix_cases(sum(len(v) for v in sqlite.values()))
