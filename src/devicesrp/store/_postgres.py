"""The PostgreSQL engine: psycopg 3 with a connection pool, READ COMMITTED transactions.

Race safety does not rely on the isolation level: single-use consumption, device confirmation
and lockout counters are single conditional statements (``INSERT ... ON CONFLICT``,
``UPDATE ... WHERE``, ``DELETE ... RETURNING``), which PostgreSQL re-evaluates on the latest row
version after a wait.
Statements are written with ``?`` and turned into PostgreSQL's ``$1, $2, ...`` here.

Statements run on libpq directly (``_Session``), not through psycopg cursors: a cursor's Python
bookkeeping cost more CPU than the round trip itself. Values still go through psycopg's own
adapters, results through its loaders, and errors through its error classes, so what a caller
sees is what a cursor would give; prepared statements follow psycopg's default policy.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import PyFormat, Transformer
from psycopg.conninfo import conninfo_to_dict
from psycopg.generators import execute as _results_of
from psycopg.pq import ConnStatus, ExecStatus, TransactionStatus
from psycopg.pq.abc import PGresult
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
PREPARE_THRESHOLD = 5  # runs of a statement on a connection before it is prepared (as psycopg)
PREPARED_MAX = 100  # prepared statements kept per connection, least recently used dropped

_OK = (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK, ExecStatus.EMPTY_QUERY)
# After these the server may hold objects other than those prepared against (psycopg's rule).
_INVALIDATES = re.compile(rb"^(?:DROP|ALTER|ROLLBACK|DISCARD ALL|DEALLOCATE ALL)\b").match
_converted: dict[str, tuple[bytes, int]] = {}


def _to_pg(sql: str) -> tuple[bytes, int]:
    """``?`` placeholders as ``$1, $2, ...`` and their count (our statements contain no literal
    ``?``; they are ASCII, so their bytes are the same in any client encoding)."""
    out = _converted.get(sql)
    if out is None:
        parts = sql.split("?")
        text = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        out = _converted[sql] = (text.encode(), len(parts) - 1)
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


class _Session:
    """Runs statements on one pooled connection.

    Values are dumped by psycopg's adapters and rows loaded by its loaders (one ``Transformer``
    per connection), statements go out as psycopg sends them (the simple protocol without
    parameters, the extended one with), and a failure raises the psycopg error a cursor would.
    A statement is prepared on its connection once it has run ``PREPARE_THRESHOLD`` times.
    """

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._pgconn = conn.pgconn
        self._adapt = Transformer(conn)
        self._encoding = conn.info.encoding
        self._runs: OrderedDict[tuple[bytes, tuple[int, ...]], int] = OrderedDict()
        self._names: OrderedDict[tuple[bytes, tuple[int, ...]], bytes] = OrderedDict()
        self._made = 0  # statement names are never reused on a connection

    def in_transaction(self) -> bool:
        return self._pgconn.transaction_status != TransactionStatus.IDLE

    def command(self, sql: bytes) -> None:
        """BEGIN, COMMIT, ROLLBACK or DEALLOCATE."""
        self._usable()
        self._pgconn.send_query(sql)
        self._after(self._result())

    def execute(self, sql: str, params: Sequence[object]) -> Result:
        query, count = _to_pg(sql)
        if len(params) != count:
            raise psycopg.ProgrammingError(
                f"the query has {count} placeholders but {len(params)} parameters were passed"
            )
        self._usable()
        if not count:
            self._pgconn.send_query(query)
        else:
            values = self._adapt.dump_sequence(params, [PyFormat.AUTO] * count)
            types, formats = self._adapt.types or (), self._adapt.formats
            name = self._prepared((query, types))
            if name is None:
                self._pgconn.send_query_params(
                    query, values, param_formats=formats, param_types=types
                )
            else:
                self._pgconn.send_query_prepared(name, values, param_formats=formats)
        result = self._result()
        self._after(result)
        rows: list[tuple[Any, ...]] = []
        if result.status == ExecStatus.TUPLES_OK:
            self._adapt.set_pgresult(result)
            rows = self._adapt.load_rows(0, result.ntuples, tuple)
        rowcount = result.command_tuples
        return Result(rows, -1 if rowcount is None else rowcount)

    def _usable(self) -> None:
        status = self._pgconn.status
        if status == ConnStatus.BAD:
            raise psycopg.OperationalError("the connection is closed")
        if status != ConnStatus.OK:
            raise psycopg.InterfaceError(f"the connection is in status {status}")

    def _result(self) -> PGresult:
        """The result of what was just sent, waited for the way psycopg waits (interruptible)."""
        results: list[PGresult] = self._conn.wait(_results_of(self._pgconn))
        if not results:
            raise psycopg.InternalError("got no result from the query")
        for result in results:
            if result.status not in _OK:
                if result.status == ExecStatus.FATAL_ERROR:
                    raise pg_errors.error_from_result(result, encoding=self._encoding)
                status = ExecStatus(result.status).name
                raise psycopg.InternalError(f"unexpected result status {status}")
        return results[0]

    def _prepared(self, key: tuple[bytes, tuple[int, ...]]) -> bytes | None:
        """The statement's prepared name, preparing it now if it has run often enough."""
        name = self._names.get(key)
        if name is not None:
            self._names.move_to_end(key)
            return name
        runs = self._runs.pop(key, 0)
        if runs < PREPARE_THRESHOLD:
            self._runs[key] = runs + 1
            if len(self._runs) > PREPARED_MAX:
                self._runs.popitem(last=False)
            return None
        name = b"_dsrp_%d" % self._made
        self._made += 1
        self._pgconn.send_prepare(name, key[0], param_types=key[1])
        self._result()
        self._names[key] = name
        if len(self._names) > PREPARED_MAX:
            self.command(b"DEALLOCATE " + self._names.popitem(last=False)[1])
        return name

    def _after(self, result: PGresult) -> None:
        """Forget every prepared statement after a command that may have invalidated them."""
        if self._names and result.status == ExecStatus.COMMAND_OK:
            if _INVALIDATES(result.command_status or b""):
                self._names.clear()
                self._runs.clear()
                self.command(b"DEALLOCATE ALL")


