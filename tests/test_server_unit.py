"""One operation = one unit of work (server/unit.py), on a real SQLite file and PostgreSQL: a result
or a refusal commits everything the operation wrote; a store fault or a bug commits nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devicesrp.errors import (
    AuthenticationError,
    InjectedFaultError,
    InvalidParameterError,
    StoreCollisionError,
)
from devicesrp.server import grants
from devicesrp.server.errors import NotAuthorizedError
from devicesrp.server.flow import AuthOutcome
from devicesrp.server.unit import in_one_unit
from devicesrp.store import RefreshTokenRecord, SqlStore, TicketRecord
from devicesrp.store import testing as t
from test_server_harness import (
    CLIENT,
    PASSWORD,
    POOL,
    SignIn,
    confirm_new_device,
    device_login,
    make_env,
    open_backend,
    password_login,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    s = open_backend(request.param, tmp_path)
    yield s
    s.close()


def ticket(n: int) -> TicketRecord:
    return TicketRecord(f"unit-{n}", "unit-test", {"n": n}, expires_at=4_000_000_000.0)


def two_writes_then(store: SqlStore, end: Callable[[], object]) -> Callable[[], object]:
    def work() -> object:
        store.put_ticket(ticket(1))
        store.put_ticket(ticket(2))
        return end()

    return work


def kept(store: SqlStore) -> list[int]:
    found = []
    for n in (1, 2):
        taken = store.take_ticket(f"unit-{n}", kind="unit-test", now=0.0)
        if taken is not None:
            found.append(int(taken.payload["n"]))
    return found


def test_a_result_commits_every_write(store: SqlStore) -> None:
    assert in_one_unit(store, two_writes_then(store, lambda: "done")) == "done"
    assert kept(store) == [1, 2]


def refuse(exc: Exception) -> Callable[[], object]:
    def end() -> object:
        raise exc

    return end


@pytest.mark.parametrize(
    "refusal",
    [
        NotAuthorizedError("Incorrect username or password."),
        AuthenticationError(),
        InvalidParameterError("field", "bad value"),
    ],
    ids=["domain", "authentication", "parameter"],
)
def test_a_refusal_commits_its_bookkeeping_and_is_raised(
    store: SqlStore, refusal: Exception
) -> None:
    with pytest.raises(type(refusal)) as raised:
        in_one_unit(store, two_writes_then(store, refuse(refusal)))
    assert raised.value is refusal
    assert kept(store) == [1, 2]  # e.g. the failure counter and the spent challenge id stay


@pytest.mark.parametrize(
    "fault",
    [InjectedFaultError("after statement 2"), RuntimeError("a bug"), KeyError("a bug")],
    ids=["store-fault", "runtime-error", "key-error"],
)
def test_a_fault_or_a_bug_commits_nothing(store: SqlStore, fault: Exception) -> None:
    with pytest.raises(type(fault)):
        in_one_unit(store, two_writes_then(store, refuse(fault)))
    assert kept(store) == []


def test_inside_an_outer_unit_the_operation_joins_it(store: SqlStore) -> None:
    """An embedder's own unit around operations: they join it (as run_unit's work does), a
    refusal inside still keeps its writes, and the outer unit's rollback undoes them all."""
    with pytest.raises(RuntimeError), store.transaction():
        store.put_ticket(ticket(1))
        with pytest.raises(NotAuthorizedError):
            in_one_unit(store, two_writes_then(store, refuse(NotAuthorizedError("no"))))
        assert store.take_ticket("unit-2", kind="unit-test", now=0.0) is not None
        raise RuntimeError("the embedder's own failure")
    assert kept(store) == []


def test_a_collision_runs_the_operation_again_from_the_start(store: SqlStore) -> None:
    attempts: list[int] = []

    def work() -> str:
        attempts.append(len(attempts) + 1)
        store.put_ticket(ticket(len(attempts)))  # ticket 1 on the first try, 2 on the second
        if len(attempts) == 1:
            raise StoreCollisionError("deadlock detected")
        return "done"

    assert in_one_unit(store, work) == "done"
    assert attempts == [1, 2]
    assert kept(store) == [2]  # the collided attempt left nothing


