"""Races on a real database: single use, ConfirmDevice, one-time tickets, lockout counters.

Threads share one store (each call on its own pooled connection); the cross-process tests fork
workers that open their own stores, so SQLite's file locking and PostgreSQL's row locking are
exercised between processes, not only inside one.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

import pgutil
from counts import count
from devicesrp.errors import (
    DeviceKeyConflictError,
    InvalidParameterError,
    RecordNotFoundError,
    StoreCollisionError,
)
from devicesrp.store import ConfirmOutcome, SqlStore, TicketRecord, open_store
from devicesrp.store import testing as t

R = TypeVar("R")
SUB = t.user(1).sub
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/races.db"
    return pgutil.new_schema("races")


@pytest.fixture
def store(url: str) -> Iterator[SqlStore]:
    s = open_store(url, pool_size=20)
    s.create_pool(t.pool())
    s.create_client(t.client())
    s.create_user(t.user(1))
    yield s
    s.close()


def all_at_once(pool: ThreadPoolExecutor, n: int, call: Callable[[int], R]) -> list[R | Exception]:
    """Run ``call(i)`` for i < n on n threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def task(i: int) -> R | Exception:
        barrier.wait(timeout=60)
        try:
            return call(i)
        except Exception as exc:  # collected: the test asserts on the kinds
            return exc

    return list(pool.map(task, range(n)))


def test_100_concurrent_consumes_exactly_one_wins(store: SqlStore) -> None:
    rounds = count(ci=50, soak=200)
    with ThreadPoolExecutor(100) as pool:
        for r in range(rounds):
            key = b"proof-%d" % r
            results = all_at_once(
                pool, 100, lambda i, key=key: store.consume_once("proof", key, expires_at=9e9)
            )
            assert results.count(True) == 1 and results.count(False) == 99, Counter(
                map(repr, results)
            )


def naive_consume(store: SqlStore, key: bytes) -> bool:
    """Check-then-insert in two steps: the bug the single statement exists to prevent."""
    with store._unit(write=False) as tx:
        seen = tx.one("SELECT 1 FROM consumed WHERE scope = 'naive' AND item = ?", (key,))
    if seen is not None:
        return False
    with store._unit(write=True) as tx:
        tx.run(
            "INSERT INTO consumed (scope, item, expires_at) VALUES ('naive', ?, 9e9)"
            " ON CONFLICT DO NOTHING",
            (key,),
        )
    return True


def test_the_race_test_catches_a_check_then_insert(store: SqlStore) -> None:
    """Positive control: the same harness sees several winners with a non-atomic consume."""
    with ThreadPoolExecutor(100) as pool:
        most = max(
            all_at_once(pool, 100, lambda i, r=r: naive_consume(store, b"n%d" % r)).count(True)
            for r in range(10)
        )
    assert most > 1


def test_100_concurrent_ticket_takes_exactly_one_wins(store: SqlStore) -> None:
    rounds = count(ci=10, soak=100)
    with ThreadPoolExecutor(100) as pool:
        for r in range(rounds):
            ticket = TicketRecord(f"ticket-{r}", "device", {"round": r}, 9e9)
            store.put_ticket(ticket)
            results = all_at_once(
                pool,
                100,
                lambda i, ticket=ticket: store.take_ticket(
                    ticket.ticket_id, kind="device", now=1.0
                ),
            )
            assert results.count(ticket) == 1 and results.count(None) == 99


def test_20_concurrent_identical_confirmations_make_one_record(store: SqlStore) -> None:
    rounds = count(ci=20, soak=200)
    with ThreadPoolExecutor(20) as pool:
        for r in range(rounds):
            conf = t.confirmation(r, SUB)
            if r % 2:  # half the rounds confirm an issued key, half a key never issued
                store.issue_device(t.issued_device(r, SUB))
            results = all_at_once(pool, 20, lambda i, conf=conf: store.confirm_device(conf))
            outcomes = Counter(results)
            assert outcomes == {ConfirmOutcome.CONFIRMED: 1, ConfirmOutcome.ALREADY_CONFIRMED: 19}
            stored = store.get_device(t.POOL, conf.device_key)
            assert stored is not None and stored.confirmed
            assert (stored.salt, stored.verifier) == (conf.salt, conf.verifier)
    assert len(store.list_devices(t.POOL, SUB, remembered_only=False).items) == min(rounds, 60)


