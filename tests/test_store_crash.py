"""Crash consistency: a writer SIGKILLed at random moments, restarted, and checked after each kill.

Each unit of work is acknowledged (a line on a pipe) only after its commit returned. After every
kill: SQLite's integrity and foreign-key checks pass, every acknowledged write is present, and no
multi-row unit is half-written. Counts: 100 cycles in CI, 1,000 under DEVICESRP_SOAK=1 (SQLite);
PostgreSQL 30 / 300.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import pgutil
from counts import count
from devicesrp.store import open_store
from devicesrp.store import testing as t
from devicesrp.store.crashloop import exec_writer, fork_writer, run_crash_cycles

UNITS_PER_CYCLE = 1000  # index space per writer run: a restart never redoes an in-flight unit
SUB = t.user(1).sub


def writer_body(url: str) -> Callable[[Callable[[str], None], int], None]:
    """The writer: confirm (3 rows in one unit), forget (2 statements), consume + count."""

    def body(ack: Callable[[str], None], cycle: int) -> None:
        store = open_store(url, pool_size=1)
        ack("ready")
        base = cycle * UNITS_PER_CYCLE
        for j in range(UNITS_PER_CYCLE):
            i = base + j
            if j % 3 == 0:
                with store.transaction():
                    store.confirm_device(t.confirmation(i, SUB))
                    store.insert_refresh_token(t.refresh_token(i, SUB, device=t.device_key(i)))
                    store.consume_once("crash", b"c%d" % i, expires_at=9e9)
                ack(f"c {i}")
            elif j % 3 == 1:
                if j >= 4:
                    store.forget_device(t.POOL, t.device_key(i - 4))
                    ack(f"f {i - 4}")
            else:
                with store.transaction():
                    store.consume_once("crash", b"u%d" % i, expires_at=9e9)
                    store.record_failure("crash", "counter", now=1.0, lock_for=lambda n: 0.0)
                ack(f"u {i}")

    return body


@functools.cache
def device_of(i: int) -> str:
    return t.device_key(i)


@functools.cache
def token_of(i: int) -> bytes:
    return t.refresh_token(i, SUB).token_hash


def check_state(rows: dict[str, list[tuple[Any, ...]]], acked: list[str]) -> None:
    """No half-written unit; every acknowledged unit present."""
    devices = {str(r[0]) for r in rows["devices"]}
    tokens = {bytes(r[0]): bool(r[1]) for r in rows["tokens"]}
    consumed = {bytes(r[0]) for r in rows["consumed"]}
    counter = int(rows["counter"][0][0]) if rows["counter"] else 0
    # A confirm unit writes three rows: consumed id, refresh token, device.
    units = {int(k[1:]) for k in consumed if k.startswith(b"c")}
    unit_of_device = {device_of(i): i for i in units}
    unit_of_token = {token_of(i): i for i in units}
    assert devices <= unit_of_device.keys(), "a device row without the rest of its unit"
    assert tokens.keys() == unit_of_token.keys(), "consumed ids and refresh tokens disagree"
    for token, revoked in tokens.items():
        # A forget unit revokes the token and deletes the device: both or neither.
        i = unit_of_token[token]
        assert revoked == (device_of(i) not in devices), f"unit f {i} half-written"
    # A count unit writes a consumed id and one increment.
    assert counter == sum(1 for k in consumed if k.startswith(b"u")), "counter and ids disagree"
    for line in acked:
        kind, raw = line.split()
        i = int(raw)
        if kind == "c":
            assert b"c%d" % i in consumed, f"acknowledged confirm {i} lost"
        elif kind == "f":
            assert device_of(i) not in devices, f"acknowledged forget {i} lost"
        else:
            assert b"u%d" % i in consumed, f"acknowledged count {i} lost"


QUERIES = {
    "devices": "SELECT device_key FROM devices",
    "tokens": "SELECT token_hash, revoked FROM refresh_tokens",
    "consumed": "SELECT item FROM consumed WHERE scope = 'crash'",
    "counter": "SELECT failures FROM lockouts WHERE scope = 'crash'",
}


def seed(url: str) -> None:
    store = open_store(url, pool_size=1)
    store.create_pool(t.pool())
    store.create_client(t.client())
    store.create_user(t.user(1))
    store.close()


def test_sqlite_survives_sigkill_cycles(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    url = f"sqlite:///{path}"
    seed(url)
    cycles = count(ci=100, soak=1000)

    def verify(acked: list[str]) -> None:
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            rows = {name: conn.execute(sql).fetchall() for name, sql in QUERIES.items()}
        finally:
            conn.close()
        check_state(rows, acked)

    body = writer_body(url)
    report = run_crash_cycles(
        lambda cycle: fork_writer(body, cycle),
        verify,
        cycles=cycles,
        max_delay=0.05,
        rng=random.Random(6),
        ready_line="ready",
    )
    print(f"sqlite crash cycles: {report}")
    assert report.cycles == cycles
    # The test means something only if writers were really killed mid-run, with work acknowledged
    # (how much depends on the machine's load: a loose floor).
    assert report.killed_running >= cycles * 0.9
    assert report.acks >= cycles // 4


@pytest.mark.postgres
def test_postgres_survives_sigkill_cycles() -> None:
    url = pgutil.new_schema("crash")
    seed(url)
    cycles = count(ci=30, soak=300)

    def verify(acked: list[str]) -> None:
        import psycopg

        # A killed client's COMMIT may still be in flight on the server: read every table in one
        # snapshot (REPEATABLE READ), or a unit committing between two reads looks half-written.
        with psycopg.connect(url) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                rows = {name: conn.execute(sql).fetchall() for name, sql in QUERIES.items()}
        check_state(rows, acked)

    body = writer_body(url)
    report = run_crash_cycles(
        lambda cycle: fork_writer(body, cycle),
        verify,
        cycles=cycles,
        max_delay=0.1,
        rng=random.Random(7),
        ready_line="ready",
    )
    print(f"postgresql crash cycles: {report}")
    assert report.killed_running >= cycles * 0.9
    assert report.acks >= cycles // 4


EXEC_WRITER = """
import sys
from devicesrp.store import open_store
store = open_store(sys.argv[1], pool_size=1)
print("ready", flush=True)
base = int(sys.argv[2]) * 100000
for i in range(base, base + 100000):
    store.consume_once("exec", b"e%d" % i, expires_at=9e9)
    print(f"e {i}", flush=True)
"""


def test_exec_writer_drives_any_process(tmp_path: Path) -> None:
    """The same loop over a separately started interpreter (how the server process is driven)."""
    path = tmp_path / "exec.db"
    url = f"sqlite:///{path}"
    open_store(url).close()

    def verify(acked: list[str]) -> None:
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            have = {bytes(r[0]) for r in conn.execute("SELECT item FROM consumed").fetchall()}
        finally:
            conn.close()
        for line in acked:
            assert b"e%d" % int(line.split()[1]) in have, f"acknowledged {line} lost"

    cycles = count(ci=4, soak=40)
    report = run_crash_cycles(
        lambda cycle: exec_writer([sys.executable, "-c", EXEC_WRITER, url, str(cycle)]),
        verify,
        cycles=cycles,
        max_delay=0.1,
        rng=random.Random(8),
        ready_line="ready",
        early_kill_every=cycles + 1,
    )
    assert report.killed_running == cycles and report.acks >= 1
