"""Rows 14 (challenge expiry) and 16 (sealing-key rotation) against a running ``devicesrp serve``
on SQLite and on PostgreSQL, with the server's clock moved from outside: the process runs under
libfaketime (Debian's ``faketime`` package, LD_PRELOAD), whose time this test sets by writing the
file named in FAKETIME_TIMESTAMP_FILE (re-read on every call: FAKETIME_NO_CACHE=1). Only the wall
clock is faked (the event loop's monotonic clock and file times are real). Production code has no
test hook for this: the server reads ``time.time()`` as in any deployment.

Row 14: a proof at age lifetime-1 s, lifetime and lifetime+1 s, at both SRP steps (the user's
PASSWORD_VERIFIER and the device's DEVICE_PASSWORD_VERIFIER), for the default lifetime (180 s)
and a longer one set in the pool's stored settings: accepted iff age <= lifetime. The clock is
frozen at exact seconds, so the ages are exact.

Row 16: sign-ins in flight when ``devicesrp keys rotate`` runs (the CLI, as an operator would, on
the same database and KEK while serve runs) finish; the running serve then seals with the new key;
after ``devicesrp keys retire`` a SECRET_BLOCK and a Session sealed under the old key get the
uniform errors. The serve keeps the key ring for up to 30 s (KeyVault.reload_seconds; an unknown
key id reloads at once), so the test moves its clock past that instead of waiting.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clients.harness import (
    HERMETIC_ENV,
    Service,
    own_service,
    postgres_reachable,
    update_pool_settings,
)
from devicesrp.server.vault import KeyVault
from test_http_service import PASSWORD, make_pool
from test_security_service import (
    WRONG,
    Device,
    DeviceStep,
    Reply,
    UserProof,
    World,
    device_answer,
    device_challenge,
    initiate,
    refused,
    remember_device,
    respond,
)

# Debian's faketime package, multi-threaded flavour (uvicorn and the store use threads)
LIBFAKETIME = next(
    iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))),
    Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"),
)
LAUNCH = "import sys; from devicesrp.cli import main; sys.exit(main())"
INVALID_SESSION = ("NotAuthorizedException", "Invalid session for the user, session is expired.")
DEFAULT_LIFETIME = 180  # PoolSettings.challenge_seconds, Cognito's 3 minutes
LONGER_LIFETIME = 300
RELOAD = 30.0  # KeyVault's default reload_seconds: how stale a serve's key ring may be


def _reload_default() -> float:
    default = KeyVault.__init__.__kwdefaults__["reload_seconds"]  # type: ignore[index]
    assert default == RELOAD, "the vault's reload interval changed: update this test"
    return float(default)


@dataclass
class Clock:
    """The faked wall clock of one serve process."""

    path: Path

    def real(self) -> None:
        self._write("+0")

    def freeze(self, epoch: int) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))  # TZ=UTC in the server
        self._write(stamp)

    def _write(self, spec: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(spec + "\n")
        os.replace(tmp, self.path)  # the server never reads half a file


@dataclass
class Faked:
    svc: Service
    clock: Clock
    world: World


def _require(reason: str | None) -> None:
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def faked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Faked]:
    _require(None if LIBFAKETIME.is_file() else f"{LIBFAKETIME} missing (apt install faketime)")
    if request.param == "postgres":
        _require(postgres_reachable())
    workdir = tmp_path_factory.mktemp(f"faketime-{request.param}")
    clock = Clock(workdir / "faketime")
    clock.real()
    env = {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(clock.path),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "NO_FAKE_STAT": "1",
        "TZ": "UTC",
    }
    with own_service(request.param, workdir, env) as svc:
        pool, client = make_pool(svc, "always")
        other = svc.admin().create_user_pool_client(UserPoolId=pool, ClientName="other")
        other_pool, other_pool_client = make_pool(svc, "always")
        world = World(
            svc, pool, client, other["UserPoolClient"]["ClientId"], other_pool, other_pool_client
        )
        try:
            yield Faked(svc, clock, world)
        finally:
            clock.real()


def _password_start(w: World, name: str, *, device: str | None = None) -> tuple[UserProof, Reply]:
    proof = UserProof(w.pool, PASSWORD)
    start = initiate(w, name, format(proof.A, "x"), device=device)
    assert start.status == 200, start.body
    return proof, start


def _password_answer(
    w: World, proof: UserProof, start: Reply, at: int, *, device: str | None = None
) -> Reply:
    answer = proof.answer(start.body["ChallengeParameters"], at=at)
    if device is not None:
        answer["DEVICE_KEY"] = device
    return respond(w, "PASSWORD_VERIFIER", answer)


def _to_device_step(w: World, name: str, device: Device, at: int) -> DeviceStep:
    proof, start = _password_start(w, name, device=device.key)
    reply = _password_answer(w, proof, start, at, device=device.key)
    assert reply.body.get("ChallengeName") == "DEVICE_SRP_AUTH", reply.body
    step = device_challenge(w, name, device, reply.body["Session"])
    assert step.reply.body.get("ChallengeName") == "DEVICE_PASSWORD_VERIFIER", step.reply.body
    return step


def _device_finish(w: World, step: DeviceStep, device: Device, at: int) -> Reply:
    return respond(
        w,
        "DEVICE_PASSWORD_VERIFIER",
        device_answer(step, device, at=at),
        session=step.reply.body["Session"],
    )


# -- row 14 ----------------------------------------------------------------------------------------


@pytest.mark.matrix(14)
@pytest.mark.parametrize("lifetime", [DEFAULT_LIFETIME, LONGER_LIFETIME])
def test_challenge_expiry_on_the_server_clock(
    faked: Faked, lifetime: int, matrix_cases: Callable[[int], None]
) -> None:
    w, clock = faked.world, faked.clock
    pool, client = make_pool(w.svc, "always")
    w = World(w.svc, pool, client, w.other_client, w.other_pool, w.other_pool_client)
    if lifetime != DEFAULT_LIFETIME:
        update_pool_settings(w.svc, pool, challenge_seconds=lifetime)
    user, device_user = w.user(), w.user()
    clock.real()
    device, _ = remember_device(w, device_user)
    outcomes: list[Any] = []
    try:
        for age in (lifetime - 1, lifetime, lifetime + 1):
            # the user step: the SECRET_BLOCK issued at t0, answered at t0 + age
            t0 = int(time.time())
            clock.freeze(t0)
            proof, start = _password_start(w, user)
            clock.freeze(t0 + age)
            reply = _password_answer(w, proof, start, t0 + age)
            # the device step: DEVICE_SRP_AUTH at t0, DEVICE_PASSWORD_VERIFIER at t0 + age
            t0 = int(time.time())
            clock.freeze(t0)
            step = _to_device_step(w, device_user, device, t0)
            clock.freeze(t0 + age)
            device_reply = _device_finish(w, step, device, t0 + age)
            clock.real()
            for which, r in (("user", reply), ("device", device_reply)):
                if age <= lifetime:
                    assert r.tokens is not None, (which, age, r.body)
                    outcomes.append((which, age, "ok"))
                else:
                    outcomes.append((which, age, refused(r, WRONG)))
    finally:
        clock.real()
    assert len(outcomes) == 6
    matrix_cases(len(outcomes))


# -- row 16 ----------------------------------------------------------------------------------------


def _keys(svc: Service, *args: str) -> Any:
    """``devicesrp keys ...`` on the service's database and KEK (the real clock: the CLI's own)."""
    env = {**os.environ, **HERMETIC_ENV, "DEVICESRP_KEK": svc.kek}
    env.pop("DEVICESRP_KEK_FILE", None)
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "keys", *args, "--db", svc.db_url, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _block_key(block: str) -> str:
    """The sealing key id in a SECRET_BLOCK's header (version byte, then 4 bytes of key id)."""
    return base64.b64decode(block)[1:5].hex()


