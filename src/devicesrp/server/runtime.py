"""What every operation of the domain works with: the store, the keys, the clock and randomness.

``Runtime`` is built once per process. ``clock`` and ``random_bytes`` are injected so that tests
drive lockout backoff, challenge expiry and TOTP steps with a fake clock; :func:`live_runtime`
fills them from the system clock and :mod:`secrets`.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..protocol import ServerEngine
from ..protocol.server import DEFAULT_TIMESTAMP_SKEW
from ..store.contract import Store
from ..store.records import ClientRecord, PoolRecord
from .config import (
    AppClient,
    DeviceCapMode,
    DeviceConfiguration,
    MfaConfiguration,
    MfaMode,
    PasswordPolicy,
    PoolSettings,
    TokenLifetimes,
    UsernameMode,
)
from .errors import ResourceNotFoundError
from .kek import Kek
from .lockout import LockoutPolicy
from .memo import BuiltFrom
from .sender import CodeSender, OutboxSender
from .session import SessionSealer
from .tokens import TokenIssuer
from .vault import KeyVault

__all__ = ["Runtime", "live_runtime", "settings_from_json", "settings_to_json"]

_BUILT_LIMIT = 4096  # engines, sealers, issuers and decoded app clients kept per process


def _system_clock() -> float:
    return time.time()


@dataclass
class Runtime:
    """The domain's dependencies. Not frozen: it caches the key vault's views."""

    store: Store
    kek: Kek = field(repr=False)
    issuer_base: str = "http://127.0.0.1"
    clock: Callable[[], float] = _system_clock
    random_bytes: Callable[[int], bytes] = secrets.token_bytes
    sender: CodeSender | None = None
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    # Bound on the table of unknown names' failure counters (security matrix row 17).
    unknown_name_table_size: int = 100_000
    timestamp_skew: int = DEFAULT_TIMESTAMP_SKEW
    vault: KeyVault = field(init=False, repr=False)
    # What each request would otherwise build again, with the object it was built from.
    _built: BuiltFrom = field(
        init=False, repr=False, default_factory=lambda: BuiltFrom(_BUILT_LIMIT)
    )

    def __post_init__(self) -> None:
        self.vault = KeyVault(
            self.store, self.kek, clock=self.clock, random_bytes=self.random_bytes
        )
        if self.sender is None:
            self.sender = OutboxSender(self.store)

    def now(self) -> float:
        return self.clock()

    def now_int(self) -> int:
        return int(self.clock())

    def code_sender(self) -> CodeSender:
        assert self.sender is not None
        return self.sender

    # -- configuration lookups --------------------------------------------------------------------
    def pool(self, pool_id: str) -> PoolSettings:
        record = self.store.get_pool(pool_id)
        if record is None:
            raise ResourceNotFoundError(f"User pool {pool_id} does not exist.")
        return settings_from_json(record.pool_id, record.settings)

    def client(self, client_id: object) -> tuple[AppClient, PoolSettings]:
        if not isinstance(client_id, str) or not client_id or len(client_id) > 128:
            raise ResourceNotFoundError("User pool client does not exist.")
        found: tuple[ClientRecord, PoolRecord] | None = None
        try:
            # One read for both: the pool always exists (the client's foreign key).
            found = self.store.get_client_with_pool(client_id)
        except ValueError:
            found = None
        if found is None:
            raise ResourceNotFoundError(f"User pool client {client_id} does not exist.")
        pair = found  # the store hands back the same pair while the stored rows are unchanged
        return self._built.get(("client", client_id), pair, lambda: _client_view(*pair))

    def save_pool(self, settings: PoolSettings, name: str, *, create: bool) -> None:
        now = self.now()
        record = PoolRecord(settings.pool_id, name, settings_to_json(settings), now, now)
        if create:
            self.store.create_pool(record)
        else:
            self.store.update_pool(record)

    # -- keys -------------------------------------------------------------------------------------
    def engine(self, pool: PoolSettings, *, want_key_id: int | None = None) -> ServerEngine:
        ring = self.vault.seal_ring(want_key_id=want_key_id)
        return self._built.get(
            ("engine", pool.challenge_seconds, self.timestamp_skew),
            ring,
            lambda: ServerEngine(
                ring, challenge_lifetime=pool.challenge_seconds, timestamp_skew=self.timestamp_skew
            ),
        )

    def sealer(self, *, want_kid: bytes | None = None) -> SessionSealer:
        keys = self.vault.session_keys(want_kid=want_kid)
        return self._built.get(("sealer",), keys, lambda: SessionSealer(keys))

    def issuer(self, pool_id: str, *, want_kid: str | None = None) -> TokenIssuer:
        keys = self.vault.signing_keys(want_kid=want_kid)
        return self._built.get(
            ("issuer", self.issuer_base, pool_id),
            keys,
            lambda: TokenIssuer(self.issuer_base, pool_id, keys),
        )


def live_runtime(store: Store, kek: Kek, *, issuer_base: str) -> Runtime:
    """A runtime on the system clock and :mod:`secrets` (what a deployment uses)."""
    return Runtime(store=store, kek=kek, issuer_base=issuer_base)


def _client_view(record: ClientRecord, pool_record: PoolRecord) -> tuple[AppClient, PoolSettings]:
    """An app client and its pool's settings as the operations see them."""
    pool = settings_from_json(pool_record.pool_id, pool_record.settings)
    own = record.settings.get("tokens")
    tokens = None
    if isinstance(own, Mapping) and own:
        # the client's own lifetimes over the pool's: operations for this client see them
        tokens = dataclasses.replace(pool.tokens, **{k: int(v) for k, v in own.items()})
        pool = dataclasses.replace(pool, tokens=tokens)
    flows = record.settings.get("auth_flows")
    client = AppClient(
        record.client_id,
        record.pool_id,
        record.secret,
        record.name,
        tokens,
        tuple(str(f) for f in flows) if isinstance(flows, list) else None,
    )
    return client, pool


