"""Engine behaviour: SQLite settings, busy and broken databases, migrations, backend parity."""

from __future__ import annotations

import multiprocessing
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

import pgutil
from devicesrp.errors import SchemaVersionError, StoreUnavailableError
from devicesrp.store import OutboxRecord, SqlStore, TicketRecord, WrappedKeyRecord, open_store
from devicesrp.store import testing as t


def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s.db", timeout=7.5)
    with store._unit(write=True) as tx:
        assert tx.one("PRAGMA journal_mode") == ("wal",)
        assert tx.one("PRAGMA synchronous") == (2,)  # FULL
        assert tx.one("PRAGMA foreign_keys") == (1,)
        assert tx.one("PRAGMA busy_timeout") == (7500,)
    store.close()


def test_sqlite_busy_past_the_timeout_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    store = open_store(f"sqlite:///{path}", timeout=0.3)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    began = time.monotonic()
    with pytest.raises(StoreUnavailableError):
        store.consume_once("s", b"k", expires_at=1.0)
    assert time.monotonic() - began < 5.0
    assert store.get_pool(t.POOL) is None  # readers are not blocked by a writer (WAL)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.consume_once("s", b"k", expires_at=1.0) is True  # the failed call wrote nothing
    store.close()


def test_sqlite_bad_files_are_typed_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreUnavailableError):
        open_store(f"sqlite:///{junk}")
    with pytest.raises(StoreUnavailableError):
        open_store(f"sqlite:///{tmp_path}/missing-dir/x.db")
    with pytest.raises(StoreUnavailableError):
        open_store(f"sqlite:///{tmp_path}")  # a directory


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/c.db")
    store.close()
    with pytest.raises(StoreUnavailableError):
        store.get_pool(t.POOL)


def test_unreachable_postgres_is_a_typed_error() -> None:
    began = time.monotonic()
    with pytest.raises(StoreUnavailableError):
        open_store("postgresql://postgres@127.0.0.1:1/test?connect_timeout=1", timeout=1.0)
    assert time.monotonic() - began < 10.0


def backend_url(kind: str, tmp_path: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/{name}.db"
    return pgutil.new_schema(name)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_newer_schema_is_refused(kind: str, tmp_path: Path) -> None:
    url = backend_url(kind, tmp_path, "newer")
    store = open_store(url)
    with store.transaction(), store._unit(write=True) as tx:
        tx.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'x', 0)")
    store.close()
    with pytest.raises(SchemaVersionError):
        open_store(url)


def _open_and_report(url: str, out: Any) -> None:
    store = open_store(url, pool_size=1)
    out.put(store.schema_version())
    store.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_concurrent_first_opens_migrate_once(kind: str, tmp_path: Path) -> None:
    url = backend_url(kind, tmp_path, "migrate")
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_open_and_report, args=(url, out)) for _ in range(4)]
    for p in procs:
        p.start()
    versions = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert versions == [1, 1, 1, 1] and [p.exitcode for p in procs] == [0, 0, 0, 0]
    store = open_store(url)
    with store._unit(write=False) as tx:
        assert tx.rows("SELECT version FROM schema_migrations") == [(1,)]
    store.close()


def script(store: SqlStore) -> list[object]:
    """A run of every kind of write and read; returns what the reads saw."""
    seen: list[object] = []
    store.create_pool(t.pool())
    store.create_client(t.client())
    for n in range(1, 4):
        store.create_user(t.user(n))
    sub = t.user(1).sub
    store.issue_device(t.issued_device(1, sub))
    for n in range(1, 6):
        seen.append(store.confirm_device(t.confirmation(n, sub, remembered=n != 3)))
    store.touch_device(t.POOL, t.device_key(2), now=1_700_000_500.5, ip="198.51.100.7")
    seen.append(store.evict_remembered_devices(t.POOL, sub, keep=2, protect=None, now=2.0))
    store.insert_refresh_token(t.refresh_token(1, sub, device=t.device_key(2)))
    seen.append(store.revoke_refresh_tokens(t.POOL, sub))
    seen.append(store.consume_once("x", b"\x00\xff", expires_at=5.25))
    store.put_ticket(TicketRecord("tk", "device", {"a": [1, "é"]}, 9.5))
    seen.append(store.record_failure("user", "k", now=1.5, lock_for=lambda n: 0.25))
    store.put_key(WrappedKeyRecord("kek", "k1", b"\x00" * 40, 1.0))
    seen.append(store.append_outbox(OutboxRecord(t.POOL, sub, "sms", "+1555", "c", 3.0)))
    page = store.list_users(t.POOL, limit=2)
    seen.append([u.username for u in page.items])
    seen.append(
        [u.username for u in store.list_users(t.POOL, pagination_token=page.next_token).items]
    )
    seen.append(store.list_devices(t.POOL, sub, remembered_only=False).items)
    return seen


