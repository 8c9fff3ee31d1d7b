"""What the console pages show and do, over the same :class:`IdentityProvider` the wire API uses
(so a change made here is what AdminGetDevice sees next, and the other way round).

Only display values leave this module: no verifier, salt, device password, TOTP secret or token
is ever copied into a view.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ...server import devices
from ...server.config import (
    DeviceCapMode,
    DeviceConfiguration,
    MfaConfiguration,
    MfaMode,
    PoolSettings,
    parse_pool_id,
)
from ...server.devices import DeviceView
from ...server.errors import ResourceNotFoundError, UserNotFoundError
from ...server.flow import SCOPE_USER
from ...server.lockout import user_key
from ...server.provider import IdentityProvider
from ...store.contract import MAX_DEVICE_PAGE
from ...store.records import UserRecord

__all__ = [
    "DeviceRow",
    "PoolRow",
    "PoolUpdate",
    "UserDetail",
    "UserPage",
    "UserRow",
    "find_users",
    "forget_device",
    "pool_row",
    "pool_rows",
    "reset_lockout",
    "save_pool",
    "set_remembered",
    "user_detail",
]

USER_PAGE = 20
DEVICE_POLICIES = ("off", "always", "opt_in")


@dataclass(frozen=True)
class PoolRow:
    pool_id: str
    name: str
    device_policy: str  # one of DEVICE_POLICIES
    replaces_mfa: bool
    mfa_mode: str
    sms: bool
    totp: bool
    cap: int | None
    cap_mode: str
    created: float
    modified: float

    @property
    def mfa_summary(self) -> str:
        factors = [name for name, on in (("SMS", self.sms), ("TOTP", self.totp)) if on]
        if self.mfa_mode == "OFF" or not factors:
            return self.mfa_mode
        return f"{self.mfa_mode} ({', '.join(factors)})"


def _row(name: str, created: float, modified: float, s: PoolSettings) -> PoolRow:
    if s.devices is None:
        policy = "off"
    else:
        policy = "opt_in" if s.devices.only_remembered_on_user_prompt else "always"
    return PoolRow(
        pool_id=s.pool_id,
        name=name,
        device_policy=policy,
        replaces_mfa=s.remembered_replaces_mfa,
        mfa_mode=s.mfa.mode.value,
        sms=s.mfa.sms_enabled,
        totp=s.mfa.software_token_enabled,
        cap=s.max_remembered_devices,
        cap_mode=s.device_cap_mode.value,
        created=created,
        modified=modified,
    )


def pool_rows(idp: IdentityProvider) -> list[PoolRow]:
    out = []
    for record in idp.rt.store.list_pools():
        out.append(
            _row(
                record.name,
                record.created_at,
                record.modified_at,
                idp.pool_settings(record.pool_id),
            )
        )
    return sorted(out, key=lambda r: (r.name.casefold(), r.pool_id))


def pool_row(idp: IdentityProvider, pool_id: str) -> PoolRow:
    try:
        parse_pool_id(pool_id)
    except ValueError:
        raise ResourceNotFoundError(f"User pool {pool_id[:60]} does not exist.") from None
    record = idp.rt.store.get_pool(pool_id)
    if record is None:
        raise ResourceNotFoundError(f"User pool {pool_id} does not exist.")
    return _row(record.name, record.created_at, record.modified_at, idp.pool_settings(pool_id))


@dataclass(frozen=True)
class PoolUpdate:
    """The editable settings of the pool page (already parsed; validated by PoolSettings)."""

    device_policy: str
    replaces_mfa: bool
    mfa_mode: str
    sms: bool
    totp: bool
    cap: int | None
    cap_mode: str


def save_pool(idp: IdentityProvider, pool_id: str, update: PoolUpdate) -> None:
    """Apply the page's settings; other settings (tokens, password policy...) are kept.
    Raises InvalidParameterError (also ValueError) for a combination PoolSettings refuses."""
    row = pool_row(idp, pool_id)
    current = idp.pool_settings(pool_id)
    devices = None
    if update.device_policy != "off":
        devices = DeviceConfiguration(
            challenge_required_on_new_device=update.replaces_mfa,
            only_remembered_on_user_prompt=update.device_policy == "opt_in",
        )
    settings = dataclasses.replace(
        current,
        devices=devices,
        mfa=MfaConfiguration(
            MfaMode(update.mfa_mode), sms_enabled=update.sms, software_token_enabled=update.totp
        ),
        max_remembered_devices=update.cap,
        device_cap_mode=DeviceCapMode(update.cap_mode),
    )
    idp.update_pool(settings, row.name)


@dataclass(frozen=True)
class UserRow:
    sub: str
    username: str
    email: str | None
    status: str
    enabled: bool
    created: float
    modified: float


@dataclass(frozen=True)
class UserPage:
    users: tuple[UserRow, ...]
    next_token: str | None


def find_users(
    idp: IdentityProvider, pool_id: str, *, by: str, prefix: str, token: str | None
) -> UserPage:
    """One page of a pool's users whose user name (or e-mail) starts with ``prefix``."""
    pool = idp.pool_settings(pool_row(idp, pool_id).pool_id)
    prefix = prefix.strip()
    if by == "email":
        kwargs = {"email_prefix": prefix or None}
    else:
        kwargs = {"username_prefix": pool.normalize_name(prefix) if prefix else None}
    page = idp.rt.store.list_users(pool_id, limit=USER_PAGE, pagination_token=token, **kwargs)
    rows = tuple(
        UserRow(
            u.sub,
            _display_name(u.username, u.sub, u.email),
            u.email,
            u.status,
            u.enabled,
            u.created_at,
            u.modified_at,
        )
        for u in page.items
    )
    return UserPage(rows, page.next_token)


