"""Users: creation (admin and SignUp), confirmation, password change and reset, lookups.

The password is never stored: only the SRP salt and verifier v = g^x with
x = H(PAD(salt) | H(P | I | ":" | password)) (docs/cognito-device-srp.md §2), over the pool name P
and the user's SRP identity I (the lookup name, or the ``sub`` in email-as-username pools).
Codes (sign-up confirmation, password reset) go out through the sender and are kept only as an
HMAC in a single-use ticket: 5 wrong tries burn the code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InvalidParameterError, InvalidTypeError, RecordExistsError
from ..srp.cognito import compute_verifier, compute_x, pool_name
from ..srp.encoding import pad_bytes
from ..store.records import TicketRecord, UserRecord
from .config import PoolSettings, UsernameMode
from .errors import (
    CodeMismatchError,
    ExpiredCodeError,
    InvalidParameterDomainError,
    InvalidPasswordError,
    LimitExceededError,
    UsernameExistsError,
    UserNotFoundError,
    incorrect_credentials,
)
from .identity import find_user, srp_identity, valid_name
from .runtime import Runtime
from .sender import Channel, CodeMessage, mask_destination
from .vault import KIND_TOTP

__all__ = [
    "CodeDelivery",
    "UserView",
    "change_password",
    "check_password",
    "confirm_code",
    "create_user",
    "require_user",
    "send_code",
    "set_password",
    "user_view",
]

_CODE_KIND = "user-code"
_CODE_TRIES = 5
_MAX_ATTRIBUTES = 50
_MAX_ATTRIBUTE_VALUE = 2048


@dataclass(frozen=True)
class CodeDelivery:
    """Cognito's CodeDeliveryDetails."""

    destination: str
    delivery_medium: str
    attribute_name: str


def _check_attributes(attributes: Mapping[str, object]) -> dict[str, str]:
    if len(attributes) > _MAX_ATTRIBUTES:
        raise InvalidParameterDomainError("Too many user attributes")
    out: dict[str, str] = {}
    for name, value in attributes.items():
        if not isinstance(name, str) or not 0 < len(name) <= 64 or not name.isprintable():
            raise InvalidParameterDomainError("Invalid user attribute name")
        if not isinstance(value, str) or len(value) > _MAX_ATTRIBUTE_VALUE:
            raise InvalidParameterDomainError(f"Invalid value for attribute {name}")
        if name == "sub":
            raise InvalidParameterDomainError("The sub attribute cannot be set")
        if not value.isprintable():
            raise InvalidParameterDomainError(f"Invalid value for attribute {name}")
        if name == "email" and (not valid_name(value) or "@" not in value or len(value) > 320):
            raise InvalidParameterDomainError("Invalid email address format.")
        out[name] = value
    return out


def _verifier(pool: PoolSettings, identity: str, password: str, salt: bytes) -> bytes:
    x = compute_x(salt.hex(), pool_name(pool.pool_id), identity, password)
    return compute_verifier(x)


def check_password(pool: PoolSettings, password: object) -> str:
    reason = pool.password_policy.check(password)
    if reason is not None:
        raise InvalidPasswordError(f"Password did not conform with policy: {reason}")
    assert isinstance(password, str)
    return password