@pytest.mark.postgres
def test_backend_parity(tmp_path: Path) -> None:
    """The same script on SQLite and PostgreSQL: identical answers and identical stored rows."""
    lite = open_store(f"sqlite:///{tmp_path}/parity.db")
    pg = open_store(pgutil.new_schema("parity"))
    try:
        assert script(lite) == script(pg)
        assert t.dump(lite) == t.dump(pg)
    finally:
        lite.close()
        pg.close()


def test_urls_with_passwords_stay_out_of_reprs_and_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError) as caught:
        open_store("postgresql://postgres:hunter2-secret@127.0.0.1:1/test", timeout=1.0)
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(caught.value)
    lite = open_store(f"sqlite:///{tmp_path}/r.db")
    assert repr(lite) == "<SqlStore sqlite>"
    lite.close()
    assert repr(lite) == "<SqlStore sqlite closed>"


@pytest.mark.postgres
def test_postgres_store_repr_hides_the_url() -> None:
    server = pgutil.require_postgres()
    url = server.replace("postgresql://postgres@", "postgresql://postgres:hunter2-secret@")
    if url == server:
        pytest.skip("the test server URL has another user")
    store = open_store(url, pool_size=1)
    try:
        assert "hunter2" not in repr(store) and repr(store) == "<SqlStore postgresql>"
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_lock_wait_past_the_timeout_is_a_typed_error() -> None:
    import psycopg

    url = pgutil.new_schema("locks")
    store = open_store(url, timeout=0.5)
    store.create_pool(t.pool())
    store.create_user(t.user(1))
    with psycopg.connect(url) as blocker:
        blocker.execute("SELECT 1 FROM users FOR UPDATE")  # held until the block ends
        began = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            store.update_user(t.user(1))
        assert time.monotonic() - began < 5.0
        blocker.rollback()
    store.update_user(t.user(1))  # free again
    store.close()


@pytest.mark.postgres
def test_postgres_connections_lost_to_a_server_restart_are_replaced() -> None:
    """A pooled connection idle past PING_AFTER_IDLE is pinged on checkout, so one its server
    dropped is replaced unseen; one dropped moments after use fails that one call, typed, and the
    pool then discards it (the ping is skipped for just-used connections: a round trip a unit)."""
    import psycopg

    from devicesrp.store import _postgres

    name = f"dsrp-reconnect-{secrets.token_hex(4)}"  # only this store's connection is dropped
    url = pgutil.new_schema("reconnect") + f"&application_name={name}"
    store = open_store(url, pool_size=1, timeout=5.0)
    store.create_pool(t.pool())

    def drop_the_pooled_connection() -> None:
        with psycopg.connect(pgutil.require_postgres(), autocommit=True) as admin:
            done = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (name,),
            ).fetchone()
            assert done is not None and done[0] >= 1

    drop_the_pooled_connection()
    with pytest.raises(StoreUnavailableError):
        store.get_pool(t.pool().pool_id)  # used moments ago: not pinged, the call fails
    assert store.get_pool(t.pool().pool_id) is not None  # the broken one was discarded
    drop_the_pooled_connection()
    time.sleep(_postgres.PING_AFTER_IDLE + 0.2)
    assert store.get_pool(t.pool().pool_id) is not None  # idle: pinged, replaced, no error
    store.close()


def test_new_sqlite_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    store = open_store(f"sqlite:///{path}")
    store.consume_once("s", b"k", expires_at=1.0)  # makes the -wal file exist
    for f in (path, path.with_name("private.db-wal"), path.with_name("private.db-shm")):
        assert f.exists() and f.stat().st_mode & 0o077 == 0, f
    store.close()