def _display_name(username: str, sub: str, email: str | None) -> str:
    # email-as-username pools store the sub as the user name
    return email if username == sub and email else username


@dataclass(frozen=True)
class DeviceRow:
    device_key: str
    name: str | None
    remembered: bool
    first_tracked: float
    last_authenticated: float | None
    last_ip: str | None
    sdk: str | None


def _device_row(view: DeviceView) -> DeviceRow:
    attrs = {a.name: a.value for a in view.attributes}
    return DeviceRow(
        device_key=view.device_key,
        name=attrs.get("device_name"),
        remembered=view.remembered,
        first_tracked=view.create_date,
        last_authenticated=view.last_authenticated_date,
        last_ip=attrs.get("last_ip_used"),
        sdk=attrs.get("dev:device_sdk"),
    )


@dataclass(frozen=True)
class UserDetail:
    pool: PoolRow
    user: UserRow
    attributes: tuple[tuple[str, str], ...]
    mfa_options: tuple[str, ...]
    preferred_mfa: str | None
    failures: int
    locked_until: float | None  # None when not locked now
    devices: tuple[DeviceRow, ...]
    next_devices: str | None


def _user(idp: IdentityProvider, pool_id: str, sub: str) -> tuple[PoolSettings, UserRecord]:
    """Console URLs name users by ``sub`` only, looked up as such (a user name never matches)."""
    pool_row(idp, pool_id)
    pool = idp.pool_settings(pool_id)
    user = idp.rt.store.get_user_by_sub(pool_id, sub) if len(sub) <= 128 else None
    if user is None:
        raise UserNotFoundError("User does not exist.")
    return pool, user


def _mfa_options(user: UserRecord) -> tuple[str, ...]:
    """The factors AdminGetUser lists as enabled (TOTP only once verified)."""
    options = []
    if user.mfa.get("sms_enabled"):
        options.append("SMS_MFA")
    if user.mfa.get("totp_enabled") and user.mfa.get("totp_verified"):
        options.append("SOFTWARE_TOKEN_MFA")
    return tuple(options)


def user_detail(
    idp: IdentityProvider, pool_id: str, sub: str, *, device_token: str | None = None
) -> UserDetail:
    pool, user = _user(idp, pool_id, sub)
    page = devices.list_devices(
        idp.rt, pool, user, limit=MAX_DEVICE_PAGE, pagination_token=device_token, admin=True
    )
    lock = idp.rt.store.get_lockout(SCOPE_USER, user_key(pool_id, sub))
    now = idp.rt.now()
    attributes = {str(k): str(v) for k, v in user.attributes.items()}
    attributes["sub"] = user.sub
    preferred = user.mfa.get("preferred")
    return UserDetail(
        pool=pool_row(idp, pool_id),
        user=UserRow(
            user.sub,
            _display_name(user.username, user.sub, user.email),
            user.email,
            user.status,
            user.enabled,
            user.created_at,
            user.modified_at,
        ),
        attributes=tuple(sorted(attributes.items())),
        mfa_options=_mfa_options(user),
        preferred_mfa=preferred if isinstance(preferred, str) else None,
        failures=lock.failures if lock else 0,
        locked_until=lock.locked_until if lock and lock.locked_until > now else None,
        devices=tuple(_device_row(d) for d in page.devices),
        next_devices=page.pagination_token,
    )


def forget_device(idp: IdentityProvider, pool_id: str, sub: str, device_key: str) -> None:
    """AdminForgetDevice's domain call: the device goes and its refresh tokens are revoked."""
    pool, user = _user(idp, pool_id, sub)
    devices.forget_device(idp.rt, pool, user, device_key=device_key)


def set_remembered(
    idp: IdentityProvider, pool_id: str, sub: str, device_key: str, remembered: bool
) -> None:
    """AdminUpdateDeviceStatus's domain call (the remembered-device cap applies, as on the wire)."""
    pool, user = _user(idp, pool_id, sub)
    status = "remembered" if remembered else "not_remembered"
    devices.update_device_status(idp.rt, pool, user, device_key=device_key, remembered=status)


def reset_lockout(idp: IdentityProvider, pool_id: str, sub: str) -> None:
    """Clear the user's sign-in failure counter (password and device proofs share it)."""
    _user(idp, pool_id, sub)
    idp.rt.store.reset_lockout(SCOPE_USER, user_key(pool_id, sub))