def test_conflicting_concurrent_confirmations_never_overwrite(store: SqlStore) -> None:
    rounds = count(ci=20, soak=200)
    with ThreadPoolExecutor(20) as pool:
        for r in range(rounds):
            confs = [t.confirmation(r, SUB, variant=i % 2) for i in range(20)]
            if r % 2:
                store.issue_device(t.issued_device(r, SUB))
            results = all_at_once(pool, 20, lambda i, confs=confs: store.confirm_device(confs[i]))
            winners = [i for i, x in enumerate(results) if x is ConfirmOutcome.CONFIRMED]
            assert len(winners) == 1, Counter(map(repr, results))
            won = confs[winners[0]]
            for conf, result in zip(confs, results, strict=True):
                if conf.verifier == won.verifier:
                    assert result in (ConfirmOutcome.CONFIRMED, ConfirmOutcome.ALREADY_CONFIRMED)
                else:
                    assert isinstance(result, DeviceKeyConflictError), repr(result)
            stored = store.get_device(t.POOL, won.device_key)
            assert stored is not None and stored.verifier == won.verifier
            # A later conflicting retry still changes nothing.
            loser = t.confirmation(r, SUB, variant=1 - (winners[0] % 2))
            with pytest.raises(DeviceKeyConflictError):
                store.confirm_device(loser)
            assert store.get_device(t.POOL, won.device_key) == stored


# -- across processes -----------------------------------------------------------------------------
PROCS, THREADS = 4, 25


def _consume_worker(url: str, rounds: int, barrier: Any, out: Any) -> None:
    store = open_store(url, pool_size=5)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            for r in range(rounds):

                def one(i: int, r: int = r) -> bool:
                    barrier.wait(60)
                    return store.consume_once("xproc", b"proof-%d" % r, expires_at=9e9)

                out.put((r, sum(pool.map(one, range(THREADS)))))
    finally:
        store.close()


def _failure_worker(url: str, threads: int, per_thread: int, barrier: Any, out: Any) -> None:
    store = open_store(url, pool_size=5)
    try:

        def one(i: int) -> int:
            barrier.wait(60)
            for _ in range(per_thread):
                store.record_failure("user", "shared", now=1.0, lock_for=lambda n: 0.0)
            return per_thread

        with ThreadPoolExecutor(threads) as pool:
            out.put(sum(pool.map(one, range(threads))))
    finally:
        store.close()


def run_processes(target: Callable[..., None], args: tuple[Any, ...], parties: int) -> list[Any]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(parties)
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, out)) for _ in range(PROCS)]
    for p in procs:
        p.start()
    results: list[Any] = []
    try:
        while len(results) < expected_messages(target, args):
            results.append(out.get(timeout=120))
    finally:
        for p in procs:
            p.join(timeout=30)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return results


def expected_messages(target: Callable[..., None], args: tuple[Any, ...]) -> int:
    return PROCS * (args[1] if target is _consume_worker else 1)


def test_100_concurrent_consumes_across_processes(store: SqlStore, url: str) -> None:
    rounds = count(ci=20, soak=200)
    results = run_processes(_consume_worker, (url, rounds), PROCS * THREADS)
    wins = Counter[int]()
    for r, won in results:
        wins[r] += won
    assert wins == dict.fromkeys(range(rounds), 1)


def test_lockout_increments_are_not_lost_across_processes(store: SqlStore, url: str) -> None:
    threads, per_thread = 10, count(ci=10, soak=100)
    done = run_processes(_failure_worker, (url, threads, per_thread), PROCS * threads)
    total = PROCS * threads * per_thread
    assert sum(done) == total
    rec = store.get_lockout("user", "shared")
    assert rec is not None and rec.failures == total


