"""The PostgreSQL engine: psycopg 3 with a connection pool, READ COMMITTED transactions.

Race safety does not rely on the isolation level: single-use consumption, device confirmation
and lockout counters are single conditional statements (``INSERT ... ON CONFLICT``,
``UPDATE ... WHERE``, ``DELETE ... RETURNING``), which PostgreSQL re-evaluates on the latest row
version after a wait.
Statements are written with ``?`` and turned into psycopg's ``%s`` here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import ExecStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import (
    InvalidParameterError,
    RecordExistsError,
    RecordNotFoundError,
    StoreCollisionError,
    StoreError,
    StoreUnavailableError,
)
from ._base import Executor, Result

PING_AFTER_IDLE = 1.0  # seconds a pooled connection may sit before it is pinged on checkout

_converted: dict[str, str] = {}


def _to_psycopg(sql: str) -> str:
    """``?`` placeholders as ``%s`` (our statements contain no literal ``%`` or ``?``)."""
    out = _converted.get(sql)
    if out is None:
        out = _converted[sql] = sql.replace("?", "%s")
    return out


def _reason(exc: psycopg.Error) -> str:
    """libpq's first line (it names host, port and cause; libpq never echoes a password)."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _translate(exc: Exception) -> StoreError:
    """A driver error as a store error; messages name the failure kind, never values."""
    if isinstance(exc, pg_errors.UniqueViolation):
        return RecordExistsError("the record already exists")
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return RecordNotFoundError("a referenced record does not exist")
    if isinstance(exc, pg_errors.IntegrityError):
        return StoreError("a stored-value constraint was violated")
    if isinstance(exc, pg_errors.LockNotAvailable):
        return StoreUnavailableError("a row stayed locked longer than the timeout; retry")
    if isinstance(exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
        return StoreCollisionError("the unit of work collided with another; retry it")
    if isinstance(exc, PoolTimeout):
        return StoreUnavailableError("no PostgreSQL connection became free in time")
    return StoreUnavailableError(f"PostgreSQL error: {type(exc).__name__}")


class PostgresEngine:
    dialect = "postgresql"

    def __init__(self, conninfo: str, *, pool_size: int = 10, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._size = pool_size
        self._returned: dict[int, float] = {}  # id(connection) -> when it was handed back
        try:
            conninfo_to_dict(conninfo)
        except psycopg.Error:
            raise InvalidParameterError("url", "not a valid PostgreSQL connection URL") from None
        # One direct attempt first: an unreachable server fails fast and says why, where the
        # pool would retry quietly until its timeout.
        try:
            psycopg.connect(conninfo, connect_timeout=max(1, min(int(timeout), 10))).close()
        except psycopg.Error as exc:
            raise StoreUnavailableError(f"PostgreSQL is not reachable: {_reason(exc)}") from None
        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            timeout=timeout,
            open=False,
            check=self._check,
            configure=self._configure,
            kwargs={"autocommit": False},
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except (psycopg.Error, PoolTimeout) as exc:
            self._pool.close()  # stop its reconnecting workers
            # The conninfo may hold a password: the message names only the failure kind.
            raise StoreUnavailableError(
                f"PostgreSQL is not reachable ({type(exc).__name__})"
            ) from None

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        """Ping a connection that sat idle (its server may have gone away meanwhile); one handed
        back moments ago is known good, and skipping its ping saves a round trip per unit."""
        if time.monotonic() - self._returned.get(id(conn), 0.0) >= PING_AFTER_IDLE:
            ConnectionPool.check_connection(conn)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Waits on row locks end like SQLite's busy timeout, with an error, never a hang; an
        abandoned transaction is ended by the server."""
        ms = int(self._timeout * 1000)
        conn.execute(f"SET lock_timeout = {ms}")
        conn.execute(f"SET idle_in_transaction_session_timeout = {max(ms * 4, 60_000)}")
        conn.commit()

    @contextmanager
    def begin(self, *, write: bool) -> Iterator[Executor]:
        try:
            conn = self._pool.getconn(timeout=self._timeout)
        except (psycopg.Error, PoolTimeout) as exc:
            raise _translate(exc) from None
        try:
            # Reads run in autocommit: under READ COMMITTED each statement takes its own snapshot
            # anyway, and it saves the BEGIN and COMMIT round trips.
            conn.autocommit = not write
            cur = conn.cursor()  # one per unit: a cursor per statement costs as much as its dump
        except psycopg.Error as exc:
            self._pool.putconn(conn)
            raise _translate(exc) from None

        def run(sql: str, params: Sequence[object]) -> Result:
            try:
                cur.execute(_to_psycopg(sql), tuple(params))
                # the result's status, not cur.description: that builds a Column object per
                # column on every call (a third of psycopg's Python time per statement)
                result = cur.pgresult
                rows = cur.fetchall() if result and result.status == ExecStatus.TUPLES_OK else []
                return Result(rows, cur.rowcount)
            except psycopg.Error as exc:
                raise _translate(exc) from None

        try:
            yield run
            try:
                conn.commit()
            except psycopg.Error as exc:
                raise _translate(exc) from None
        except BaseException:
            try:
                conn.rollback()
            except psycopg.Error:
                pass  # a broken connection: putconn() below discards it
            raise
        finally:
            if len(self._returned) > 4 * self._size:
                self._returned.clear()  # ids of discarded connections; the rest just get a ping
            self._returned[id(conn)] = time.monotonic()
            self._pool.putconn(conn)

    def migration_lock(self, run: Executor) -> None:
        """Concurrent migrators of one schema wait for each other."""
        run("SELECT pg_advisory_xact_lock(hashtext('devicesrp:' || current_schema()))", ())

    def close(self) -> None:
        self._pool.close()
