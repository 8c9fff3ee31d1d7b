"""The values the store keeps: frozen dataclasses, validated on construction.

Times are epoch seconds as ``float`` (what Cognito puts on the wire); the store never reads the
clock, every ``now`` is an argument. Secrets (verifiers, wrapped keys, client secrets, codes) are
kept out of ``repr``. Bytes are opaque to the store: a verifier is stored exactly as the client
sent it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from . import _checks as ck

__all__ = [
    "ClientRecord",
    "ConfirmOutcome",
    "DeviceConfirmation",
    "DeviceRecord",
    "LockoutRecord",
    "OutboxRecord",
    "Page",
    "PoolRecord",
    "RefreshTokenRecord",
    "TicketRecord",
    "UserRecord",
    "WrappedKeyRecord",
]

T = TypeVar("T")

#: Free-form JSON objects (pool and client settings, user attributes, MFA preferences).
JsonObject = Mapping[str, Any]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_token`` is opaque, ``None`` on the last page."""

    items: tuple[T, ...]
    next_token: str | None


@dataclass(frozen=True)
class PoolRecord:
    """A user pool: its id (``<region>_<alnum>``) and its settings as one JSON document."""

    pool_id: str
    name: str
    settings: JsonObject
    created_at: float
    modified_at: float

    def __post_init__(self) -> None:
        ck.pool_id("pool_id", self.pool_id)
        ck.text("name", self.name, 128, allow_empty=True)
        ck.set_frozen(self, "settings", ck.json_object("settings", self.settings))
        ck.set_frozen(self, "created_at", ck.when("created_at", self.created_at))
        ck.set_frozen(self, "modified_at", ck.when("modified_at", self.modified_at))


@dataclass(frozen=True)
class ClientRecord:
    """An app client of one pool, with an optional secret (for SECRET_HASH)."""

    client_id: str
    pool_id: str
    name: str
    secret: str | None = field(repr=False)
    settings: JsonObject
    created_at: float
    modified_at: float

    def __post_init__(self) -> None:
        ck.client_id("client_id", self.client_id)
        ck.pool_id("pool_id", self.pool_id)
        ck.text("name", self.name, 128, allow_empty=True)
        if self.secret is not None:
            ck.text("secret", self.secret, 512)
        ck.set_frozen(self, "settings", ck.json_object("settings", self.settings))
        ck.set_frozen(self, "created_at", ck.when("created_at", self.created_at))
        ck.set_frozen(self, "modified_at", ck.when("modified_at", self.modified_at))


@dataclass(frozen=True)
class UserRecord:
    """A user of one pool.

    ``username_norm`` is the lookup form the domain chose (case-folded or verbatim, per pool); it is
    unique per pool, as is ``sub``. ``srp_salt``/``srp_verifier`` are the password verifier;
    ``totp_secret`` is wrapped by the domain before it gets here.
    """

    pool_id: str
    sub: str
    username: str
    username_norm: str
    email: str | None
    attributes: JsonObject
    status: str
    enabled: bool
    srp_salt: bytes = field(repr=False)
    srp_verifier: bytes = field(repr=False)
    totp_secret: bytes | None = field(repr=False)
    mfa: JsonObject
    created_at: float
    modified_at: float

    def __post_init__(self) -> None:
        ck.pool_id("pool_id", self.pool_id)
        ck.ident("sub", self.sub, 128)
        ck.name("username", self.username)
        ck.name("username_norm", self.username_norm)
        if self.email is not None:
            ck.name("email", self.email, 320)
        ck.set_frozen(self, "attributes", ck.json_object("attributes", self.attributes))
        ck.status("status", self.status)
        ck.boolean("enabled", self.enabled)
        ck.blob("srp_salt", self.srp_salt, 1, ck.MAX_SALT)
        ck.blob("srp_verifier", self.srp_verifier, 1, ck.MAX_VERIFIER)
        if self.totp_secret is not None:
            ck.blob("totp_secret", self.totp_secret, 1, ck.MAX_WRAPPED)
        ck.set_frozen(self, "mfa", ck.json_object("mfa", self.mfa))
        ck.set_frozen(self, "created_at", ck.when("created_at", self.created_at))
        ck.set_frozen(self, "modified_at", ck.when("modified_at", self.modified_at))


@dataclass(frozen=True)
class DeviceRecord:
    """A tracked device (``<region>_<uuid>``) of one user.

    An issued but not yet confirmed device has ``confirmed=False`` and no salt or verifier; a
    confirmed device's salt and verifier never change.
    """

    pool_id: str
    device_key: str
    user_sub: str
    group_key: str
    salt: bytes | None = field(repr=False)
    verifier: bytes | None = field(repr=False)
    name: str | None
    remembered: bool
    confirmed: bool
    first_tracked_at: float
    last_modified_at: float
    last_authenticated_at: float | None
    last_ip: str | None
    sdk: str | None

    def __post_init__(self) -> None:
        ck.pool_id("pool_id", self.pool_id)
        ck.device_key("device_key", self.device_key)
        ck.ident("user_sub", self.user_sub, 128)
        ck.group_key("group_key", self.group_key)
        ck.boolean("remembered", self.remembered)
        ck.boolean("confirmed", self.confirmed)
        if self.confirmed:
            ck.blob("salt", self.salt, 1, ck.MAX_SALT)
            ck.blob("verifier", self.verifier, 1, ck.MAX_VERIFIER)
        elif self.salt is not None or self.verifier is not None:
            raise ck.bad("verifier", "an unconfirmed device has no salt or verifier")
        if self.name is not None:
            ck.text("name", self.name, 1024)
        ck.set_frozen(self, "first_tracked_at", ck.when("first_tracked_at", self.first_tracked_at))
        ck.set_frozen(self, "last_modified_at", ck.when("last_modified_at", self.last_modified_at))
        if self.last_authenticated_at is not None:
            value = ck.when("last_authenticated_at", self.last_authenticated_at)
            ck.set_frozen(self, "last_authenticated_at", value)
        if self.last_ip is not None:
            ck.ip("last_ip", self.last_ip)
        if self.sdk is not None:
            ck.text("sdk", self.sdk, 256)