@pytest.mark.parametrize("evict", [False, True], ids=["refuse", "evict"])
def test_remembered_device_cap_holds_under_concurrency(store: SqlStore, evict: bool) -> None:
    """Count-then-decide inside one unit, 20 devices at once: the cap of 3 is never exceeded."""
    cap = 3

    def confirm(n: int) -> ConfirmOutcome:
        key = t.device_key(1000 + n)
        with store.transaction():
            remember = store.count_remembered_devices(t.POOL, SUB) < cap
            if not remember and evict:
                store.evict_remembered_devices(t.POOL, SUB, keep=cap - 1, protect=key, now=1.0)
                remember = True
            return store.confirm_device(t.confirmation(1000 + n, SUB, remembered=remember))

    with ThreadPoolExecutor(20) as pool:
        results = all_at_once(pool, 20, confirm)
    assert results == [ConfirmOutcome.CONFIRMED] * 20
    assert store.count_remembered_devices(t.POOL, SUB) == cap
    listed = store.list_devices(t.POOL, SUB, remembered_only=False).items
    assert len(listed) == (cap if evict else 20)


def test_delete_user_racing_confirm_units_never_fails(store: SqlStore) -> None:
    """DeleteUser against ConfirmDevice units for the same user: the delete always succeeds and
    leaves nothing behind; a confirm either lands before it or finds the user gone."""
    rounds = count(ci=15, soak=150)

    def confirm_unit(r: int, k: int) -> object:
        user = t.user(100 + r)
        with store.transaction():
            store.count_remembered_devices(t.POOL, user.sub)
            store.confirm_device(t.confirmation(10_000 * r + k, user.sub))
            store.insert_refresh_token(
                t.refresh_token(10_000 * r + k, user.sub, device=t.device_key(10_000 * r + k))
            )
        return "confirmed"

    with ThreadPoolExecutor(6) as pool:
        for r in range(rounds):
            user = t.user(100 + r)
            store.create_user(user)
            results = all_at_once(
                pool,
                6,
                lambda i, r=r, user=user: (
                    store.delete_user(t.POOL, user.sub) if i == 0 else confirm_unit(r, i)
                ),
            )
            assert results[0] is True, repr(results[0])
            for result in results[1:]:
                assert result == "confirmed" or isinstance(result, RecordNotFoundError), repr(
                    result
                )
            assert store.get_user_by_sub(t.POOL, user.sub) is None
            assert store.list_devices(t.POOL, user.sub, remembered_only=False).items == ()


def test_delete_client_racing_token_inserts_never_fails(store: SqlStore) -> None:
    rounds = count(ci=15, soak=150)
    sub = t.user(1).sub
    with ThreadPoolExecutor(6) as pool:
        for r in range(rounds):
            client_id = f"racer{r}"
            store.create_client(t.client(client_id))

            def act(i: int, r: int = r, client_id: str = client_id) -> object:
                if i == 0:
                    return store.delete_client(client_id)
                store.insert_refresh_token(t.refresh_token(100 * r + i, sub, client_id=client_id))
                return "inserted"

            results = all_at_once(pool, 6, act)
            assert results[0] is True, repr(results[0])
            for result in results[1:]:
                assert result == "inserted" or isinstance(result, RecordNotFoundError), repr(result)
            assert store.get_client(client_id) is None
            for i in range(1, 6):
                assert store.get_refresh_token(t.refresh_token(100 * r + i, sub).token_hash) is None


@pytest.mark.parametrize("lookup", ["by_sub", "by_name_or_sub"])
def test_read_modify_write_units_never_lose_an_update(store: SqlStore, lookup: str) -> None:
    """20 units at once, each reading the user and writing back counter + 1: the count is 20
    (the user read by sub, or by the sign-in's one lookup of name and sub)."""
    sub = t.user(1).sub
    name = t.user(1).username_norm

    def bump(i: int) -> None:
        with store.transaction():
            if lookup == "by_sub":
                user = store.get_user_by_sub(t.POOL, sub)
            else:
                user = store.get_user_by_name_or_sub(t.POOL, name, "no-such-sub")[0]
            assert user is not None
            counter = int(user.attributes.get("counter", 0))
            store.update_user(
                dataclasses.replace(user, attributes={**user.attributes, "counter": counter + 1})
            )

    rounds = count(ci=3, soak=30)
    with ThreadPoolExecutor(20) as pool:
        for _ in range(rounds):
            assert all_at_once(pool, 20, bump) == [None] * 20
    final = store.get_user_by_sub(t.POOL, sub)
    assert final is not None and final.attributes["counter"] == 20 * rounds


