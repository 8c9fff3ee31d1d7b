"""The storage contract: what every backend (SQLite, PostgreSQL) does, identically.

Each method is atomic on its own. ``with store.transaction():`` groups several calls into one unit
of work (all or nothing); calls made inside it, in the same thread, join it. Lookups return ``None``
when nothing matches; creating what exists raises ``RecordExistsError``; updating what does not
exist raises ``RecordNotFoundError``; bad arguments raise ``InvalidParameterError`` /
``InvalidTypeError`` before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

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

__all__ = ["MAX_DEVICE_PAGE", "MAX_USER_PAGE", "Store"]

R = TypeVar("R")

MAX_DEVICE_PAGE = 60  # ListDevices Limit 0..60 (0 means 60)
MAX_USER_PAGE = 60  # ListUsers Limit 0..60 (0 means 60)


class Store(Protocol):
    """Persistence for the identity-provider domain."""

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """One unit of work: commits when the block ends, rolls back if it raises. Nested, it is
        a savepoint: an inner block that raises undoes only its own writes."""
        ...

    def run_unit(self, work: Callable[[], R], *, attempts: int = 3) -> R:
        """``work()`` in ``transaction()``, retried from the start when it collided with another
        unit (``StoreCollisionError``: a PostgreSQL deadlock or serialisation failure)."""
        ...

    def schema_version(self) -> int:
        """The highest migration applied."""
        ...

    # -- pools and app clients -------------------------------------------------------------------
    def create_pool(self, pool: PoolRecord) -> None: ...

    def get_pool(self, pool_id: str) -> PoolRecord | None: ...

    def update_pool(self, pool: PoolRecord) -> None:
        """Replace name, settings and modified_at (created_at is kept)."""
        ...

    def list_pools(self) -> list[PoolRecord]: ...

    def create_client(self, client: ClientRecord) -> None:
        """The pool must exist (``RecordNotFoundError`` otherwise)."""
        ...

    def get_client(self, client_id: str) -> ClientRecord | None: ...

    def get_client_with_pool(self, client_id: str) -> tuple[ClientRecord, PoolRecord] | None:
        """The app client and its pool in one read (what every request of a client needs);
        ``None`` for an unknown client."""
        ...

    def update_client(self, client: ClientRecord) -> None:
        """Replace name, secret, settings and modified_at."""
        ...

    def list_clients(self, pool_id: str) -> list[ClientRecord]: ...

    def delete_client(self, client_id: str) -> bool:
        """Delete the client and its refresh tokens; ``False`` if it did not exist."""
        ...

    # -- users -----------------------------------------------------------------------------------
    def create_user(self, user: UserRecord) -> None:
        """``RecordExistsError`` if the pool already has this ``username_norm`` or ``sub``."""
        ...

    def get_user(self, pool_id: str, username_norm: str) -> UserRecord | None:
        """Inside ``transaction()`` the user stays locked until the unit ends (PostgreSQL row
        lock; SQLite's write lock), so a read-modify-write of a user is never lost."""
        ...

    def get_user_by_sub(self, pool_id: str, sub: str) -> UserRecord | None:
        """Locks like ``get_user`` inside ``transaction()``."""
        ...

    def get_user_by_name_or_sub(
        self, pool_id: str, username_norm: str, sub: str
    ) -> tuple[UserRecord | None, UserRecord | None]:
        """``(get_user(pool_id, username_norm), get_user_by_sub(pool_id, sub))`` in one statement
        (both lookups always run, whichever hits); locks what it finds like ``get_user``."""
        ...

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
        """Users ordered by ``username_norm``; prefixes match ``username_norm`` verbatim and the
        e-mail case-insensitively (ASCII and Unicode, via Python's ``casefold``)."""
        ...

    def update_user(self, user: UserRecord) -> None:
        """Replace every field but pool, sub, username, username_norm and created_at."""
        ...

    def delete_user(self, pool_id: str, sub: str) -> bool:
        """Delete the user, its devices and its refresh tokens at once."""
        ...

    # -- devices ---------------------------------------------------------------------------------
    def issue_device(self, device: DeviceRecord) -> None:
        """Record a key handed out as NewDeviceMetadata (unconfirmed); ``RecordExistsError`` if
        the key is taken."""
        ...

    def confirm_device(self, confirmation: DeviceConfirmation) -> ConfirmOutcome:
        """ConfirmDevice at the store level, race-safe:

        - an issued, unconfirmed key of the same user (or an unknown key) becomes confirmed with
          this salt and verifier -> ``CONFIRMED``;
        - a confirmed key with the same user, salt and verifier -> ``ALREADY_CONFIRMED`` (nothing
          changes; identical retries and concurrent duplicates land here);
        - a confirmed key with another verifier or salt, or a key of another user ->
          ``DeviceKeyConflictError``; the stored verifier is never overwritten.
        """
        ...

    def get_device(self, pool_id: str, device_key: str) -> DeviceRecord | None: ...

    def list_devices(
        self,
        pool_id: str,
        user_sub: str,
        *,
        remembered_only: bool,
        limit: int = 0,
        pagination_token: str | None = None,
    ) -> Page[DeviceRecord]:
        """Confirmed devices of one user, oldest first; ``limit`` 0..60 (0 means 60)."""
        ...

    def forget_device(self, pool_id: str, device_key: str) -> bool:
        """Delete the device and revoke the refresh tokens bound to it; ``False`` if unknown."""
        ...

    def update_device_status(
        self, pool_id: str, device_key: str, *, remembered: bool, now: float
    ) -> bool:
        """Set remembered / not remembered on a confirmed device; ``False`` if none such."""
        ...

    def touch_device(self, pool_id: str, device_key: str, *, now: float, ip: str | None) -> bool:
        """Record a successful device authentication (last authenticated time, last IP)."""
        ...

    def count_remembered_devices(self, pool_id: str, user_sub: str) -> int:
        """Remembered, confirmed devices of the user. Inside ``transaction()`` it also holds the
        user's cap decision until the unit ends (on PostgreSQL a row lock on the user), so
        count-then-evict-or-refuse cannot be raced by a concurrent unit for the same user."""
        ...

    def evict_remembered_devices(
        self, pool_id: str, user_sub: str, *, keep: int, protect: str | None, now: float
    ) -> list[str]:
        """Atomically forget the least recently authenticated remembered devices of the user until
        at most ``keep`` remain (never ``protect``); returns the forgotten keys, oldest first."""
        ...

    # -- refresh tokens --------------------------------------------------------------------------
    def insert_refresh_token(self, token: RefreshTokenRecord) -> None:
        """Store a token (``RecordExistsError`` if its hash exists; ``RecordNotFoundError`` for an
        unknown client or user). A concurrent ``forget_device`` of its device waits for it and
        revokes it; a device that is already gone is not checked here: the domain checks it in
        the same unit."""
        ...

    def get_refresh_token(self, token_hash: bytes) -> RefreshTokenRecord | None: ...

    def revoke_refresh_token(self, token_hash: bytes) -> bool:
        """Mark one token revoked; ``True`` if it existed and was not yet revoked."""
        ...

    def revoke_refresh_tokens(
        self, pool_id: str, user_sub: str, *, origin_jti: str | None = None
    ) -> int:
        """Revoke every live token of the user (or only those of one ``origin_jti``)."""
        ...

    # -- single use, tickets ---------------------------------------------------------------------
    def consume_once(self, scope: str, key: bytes, *, expires_at: float) -> bool:
        """Mark ``key`` used in ``scope`` (challenge ids, session steps, SigV4 signatures): ``True``
        for exactly one caller, ever, until ``purge_expired`` passes ``expires_at``. One atomic
        statement. The caller must refuse the item itself once it expires."""
        ...

    def put_ticket(self, ticket: TicketRecord) -> None:
        """Store (or replace) a one-time ticket."""
        ...

    def take_ticket(self, ticket_id: str, *, kind: str, now: float) -> TicketRecord | None:
        """Remove and return the ticket if it exists, has this kind and ``now < expires_at``; one
        atomic statement, so at most one caller ever gets it."""
        ...

    def purge_expired(self, *, now: float) -> int:
        """Drop used ids, tickets and replay entries whose ``expires_at <= now``, and refresh tokens
        expired a day before ``now``; returns the rows removed."""
        ...

    # -- lockout ---------------------------------------------------------------------------------
    def get_lockout(self, scope: str, key: str) -> LockoutRecord | None: ...

    def record_failure(
        self,
        scope: str,
        key: str,
        *,
        now: float,
        lock_for: Callable[[int], float],
        max_keys: int | None = None,
    ) -> LockoutRecord:
        """Add one failure atomically (increments are never lost under concurrency) and set
        ``locked_until = now + lock_for(failures)`` when that is positive. With ``max_keys``, the
        scope is a bounded table: adding a key beyond it drops the least recently updated keys."""
        ...

    def reset_lockout(self, scope: str, key: str) -> None:
        """Delete the counter. Inside a unit whose ``get_lockout`` of this counter found none
        (and that has not counted a failure on it since), nothing is run: there is no row to
        delete. On PostgreSQL a row another unit adds meanwhile is then kept, as if it came
        after this unit."""
        ...

    # -- wrapped keys ----------------------------------------------------------------------------
    def put_key(self, key: WrappedKeyRecord) -> None:
        """``RecordExistsError`` if (kind, key_id) exists: wrapped keys are never overwritten."""
        ...

    def get_key(self, kind: str, key_id: str) -> WrappedKeyRecord | None: ...

    def list_keys(self, kind: str, *, include_retired: bool = False) -> list[WrappedKeyRecord]:
        """Keys of a kind, newest first."""
        ...

    def retire_key(self, kind: str, key_id: str, *, now: float) -> bool: ...

    # -- outbox ----------------------------------------------------------------------------------
    def append_outbox(self, message: OutboxRecord) -> int:
        """Append a message; returns its ``message_id`` (increasing)."""
        ...

    def read_outbox(
        self, pool_id: str, *, user_sub: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[OutboxRecord]:
        """Messages with ``message_id > after_id``, oldest first (at most ``limit``, <= 1000).
        On PostgreSQL ids are drawn before commit, so a concurrent append may commit a smaller id
        later: readers that poll with ``after_id`` should tolerate that (it is a test outbox)."""
        ...