def create_user(
    rt: Runtime,
    pool: PoolSettings,
    *,
    username: object,
    password: object,
    attributes: Mapping[str, object] | None = None,
    status: str = "CONFIRMED",
) -> UserRecord:
    """A user with a password verifier (AdminCreateUser + a permanent password, or SignUp)."""
    attrs = _check_attributes(attributes or {})
    if not valid_name(username):
        raise InvalidParameterDomainError("Invalid username")
    assert isinstance(username, str)
    secret = check_password(pool, password)
    sub = str(uuid.UUID(bytes=rt.random_bytes(16), version=4))
    if len(pool.normalize_name(username)) > 128:
        raise InvalidParameterDomainError("Invalid username")
    if pool.username_mode is UsernameMode.EMAIL:
        if "@" not in username:
            raise InvalidParameterDomainError("Username should be an email.")
        attrs["email"] = username
        stored_name, norm = sub, pool.normalize_name(username)
    else:
        stored_name, norm = username, pool.normalize_name(username)
    salt = pad_bytes(int.from_bytes(rt.random_bytes(16), "big") or 1)
    # USER_ID_FOR_SRP: the sub in email-as-username pools, else the lookup name (srp_identity).
    identity = sub if pool.username_mode is UsernameMode.EMAIL else norm
    now = rt.now()
    try:
        user = _new_record(pool, sub, stored_name, norm, attrs, status, salt, identity, secret, now)
    except (InvalidParameterError, InvalidTypeError) as exc:
        # The store's own checks (sizes, characters) as a Cognito error naming the field.
        raise InvalidParameterDomainError(f"Invalid value for {exc.field}") from None
    assert srp_identity(pool, user) == identity
    try:
        rt.store.create_user(user)
    except RecordExistsError:
        raise UsernameExistsError("User already exists") from None
    return user


def _new_record(
    pool: PoolSettings,
    sub: str,
    stored_name: str,
    norm: str,
    attrs: dict[str, str],
    status: str,
    salt: bytes,
    identity: str,
    secret: str,
    now: float,
) -> UserRecord:
    return UserRecord(
        pool_id=pool.pool_id,
        sub=sub,
        username=stored_name,
        username_norm=norm,
        email=attrs.get("email"),
        attributes=attrs,
        status=status,
        enabled=True,
        srp_salt=salt,
        srp_verifier=_verifier(pool, identity, secret, salt),
        totp_secret=None,
        mfa={},
        created_at=now,
        modified_at=now,
    )


def set_password(
    rt: Runtime,
    pool: PoolSettings,
    user: UserRecord,
    password: object,
    *,
    status: str | None = None,
) -> UserRecord:
    """A new salt and verifier; sessions in flight fail their proof, refresh tokens stay.

    The status becomes ``status`` if given, else CONFIRMED for a user who had to change or
    reset the password (the other statuses stay).
    """
    secret = check_password(pool, password)
    salt = pad_bytes(int.from_bytes(rt.random_bytes(16), "big") or 1)
    fresh = rt.store.get_user_by_sub(pool.pool_id, user.sub) or user
    if status is None:
        forced = fresh.status in ("RESET_REQUIRED", "FORCE_CHANGE_PASSWORD")
        status = "CONFIRMED" if forced else fresh.status
    changed = dataclasses.replace(
        fresh,
        srp_salt=salt,
        srp_verifier=_verifier(pool, srp_identity(pool, fresh), secret, salt),
        status=status,
        modified_at=max(rt.now(), fresh.modified_at),
    )
    rt.store.update_user(changed)
    return changed


def change_password(
    rt: Runtime, pool: PoolSettings, user: UserRecord, *, previous: object, proposed: object
) -> None:
    """ChangePassword: the previous password must reproduce the stored verifier."""
    if not isinstance(previous, str) or len(previous) > 256 or not previous.isprintable():
        raise InvalidParameterDomainError("Invalid PreviousPassword")
    expected = _verifier(pool, srp_identity(pool, user), previous, user.srp_salt)
    if not hmac.compare_digest(expected, user.srp_verifier):
        raise incorrect_credentials()
    set_password(rt, pool, user, proposed)


@dataclass(frozen=True)
class UserView:
    """What GetUser / AdminGetUser show (never the verifier or TOTP secret)."""

    username: str
    sub: str
    attributes: Mapping[str, str]
    status: str
    enabled: bool
    created: float
    modified: float
    mfa_options: tuple[str, ...]
    preferred_mfa: str | None


