"""The SQLite engine: WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` for every write.

Connections come from a small pool (one connection is never used by two threads at once); the
busy timeout makes writers from other threads and other processes wait for the single write lock
instead of failing. ``synchronous=FULL`` makes every acknowledged commit durable across a crash.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import RecordExistsError, RecordNotFoundError, StoreError, StoreUnavailableError
from ._base import Executor, Result


def _translate(exc: sqlite3.Error) -> StoreError:
    """A driver error as a store error; messages name the failure kind, never values."""
    if isinstance(exc, sqlite3.IntegrityError):
        text = str(exc)
        if "FOREIGN KEY" in text:
            return RecordNotFoundError("a referenced record does not exist")
        if "UNIQUE" in text or "PRIMARY KEY" in text:
            return RecordExistsError("the record already exists")
        return StoreError("a stored-value constraint was violated")
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower():
        return StoreUnavailableError("the database stayed locked longer than the busy timeout")
    return StoreUnavailableError(f"SQLite error: {type(exc).__name__}")


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (it holds verifiers and wrapped
    keys); SQLite gives the -wal and -shm files the same mode. An existing file is left as is."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreUnavailableError(f"cannot create the database file ({exc.strerror})") from None
    os.close(fd)


class SqliteEngine:
    dialect = "sqlite"

    def __init__(self, path: Path, *, busy_timeout: float = 30.0, pool_size: int = 8) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        _create_private(path)
        conn = self._connect()
        try:
            # WAL is a property of the file: set once, then every connection uses it.
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise StoreUnavailableError("SQLite refused WAL mode for this file")
        except (sqlite3.Error, StoreUnavailableError) as exc:
            self.close()
            raise (_translate(exc) if isinstance(exc, sqlite3.Error) else exc) from None
        self._idle.put(conn)

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,  # we issue BEGIN / COMMIT ourselves
                check_same_thread=False,  # the pool hands a connection to one thread at a time
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise _translate(exc) from None
        with self._lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StoreUnavailableError("the store is closed")
        if not self._slots.acquire(timeout=self._busy_timeout):
            raise StoreUnavailableError("no SQLite connection became free within the busy timeout")
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            try:
                yield conn
            finally:
                # begin() has committed or rolled back: the connection is clean either way.
                self._idle.put(conn)
        finally:
            self._slots.release()

    @contextmanager
    def begin(self, *, write: bool) -> Iterator[Executor]:
        with self._connection() as conn:

            def run(sql: str, params: Sequence[object]) -> Result:
                try:
                    cur = conn.execute(sql, tuple(params))
                    rows = cur.fetchall()
                    return Result(rows, cur.rowcount)
                except sqlite3.Error as exc:
                    raise _translate(exc) from None

            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
            except sqlite3.Error as exc:
                raise _translate(exc) from None
            try:
                yield run
            except BaseException:
                conn.rollback()
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.rollback()
                raise _translate(exc) from None

    def migration_lock(self, run: Executor) -> None:
        """``BEGIN IMMEDIATE`` already holds the one write lock."""

    def close(self) -> None:
        self._closed = True
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
