"""Pools, app clients and users on SQL (both dialects)."""

# SQL here is assembled only from constant column lists and validated integers; every value
# travels as a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from ..errors import InvalidTypeError, RecordExistsError, RecordNotFoundError
from . import _checks as ck
from . import _paging
from ._base import Engine, Row, SqlCore, Tx
from .contract import MAX_USER_PAGE
from .records import ClientRecord, Page, PoolRecord, UserRecord

_POOL_COLS = "pool_id, name, settings, created_at, modified_at"
_CLIENT_COLS = "client_id, pool_id, name, secret, settings, created_at, modified_at"
_USER_COLS = (
    "pool_id, sub, username, username_norm, email, attributes, status, enabled, srp_salt,"
    " srp_verifier, totp_secret, mfa, created_at, modified_at"
)


_CLIENT_FIELDS = _CLIENT_COLS.split(", ")
_CLIENT_JOINED = ", ".join("c." + c for c in _CLIENT_FIELDS)
_POOL_JOINED = ", ".join("p." + c for c in _POOL_COLS.split(", "))


def _pool(row: Row) -> PoolRecord:
    return PoolRecord(
        pool_id=str(row[0]),
        name=str(row[1]),
        settings=ck.load_json("settings", str(row[2])),
        created_at=float(row[3]),
        modified_at=float(row[4]),
    )


def _client(row: Row) -> ClientRecord:
    return ClientRecord(
        client_id=str(row[0]),
        pool_id=str(row[1]),
        name=str(row[2]),
        secret=None if row[3] is None else str(row[3]),
        settings=ck.load_json("settings", str(row[4])),
        created_at=float(row[5]),
        modified_at=float(row[6]),
    )


def user_from_row(row: Row) -> UserRecord:
    """A ``users`` row (``_USER_COLS`` order) as a record, with every check a read runs."""
    return UserRecord(
        pool_id=str(row[0]),
        sub=str(row[1]),
        username=str(row[2]),
        username_norm=str(row[3]),
        email=None if row[4] is None else str(row[4]),
        attributes=ck.load_json("attributes", str(row[5])),
        status=str(row[6]),
        enabled=bool(row[7]),
        srp_salt=bytes(row[8]),
        srp_verifier=bytes(row[9]),
        totp_secret=None if row[10] is None else bytes(row[10]),
        mfa=ck.load_json("mfa", str(row[11])),
        created_at=float(row[12]),
        modified_at=float(row[13]),
    )


def email_search(email: str | None) -> str | None:
    """The form e-mail prefixes are matched against (case-insensitive, Unicode-aware)."""
    return None if email is None else email.casefold()


def need(field: str, value: object, kind: type) -> None:
    if not isinstance(value, kind):
        raise InvalidTypeError(field, kind.__name__, value)


_DECODED_LIMIT = 1024  # client-with-pool rows kept decoded per store