def user_view(user: UserRecord) -> UserView:
    attrs = {str(k): str(v) for k, v in user.attributes.items()}
    attrs["sub"] = user.sub
    enabled = []
    if user.mfa.get("sms_enabled"):
        enabled.append("SMS_MFA")
    if user.mfa.get("totp_enabled") and user.mfa.get("totp_verified"):
        enabled.append("SOFTWARE_TOKEN_MFA")
    preferred = user.mfa.get("preferred")
    return UserView(
        username=user.username,
        sub=user.sub,
        attributes=attrs,
        status=user.status,
        enabled=user.enabled,
        created=user.created_at,
        modified=user.modified_at,
        mfa_options=tuple(enabled),
        preferred_mfa=preferred if isinstance(preferred, str) else None,
    )


# -- codes ----------------------------------------------------------------------------------------
def _code_id(purpose: str, pool: PoolSettings, user: UserRecord) -> str:
    return f"code.{purpose}.{hashlib.sha256(f'{pool.pool_id}/{user.sub}'.encode()).hexdigest()}"


def _code_mac(rt: Runtime, ticket_id: str, code: str) -> str:
    key = rt.vault.secret(KIND_TOTP)
    return hmac.new(key, f"user-code\x00{ticket_id}\x00{code}".encode(), hashlib.sha256).hexdigest()


def send_code(
    rt: Runtime, pool: PoolSettings, user: UserRecord, *, purpose: str, lifetime: int
) -> CodeDelivery:
    """Draw a 6-digit code, keep its HMAC in a ticket, send it by e-mail (else SMS)."""
    email = user.email or user.attributes.get("email")
    phone = user.attributes.get("phone_number")
    if email:
        channel, destination, attribute = Channel.EMAIL, str(email), "email"
    elif phone:
        channel, destination, attribute = Channel.SMS, str(phone), "phone_number"
    else:
        raise InvalidParameterDomainError("No verified e-mail or phone number to send the code to")
    code = f"{int.from_bytes(rt.random_bytes(4), 'big') % 1_000_000:06d}"
    ticket_id = _code_id(purpose, pool, user)
    rt.store.put_ticket(
        TicketRecord(
            ticket_id=ticket_id,
            kind=_CODE_KIND,
            payload={"mac": _code_mac(rt, ticket_id, code), "tries": 0},
            expires_at=rt.now() + lifetime,
        )
    )
    rt.code_sender().send(
        CodeMessage(
            pool.pool_id,
            user.sub,
            channel,
            destination,
            f"Your verification code is {code}",
            rt.now(),
        )
    )
    return CodeDelivery(mask_destination(channel, destination), channel.name, attribute)


def confirm_code(
    rt: Runtime, pool: PoolSettings, user: UserRecord, *, purpose: str, code: object
) -> None:
    """Take the code's ticket: a match consumes it; a mismatch puts it back with one try fewer."""
    ticket_id = _code_id(purpose, pool, user)
    ticket = rt.store.take_ticket(ticket_id, kind=_CODE_KIND, now=rt.now())
    if ticket is None:
        raise ExpiredCodeError()
    given = code if isinstance(code, str) and len(code) <= 16 else ""
    if hmac.compare_digest(str(ticket.payload.get("mac", "")), _code_mac(rt, ticket_id, given)):
        return
    tries = int(ticket.payload.get("tries", 0)) + 1
    if tries >= _CODE_TRIES:
        raise LimitExceededError("Attempt limit exceeded, please try after some time.")
    rt.store.put_ticket(dataclasses.replace(ticket, payload={**ticket.payload, "tries": tries}))
    raise CodeMismatchError("Invalid verification code provided, please try again.")


def require_user(rt: Runtime, pool: PoolSettings, username: object) -> UserRecord:
    """Admin lookups reveal existence (as Cognito's Admin APIs do)."""
    user = find_user(rt, pool, username)
    if user is None:
        raise UserNotFoundError("User does not exist.")
    return user
