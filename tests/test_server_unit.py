"""One operation = one unit of work (server/unit.py), on a real SQLite file and PostgreSQL: a result
or a refusal commits everything the operation wrote; a store fault or a bug commits nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devicesrp.errors import (
    AuthenticationError,
    InjectedFaultError,
    InvalidParameterError,
    StoreCollisionError,
)
from devicesrp.server.errors import NotAuthorizedError
from devicesrp.server.unit import in_one_unit
from devicesrp.store import SqlStore, TicketRecord
from test_server_harness import open_backend

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
