"""Versioned migrations, one list for both dialects.

Each migration is a list of statements written once with type placeholders; a dialect renders
them (``{text}`` is ``TEXT`` on SQLite and ``TEXT COLLATE "C"`` on PostgreSQL, so ordering and
comparisons are bytewise on both). A migration, once released, never changes: add a new one.
Booleans are stored as 0/1 integers on both backends so that results are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DIALECT_TYPES", "MIGRATIONS", "Migration", "render"]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


DIALECT_TYPES: dict[str, dict[str, str]] = {
    "sqlite": {
        "text": "TEXT",
        "blob": "BLOB",
        "real": "REAL",
        "int": "INTEGER",
        "serial_pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
    },
    "postgresql": {
        "text": 'TEXT COLLATE "C"',
        "blob": "BYTEA",
        "real": "DOUBLE PRECISION",
        "int": "BIGINT",
        "serial_pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    },
}

# Kept separate from MIGRATIONS: the runner needs it before it can read a version.
BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version {int} PRIMARY KEY, name {text} NOT NULL, applied_at {real} NOT NULL)"
)

_V1 = (
    """CREATE TABLE pools (
        pool_id {text} PRIMARY KEY,
        name {text} NOT NULL,
        settings {text} NOT NULL,
        created_at {real} NOT NULL,
        modified_at {real} NOT NULL)""",
    """CREATE TABLE clients (
        client_id {text} PRIMARY KEY,
        pool_id {text} NOT NULL REFERENCES pools (pool_id),
        name {text} NOT NULL,
        secret {text},
        settings {text} NOT NULL,
        created_at {real} NOT NULL,
        modified_at {real} NOT NULL)""",
    "CREATE INDEX clients_by_pool ON clients (pool_id)",
    """CREATE TABLE users (
        pool_id {text} NOT NULL REFERENCES pools (pool_id),
        sub {text} NOT NULL,
        username {text} NOT NULL,
        username_norm {text} NOT NULL,
        email {text},
        email_search {text},
        attributes {text} NOT NULL,
        status {text} NOT NULL,
        enabled {int} NOT NULL CHECK (enabled IN (0, 1)),
        srp_salt {blob} NOT NULL,
        srp_verifier {blob} NOT NULL,
        totp_secret {blob},
        mfa {text} NOT NULL,
        created_at {real} NOT NULL,
        modified_at {real} NOT NULL,
        PRIMARY KEY (pool_id, sub),
        UNIQUE (pool_id, username_norm))""",
    "CREATE INDEX users_by_email ON users (pool_id, email_search)",
    """CREATE TABLE devices (
        pool_id {text} NOT NULL,
        device_key {text} NOT NULL,
        user_sub {text} NOT NULL,
        group_key {text} NOT NULL,
        salt {blob},
        verifier {blob},
        name {text},
        remembered {int} NOT NULL CHECK (remembered IN (0, 1)),
        confirmed {int} NOT NULL CHECK (confirmed IN (0, 1)),
        first_tracked_at {real} NOT NULL,
        last_modified_at {real} NOT NULL,
        last_authenticated_at {real},
        last_ip {text},
        sdk {text},
        PRIMARY KEY (pool_id, device_key),
        FOREIGN KEY (pool_id, user_sub) REFERENCES users (pool_id, sub),
        CHECK (confirmed = 0 OR (salt IS NOT NULL AND verifier IS NOT NULL)))""",
    "CREATE INDEX devices_by_user ON devices (pool_id, user_sub, first_tracked_at, device_key)",
    """CREATE TABLE refresh_tokens (
        token_hash {blob} PRIMARY KEY,
        pool_id {text} NOT NULL,
        client_id {text} NOT NULL REFERENCES clients (client_id),
        user_sub {text} NOT NULL,
        device_key {text},
        origin_jti {text} NOT NULL,
        created_at {real} NOT NULL,
        expires_at {real} NOT NULL,
        revoked {int} NOT NULL CHECK (revoked IN (0, 1)),
        FOREIGN KEY (pool_id, user_sub) REFERENCES users (pool_id, sub))""",
    "CREATE INDEX refresh_by_user ON refresh_tokens (pool_id, user_sub)",
    "CREATE INDEX refresh_by_device ON refresh_tokens (pool_id, device_key)",
    "CREATE INDEX refresh_by_client ON refresh_tokens (client_id)",
    """CREATE TABLE consumed (
        scope {text} NOT NULL,
        item {blob} NOT NULL,
        expires_at {real} NOT NULL,
        PRIMARY KEY (scope, item))""",
    "CREATE INDEX consumed_by_expiry ON consumed (expires_at)",
    """CREATE TABLE tickets (
        ticket_id {text} PRIMARY KEY,
        kind {text} NOT NULL,
        payload {text} NOT NULL,
        expires_at {real} NOT NULL)""",
    "CREATE INDEX tickets_by_expiry ON tickets (expires_at)",
    """CREATE TABLE lockouts (
        scope {text} NOT NULL,
        lock_key {text} NOT NULL,
        failures {int} NOT NULL,
        locked_until {real} NOT NULL,
        updated_at {real} NOT NULL,
        PRIMARY KEY (scope, lock_key))""",
    "CREATE INDEX lockouts_by_age ON lockouts (scope, updated_at)",
    """CREATE TABLE wrapped_keys (
        kind {text} NOT NULL,
        key_id {text} NOT NULL,
        wrapped {blob} NOT NULL,
        created_at {real} NOT NULL,
        retired_at {real},
        PRIMARY KEY (kind, key_id))""",
    """CREATE TABLE outbox (
        message_id {serial_pk},
        pool_id {text} NOT NULL,
        user_sub {text} NOT NULL,
        channel {text} NOT NULL,
        destination {text} NOT NULL,
        body {text} NOT NULL,
        created_at {real} NOT NULL)""",
    "CREATE INDEX outbox_by_pool ON outbox (pool_id, message_id)",
)

MIGRATIONS: tuple[Migration, ...] = (Migration(1, "initial schema", _V1),)


def render(statement: str, dialect: str) -> str:
    """The statement with this dialect's types filled in."""
    return statement.format(**DIALECT_TYPES[dialect])
