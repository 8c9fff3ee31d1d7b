"""Persistence for the identity provider behind one contract: SQLite (embedded) and PostgreSQL.

Open a store from a URL::

    store = open_store("sqlite:///relative/path.db")        # or sqlite:////absolute/path.db
    store = open_store("postgresql://user@host:5432/dbname")  # psycopg conninfo URL

``f"sqlite:///{path}"`` works for relative and absolute paths alike (the SQLAlchemy convention).
Opening applies pending migrations (versioned, the same list on both backends).

The contract (``Store`` in ``contract.py``; records in ``records.py``):

- Every method is atomic on its own; ``with store.transaction():`` makes several calls one unit of
  work, committed together or not at all (calls in the same thread join it; a nested
  ``transaction()`` is a savepoint). ``store.run_unit(work)`` runs ``work()`` as a unit and runs it
  again if it collided with another (``StoreCollisionError``, a PostgreSQL deadlock).
- Lookups return ``None`` when nothing matches; a create of an existing key raises
  ``RecordExistsError``; an update of a missing record raises ``RecordNotFoundError``; bad arguments
  raise ``InvalidParameterError`` (``ValueError``) or ``InvalidTypeError`` (``TypeError``) before
  anything is written; an unreachable or locked database raises ``StoreUnavailableError``.
- Race-safe single statements: ``consume_once`` (``INSERT ... ON CONFLICT DO NOTHING``),
  ``take_ticket`` (``DELETE ... RETURNING``), ``record_failure`` (an upsert that increments),
  ``confirm_device`` (a conditional ``UPDATE ... WHERE confirmed = 0``, else an insert that does
  nothing on conflict, else a comparison: identical retry -> ``ALREADY_CONFIRMED``, other verifier
  -> ``DeviceKeyConflictError``, the stored verifier never overwritten).
- Inside ``transaction()``, ``get_user``, ``get_user_by_sub``, ``get_user_by_name_or_sub`` and
  ``count_remembered_devices`` hold the user until the unit ends, so read-modify-write of a user
  and count-then-decide for the remembered-device cap cannot be raced (SQLite: its single write
  lock; PostgreSQL: a row lock).
- The store never reads the clock or draws randomness: ``now`` and ids are arguments.

SQLite: WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` for every write, a busy timeout so other
threads and processes wait for the write lock. PostgreSQL: psycopg 3 with a ``psycopg_pool`` pool,
READ COMMITTED, ``lock_timeout`` equal to the store's timeout (a wait ends in an error, not a hang).
``crashloop`` is the SIGKILL-and-restart harness; ``testing`` holds record factories and dumps.
Tests: ``store.statement_hook(fail_after=n)`` raises ``InjectedFaultError`` after the n-th statement
of a write, to show that every prefix of a multi-step write leaves no trace.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import InvalidParameterError, InvalidTypeError
from ._base import StatementHook
from ._identity import user_from_row
from ._misc import SqlStore
from .contract import MAX_DEVICE_PAGE, MAX_USER_PAGE, Store
from .records import (
    ClientRecord,
    ConfirmOutcome,
    DeviceConfirmation,
    DeviceRecord,
    LockoutRecord,
    OutboxRecord,
    Page,
    PoolRecord,
    RefreshTokenRecord,
    TicketRecord,
    UserRecord,
    WrappedKeyRecord,
)

__all__ = [
    "MAX_DEVICE_PAGE",
    "MAX_USER_PAGE",
    "ClientRecord",
    "ConfirmOutcome",
    "DeviceConfirmation",
    "DeviceRecord",
    "LockoutRecord",
    "OutboxRecord",
    "Page",
    "PoolRecord",
    "RefreshTokenRecord",
    "SqlStore",
    "StatementHook",
    "Store",
    "TicketRecord",
    "UserRecord",
    "WrappedKeyRecord",
    "open_store",
    "sqlite_path",
    "user_from_row",
]


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///...`` URL (``sqlite:////abs`` absolute, ``sqlite:///rel`` not)."""
    if not url.startswith("sqlite:///"):
        raise InvalidParameterError("url", "an SQLite URL looks like sqlite:///path/to/file.db")
    rest = url[len("sqlite:///") :]
    if "?" in rest or "#" in rest:
        raise InvalidParameterError("url", "SQLite URLs take no query or fragment")
    path = unquote(rest)
    if not path or path == ":memory:" or "\x00" in path:
        raise InvalidParameterError("url", "an SQLite store needs a file path (not :memory:)")
    return Path(path)


def open_store(
    url: str, *, pool_size: int = 10, timeout: float = 30.0, migrate: bool = True
) -> SqlStore:
    """A ready store for ``url`` (``sqlite:///...`` or ``postgresql://...``), migrations applied.

    ``pool_size`` bounds the connections; ``timeout`` is how long a call waits for a connection or
    for SQLite's write lock before ``StoreUnavailableError``.
    """
    if not isinstance(url, str):
        raise InvalidTypeError("url", "str", url)
    if not 1 <= pool_size <= 1000:
        raise InvalidParameterError("pool_size", "must be 1..1000")
    if not 0 < timeout <= 3600:
        raise InvalidParameterError("timeout", "must be 0..3600 seconds")
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        raise InvalidParameterError("url", "not a valid URL") from None
    store: SqlStore
    if scheme == "sqlite":
        from ._sqlite import SqliteEngine

        store = SqlStore(SqliteEngine(sqlite_path(url), busy_timeout=timeout, pool_size=pool_size))
    elif scheme in ("postgresql", "postgres"):
        from ._postgres import PostgresEngine

        store = SqlStore(PostgresEngine(url, pool_size=pool_size, timeout=timeout))
    else:
        raise InvalidParameterError("url", "scheme must be sqlite or postgresql")
    if migrate:
        try:
            # The migration log's applied_at is bookkeeping, not domain state: the clock is fine.
            store.migrate(time.time())
        except BaseException:
            store.close()
            raise
    return store


def _conforms(store: SqlStore) -> Store:
    """Never called: makes mypy prove that SqlStore implements the Store protocol."""
    return store