# -- a sign-in's units ----------------------------------------------------------------------------
def test_a_refusal_after_the_new_device_takes_the_device_back(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token step records the NewDeviceMetadata key, then the tokens. Should the tokens be
    refused after that (a token record's checks), the unit still commits its bookkeeping (the
    spent challenge id), but not the key: the client never got it."""
    env = make_env(store)
    env.idp.admin_create_user(POOL, "alice", PASSWORD)
    assert password_login(env, "alice").new_device is not None  # this pool issues a key

    def refused(*args: object, **kwargs: object) -> RefreshTokenRecord:
        raise InvalidParameterError("expires_at", "must be finite epoch seconds in 0..1e11")

    before = t.dump(store)
    monkeypatch.setattr(grants, "RefreshTokenRecord", refused)
    with pytest.raises(InvalidParameterError):
        password_login(env, "alice")
    after = t.dump(store)
    assert after["devices"] == before["devices"]  # the new key was taken back
    assert len(after["consumed"]) > len(before["consumed"])  # the refusal's unit committed


def test_a_remembered_device_sign_in_runs_few_statements(store: SqlStore) -> None:
    """InitiateAuth, PASSWORD_VERIFIER, DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER: the client and
    its pool in one read, the user's two lookups in one statement, the token's parent check in
    its INSERT, no savepoint and no lockout DELETE when the unit found no counter."""
    env = make_env(store)
    env.idp.admin_create_user(POOL, "alice", PASSWORD)
    device = confirm_new_device(env, password_login(env, "alice"))
    device_login(env, "alice", device)  # warm: the key vault has loaded its keys
    s = SignIn(env, "alice")
    logs: list[list[str]] = []

    def step(call: Callable[[], object]) -> object:
        with store.statement_hook() as hook:
            out = call()
        logs.append(hook.log)
        return out

    step(s.initiate)
    step(lambda: s.respond(s.proof(device_key=device.key)))
    step(lambda: s.respond(s.device_srp_auth(device)))
    out = step(lambda: s.respond(s.device_proof(device)))
    assert isinstance(out, AuthOutcome) and out.result is not None
    assert logs[0] == ["SELECT", "SELECT"]  # client with pool; the user by name or sub
    assert all("SAVEPOINT" not in log for log in logs), logs
    assert logs[3].count("DELETE") == 1, logs[3]  # the device-proof ticket, not the lockout
    # 40 statements with BEGIN/COMMIT on SQLite before (32 in units), 28 after (20 in units).
    budget = 20 if store.dialect == "sqlite" else 21  # PostgreSQL also holds the device
    assert sum(len(log) for log in logs) <= budget, logs


def test_decoded_clients_and_key_views_are_reused_until_the_stored_values_change(
    store: SqlStore,
) -> None:
    """Each request reads its app client and pool again (no TTL): only the decoding, and the
    engine, sealer and issuer built over the loaded keys, are reused while nothing changed."""
    env = make_env(store)
    client, pool = first = env.rt.client(CLIENT)
    assert env.rt.client(CLIENT) is first
    assert env.rt.engine(pool) is env.rt.engine(pool)
    assert env.rt.sealer() is env.rt.sealer()
    assert env.rt.issuer(POOL) is env.rt.issuer(POOL)
    env.idp.update_pool(dataclasses.replace(env.settings(), challenge_seconds=600))
    _, updated = env.rt.client(CLIENT)  # the very next request sees the update
    assert (pool.challenge_seconds, updated.challenge_seconds) == (180, 600)
    assert env.rt.engine(updated).challenge_lifetime == 600
    assert env.rt.engine(pool).challenge_lifetime == 180
    sealer, issuer = env.rt.sealer(), env.rt.issuer(POOL)
    env.idp.rotate_keys()
    assert env.rt.sealer() is not sealer and env.rt.issuer(POOL) is not issuer
    assert env.rt.client(CLIENT)[0] == client
