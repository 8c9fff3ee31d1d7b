"""Helpers for tests of the store and of the layers above it: record factories and table dumps.

Not used by the service itself. Values are deterministic functions of their arguments so that two
runs (or two backends) build identical records.
"""

from __future__ import annotations

import hashlib
import uuid

from ._base import Row, SqlCore
from .records import (
    ClientRecord,
    DeviceConfirmation,
    DeviceRecord,
    PoolRecord,
    RefreshTokenRecord,
    UserRecord,
)

__all__ = [
    "TABLES",
    "client",
    "confirmation",
    "device_key",
    "dump",
    "issued_device",
    "pool",
    "refresh_token",
    "user",
]

#: Every table of the schema, in an order that respects foreign keys for inserts.
TABLES = (
    "pools",
    "clients",
    "users",
    "devices",
    "refresh_tokens",
    "consumed",
    "tickets",
    "lockouts",
    "wrapped_keys",
    "outbox",
)

POOL = "us-east-1_Test1"
CLIENT = "client1"


def _bytes(label: str, n: int, size: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}:{n}:{counter}".encode()).digest()
        counter += 1
    return out[:size]


def pool(pool_id: str = POOL, *, now: float = 1_700_000_000.0) -> PoolRecord:
    return PoolRecord(pool_id, "test pool", {"devices": {"remember": "always"}}, now, now)


def client(
    client_id: str = CLIENT, pool_id: str = POOL, *, now: float = 1_700_000_000.0
) -> ClientRecord:
    return ClientRecord(client_id, pool_id, "test client", "s3cret", {"flows": ["srp"]}, now, now)


def user(n: int = 1, pool_id: str = POOL, *, now: float = 1_700_000_000.0) -> UserRecord:
    return UserRecord(
        pool_id=pool_id,
        sub=str(uuid.UUID(bytes=_bytes("sub", n, 16))),
        username=f"User{n:04d}",
        username_norm=f"user{n:04d}",
        email=f"User{n:04d}@Example.com",
        attributes={"given_name": f"U{n}"},
        status="CONFIRMED",
        enabled=True,
        srp_salt=_bytes("salt", n, 16),
        srp_verifier=_bytes("verifier", n, 384),
        totp_secret=None,
        mfa={"preferred": None},
        created_at=now,
        modified_at=now,
    )


def device_key(n: int, region: str = "us-east-1") -> str:
    return f"{region}_{uuid.UUID(bytes=_bytes('device', n, 16))}"


def confirmation(
    n: int,
    user_sub: str,
    pool_id: str = POOL,
    *,
    variant: int = 0,
    remembered: bool = True,
    now: float = 1_700_000_100.0,
) -> DeviceConfirmation:
    """ConfirmDevice for device ``n``; another ``variant`` gives another verifier for the key."""
    return DeviceConfirmation(
        pool_id=pool_id,
        device_key=device_key(n),
        user_sub=user_sub,
        group_key=f"-group{n}",
        salt=_bytes(f"dsalt{variant}", n, 16),
        verifier=_bytes(f"dverifier{variant}", n, 384),
        name=f"device {n}",
        remembered=remembered,
        sdk="devicesrp-tests",
        now=now,
    )


def issued_device(
    n: int, user_sub: str, pool_id: str = POOL, *, now: float = 1_700_000_050.0
) -> DeviceRecord:
    return DeviceRecord(
        pool_id=pool_id,
        device_key=device_key(n),
        user_sub=user_sub,
        group_key=f"-group{n}",
        salt=None,
        verifier=None,
        name=None,
        remembered=False,
        confirmed=False,
        first_tracked_at=now,
        last_modified_at=now,
        last_authenticated_at=None,
        last_ip=None,
        sdk=None,
    )


def refresh_token(
    n: int,
    user_sub: str,
    *,
    device: str | None = None,
    pool_id: str = POOL,
    client_id: str = CLIENT,
    now: float = 1_700_000_200.0,
) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=_bytes("token", n, 32),
        pool_id=pool_id,
        client_id=client_id,
        user_sub=user_sub,
        device_key=device,
        origin_jti=f"jti-{n}",
        created_at=now,
        expires_at=now + 30 * 86400,
    )


def dump(store: SqlCore) -> dict[str, list[Row]]:
    """Every row of every table, sorted: equal dumps mean equal stored state."""
    out: dict[str, list[Row]] = {}
    with store._unit(write=False) as tx:
        for table in TABLES:
            rows = tx.rows(f"SELECT * FROM {table}")  # noqa: S608 (constant table names)
            out[table] = sorted((tuple(_plain(v) for v in r) for r in rows), key=repr)
    return out


def _plain(value: object) -> object:
    return bytes(value) if isinstance(value, memoryview | bytearray) else value
