"""What both SQL backends share: units of work, the statement hook, and the migration runner.

A backend supplies an ``Engine``: it opens a transaction (``BEGIN IMMEDIATE`` on SQLite, a pooled
connection on PostgreSQL) and runs statements written with ``?`` placeholders, translating driver
errors into store errors. ``SqlCore`` keeps the current unit of work per thread, so that methods
called inside ``store.transaction()`` join it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar

from ..errors import (
    InjectedFaultError,
    InvalidParameterError,
    InvalidTypeError,
    SchemaVersionError,
    StoreCollisionError,
)
from ._schema import BOOKKEEPING, MIGRATIONS, render

R = TypeVar("R")
Row = tuple[Any, ...]  # driver values; each reader converts them to typed records


@dataclass(frozen=True)
class Result:
    rows: list[Row]
    rowcount: int


class Executor(Protocol):
    def __call__(self, sql: str, params: Sequence[object]) -> Result: ...


class Engine(Protocol):
    dialect: str

    def begin(self, *, write: bool) -> AbstractContextManager[Executor]:
        """A transaction: commit at the end of the block, roll back if it raises."""
        ...

    def migration_lock(self, run: Executor) -> None:
        """Serialise migrators (the SQLite write lock already does; PostgreSQL takes a lock)."""
        ...

    def close(self) -> None: ...


@dataclass
class StatementHook:
    """Test hook: counts statements run inside write transactions and can fail after the n-th.

    ``fail_after = n`` raises ``InjectedFaultError`` right after statement n has run (before the
    commit), so every prefix of a multi-step write can be shown to leave no trace.
    """

    fail_after: int | None = None
    statements: int = 0
    log: list[str] = field(default_factory=list)

    def after_statement(self, sql: str) -> None:
        self.statements += 1
        self.log.append(sql.split(None, 1)[0].upper())
        if self.fail_after is not None and self.statements >= self.fail_after:
            raise InjectedFaultError(f"injected fault after statement {self.statements}")


class Tx:
    """One open unit of work: runs statements, reports them to the hook if any."""

    def __init__(self, run: Executor, hook: StatementHook | None, write: bool) -> None:
        self._run = run
        self._hook = hook if write else None
        self.write = write
        self.joined = _Joined(self)
        self.depth = 0  # nested transaction() savepoints currently open
        # Lockout counters this unit has read and found absent (and not written since): a reset
        # of one of them has no row to delete. Forgotten when a savepoint rolls back.
        self.absent_lockouts: set[tuple[str, str]] = set()

    def run(self, sql: str, params: Sequence[object] = ()) -> Result:
        result = self._run(sql, params)
        if self._hook is not None:
            self._hook.after_statement(sql)
        return result

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self.run(sql, params).rows

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        rows = self.run(sql, params).rows
        return rows[0] if rows else None


class _Joined:
    """A store call inside an open unit: it runs in that unit, with nothing to begin or end.
    (Most store calls are this case, a few dozen per sign-in: no generator per call.)"""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    def __enter__(self) -> Tx:
        return self.tx

    def __exit__(self, *exc: object) -> None:
        return None


class SqlCore:
    """Unit-of-work plumbing shared by the store's method groups."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._hook: StatementHook | None = None
        self._closed = False

    @property
    def dialect(self) -> str:
        return self._engine.dialect

    def __repr__(self) -> str:
        # Never the URL: a PostgreSQL URL may hold a password.
        return f"<{type(self).__name__} {self.dialect}{' closed' if self._closed else ''}>"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current(self) -> Tx | None:
        tx: Tx | None = getattr(self._local, "tx", None)
        return tx

    def _unit(self, *, write: bool) -> AbstractContextManager[Tx]:
        """The open unit of this thread if any (joined), else a new one."""
        outer = self._current()
        if outer is not None:
            if write and not outer.write:
                raise RuntimeError("a write cannot join a read-only unit of work")
            return outer.joined
        return self._new_unit(write)

    @contextmanager
    def _new_unit(self, write: bool) -> Iterator[Tx]:
        with self._engine.begin(write=write) as run:
            tx = Tx(run, self._hook, write)
            self._local.tx = tx
            try:
                yield tx
            finally:
                self._local.tx = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One unit of work: every store call in this block (same thread) commits or none does.

        Nested inside another unit it is a savepoint: if the inner block raises, its writes are
        undone and the outer unit carries on (if it catches the exception).
        """
        outer = self._current()
        if outer is None:
            with self._unit(write=True):
                yield
            return
        if not outer.write:
            raise RuntimeError("a write cannot join a read-only unit of work")
        outer.depth += 1
        name = f"devicesrp_{outer.depth}"
        outer.run(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            outer.absent_lockouts.clear()  # what was read inside may no longer hold
            outer.run(f"ROLLBACK TO SAVEPOINT {name}")
            outer.run(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            outer.run(f"RELEASE SAVEPOINT {name}")
        finally:
            outer.depth -= 1

    def run_unit(self, work: Callable[[], R], *, attempts: int = 3) -> R:
        """``work()`` as one unit of work, run again from the start (up to ``attempts`` times in
        all) when it collided with another unit; inside an open unit it simply runs, since only
        the outermost unit can be retried."""
        if not callable(work):
            raise InvalidTypeError("work", "a callable", work)
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10:
            raise InvalidParameterError("attempts", "must be 1..10")
        if self._current() is not None:
            return work()
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction():
                    return work()
            except StoreCollisionError:
                if attempt == attempts:
                    raise
                # Units aborted together would collide again if retried in step: jitter them.
                time.sleep(random.uniform(0.0, 0.05 * attempt))
        raise AssertionError("unreachable")  # the loop returns or raises

    @contextmanager
    def statement_hook(self, fail_after: int | None = None) -> Iterator[StatementHook]:
        """Test hook (single-threaded use): count statements, or fail after the n-th."""
        hook = StatementHook(fail_after=fail_after)
        self._hook = hook
        try:
            yield hook
        finally:
            self._hook = None

    # -- migrations ------------------------------------------------------------------------------
    def migrate(self, now: float) -> int:
        """Apply pending migrations, each in its own transaction; returns the version reached."""
        for migration in MIGRATIONS:
            with self._engine.begin(write=True) as raw:
                run = Tx(raw, self._hook, write=True).run  # the fault hook reaches migrations too
                self._engine.migration_lock(run)
                run(render(BOOKKEEPING, self.dialect), ())
                current = self._version(run)
                if current > MIGRATIONS[-1].version:
                    raise SchemaVersionError(
                        f"database schema version {current} is newer than this code "
                        f"({MIGRATIONS[-1].version}); upgrade devicesrp"
                    )
                if migration.version <= current:
                    continue
                for statement in migration.statements:
                    run(render(statement, self.dialect), ())
                run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, float(now)),
                )
        return self.schema_version()

    @staticmethod
    def _version(run: Executor) -> int:
        rows = run("SELECT MAX(version) FROM schema_migrations", ()).rows
        value = rows[0][0] if rows else None
        return int(value) if isinstance(value, int) else 0

    def schema_version(self) -> int:
        with self._unit(write=False) as tx:
            return self._version(tx.run)
