"""Single-use ids, one-time tickets, lockout counters, wrapped keys and the outbox on SQL."""

# SQL here is assembled only from constant column lists and validated integers; every value
# travels as a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import math
from collections.abc import Callable

from ..errors import InvalidParameterError, InvalidTypeError, RecordExistsError
from . import _checks as ck
from ._base import Row, Tx
from ._devices import DeviceStore
from ._identity import need
from .records import LockoutRecord, OutboxRecord, TicketRecord, WrappedKeyRecord

REFRESH_PURGE_GRACE = 86400.0  # keep expired refresh tokens a day, so a late replay is explained


def _key(row: Row) -> WrappedKeyRecord:
    return WrappedKeyRecord(
        kind=str(row[0]),
        key_id=str(row[1]),
        wrapped=bytes(row[2]),
        created_at=float(row[3]),
        retired_at=None if row[4] is None else float(row[4]),
    )


def _message(row: Row) -> OutboxRecord:
    return OutboxRecord(
        message_id=int(row[0]),
        pool_id=str(row[1]),
        user_sub=str(row[2]),
        channel=str(row[3]),
        destination=str(row[4]),
        body=str(row[5]),
        created_at=float(row[6]),
    )


# A capped lockout scope keeps its row count in one more row, under a key no caller can use
# (``ck.ident`` refuses spaces), updated in the same unit: the cap then costs the same few
# statements at any table size. A COUNT(*) per new counter made an unknown name's first failure
# slower than a user's as the bounded table of unknown names filled (security matrix row 17).
_CENSUS = "# rows"


def _count(tx: Tx, scope: str) -> int:
    row = tx.one(
        "SELECT COUNT(*) FROM lockouts WHERE scope = ? AND lock_key <> ?", (scope, _CENSUS)
    )
    return int(row[0]) if row else 0