# -- pool settings <-> the JSON document the store keeps ----------------------------------------
def settings_to_json(s: PoolSettings) -> dict[str, Any]:
    devices = None
    if s.devices is not None:
        devices = {
            "ChallengeRequiredOnNewDevice": s.devices.challenge_required_on_new_device,
            "DeviceOnlyRememberedOnUserPrompt": s.devices.only_remembered_on_user_prompt,
        }
    return {
        "device_configuration": devices,
        "mfa": {
            "mode": s.mfa.mode.value,
            "sms": s.mfa.sms_enabled,
            "software_token": s.mfa.software_token_enabled,
        },
        "username_mode": s.username_mode.value,
        "case_insensitive": s.case_insensitive,
        "tokens": {"access": s.tokens.access, "id": s.tokens.id, "refresh": s.tokens.refresh},
        "challenge_seconds": s.challenge_seconds,
        "max_remembered_devices": s.max_remembered_devices,
        "device_cap_mode": s.device_cap_mode.value,
        "device_ticket_enabled": s.device_ticket_enabled,
        "device_ticket_seconds": s.device_ticket_seconds,
        "refresh_rotation": s.refresh_rotation,
        "refresh_grace_seconds": s.refresh_grace_seconds,
        "signin_starts_per_minute": s.signin_starts_per_minute,
        "password_policy": {
            "min_length": s.password_policy.min_length,
            "require_uppercase": s.password_policy.require_uppercase,
            "require_lowercase": s.password_policy.require_lowercase,
            "require_numbers": s.password_policy.require_numbers,
            "require_symbols": s.password_policy.require_symbols,
        },
    }


def settings_from_json(pool_id: str, data: Mapping[str, Any]) -> PoolSettings:
    devices_data = data.get("device_configuration")
    devices = None
    if isinstance(devices_data, Mapping):
        devices = DeviceConfiguration(
            challenge_required_on_new_device=bool(
                devices_data.get("ChallengeRequiredOnNewDevice", False)
            ),
            only_remembered_on_user_prompt=bool(
                devices_data.get("DeviceOnlyRememberedOnUserPrompt", False)
            ),
        )
    mfa = data.get("mfa") or {}
    tokens = data.get("tokens") or {}
    policy = data.get("password_policy") or {}
    defaults = PoolSettings(pool_id)
    return PoolSettings(
        pool_id=pool_id,
        devices=devices,
        mfa=MfaConfiguration(
            MfaMode(mfa.get("mode", "OFF")),
            sms_enabled=bool(mfa.get("sms", False)),
            software_token_enabled=bool(mfa.get("software_token", False)),
        ),
        username_mode=UsernameMode(data.get("username_mode", "username")),
        case_insensitive=bool(data.get("case_insensitive", True)),
        tokens=TokenLifetimes(
            access=int(tokens.get("access", defaults.tokens.access)),
            id=int(tokens.get("id", defaults.tokens.id)),
            refresh=int(tokens.get("refresh", defaults.tokens.refresh)),
        ),
        challenge_seconds=int(data.get("challenge_seconds", defaults.challenge_seconds)),
        max_remembered_devices=data.get("max_remembered_devices"),
        device_cap_mode=DeviceCapMode(data.get("device_cap_mode", "refuse")),
        device_ticket_enabled=bool(data.get("device_ticket_enabled", True)),
        device_ticket_seconds=int(
            data.get("device_ticket_seconds", defaults.device_ticket_seconds)
        ),
        refresh_rotation=bool(data.get("refresh_rotation", False)),
        refresh_grace_seconds=int(
            data.get("refresh_grace_seconds", defaults.refresh_grace_seconds)
        ),
        signin_starts_per_minute=int(data.get("signin_starts_per_minute", 0)),
        password_policy=PasswordPolicy(
            min_length=int(policy.get("min_length", 8)),
            require_uppercase=bool(policy.get("require_uppercase", True)),
            require_lowercase=bool(policy.get("require_lowercase", True)),
            require_numbers=bool(policy.get("require_numbers", True)),
            require_symbols=bool(policy.get("require_symbols", True)),
        ),
    )
