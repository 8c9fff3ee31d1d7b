"""Fault injection after every statement of every multi-step write: the state before it survives.

For each write, ``statement_hook(fail_after=n)`` raises after statement n for n = 1, 2, ... until
the write completes without reaching n; every failed attempt must leave the tables exactly as they
were, and the completed write must change them (so the comparison can fail).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import pgutil
from devicesrp.errors import InjectedFaultError
from devicesrp.store import SqlStore, TicketRecord, open_store
from devicesrp.store import testing as t

SUB1, SUB2 = t.user(1).sub, t.user(2).sub


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: Callable[[SqlStore], None]
    write: Callable[[SqlStore], object]
    min_statements: int


def base(store: SqlStore) -> None:
    store.create_pool(t.pool())
    store.create_client(t.client())
    store.create_user(t.user(1))
    store.create_user(t.user(2))


def with_devices(store: SqlStore) -> None:
    base(store)
    for n in range(1, 6):
        store.confirm_device(t.confirmation(n, SUB1, now=1_700_000_000.0 + n))
        store.insert_refresh_token(t.refresh_token(n, SUB1, device=t.device_key(n)))
    store.insert_refresh_token(t.refresh_token(10, SUB1))
    store.insert_refresh_token(t.refresh_token(11, SUB2))


def with_expiring(store: SqlStore) -> None:
    with_devices(store)
    store.consume_once("challenge", b"old", expires_at=10.0)
    store.consume_once("challenge", b"new", expires_at=9e9)
    store.put_ticket(TicketRecord("tk", "device", {}, 10.0))


def with_lockouts(store: SqlStore) -> None:
    base(store)
    for n in range(4):
        store.record_failure("unknown", f"h{n}", now=100.0 + n, lock_for=lambda n: 0.0)


def sign_in_unit(store: SqlStore) -> None:
    """What the domain does at the end of a device sign-in, as one unit of work."""
    with store.transaction():
        assert store.consume_once("session", b"step-3", expires_at=9e9)
        store.confirm_device(t.confirmation(9, SUB1, now=1_700_000_900.0))
        store.insert_refresh_token(t.refresh_token(9, SUB1, device=t.device_key(9)))
        store.touch_device(t.POOL, t.device_key(9), now=1_700_000_901.0, ip="192.0.2.1")
        store.evict_remembered_devices(
            t.POOL, SUB1, keep=3, protect=t.device_key(9), now=1_700_000_901.0
        )
        store.reset_lockout("user", SUB1)


def locked_failure(store: SqlStore) -> None:
    store.record_failure("unknown", "fresh", now=200.0, lock_for=lambda n: 5.0, max_keys=3)


SCENARIOS = [
    Scenario("create_client", base, lambda s: s.create_client(t.client("client2")), 2),
    Scenario("create_user", base, lambda s: s.create_user(t.user(3)), 2),
    Scenario(
        "confirm_unissued_device", base, lambda s: s.confirm_device(t.confirmation(7, SUB1)), 2
    ),
    Scenario("delete_user", with_devices, lambda s: s.delete_user(t.POOL, SUB1), 3),
    Scenario("delete_client", with_devices, lambda s: s.delete_client(t.CLIENT), 2),
    Scenario("forget_device", with_devices, lambda s: s.forget_device(t.POOL, t.device_key(2)), 2),
    Scenario(
        "evict_remembered_devices",
        with_devices,
        lambda s: s.evict_remembered_devices(t.POOL, SUB1, keep=2, protect=None, now=1.0),
        7,
    ),
    Scenario("record_failure_lock_and_trim", with_lockouts, locked_failure, 4),
    Scenario("purge_expired", with_expiring, lambda s: s.purge_expired(now=20.0), 3),
    Scenario("sign_in_unit", with_devices, sign_in_unit, 8),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/faults.db", pool_size=2)
        yield s
        s.close()
    else:
        yield pgutil.shared_store()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fault_after_every_statement_leaves_no_trace(store: SqlStore, scenario: Scenario) -> None:
    scenario.setup(store)
    before = t.dump(store)
    n = 0
    while True:
        n += 1
        assert n < 100, "the write never completed"
        with store.statement_hook(fail_after=n) as hook:
            try:
                scenario.write(store)
            except InjectedFaultError:
                assert hook.statements == n
                assert t.dump(store) == before, f"{scenario.name}: fault after statement {n}"
                continue
        break
    statements = n - 1
    assert statements == hook.statements >= scenario.min_statements, hook.log
    assert t.dump(store) != before, "the write changed nothing: the test proves nothing"


def test_hook_counts_only_writes(store: SqlStore) -> None:
    base(store)
    with store.statement_hook() as hook:
        store.get_user(t.POOL, "user0001")
        store.list_users(t.POOL)
    assert hook.statements == 0
    with store.statement_hook() as hook:
        store.consume_once("x", b"1", expires_at=1.0)
    assert (hook.statements, hook.log) == (1, ["INSERT"])


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_migration_interrupted_after_any_statement_leaves_an_empty_database(
    kind: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/migrate.db" if kind == "sqlite" else pgutil.new_schema("migrate")
    store = open_store(url, migrate=False)
    try:
        n = 0
        while True:
            n += 1
            assert n < 200
            with store.statement_hook(fail_after=n):
                try:
                    store.migrate(1.0)
                except InjectedFaultError:
                    assert tables(store) == set(), f"fault after statement {n}"
                    continue
            break
        assert n > 20  # every CREATE of the initial schema was a fault point
        assert store.schema_version() == 1 and len(tables(store)) == 11
    finally:
        store.close()


def tables(store: SqlStore) -> set[str]:
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        if store.dialect == "sqlite"
        else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    )
    with store._unit(write=False) as tx:
        return {str(r[0]) for r in tx.rows(sql)}