@dataclass(frozen=True)
class DeviceConfirmation:
    """What ConfirmDevice asks the store to record for ``device_key``.

    Salt and verifier are the client's bytes, verbatim (Cognito reproduces SALT as their hex).
    """

    pool_id: str
    device_key: str
    user_sub: str
    group_key: str
    salt: bytes = field(repr=False)
    verifier: bytes = field(repr=False)
    name: str | None
    remembered: bool
    sdk: str | None
    now: float

    def __post_init__(self) -> None:
        ck.pool_id("pool_id", self.pool_id)
        ck.device_key("device_key", self.device_key)
        ck.ident("user_sub", self.user_sub, 128)
        ck.group_key("group_key", self.group_key)
        ck.blob("salt", self.salt, 1, ck.MAX_SALT)
        ck.blob("verifier", self.verifier, 1, ck.MAX_VERIFIER)
        if self.name is not None:
            ck.text("name", self.name, 1024)
        ck.boolean("remembered", self.remembered)
        if self.sdk is not None:
            ck.text("sdk", self.sdk, 256)
        ck.set_frozen(self, "now", ck.when("now", self.now))


class ConfirmOutcome(enum.Enum):
    """What ``confirm_device`` did. A conflicting verifier raises ``DeviceKeyConflictError``."""

    CONFIRMED = "confirmed"  # this call confirmed the device
    ALREADY_CONFIRMED = "already_confirmed"  # identical retry: same user, salt and verifier


@dataclass(frozen=True)
class RefreshTokenRecord:
    """A refresh token, kept only as its hash, bound to user, client and (optionally) device."""

    token_hash: bytes
    pool_id: str
    client_id: str
    user_sub: str
    device_key: str | None
    origin_jti: str
    created_at: float
    expires_at: float
    revoked: bool = False

    def __post_init__(self) -> None:
        ck.blob("token_hash", self.token_hash, 16, 64)
        ck.pool_id("pool_id", self.pool_id)
        ck.client_id("client_id", self.client_id)
        ck.ident("user_sub", self.user_sub, 128)
        if self.device_key is not None:
            ck.device_key("device_key", self.device_key)
        ck.ident("origin_jti", self.origin_jti, 128)
        ck.set_frozen(self, "created_at", ck.when("created_at", self.created_at))
        ck.set_frozen(self, "expires_at", ck.when("expires_at", self.expires_at))
        ck.boolean("revoked", self.revoked)


@dataclass(frozen=True)
class TicketRecord:
    """A one-time ticket (e.g. the 60-second pycognito device ticket), taken at most once."""

    ticket_id: str
    kind: str
    payload: JsonObject
    expires_at: float

    def __post_init__(self) -> None:
        ck.ident("ticket_id", self.ticket_id, 256)
        ck.scope("kind", self.kind)
        ck.set_frozen(self, "payload", ck.json_object("payload", self.payload))
        ck.set_frozen(self, "expires_at", ck.when("expires_at", self.expires_at))


@dataclass(frozen=True)
class LockoutRecord:
    """Consecutive failures under one key (a user, or an HMAC of an unknown name) in a scope."""

    scope: str
    key: str
    failures: int
    locked_until: float
    updated_at: float

    def __post_init__(self) -> None:
        ck.scope("scope", self.scope)
        ck.ident("key", self.key, 256)
        ck.count("failures", self.failures)
        ck.set_frozen(self, "locked_until", ck.when("locked_until", self.locked_until))
        ck.set_frozen(self, "updated_at", ck.when("updated_at", self.updated_at))


@dataclass(frozen=True)
class WrappedKeyRecord:
    """A key at rest, wrapped by the domain's KEK; ``retired_at`` set once it stops being used."""

    kind: str
    key_id: str
    wrapped: bytes = field(repr=False)
    created_at: float
    retired_at: float | None = None

    def __post_init__(self) -> None:
        ck.scope("kind", self.kind)
        ck.ident("key_id", self.key_id, 128)
        ck.blob("wrapped", self.wrapped, 1, ck.MAX_WRAPPED)
        ck.set_frozen(self, "created_at", ck.when("created_at", self.created_at))
        if self.retired_at is not None:
            ck.set_frozen(self, "retired_at", ck.when("retired_at", self.retired_at))


@dataclass(frozen=True)
class OutboxRecord:
    """An SMS or email the service would send (codes included): the simulator's outbox.

    ``message_id`` is assigned by the store (increasing); pass ``0`` when appending.
    """

    pool_id: str
    user_sub: str
    channel: str
    destination: str = field(repr=False)
    body: str = field(repr=False)
    created_at: float
    message_id: int = 0

    def __post_init__(self) -> None:
        ck.pool_id("pool_id", self.pool_id)
        ck.ident("user_sub", self.user_sub, 128)
        if self.channel not in ("sms", "email"):
            raise ck.bad("channel", "must be 'sms' or 'email'")
        ck.text("destination", self.destination, 320)
        ck.text("body", self.body, 4096)
        ck.set_frozen(self, "created_at", ck.when("created_at", self.created_at))
        ck.count("message_id", self.message_id)