def _session_key(session: str) -> str:
    """The sealing key id of a Session (``v1`` + base64url of key id, nonce, ciphertext)."""
    body = session[2:]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))[:4].hex()


@pytest.mark.matrix(16)
def test_rotation_with_sign_ins_in_flight_then_retirement(
    faked: Faked, matrix_cases: Callable[[int], None]
) -> None:
    reload = _reload_default()
    w, clock = faked.world, faked.clock
    user, device_user = w.user(), w.user()
    clock.real()
    device, _ = remember_device(w, device_user)
    (k1,) = [k["key_id"] for k in _keys(w.svc, "list") if k["kind"] == "seal"]
    try:
        t0 = int(time.time())
        clock.freeze(t0)
        # in flight under K1: a device sign-in at its last step, a password step not answered
        # yet, and a DEVICE_SRP_AUTH Session not used yet
        in_flight = _to_device_step(w, device_user, device, t0)
        old_proof, old_start = _password_start(w, user)
        pending = _password_start(w, device_user, device=device.key)
        old_session_reply = _password_answer(w, *pending, t0, device=device.key)
        old_session = old_session_reply.body["Session"]
        assert _block_key(in_flight.reply.body["ChallengeParameters"]["SECRET_BLOCK"]) == k1
        assert _block_key(old_start.body["ChallengeParameters"]["SECRET_BLOCK"]) == k1
        assert _session_key(old_session) == k1

        rotated = _keys(w.svc, "rotate", "--kind", "seal")
        k2 = rotated["seal"]
        assert k2 != k1
        # past the serve's key-ring cache: it has reloaded [K2, K1]
        t1 = t0 + int(reload) + 1
        clock.freeze(t1)
        finished = _device_finish(w, in_flight, device, t1)
        assert finished.tokens is not None, finished.body  # the in-flight sign-in survived
        new_proof, new_start = _password_start(w, user)
        new_block = new_start.body["ChallengeParameters"]["SECRET_BLOCK"]
        assert _block_key(new_block) == k2  # the running serve seals with the new key
        pending = _password_start(w, device_user, device=device.key)
        new_session = _password_answer(w, *pending, t1, device=device.key).body["Session"]
        assert _session_key(new_session) == k2

        retired = _keys(w.svc, "retire", "--kind", "seal")
        assert retired["retired"] == [k1]
        t2 = t1 + int(reload) + 1  # all still well within the 180 s challenge lifetime
        clock.freeze(t2)
        # sealed under the retired key: the uniform errors, as a forged block or session
        old = _password_answer(w, old_proof, old_start, t2)
        refused(old, WRONG)
        step = device_challenge(w, device_user, device, old_session)
        refused(step.reply, INVALID_SESSION)
        forged = device_challenge(w, device_user, device, new_session[:-4] + "AAAA")
        assert forged.reply.error == step.reply.error
        # sealed under K2, the same moment: accepted
        new = _password_answer(w, new_proof, new_start, t2)
        assert new.tokens is not None, new.body
        step = device_challenge(w, device_user, device, new_session)
        assert step.reply.body.get("ChallengeName") == "DEVICE_PASSWORD_VERIFIER", step.reply.body
        assert _device_finish(w, step, device, t2).tokens is not None
    finally:
        clock.real()
    matrix_cases(5)  # in flight across rotate, new seals, old block and old session refused,
    # new block and new session accepted