class _Connection(psycopg.Connection[Any]):
    """A pooled connection, with the ``_Session`` that runs statements on it."""

    _session: _Session | None = None

    @property
    def session(self) -> _Session:
        if self._session is None:
            self._session = _Session(self)
        return self._session


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
        self._pool: ConnectionPool[_Connection] = ConnectionPool(
            conninfo,
            connection_class=_Connection,
            min_size=1,
            max_size=pool_size,
            timeout=timeout,
            open=False,
            check=self._check,
            configure=self._configure,
            kwargs={"autocommit": True},  # each unit sends its own BEGIN
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except (psycopg.Error, PoolTimeout) as exc:
            self._pool.close()  # stop its reconnecting workers
            # The conninfo may hold a password: the message names only the failure kind.
            raise StoreUnavailableError(
                f"PostgreSQL is not reachable ({type(exc).__name__})"
            ) from None

    def _check(self, conn: _Connection) -> None:
        """Ping a connection that sat idle (its server may have gone away meanwhile); one handed
        back moments ago is known good, and skipping its ping saves a round trip per unit."""
        if time.monotonic() - self._returned.get(id(conn), 0.0) >= PING_AFTER_IDLE:
            ConnectionPool.check_connection(conn)

    def _configure(self, conn: _Connection) -> None:
        """Waits on row locks end like SQLite's busy timeout, with an error, never a hang; an
        abandoned transaction is ended by the server."""
        ms = int(self._timeout * 1000)
        conn.execute(f"SET lock_timeout = {ms}")
        conn.execute(f"SET idle_in_transaction_session_timeout = {max(ms * 4, 60_000)}")

    @contextmanager
    def begin(self, *, write: bool) -> Iterator[Executor]:
        try:
            conn = self._pool.getconn(timeout=self._timeout)
        except (psycopg.Error, PoolTimeout) as exc:
            raise _translate(exc) from None
        session = conn.session
        # Reads run in autocommit: under READ COMMITTED each statement takes its own snapshot
        # anyway, and it saves the BEGIN and COMMIT round trips. A write unit sends its BEGIN
        # with its first statement (as psycopg would), so a unit that runs none costs nothing.
        unbegun = write

        def run(sql: str, params: Sequence[object]) -> Result:
            nonlocal unbegun
            try:
                if unbegun:
                    unbegun = False
                    session.command(b"BEGIN")
                return session.execute(sql, params)
            except psycopg.Error as exc:
                raise _translate(exc) from None

        try:
            yield run
            try:
                if session.in_transaction():
                    session.command(b"COMMIT")
            except psycopg.Error as exc:
                raise _translate(exc) from None
        except BaseException:
            try:
                if session.in_transaction():
                    session.command(b"ROLLBACK")
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
