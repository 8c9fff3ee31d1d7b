"""The PostgreSQL engine runs statements on libpq directly: values, rows, errors and prepared
statements must come out exactly as through a psycopg cursor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pgutil
from devicesrp.errors import RecordExistsError, StoreUnavailableError
from devicesrp.store import _postgres
from devicesrp.store._postgres import PREPARE_THRESHOLD, PREPARED_MAX, PostgresEngine

pytestmark = pytest.mark.postgres

RUNS = PREPARE_THRESHOLD + 3  # enough to run a statement both unprepared and prepared


@pytest.fixture
def engine() -> Iterator[PostgresEngine]:
    """One connection, so every statement lands on the same session."""
    eng = PostgresEngine(pgutil.new_schema("stmts"), pool_size=1)
    yield eng
    eng.close()


VALUES: list[object] = ["plain", "é ü ✓", "", 0, 7, -3, 2**40, -(2**62), 1.5, -0.1, b"\x00", None]


def test_values_and_rows_match_a_psycopg_cursor(engine: PostgresEngine) -> None:
    import psycopg

    sql = "SELECT " + ", ".join("?" for _ in VALUES) + ", 1, 2.5::float8, NULL, 'x'"
    with psycopg.connect(pgutil.require_postgres(), autocommit=True) as conn:
        expected = conn.execute(sql.replace("?", "%s"), VALUES).fetchall()
    seen = []
    for _ in range(RUNS):
        with engine.begin(write=False) as run:
            seen.append(run(sql, VALUES))
    for result in seen:
        assert result.rows == expected and result.rowcount == 1
        assert [type(v) for v in result.rows[0]] == [type(v) for v in expected[0]]


def test_rowcount_and_no_rows_as_a_cursor_gives(engine: PostgresEngine) -> None:
    with engine.begin(write=True) as run:
        run("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT)", ())
    for i in range(RUNS):
        with engine.begin(write=True) as run:
            inserted = run("INSERT INTO t (k, n) VALUES (?, ?)", (f"k{i}", i))
            assert (inserted.rows, inserted.rowcount) == ([], 1)
            updated = run("UPDATE t SET n = n + 1 WHERE n >= ?", (0,))
            assert (updated.rows, updated.rowcount) == ([], i + 1)
            none = run("SELECT k FROM t WHERE k = ?", ("absent",))
            assert (none.rows, none.rowcount) == ([], 0)


def test_a_prepared_statement_failing_maps_and_rolls_back_the_unit(engine: PostgresEngine) -> None:
    with engine.begin(write=True) as run:
        run("CREATE TABLE t (k TEXT PRIMARY KEY)", ())
        run("INSERT INTO t (k) VALUES (?)", ("taken",))
    for i in range(RUNS):
        with pytest.raises(RecordExistsError), engine.begin(write=True) as run:
            run("INSERT INTO t (k) VALUES (?)", (f"new{i}",))
            run("INSERT INTO t (k) VALUES (?)", ("taken",))
    with engine.begin(write=False) as run:
        assert run("SELECT k FROM t", ()).rows == [("taken",)]


def test_prepared_statements_are_forgotten_after_ddl(engine: PostgresEngine) -> None:
    """A table dropped and made again with other column types: a statement prepared against the
    old one would fail ("cached plan must not change result type")."""
    with engine.begin(write=True) as run:
        run("CREATE TABLE t (k TEXT, v BIGINT)", ())
        run("INSERT INTO t VALUES ('a', 1)", ())
    read = "SELECT * FROM t WHERE k = ?"
    for _ in range(RUNS):
        with engine.begin(write=False) as run:
            assert run(read, ("a",)).rows == [("a", 1)]
    with engine.begin(write=True) as run:
        run("DROP TABLE t", ())
        run("CREATE TABLE t (k TEXT, v TEXT)", ())
        run("INSERT INTO t VALUES ('a', 'one')", ())
    with engine.begin(write=False) as run:
        assert run(read, ("a",)).rows == [("a", "one")]


def test_prepared_statements_per_connection_are_bounded(engine: PostgresEngine) -> None:
    count = "SELECT count(*) FROM pg_prepared_statements"
    for n in range(PREPARED_MAX + 5):
        sql = f"SELECT ? + {n}"
        for _ in range(PREPARE_THRESHOLD + 1):
            with engine.begin(write=False) as run:
                assert run(sql, (1,)).rows == [(1 + n,)]
    with engine.begin(write=False) as run:
        assert run(count, ()).rows == [(PREPARED_MAX,)]
        assert run("SELECT ? + 0", (2,)).rows == [(2,)]  # evicted: runs unprepared again


def test_a_placeholder_count_mismatch_is_the_cursor_error(engine: PostgresEngine) -> None:
    with pytest.raises(StoreUnavailableError, match="ProgrammingError"):
        with engine.begin(write=False) as run:
            run("SELECT ?, ?", (1,))


def test_statements_are_converted_once(engine: PostgresEngine) -> None:
    assert _postgres._to_pg("SELECT ? FROM t WHERE a = ? AND b = ?") == (
        b"SELECT $1 FROM t WHERE a = $2 AND b = $3",
        3,
    )
    assert _postgres._to_pg("SELECT 1") == (b"SELECT 1", 0)