class SqlStore(DeviceStore):
    """The whole ``Store`` contract on an SQL engine (SQLite or PostgreSQL)."""

    # -- single use ------------------------------------------------------------------------------
    def consume_once(self, scope: str, key: bytes, *, expires_at: float) -> bool:
        ck.scope("scope", scope)
        ck.blob("key", key, 1, 256)
        until = ck.when("expires_at", expires_at)
        with self._unit(write=True) as tx:
            done = tx.run(
                "INSERT INTO consumed (scope, item, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (scope, key, until),
            )
        return done.rowcount == 1

    def put_ticket(self, ticket: TicketRecord) -> None:
        need("ticket", ticket, TicketRecord)
        with self._unit(write=True) as tx:
            tx.run(
                "INSERT INTO tickets (ticket_id, kind, payload, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (ticket_id) DO UPDATE SET kind = excluded.kind,"
                " payload = excluded.payload, expires_at = excluded.expires_at",
                (
                    ticket.ticket_id,
                    ticket.kind,
                    ck.dump_json("payload", ticket.payload),
                    ticket.expires_at,
                ),
            )

    def take_ticket(self, ticket_id: str, *, kind: str, now: float) -> TicketRecord | None:
        ck.ident("ticket_id", ticket_id, 256)
        ck.scope("kind", kind)
        when = ck.when("now", now)
        with self._unit(write=True) as tx:
            row = tx.one(
                "DELETE FROM tickets WHERE ticket_id = ? AND kind = ? AND expires_at > ?"
                " RETURNING ticket_id, kind, payload, expires_at",
                (ticket_id, kind, when),
            )
        if row is None:
            return None
        return TicketRecord(
            ticket_id=str(row[0]),
            kind=str(row[1]),
            payload=ck.load_json("payload", str(row[2])),
            expires_at=float(row[3]),
        )

    def purge_expired(self, *, now: float) -> int:
        when = ck.when("now", now)
        with self._unit(write=True) as tx:
            removed = tx.run("DELETE FROM consumed WHERE expires_at <= ?", (when,)).rowcount
            removed += tx.run("DELETE FROM tickets WHERE expires_at <= ?", (when,)).rowcount
            removed += tx.run(
                "DELETE FROM refresh_tokens WHERE expires_at <= ?", (when - REFRESH_PURGE_GRACE,)
            ).rowcount
        return removed

    # -- lockout ---------------------------------------------------------------------------------
    def get_lockout(self, scope: str, key: str) -> LockoutRecord | None:
        ck.scope("scope", scope)
        ck.ident("key", key, 256)
        with self._unit(write=False) as tx:
            row = tx.one(
                "SELECT failures, locked_until, updated_at FROM lockouts"
                " WHERE scope = ? AND lock_key = ?",
                (scope, key),
            )
            if row is None and tx.write:
                tx.absent_lockouts.add((scope, key))
        return None if row is None else _lockout(scope, key, row)

    def record_failure(
        self,
        scope: str,
        key: str,
        *,
        now: float,
        lock_for: Callable[[int], float],
        max_keys: int | None = None,
    ) -> LockoutRecord:
        ck.scope("scope", scope)
        ck.ident("key", key, 256)
        when = ck.when("now", now)
        if not callable(lock_for):
            raise InvalidTypeError("lock_for", "a callable (failures -> seconds)", lock_for)
        if max_keys is not None:
            ck.count("max_keys", max_keys, 10**9)
            if max_keys < 1:
                raise InvalidParameterError("max_keys", "must be at least 1")
        with self._unit(write=True) as tx:
            tx.absent_lockouts.discard((scope, key))
            # One upsert: the row lock it takes serialises concurrent failures on this key.
            row = tx.one(
                "INSERT INTO lockouts (scope, lock_key, failures, locked_until, updated_at)"
                " VALUES (?, ?, 1, 0, ?) ON CONFLICT (scope, lock_key) DO UPDATE"
                " SET failures = lockouts.failures + 1, updated_at = excluded.updated_at"
                " RETURNING failures, locked_until, updated_at",
                (scope, key, when),
            )
            assert row is not None  # an upsert always returns its row
            failures = int(row[0])
            delay = lock_for(failures)
            if (
                isinstance(delay, bool)
                or not isinstance(delay, int | float)
                or not math.isfinite(delay)
                or delay < 0
            ):
                raise InvalidParameterError("lock_for", "must return finite seconds >= 0")
            if delay > 0:
                row = tx.one(
                    "UPDATE lockouts SET locked_until = ? WHERE scope = ? AND lock_key = ?"
                    " RETURNING failures, locked_until, updated_at",
                    (ck.when("locked_until", when + delay), scope, key),
                )
                assert row is not None
            if max_keys is not None and failures == 1:
                self._admit(tx, scope, key, max_keys)
        return _lockout(scope, key, row)

    @staticmethod
    def _admit(tx: Tx, scope: str, new_key: str, max_keys: int) -> None:
        """Count a new counter in its capped scope; drop the least recently updated beyond the
        cap. The same three statements at any size, under the cap or at it."""
        row = tx.one(
            "UPDATE lockouts SET failures = failures + 1 WHERE scope = ? AND lock_key = ?"
            " RETURNING failures",
            (scope, _CENSUS),
        )
        if row is None:  # the scope's first counter (or a table from before the census)
            row = (_count(tx, scope),)
            tx.run(
                "INSERT INTO lockouts (scope, lock_key, failures, locked_until, updated_at)"
                " VALUES (?, ?, ?, 0, 0)",
                (scope, _CENSUS, row[0]),
            )
        excess = max(0, int(row[0]) - max_keys)
        gone = tx.run(
            "DELETE FROM lockouts WHERE scope = ? AND lock_key IN (SELECT lock_key FROM"
            " lockouts WHERE scope = ? AND lock_key NOT IN (?, ?) ORDER BY updated_at"
            f" LIMIT {int(excess)})",
            (scope, scope, new_key, _CENSUS),
        ).rowcount
        if gone != excess:  # fewer rows than counted: the census drifted; count again
            tx.run(
                "UPDATE lockouts SET failures = ? WHERE scope = ? AND lock_key = ?",
                (_count(tx, scope), scope, _CENSUS),
            )
        else:
            tx.run(
                "UPDATE lockouts SET failures = failures - ? WHERE scope = ? AND lock_key = ?",
                (gone, scope, _CENSUS),
            )

    def reset_lockout(self, scope: str, key: str) -> None:
        ck.scope("scope", scope)
        ck.ident("key", key, 256)
        with self._unit(write=True) as tx:
            if (scope, key) in tx.absent_lockouts:
                return  # read in this unit and found absent: nothing to delete, nor to count
            done = tx.run("DELETE FROM lockouts WHERE scope = ? AND lock_key = ?", (scope, key))
            if done.rowcount:
                tx.run(
                    "UPDATE lockouts SET failures = failures - 1 WHERE scope = ? AND lock_key = ?",
                    (scope, _CENSUS),
                )

    # -- wrapped keys ----------------------------------------------------------------------------
    def put_key(self, key: WrappedKeyRecord) -> None:
        need("key", key, WrappedKeyRecord)
        with self._unit(write=True) as tx:
            done = tx.run(
                "INSERT INTO wrapped_keys (kind, key_id, wrapped, created_at, retired_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (key.kind, key.key_id, key.wrapped, key.created_at, key.retired_at),
            )
            if done.rowcount != 1:
                raise RecordExistsError("a key with this kind and id already exists")

    def get_key(self, kind: str, key_id: str) -> WrappedKeyRecord | None:
        ck.scope("kind", kind)
        ck.ident("key_id", key_id, 128)
        with self._unit(write=False) as tx:
            row = tx.one(
                "SELECT kind, key_id, wrapped, created_at, retired_at FROM wrapped_keys"
                " WHERE kind = ? AND key_id = ?",
                (kind, key_id),
            )
        return None if row is None else _key(row)

    def list_keys(self, kind: str, *, include_retired: bool = False) -> list[WrappedKeyRecord]:
        ck.scope("kind", kind)
        ck.boolean("include_retired", include_retired)
        live = "" if include_retired else " AND retired_at IS NULL"
        with self._unit(write=False) as tx:
            rows = tx.rows(
                "SELECT kind, key_id, wrapped, created_at, retired_at FROM wrapped_keys"
                f" WHERE kind = ?{live} ORDER BY created_at DESC, key_id DESC",
                (kind,),
            )
        return [_key(r) for r in rows]

    def retire_key(self, kind: str, key_id: str, *, now: float) -> bool:
        ck.scope("kind", kind)
        ck.ident("key_id", key_id, 128)
        when = ck.when("now", now)
        with self._unit(write=True) as tx:
            done = tx.run(
                "UPDATE wrapped_keys SET retired_at = ?"
                " WHERE kind = ? AND key_id = ? AND retired_at IS NULL",
                (when, kind, key_id),
            )
        return done.rowcount == 1

    # -- outbox ----------------------------------------------------------------------------------
    def append_outbox(self, message: OutboxRecord) -> int:
        need("message", message, OutboxRecord)
        with self._unit(write=True) as tx:
            row = tx.one(
                "INSERT INTO outbox (pool_id, user_sub, channel, destination, body, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING message_id",
                (
                    message.pool_id,
                    message.user_sub,
                    message.channel,
                    message.destination,
                    message.body,
                    message.created_at,
                ),
            )
        assert row is not None
        return int(row[0])

    def read_outbox(
        self, pool_id: str, *, user_sub: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[OutboxRecord]:
        ck.pool_id("pool_id", pool_id)
        ck.count("after_id", after_id)
        size = ck.count("limit", limit, 1000)
        sql = (
            "SELECT message_id, pool_id, user_sub, channel, destination, body, created_at"
            " FROM outbox WHERE pool_id = ? AND message_id > ?"
        )
        params: list[object] = [pool_id, after_id]
        if user_sub is not None:
            sql += " AND user_sub = ?"
            params.append(ck.ident("user_sub", user_sub, 128))
        with self._unit(write=False) as tx:
            rows = tx.rows(sql + f" ORDER BY message_id LIMIT {size}", params)
        return [_message(r) for r in rows]


def _lockout(scope: str, key: str, row: Row) -> LockoutRecord:
    return LockoutRecord(
        scope=scope,
        key=key,
        failures=int(row[0]),
        locked_until=float(row[1]),
        updated_at=float(row[2]),
    )
