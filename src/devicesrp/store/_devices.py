"""Devices and refresh tokens on SQL (both dialects)."""

# SQL here is assembled only from constant column lists and validated integers; every value
# travels as a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import hmac
from typing import Any

from ..errors import DeviceKeyConflictError, RecordExistsError, RecordNotFoundError
from . import _checks as ck
from . import _paging
from ._base import Row, Tx
from ._identity import IdentityStore, need
from .contract import MAX_DEVICE_PAGE
from .records import ConfirmOutcome, DeviceConfirmation, DeviceRecord, Page, RefreshTokenRecord

_DEVICE_COLS = (
    "pool_id, device_key, user_sub, group_key, salt, verifier, name, remembered, confirmed,"
    " first_tracked_at, last_modified_at, last_authenticated_at, last_ip, sdk"
)
# The parents a refresh token needs, as the WHERE of a SELECT over ``clients c, users u``.
_PARENTS_OF_REFRESH = "c.client_id = ? AND u.pool_id = ? AND u.sub = ? AND c.pool_id = u.pool_id"
_REFRESH_COLS = (
    "token_hash, pool_id, client_id, user_sub, device_key, origin_jti, created_at, expires_at,"
    " revoked"
)


def _opt_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _device(row: Row) -> DeviceRecord:
    return DeviceRecord(
        pool_id=str(row[0]),
        device_key=str(row[1]),
        user_sub=str(row[2]),
        group_key=str(row[3]),
        salt=_opt_bytes(row[4]),
        verifier=_opt_bytes(row[5]),
        name=_opt_str(row[6]),
        remembered=bool(row[7]),
        confirmed=bool(row[8]),
        first_tracked_at=float(row[9]),
        last_modified_at=float(row[10]),
        last_authenticated_at=_opt_float(row[11]),
        last_ip=_opt_str(row[12]),
        sdk=_opt_str(row[13]),
    )


def _token(row: Row) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=bytes(row[0]),
        pool_id=str(row[1]),
        client_id=str(row[2]),
        user_sub=str(row[3]),
        device_key=_opt_str(row[4]),
        origin_jti=str(row[5]),
        created_at=float(row[6]),
        expires_at=float(row[7]),
        revoked=bool(row[8]),
    )