class IdentityStore(SqlCore):
    """Pools, clients and users."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # Every sign-in request reads its app client and pool; the row is read each time (so an
        # update is seen at once), but decoding it (two JSON documents, every field check) is
        # done once per distinct row: the same stored values give the same immutable records.
        self._decoded_clients: dict[Row, tuple[ClientRecord, PoolRecord]] = {}

    def _locking(self, tx: Tx) -> str:
        """Inside a write unit on PostgreSQL, reads of a user row lock it until the unit ends, so
        read-modify-write units never lose an update (SQLite's write lock already serialises
        them). NO KEY: it does not block the key-share locks of foreign-key checks."""
        return " FOR NO KEY UPDATE" if tx.write and self.dialect == "postgresql" else ""

    def _share(self) -> str:
        """Checking a parent row before inserting a child: on PostgreSQL hold it the way the
        foreign-key check would, so the insert cannot fail on it. A failed statement would abort
        the whole PostgreSQL unit; a refusal decided here leaves the unit usable, as on SQLite."""
        return " FOR KEY SHARE" if self.dialect == "postgresql" else ""

    def _require_pool(self, tx: Tx, pool_id: str) -> None:
        if tx.one("SELECT 1 FROM pools WHERE pool_id = ?" + self._share(), (pool_id,)) is None:
            raise RecordNotFoundError("no such user pool")

    def _require_user(self, tx: Tx, pool_id: str, sub: str) -> None:
        sql = "SELECT 1 FROM users WHERE pool_id = ? AND sub = ?" + self._share()
        if tx.one(sql, (pool_id, sub)) is None:
            raise RecordNotFoundError("no such user")

    # -- pools -----------------------------------------------------------------------------------
    def create_pool(self, pool: PoolRecord) -> None:
        need("pool", pool, PoolRecord)
        with self._unit(write=True) as tx:
            done = tx.run(
                f"INSERT INTO pools ({_POOL_COLS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    pool.pool_id,
                    pool.name,
                    ck.dump_json("settings", pool.settings),
                    pool.created_at,
                    pool.modified_at,
                ),
            )
            if done.rowcount != 1:
                raise RecordExistsError("the user pool already exists")

    def get_pool(self, pool_id: str) -> PoolRecord | None:
        ck.pool_id("pool_id", pool_id)
        with self._unit(write=False) as tx:
            row = tx.one(f"SELECT {_POOL_COLS} FROM pools WHERE pool_id = ?", (pool_id,))
        return None if row is None else _pool(row)

    def update_pool(self, pool: PoolRecord) -> None:
        need("pool", pool, PoolRecord)
        with self._unit(write=True) as tx:
            done = tx.run(
                "UPDATE pools SET name = ?, settings = ?, modified_at = ? WHERE pool_id = ?",
                (
                    pool.name,
                    ck.dump_json("settings", pool.settings),
                    pool.modified_at,
                    pool.pool_id,
                ),
            )
            if done.rowcount != 1:
                raise RecordNotFoundError("no such user pool")

    def list_pools(self) -> list[PoolRecord]:
        with self._unit(write=False) as tx:
            rows = tx.rows(f"SELECT {_POOL_COLS} FROM pools ORDER BY pool_id")
        return [_pool(r) for r in rows]

    # -- app clients -----------------------------------------------------------------------------
    def create_client(self, client: ClientRecord) -> None:
        need("client", client, ClientRecord)
        with self._unit(write=True) as tx:
            self._require_pool(tx, client.pool_id)
            done = tx.run(
                f"INSERT INTO clients ({_CLIENT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    client.client_id,
                    client.pool_id,
                    client.name,
                    client.secret,
                    ck.dump_json("settings", client.settings),
                    client.created_at,
                    client.modified_at,
                ),
            )
            if done.rowcount != 1:
                raise RecordExistsError("the app client already exists")

    def get_client(self, client_id: str) -> ClientRecord | None:
        ck.client_id("client_id", client_id)
        with self._unit(write=False) as tx:
            row = tx.one(f"SELECT {_CLIENT_COLS} FROM clients WHERE client_id = ?", (client_id,))
        return None if row is None else _client(row)

    def get_client_with_pool(self, client_id: str) -> tuple[ClientRecord, PoolRecord] | None:
        ck.client_id("client_id", client_id)
        with self._unit(write=False) as tx:
            row = tx.one(
                f"SELECT {_CLIENT_JOINED}, {_POOL_JOINED} FROM clients c"
                " JOIN pools p ON p.pool_id = c.pool_id WHERE c.client_id = ?",
                (client_id,),
            )
        if row is None:
            return None
        row = tuple(row)
        decoded = self._decoded_clients.get(row)
        if decoded is None:
            width = len(_CLIENT_FIELDS)
            decoded = _client(row[:width]), _pool(row[width:])
            if len(self._decoded_clients) >= _DECODED_LIMIT:
                self._decoded_clients.clear()
            self._decoded_clients[row] = decoded
        return decoded

    def update_client(self, client: ClientRecord) -> None:
        need("client", client, ClientRecord)
        with self._unit(write=True) as tx:
            done = tx.run(
                "UPDATE clients SET name = ?, secret = ?, settings = ?, modified_at = ?"
                " WHERE client_id = ? AND pool_id = ?",
                (
                    client.name,
                    client.secret,
                    ck.dump_json("settings", client.settings),
                    client.modified_at,
                    client.client_id,
                    client.pool_id,
                ),
            )
            if done.rowcount != 1:
                raise RecordNotFoundError("no such app client in this pool")

    def list_clients(self, pool_id: str) -> list[ClientRecord]:
        ck.pool_id("pool_id", pool_id)
        with self._unit(write=False) as tx:
            rows = tx.rows(
                f"SELECT {_CLIENT_COLS} FROM clients WHERE pool_id = ? ORDER BY client_id",
                (pool_id,),
            )
        return [_client(r) for r in rows]

    def delete_client(self, client_id: str) -> bool:
        ck.client_id("client_id", client_id)
        with self._unit(write=True) as tx:
            if self.dialect == "postgresql":
                # Lock first: a token inserted meanwhile would otherwise fail the last DELETE.
                tx.run("SELECT 1 FROM clients WHERE client_id = ? FOR UPDATE", (client_id,))
            tx.run("DELETE FROM refresh_tokens WHERE client_id = ?", (client_id,))
            return tx.run("DELETE FROM clients WHERE client_id = ?", (client_id,)).rowcount == 1

    # -- users -----------------------------------------------------------------------------------
    def create_user(self, user: UserRecord) -> None:
        need("user", user, UserRecord)
        with self._unit(write=True) as tx:
            self._require_pool(tx, user.pool_id)
            done = tx.run(
                f"INSERT INTO users ({_USER_COLS}, email_search)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    user.pool_id,
                    user.sub,
                    user.username,
                    user.username_norm,
                    user.email,
                    ck.dump_json("attributes", user.attributes),
                    user.status,
                    int(user.enabled),
                    user.srp_salt,
                    user.srp_verifier,
                    user.totp_secret,
                    ck.dump_json("mfa", user.mfa),
                    user.created_at,
                    user.modified_at,
                    email_search(user.email),
                ),
            )
            if done.rowcount != 1:
                raise RecordExistsError("a user with this name or sub already exists in the pool")

    def get_user(self, pool_id: str, username_norm: str) -> UserRecord | None:
        ck.pool_id("pool_id", pool_id)
        ck.name("username_norm", username_norm)
        with self._unit(write=False) as tx:
            row = tx.one(
                f"SELECT {_USER_COLS} FROM users WHERE pool_id = ? AND username_norm = ?"
                + self._locking(tx),
                (pool_id, username_norm),
            )
        return None if row is None else user_from_row(row)

    def get_user_by_sub(self, pool_id: str, sub: str) -> UserRecord | None:
        ck.pool_id("pool_id", pool_id)
        ck.ident("sub", sub, 128)
        with self._unit(write=False) as tx:
            row = tx.one(
                f"SELECT {_USER_COLS} FROM users WHERE pool_id = ? AND sub = ?" + self._locking(tx),
                (pool_id, sub),
            )
        return None if row is None else user_from_row(row)

    def get_user_by_name_or_sub(
        self, pool_id: str, username_norm: str, sub: str
    ) -> tuple[UserRecord | None, UserRecord | None]:
        ck.pool_id("pool_id", pool_id)
        ck.name("username_norm", username_norm)
        ck.ident("sub", sub, 128)
        # One statement, two index lookups (the (pool_id, username_norm) unique index and the
        # (pool_id, sub) primary key): up to two rows, or one that matches both.
        with self._unit(write=False) as tx:
            rows = tx.rows(
                f"SELECT {_USER_COLS} FROM users"
                " WHERE pool_id = ? AND (username_norm = ? OR sub = ?)" + self._locking(tx),
                (pool_id, username_norm, sub),
            )
        by_name: UserRecord | None = None
        by_sub: UserRecord | None = None
        for row in rows:
            user = user_from_row(row)
            if user.username_norm == username_norm:
                by_name = user
            if user.sub == sub:
                by_sub = user
        return by_name, by_sub

    def list_users(
        self,
        pool_id: str,
        *,
        username_prefix: str | None = None,
        email_prefix: str | None = None,
        status: str | None = None,
        limit: int = 0,
        pagination_token: str | None = None,
    ) -> Page[UserRecord]:
        ck.pool_id("pool_id", pool_id)
        size = ck.limit("limit", limit, MAX_USER_PAGE)
        where: list[str] = ["pool_id = ?"]
        params: list[object] = [pool_id]
        # substr() counts characters on both backends, unlike LIKE, whose case rules differ.
        if username_prefix:
            ck.text("username_prefix", username_prefix, 128)
            where.append("substr(username_norm, 1, CAST(? AS INTEGER)) = ?")
            params += [len(username_prefix), username_prefix]
        if email_prefix:
            ck.text("email_prefix", email_prefix, 320)
            folded = email_prefix.casefold()
            where.append("substr(email_search, 1, CAST(? AS INTEGER)) = ?")
            params += [len(folded), folded]
        if status is not None:
            where.append("status = ?")
            params.append(ck.status("status", status))
        if pagination_token is not None:
            (after,) = _paging.decode("pagination_token", "users", pagination_token, (str,))
            where.append("username_norm > ?")
            params.append(str(after))
        with self._unit(write=False) as tx:
            rows = tx.rows(
                f"SELECT {_USER_COLS} FROM users WHERE {' AND '.join(where)}"
                f" ORDER BY username_norm LIMIT {size + 1}",
                params,
            )
        users = [user_from_row(r) for r in rows[:size]]
        more = len(rows) > size
        token = _paging.encode("users", [users[-1].username_norm]) if more else None
        return Page(tuple(users), token)

    def update_user(self, user: UserRecord) -> None:
        need("user", user, UserRecord)
        with self._unit(write=True) as tx:
            done = tx.run(
                "UPDATE users SET email = ?, email_search = ?, attributes = ?, status = ?,"
                " enabled = ?, srp_salt = ?, srp_verifier = ?, totp_secret = ?, mfa = ?,"
                " modified_at = ? WHERE pool_id = ? AND sub = ? AND username_norm = ?",
                (
                    user.email,
                    email_search(user.email),
                    ck.dump_json("attributes", user.attributes),
                    user.status,
                    int(user.enabled),
                    user.srp_salt,
                    user.srp_verifier,
                    user.totp_secret,
                    ck.dump_json("mfa", user.mfa),
                    user.modified_at,
                    user.pool_id,
                    user.sub,
                    user.username_norm,
                ),
            )
            if done.rowcount != 1:
                raise RecordNotFoundError("no such user")

    def delete_user(self, pool_id: str, sub: str) -> bool:
        ck.pool_id("pool_id", pool_id)
        ck.ident("sub", sub, 128)
        with self._unit(write=True) as tx:
            key = (pool_id, sub)
            if self.dialect == "postgresql":
                # The user row first, as every unit that locks a user does: no lock-order deadlock
                # with a concurrent ConfirmDevice (user, then device).
                tx.run("SELECT 1 FROM users WHERE pool_id = ? AND sub = ? FOR UPDATE", key)
            tx.run("DELETE FROM refresh_tokens WHERE pool_id = ? AND user_sub = ?", key)
            tx.run("DELETE FROM devices WHERE pool_id = ? AND user_sub = ?", key)
            return tx.run("DELETE FROM users WHERE pool_id = ? AND sub = ?", key).rowcount == 1
