"""The device APIs: ConfirmDevice, UpdateDeviceStatus, GetDevice, ListDevices, ForgetDevice,
and the Admin twins (which also see devices that are tracked but not remembered).

ConfirmDevice bounds (security matrix row 35): salt <= 64 bytes, verifier <= 384 bytes and
2 <= v <= N - 2, strict base64; nothing is stored otherwise. An identical retry is idempotent; a
different verifier for a confirmed key is DeviceKeyExistsException; the key must have been issued
to the caller. The remembered-device cap (an extension) keeps a new device not remembered at the
cap (``refuse``) or forgets the least recently authenticated one (``evict``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DeviceKeyConflictError, InvalidParameterError, InvalidTypeError
from ..srp.cognito import MAX_SALT_BYTES, check_password_verifier
from ..srp.encoding import parse_base64
from ..store.contract import MAX_DEVICE_PAGE
from ..store.records import DeviceConfirmation, DeviceRecord, UserRecord
from .config import DeviceCapMode, PoolSettings
from .errors import (
    DeviceKeyExistsError,
    InvalidParameterDomainError,
    LimitExceededError,
    device_does_not_exist,
)
from .runtime import Runtime

__all__ = [
    "DeviceAttribute",
    "DevicePage",
    "DeviceView",
    "confirm_device",
    "forget_device",
    "get_device",
    "list_devices",
    "update_device_status",
]

_MAX_VERIFIER_BYTES = 384
_MAX_NAME = 1024


@dataclass(frozen=True)
class DeviceAttribute:
    name: str
    value: str


@dataclass(frozen=True)
class DeviceView:
    """Cognito's DeviceType; dates are epoch seconds."""

    device_key: str
    attributes: tuple[DeviceAttribute, ...]
    create_date: float
    last_modified_date: float
    last_authenticated_date: float | None
    remembered: bool


@dataclass(frozen=True)
class DevicePage:
    devices: tuple[DeviceView, ...]
    pagination_token: str | None


def view(record: DeviceRecord) -> DeviceView:
    attrs = [
        DeviceAttribute("device_status", "valid"),
        DeviceAttribute(
            "dev:device_remembered_status",
            "remembered" if record.remembered else "not_remembered",
        ),
    ]
    if record.name is not None:
        attrs.insert(0, DeviceAttribute("device_name", record.name))
    if record.last_ip is not None:
        attrs.append(DeviceAttribute("last_ip_used", record.last_ip))
    if record.sdk is not None:
        attrs.append(DeviceAttribute("dev:device_sdk", record.sdk))
    return DeviceView(
        device_key=record.device_key,
        attributes=tuple(attrs),
        create_date=record.first_tracked_at,
        last_modified_date=record.last_modified_at,
        last_authenticated_date=record.last_authenticated_at,
        remembered=record.remembered,
    )


def _own_device(
    rt: Runtime, pool: PoolSettings, user: UserRecord, device_key: object
) -> DeviceRecord:
    if not isinstance(device_key, str) or not 0 < len(device_key) <= 55:
        raise InvalidParameterDomainError("Invalid DeviceKey")
    try:
        record = rt.store.get_device(pool.pool_id, device_key)
    except InvalidParameterError:
        raise InvalidParameterDomainError("Invalid DeviceKey") from None
    if record is None or record.user_sub != user.sub:
        raise device_does_not_exist()
    return record


def _decode_config(salt_b64: object, verifier_b64: object) -> tuple[bytes, bytes]:
    try:
        salt = parse_base64("Salt", salt_b64, MAX_SALT_BYTES)
        raw = parse_base64("PasswordVerifier", verifier_b64, _MAX_VERIFIER_BYTES + 1)
        if len(raw) > _MAX_VERIFIER_BYTES and raw[0] != 0:
            raise InvalidParameterError("PasswordVerifier", "longer than 384 bytes")
        # PAD(v) takes 385 bytes when v's top bit is set; kept as the fixed 384-byte v.
        verifier = check_password_verifier(raw)  # 2 <= v <= N - 2
    except (InvalidParameterError, InvalidTypeError) as exc:
        raise InvalidParameterDomainError(
            f"Invalid DeviceSecretVerifierConfig: {exc.field}"
        ) from None
    return salt, verifier