class DeviceStore(IdentityStore):
    """Devices and refresh tokens."""

    # -- devices ---------------------------------------------------------------------------------
    def issue_device(self, device: DeviceRecord) -> None:
        need("device", device, DeviceRecord)
        if device.confirmed:
            raise ck.bad("device", "an issued device is not confirmed yet")
        with self._unit(write=True) as tx:
            self._require_user(tx, device.pool_id, device.user_sub)
            done = tx.run(
                f"INSERT INTO devices ({_DEVICE_COLS})"
                " VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, 0, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    device.pool_id,
                    device.device_key,
                    device.user_sub,
                    device.group_key,
                    device.name,
                    int(device.remembered),
                    device.first_tracked_at,
                    device.last_modified_at,
                    device.last_authenticated_at,
                    device.last_ip,
                    device.sdk,
                ),
            )
            if done.rowcount != 1:
                raise RecordExistsError("the device key is already taken")

    def confirm_device(self, confirmation: DeviceConfirmation) -> ConfirmOutcome:
        c = confirmation
        need("confirmation", c, DeviceConfirmation)
        with self._unit(write=True) as tx:
            # 1. An issued, unconfirmed key of this user: one conditional UPDATE, so of many
            #    concurrent confirmations exactly one finds confirmed = 0.
            done = tx.run(
                "UPDATE devices SET salt = ?, verifier = ?, name = ?, remembered = ?,"
                " confirmed = 1, sdk = COALESCE(?, sdk), last_modified_at = ?"
                " WHERE pool_id = ? AND device_key = ? AND user_sub = ? AND group_key = ?"
                " AND confirmed = 0",
                (
                    c.salt,
                    c.verifier,
                    c.name,
                    int(c.remembered),
                    c.sdk,
                    c.now,
                    c.pool_id,
                    c.device_key,
                    c.user_sub,
                    c.group_key,
                ),
            )
            if done.rowcount == 1:
                return ConfirmOutcome.CONFIRMED
            # 2. A key never issued here: insert it confirmed, unless someone else holds it.
            self._require_user(tx, c.pool_id, c.user_sub)
            done = tx.run(
                f"INSERT INTO devices ({_DEVICE_COLS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, NULL, ?) ON CONFLICT DO NOTHING",
                (
                    c.pool_id,
                    c.device_key,
                    c.user_sub,
                    c.group_key,
                    c.salt,
                    c.verifier,
                    c.name,
                    int(c.remembered),
                    c.now,
                    c.now,
                    c.sdk,
                ),
            )
            if done.rowcount == 1:
                return ConfirmOutcome.CONFIRMED
            # 3. The key exists: an identical confirmation is a retry; anything else is refused.
            row = tx.one(
                "SELECT user_sub, group_key, salt, verifier, confirmed FROM devices"
                " WHERE pool_id = ? AND device_key = ?",
                (c.pool_id, c.device_key),
            )
        if (
            row is not None
            and row[0] == c.user_sub
            and row[1] == c.group_key
            and row[4] == 1
            and hmac.compare_digest(_opt_bytes(row[2]) or b"", c.salt)
            and hmac.compare_digest(_opt_bytes(row[3]) or b"", c.verifier)
        ):
            return ConfirmOutcome.ALREADY_CONFIRMED
        raise DeviceKeyConflictError("the device key is already confirmed with another verifier")

    def get_device(self, pool_id: str, device_key: str) -> DeviceRecord | None:
        ck.pool_id("pool_id", pool_id)
        ck.device_key("device_key", device_key)
        with self._unit(write=False) as tx:
            row = tx.one(
                f"SELECT {_DEVICE_COLS} FROM devices WHERE pool_id = ? AND device_key = ?",
                (pool_id, device_key),
            )
        return None if row is None else _device(row)

    def list_devices(
        self,
        pool_id: str,
        user_sub: str,
        *,
        remembered_only: bool,
        limit: int = 0,
        pagination_token: str | None = None,
    ) -> Page[DeviceRecord]:
        ck.pool_id("pool_id", pool_id)
        ck.ident("user_sub", user_sub, 128)
        ck.boolean("remembered_only", remembered_only)
        size = ck.limit("limit", limit, MAX_DEVICE_PAGE)
        where = "pool_id = ? AND user_sub = ? AND confirmed = 1"
        params: list[object] = [pool_id, user_sub]
        if remembered_only:
            where += " AND remembered = 1"
        if pagination_token is not None:
            after = _paging.decode("pagination_token", "devices", pagination_token, (float, str))
            where += " AND (first_tracked_at > ? OR (first_tracked_at = ? AND device_key > ?))"
            params += [after[0], after[0], after[1]]
        with self._unit(write=False) as tx:
            rows = tx.rows(
                f"SELECT {_DEVICE_COLS} FROM devices WHERE {where}"
                f" ORDER BY first_tracked_at, device_key LIMIT {size + 1}",
                params,
            )
        devices = [_device(r) for r in rows[:size]]
        token = None
        if len(rows) > size:
            last = devices[-1]
            token = _paging.encode("devices", [last.first_tracked_at, last.device_key])
        return Page(tuple(devices), token)

    def _forget(self, tx: Tx, pool_id: str, device_key: str) -> bool:
        key = (pool_id, device_key)
        # Delete first: it waits for any unit inserting a token for this device (which holds the
        # device row), so the revocation that follows sees that token too.
        gone = tx.run("DELETE FROM devices WHERE pool_id = ? AND device_key = ?", key).rowcount == 1
        tx.run("UPDATE refresh_tokens SET revoked = 1 WHERE pool_id = ? AND device_key = ?", key)
        return gone

    def forget_device(self, pool_id: str, device_key: str) -> bool:
        ck.pool_id("pool_id", pool_id)
        ck.device_key("device_key", device_key)
        with self._unit(write=True) as tx:
            return self._forget(tx, pool_id, device_key)

    def update_device_status(
        self, pool_id: str, device_key: str, *, remembered: bool, now: float
    ) -> bool:
        ck.pool_id("pool_id", pool_id)
        ck.device_key("device_key", device_key)
        ck.boolean("remembered", remembered)
        when = ck.when("now", now)
        with self._unit(write=True) as tx:
            done = tx.run(
                "UPDATE devices SET remembered = ?, last_modified_at = ?"
                " WHERE pool_id = ? AND device_key = ? AND confirmed = 1",
                (int(remembered), when, pool_id, device_key),
            )
        return done.rowcount == 1

    def touch_device(self, pool_id: str, device_key: str, *, now: float, ip: str | None) -> bool:
        ck.pool_id("pool_id", pool_id)
        ck.device_key("device_key", device_key)
        when = ck.when("now", now)
        if ip is not None:
            ck.ip("ip", ip)
        with self._unit(write=True) as tx:
            done = tx.run(
                "UPDATE devices SET last_authenticated_at = ?, last_ip = COALESCE(?, last_ip)"
                " WHERE pool_id = ? AND device_key = ? AND confirmed = 1",
                (when, ip, pool_id, device_key),
            )
        return done.rowcount == 1

    def count_remembered_devices(self, pool_id: str, user_sub: str) -> int:
        ck.pool_id("pool_id", pool_id)
        ck.ident("user_sub", user_sub, 128)
        with self._unit(write=False) as tx:
            if tx.write:
                self._lock_user(tx, pool_id, user_sub)
            row = tx.one(
                "SELECT COUNT(*) FROM devices WHERE pool_id = ? AND user_sub = ?"
                " AND confirmed = 1 AND remembered = 1",
                (pool_id, user_sub),
            )
        return int(row[0]) if row is not None else 0

    def _lock_user(self, tx: Tx, pool_id: str, user_sub: str) -> None:
        """Serialise cap decisions per user until the unit ends (see ``_locking``)."""
        if lock := self._locking(tx):
            tx.run("SELECT 1 FROM users WHERE pool_id = ? AND sub = ?" + lock, (pool_id, user_sub))

    def evict_remembered_devices(
        self, pool_id: str, user_sub: str, *, keep: int, protect: str | None, now: float
    ) -> list[str]:
        ck.pool_id("pool_id", pool_id)
        ck.ident("user_sub", user_sub, 128)
        ck.count("keep", keep, 10_000)
        if protect is not None:
            ck.device_key("protect", protect)
        ck.when("now", now)
        with self._unit(write=True) as tx:
            self._lock_user(tx, pool_id, user_sub)
            rows = tx.rows(
                "SELECT device_key FROM devices WHERE pool_id = ? AND user_sub = ?"
                " AND confirmed = 1 AND remembered = 1"
                " ORDER BY COALESCE(last_authenticated_at, first_tracked_at), device_key",
                (pool_id, user_sub),
            )
            keys = [str(r[0]) for r in rows]
            excess = len(keys) - keep
            victims = [k for k in keys if k != protect][: max(0, excess)]
            for device_key in victims:
                self._forget(tx, pool_id, device_key)
        return victims

    # -- refresh tokens --------------------------------------------------------------------------
    def insert_refresh_token(self, token: RefreshTokenRecord) -> None:
        need("token", token, RefreshTokenRecord)
        parents = (token.client_id, token.pool_id, token.user_sub)
        with self._unit(write=True) as tx:
            # The parent check is the INSERT's own SELECT: no row is inserted without the client
            # and the user (held on PostgreSQL as the foreign-key checks would hold them).
            done = tx.run(
                f"INSERT INTO refresh_tokens ({_REFRESH_COLS})"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? FROM clients c, users u"
                f" WHERE {_PARENTS_OF_REFRESH}{self._share()} ON CONFLICT DO NOTHING",
                (
                    token.token_hash,
                    token.pool_id,
                    token.client_id,
                    token.user_sub,
                    token.device_key,
                    token.origin_jti,
                    token.created_at,
                    token.expires_at,
                    int(token.revoked),
                    *parents,
                ),
            )
            if done.rowcount != 1:
                # Nothing inserted: a missing parent, or the hash exists (only this path asks).
                if tx.one(f"SELECT 1 FROM clients c, users u WHERE {_PARENTS_OF_REFRESH}", parents):
                    raise RecordExistsError("the refresh token already exists")
                raise RecordNotFoundError("no such app client or user")
            if token.device_key is not None and self.dialect == "postgresql":
                # Hold the device until commit (after the parents, the order every unit takes):
                # a concurrent forget then waits, and its revocation sees this token.
                tx.run(
                    "SELECT 1 FROM devices WHERE pool_id = ? AND device_key = ? FOR KEY SHARE",
                    (token.pool_id, token.device_key),
                )

    def get_refresh_token(self, token_hash: bytes) -> RefreshTokenRecord | None:
        ck.blob("token_hash", token_hash, 16, 64)
        with self._unit(write=False) as tx:
            row = tx.one(
                f"SELECT {_REFRESH_COLS} FROM refresh_tokens WHERE token_hash = ?", (token_hash,)
            )
        return None if row is None else _token(row)

    def revoke_refresh_token(self, token_hash: bytes) -> bool:
        ck.blob("token_hash", token_hash, 16, 64)
        with self._unit(write=True) as tx:
            done = tx.run(
                "UPDATE refresh_tokens SET revoked = 1 WHERE token_hash = ? AND revoked = 0",
                (token_hash,),
            )
        return done.rowcount == 1

    def revoke_refresh_tokens(
        self, pool_id: str, user_sub: str, *, origin_jti: str | None = None
    ) -> int:
        ck.pool_id("pool_id", pool_id)
        ck.ident("user_sub", user_sub, 128)
        sql = "UPDATE refresh_tokens SET revoked = 1 WHERE pool_id = ? AND user_sub = ?"
        params: list[object] = [pool_id, user_sub]
        if origin_jti is not None:
            sql += " AND origin_jti = ?"
            params.append(ck.ident("origin_jti", origin_jti, 128))
        with self._unit(write=True) as tx:
            return tx.run(sql + " AND revoked = 0", params).rowcount