class DeviceGone(Exception):
    pass


def test_forget_racing_token_inserts_leaves_no_live_token(store: SqlStore) -> None:
    """ForgetDevice against sign-ins issuing tokens for that device. A sign-in unit inserts its
    token, then checks the device in the same unit (and gives up if it is gone); a forget must
    then leave no live token behind, whichever commits first."""
    rounds = count(ci=15, soak=150)
    with ThreadPoolExecutor(6) as pool:
        for r in range(rounds):
            n = 50_000 + r
            store.confirm_device(t.confirmation(n, SUB))

            def act(i: int, n: int = n) -> object:
                if i == 0:
                    return store.forget_device(t.POOL, t.device_key(n))
                with store.transaction():
                    store.insert_refresh_token(
                        t.refresh_token(100 * n + i, SUB, device=t.device_key(n))
                    )
                    if store.get_device(t.POOL, t.device_key(n)) is None:
                        raise DeviceGone
                return "inserted"

            results = all_at_once(pool, 6, act)
            assert results[0] is True
            assert all(x == "inserted" or isinstance(x, DeviceGone) for x in results[1:]), results
            assert store.get_device(t.POOL, t.device_key(n)) is None
            for i in range(1, 6):
                token = store.get_refresh_token(t.refresh_token(100 * n + i, SUB).token_hash)
                assert (token is None) == isinstance(results[i], DeviceGone)
                assert token is None or token.revoked, f"round {r}: live token for a gone device"


@pytest.mark.postgres
def test_run_unit_retries_a_deadlocked_unit() -> None:
    """Two units lock two pools in opposite orders: PostgreSQL kills one as a deadlock
    (StoreCollisionError); run_unit runs it again and both complete."""
    store = open_store(pgutil.new_schema("deadlock"), pool_size=4)
    store.create_pool(t.pool("us-east-1_A"))
    store.create_pool(t.pool("us-east-1_B"))
    barrier = threading.Barrier(2)
    attempts = Counter[int]()

    def work(i: int) -> str:
        attempts[i] += 1
        first, second = ("us-east-1_A", "us-east-1_B") if i == 0 else ("us-east-1_B", "us-east-1_A")
        for step, pool_id in enumerate((first, second)):
            pool = store.get_pool(pool_id)
            assert pool is not None
            store.update_pool(dataclasses.replace(pool, name=f"by {i}"))
            if step == 0 and attempts[i] == 1:
                barrier.wait(timeout=30)  # both hold their first lock before taking the second
        return f"done {i}"

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda i: store.run_unit(lambda: work(i)), range(2)))
    assert results == ["done 0", "done 1"]
    # At least one unit was rolled back and run again (when both backends run their deadlock
    # check at the same moment, PostgreSQL may abort both).
    assert 3 <= sum(attempts.values()) <= 4
    with pytest.raises(StoreCollisionError):
        barrier.reset()
        attempts.clear()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda i: store.run_unit(lambda: work(i), attempts=1), range(2)))
    store.close()


def test_run_unit_commits_or_rolls_back(store: SqlStore) -> None:
    assert store.run_unit(lambda: store.consume_once("u", b"1", expires_at=1.0)) is True

    def failing() -> None:
        store.consume_once("u", b"2", expires_at=1.0)
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        store.run_unit(failing)
    assert store.consume_once("u", b"2", expires_at=1.0) is True  # the failed unit left nothing
    with store.transaction():  # inside a unit it just runs (only the outermost can be retried)
        assert store.run_unit(lambda: store.consume_once("u", b"3", expires_at=1.0)) is True
    with pytest.raises(InvalidParameterError):
        store.run_unit(lambda: None, attempts=0)