def confirm_device(
    rt: Runtime,
    pool: PoolSettings,
    user: UserRecord,
    *,
    device_key: object,
    salt_b64: object,
    verifier_b64: object,
    device_name: object = None,
    sdk: str | None = None,
) -> bool:
    """ConfirmDevice; returns UserConfirmationNecessary."""
    if not pool.tracking or pool.devices is None:
        raise InvalidParameterDomainError("Device tracking is not enabled for this user pool.")
    salt, verifier = _decode_config(salt_b64, verifier_b64)
    if device_name is not None and (
        not isinstance(device_name, str)
        or not 0 < len(device_name) <= _MAX_NAME
        or not device_name.isprintable()
    ):
        raise InvalidParameterDomainError("Invalid DeviceName")
    record = _own_device(rt, pool, user, device_key)
    remember = not pool.devices.only_remembered_on_user_prompt
    with rt.store.transaction():
        if remember and not _room_for_one_more(rt, pool, user, record.device_key):
            remember = False
        try:
            rt.store.confirm_device(
                DeviceConfirmation(
                    pool_id=pool.pool_id,
                    device_key=record.device_key,
                    user_sub=user.sub,
                    group_key=record.group_key,
                    salt=salt,
                    verifier=verifier,
                    name=device_name if isinstance(device_name, str) else None,
                    remembered=remember,
                    sdk=sdk,
                    now=rt.now(),
                )
            )
        except DeviceKeyConflictError:
            raise DeviceKeyExistsError("Device key already exists.") from None
    stored = rt.store.get_device(pool.pool_id, record.device_key)
    return not (stored is not None and stored.remembered)


def _room_for_one_more(rt: Runtime, pool: PoolSettings, user: UserRecord, device_key: str) -> bool:
    """Whether ``device_key`` may become remembered; in evict mode, makes room first."""
    cap = pool.max_remembered_devices
    if cap is None:
        return True
    if rt.store.count_remembered_devices(pool.pool_id, user.sub) < cap:
        return True
    if pool.device_cap_mode is DeviceCapMode.EVICT:
        rt.store.evict_remembered_devices(
            pool.pool_id, user.sub, keep=cap - 1, protect=device_key, now=rt.now()
        )
        return True
    return False


def update_device_status(
    rt: Runtime, pool: PoolSettings, user: UserRecord, *, device_key: object, remembered: object
) -> None:
    """UpdateDeviceStatus (``remembered`` / ``not_remembered``)."""
    if remembered not in ("remembered", "not_remembered"):
        raise InvalidParameterDomainError(
            "DeviceRememberedStatus must be remembered or not_remembered"
        )
    record = _own_device(rt, pool, user, device_key)
    if not record.confirmed:
        raise device_does_not_exist()
    want = remembered == "remembered"
    with rt.store.transaction():
        if (
            want
            and not record.remembered
            and not _room_for_one_more(rt, pool, user, record.device_key)
        ):
            raise LimitExceededError(
                f"Remembered device limit reached ({pool.max_remembered_devices}); "
                "forget a device first."
            )
        if not rt.store.update_device_status(
            pool.pool_id, record.device_key, remembered=want, now=rt.now()
        ):
            raise device_does_not_exist()


def get_device(
    rt: Runtime, pool: PoolSettings, user: UserRecord, *, device_key: object, admin: bool = False
) -> DeviceView:
    record = _own_device(rt, pool, user, device_key)
    if not record.confirmed or not (admin or record.remembered):
        raise device_does_not_exist()
    return view(record)


def list_devices(
    rt: Runtime,
    pool: PoolSettings,
    user: UserRecord,
    *,
    limit: object = None,
    pagination_token: object = None,
    admin: bool = False,
) -> DevicePage:
    """ListDevices: remembered devices (Admin: every confirmed device), Limit 0..60."""
    if limit is None:
        limit = MAX_DEVICE_PAGE
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_DEVICE_PAGE:
        raise InvalidParameterDomainError("Limit must be an integer in 0..60")
    if pagination_token is not None and (
        not isinstance(pagination_token, str) or not 0 < len(pagination_token) <= 1024
    ):
        raise InvalidParameterDomainError("Invalid PaginationToken")
    try:
        page = rt.store.list_devices(
            pool.pool_id,
            user.sub,
            remembered_only=not admin,
            limit=limit,
            pagination_token=pagination_token,
        )
    except InvalidParameterError:
        raise InvalidParameterDomainError("Invalid PaginationToken") from None
    return DevicePage(tuple(view(r) for r in page.items), page.next_token)


def forget_device(rt: Runtime, pool: PoolSettings, user: UserRecord, *, device_key: object) -> None:
    """ForgetDevice: the device goes, and the refresh tokens bound to it are revoked."""
    record = _own_device(rt, pool, user, device_key)
    if not rt.store.forget_device(pool.pool_id, record.device_key):
        raise device_does_not_exist()
