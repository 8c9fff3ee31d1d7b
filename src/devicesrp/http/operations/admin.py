"""Admin operations (SigV4-signed): pools, app clients, users and their MFA settings.

UpdateUserPool follows Cognito: every wire setting it omits returns to its default (devicesrp's
own extension settings, which the wire cannot carry, are kept; ``devicesrp admin pool set``
changes them). CreateUserPoolClient's token validities are the client's own lifetimes, and its
ExplicitAuthFlows the InitiateAuth flows the client may use (omitted: Cognito's default).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import string
from typing import Any

from ...server.config import (
    DEFAULT_AUTH_FLOWS,
    DeviceConfiguration,
    MfaConfiguration,
    MfaMode,
    PasswordPolicy,
    PoolSettings,
    UsernameMode,
)
from ...server.errors import ResourceNotFoundError
from ...server.provider import IdentityProvider
from ..awserror import invalid_parameter
from ..codec import Params
from ..dispatch import Call, Operation, Reply
from .shapes import user_type, user_view
from .users import mfa_setting

POOL_ID = r"[\w-]+_[0-9a-zA-Z]+"
_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_FILTER = re.compile(r'\s*([\w:]+)\s*(\^?=)\s*"([^"]*)"\s*')


def _pool(p: Params) -> str:
    return p.req_str("UserPoolId", max_len=55, pattern=POOL_ID)


def _user(p: Params) -> str:
    return p.req_str("Username", max_len=128)


def _bool(p: Params | None, name: str, default: bool) -> bool:
    value = p.opt_bool(name) if p is not None else None
    return default if value is None else value


def settings_from_wire(pool_id: str, p: Params, keep: PoolSettings | None = None) -> PoolSettings:
    """CreateUserPool / UpdateUserPool members -> PoolSettings; omitted members -> defaults."""
    devices = None
    dc = p.opt_object("DeviceConfiguration")
    if dc is not None:
        devices = DeviceConfiguration(
            challenge_required_on_new_device=_bool(dc, "ChallengeRequiredOnNewDevice", False),
            only_remembered_on_user_prompt=_bool(dc, "DeviceOnlyRememberedOnUserPrompt", False),
        )
    names = p.str_list("UsernameAttributes", max_entries=2, max_len=32)
    if names not in ([], ["email"]):
        raise invalid_parameter("UsernameAttributes: only [] or [email] is supported")
    mode = _mfa_mode(p)
    # factor switches live in SetUserPoolMfaConfig; an SmsConfiguration here enables SMS
    sms = p.has("SmsConfiguration") or (keep is not None and keep.mfa.sms_enabled)
    totp = keep is not None and keep.mfa.software_token_enabled
    policy = (p.opt_object("Policies") or Params({})).opt_object("PasswordPolicy")
    base = keep or PoolSettings(pool_id)
    return dataclasses.replace(
        base,
        devices=devices,
        mfa=MfaConfiguration(mode, sms_enabled=sms, software_token_enabled=totp),
        username_mode=UsernameMode.EMAIL if names else UsernameMode.USERNAME,
        # Cognito's API default is case sensitive when UsernameConfiguration is omitted
        case_insensitive=not _bool(p.opt_object("UsernameConfiguration"), "CaseSensitive", True),
        password_policy=PasswordPolicy(
            min_length=(policy.opt_int("MinimumLength", lo=6, hi=99) if policy else None) or 8,
            require_uppercase=_bool(policy, "RequireUppercase", True),
            require_lowercase=_bool(policy, "RequireLowercase", True),
            require_numbers=_bool(policy, "RequireNumbers", True),
            require_symbols=_bool(policy, "RequireSymbols", True),
        ),
    )


# CreateUserPoolClient's validity members: (member, TokenValidityUnits member, lifetime, unit)
_VALIDITY = (
    ("AccessTokenValidity", "AccessToken", "access", "hours"),
    ("IdTokenValidity", "IdToken", "id", "hours"),
    ("RefreshTokenValidity", "RefreshToken", "refresh", "days"),
)
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def client_token_lifetimes(p: Params) -> dict[str, int]:
    """The validity members given, in seconds (Cognito's default units: hours for access and
    id tokens, days for refresh tokens); PoolSettings' bounds are checked by the domain."""
    units = p.opt_object("TokenValidityUnits") or Params({})
    found: dict[str, int] = {}
    for member, unit_member, lifetime, default_unit in _VALIDITY:
        amount = p.opt_int(member, lo=1, hi=315_360_000)
        if amount is None:
            continue
        unit = units.opt_str(unit_member, max_len=8) or default_unit
        if unit not in _UNIT_SECONDS:
            raise invalid_parameter(f"TokenValidityUnits.{unit_member}: seconds|minutes|hours|days")
        found[lifetime] = amount * _UNIT_SECONDS[unit]
    return found


def _mfa_mode(p: Params) -> MfaMode:
    text = p.opt_str("MfaConfiguration", max_len=8) or "OFF"
    try:
        return MfaMode(text)
    except ValueError:
        raise invalid_parameter("MfaConfiguration must be OFF, ON or OPTIONAL") from None


def pool_type(idp: IdentityProvider, pool_id: str) -> dict[str, Any]:
    record = idp.rt.store.get_pool(pool_id)
    if record is None:
        raise ResourceNotFoundError(f"User pool {pool_id} does not exist.")
    s = idp.pool_settings(pool_id)
    out: dict[str, Any] = {
        "Id": s.pool_id,
        "Name": record.name,
        "Arn": f"arn:aws:cognito-idp:{s.region}:000000000000:userpool/{s.pool_id}",
        "CreationDate": record.created_at,
        "LastModifiedDate": record.modified_at,
        "MfaConfiguration": s.mfa.mode.value,
        "UsernameConfiguration": {"CaseSensitive": not s.case_insensitive},
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": s.password_policy.min_length,
                "RequireUppercase": s.password_policy.require_uppercase,
                "RequireLowercase": s.password_policy.require_lowercase,
                "RequireNumbers": s.password_policy.require_numbers,
                "RequireSymbols": s.password_policy.require_symbols,
            }
        },
    }
    if s.devices is not None:
        out["DeviceConfiguration"] = {
            "ChallengeRequiredOnNewDevice": s.devices.challenge_required_on_new_device,
            "DeviceOnlyRememberedOnUserPrompt": s.devices.only_remembered_on_user_prompt,
        }
    if s.username_mode is UsernameMode.EMAIL:
        out["UsernameAttributes"] = ["email"]
    return out


def mfa_config(s: PoolSettings) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MfaConfiguration": s.mfa.mode.value,
        "SoftwareTokenMfaConfiguration": {"Enabled": s.mfa.software_token_enabled},
    }
    if s.mfa.sms_enabled:
        out["SmsMfaConfiguration"] = {"SmsConfiguration": {"SnsCallerArn": "outbox"}}
    return out


def user_filter(text: str | None) -> dict[str, str]:
    """ListUsers ``Filter`` (``username ^= "ab"``, ``email = "a@b"``, ``status = "..."``) as
    the store's prefix arguments plus an exact value to check afterwards."""
    if not text:
        return {}
    m = _FILTER.fullmatch(text)
    if m is None or m.group(1) not in ("username", "email", "cognito:user_status", "status"):
        raise invalid_parameter('Filter must be: username|email|status = or ^= "value"')
    attr, op, value = m.groups()
    if attr in ("status", "cognito:user_status"):
        return {"status": value}
    key = "username_prefix" if attr == "username" else "email_prefix"
    out = {key: value}
    if op == "=":
        out["exact_" + attr] = value
    return out


def operations(idp: IdentityProvider, region: str) -> list[Operation]:
    def create_pool(call: Call) -> Reply:
        p = call.params
        name = p.req_str("PoolName", max_len=128, pattern=r"[\w\s+=,.@-]+")
        pool_id = f"{region}_" + "".join(secrets.choice(_ALNUM) for _ in range(9))
        idp.create_pool(settings_from_wire(pool_id, p), name)
        return Reply({"UserPool": pool_type(idp, pool_id)})

    def describe_pool(call: Call) -> Reply:
        return Reply({"UserPool": pool_type(idp, _pool(call.params))})

    def update_pool(call: Call) -> Reply:
        p = call.params
        pool_id = _pool(p)
        current = idp.pool_settings(pool_id)
        record = idp.rt.store.get_pool(pool_id)
        name = record.name if record is not None else ""
        idp.update_pool(settings_from_wire(pool_id, p, keep=current), name)
        return Reply({})

    def set_mfa(call: Call) -> Reply:
        p = call.params
        pool_id = _pool(p)
        s = idp.pool_settings(pool_id)
        totp = p.opt_object("SoftwareTokenMfaConfiguration")
        sms = p.has("SmsMfaConfiguration") or s.mfa.sms_enabled
        mfa = MfaConfiguration(
            _mfa_mode(p) if p.has("MfaConfiguration") else s.mfa.mode,
            sms_enabled=sms,
            software_token_enabled=_bool(totp, "Enabled", s.mfa.software_token_enabled),
        )
        record = idp.rt.store.get_pool(pool_id)
        idp.update_pool(dataclasses.replace(s, mfa=mfa), record.name if record else "")
        return Reply(mfa_config(idp.pool_settings(pool_id)))

    def get_mfa(call: Call) -> Reply:
        return Reply(mfa_config(idp.pool_settings(_pool(call.params))))

    def create_client(call: Call) -> Reply:
        p = call.params
        pool_id = _pool(p)
        name = p.req_str("ClientName", max_len=128, pattern=r"[\w\s+=,.@-]+")
        client_id = "".join(
            secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26)
        )
        client = idp.create_client(
            pool_id,
            client_id,
            name=name,
            generate_secret=bool(p.opt_bool("GenerateSecret")),
            tokens=client_token_lifetimes(p),
            auth_flows=p.str_list("ExplicitAuthFlows", max_entries=8, max_len=40),
        )
        record = idp.rt.store.get_client(client_id)
        body: dict[str, Any] = {
            "UserPoolId": pool_id,
            "ClientName": name,
            "ClientId": client_id,
            "CreationDate": record.created_at if record else 0,
            "LastModifiedDate": record.modified_at if record else 0,
            "ExplicitAuthFlows": list(client.auth_flows or DEFAULT_AUTH_FLOWS),
        }
        if client.secret is not None:
            body["ClientSecret"] = client.secret
        if client.tokens is not None:  # the effective lifetimes, in seconds
            body["AccessTokenValidity"] = client.tokens.access
            body["IdTokenValidity"] = client.tokens.id
            body["RefreshTokenValidity"] = client.tokens.refresh
            body["TokenValidityUnits"] = dict.fromkeys(
                ("AccessToken", "IdToken", "RefreshToken"), "seconds"
            )
        return Reply({"UserPoolClient": body})

    def list_users(call: Call) -> Reply:
        p = call.params
        pool_id = _pool(p)
        idp.pool_settings(pool_id)
        wanted = user_filter(p.opt_str("Filter", max_len=256))
        page = idp.rt.store.list_users(
            pool_id,
            username_prefix=wanted.get("username_prefix"),
            email_prefix=wanted.get("email_prefix"),
            status=wanted.get("status"),
            limit=p.opt_int("Limit", lo=0, hi=60) or 0,
            pagination_token=p.opt_str("PaginationToken", max_len=1024),
        )
        users = [
            u
            for u in page.items
            if wanted.get("exact_username", u.username_norm) == u.username_norm
            and wanted.get("exact_email", u.email or "") == (u.email or "")
        ]
        body: dict[str, Any] = {"Users": [user_type(u) for u in users]}
        if page.next_token:
            body["PaginationToken"] = page.next_token
        return Reply(body)

    def admin_create_user(call: Call) -> Reply:
        """Cognito's semantics: the user is FORCE_CHANGE_PASSWORD and meets NEW_PASSWORD_REQUIRED
        at the first sign-in (unless AdminSetUserPassword(Permanent=True) comes first)."""
        p = call.params
        password = p.opt_str("TemporaryPassword", max_len=256)
        if password is None:
            # Cognito would e-mail a generated one; here nobody learns it, so an administrator
            # sets a password (AdminSetUserPassword) before the user can sign in
            password = "Aa1!" + secrets.token_urlsafe(24)
        view = idp.admin_create_user(
            _pool(p), _user(p), password, dict(p.attributes("UserAttributes")), temporary=True
        )
        return Reply({"User": user_type(view)})

    def admin_set_password(call: Call) -> Reply:
        p = call.params
        idp.admin_set_user_password(
            _pool(p),
            _user(p),
            p.req_str("Password", max_len=256),
            permanent=bool(p.opt_bool("Permanent")),  # Cognito's default: temporary
        )
        return Reply({})

    def admin_reset_password(call: Call) -> Reply:
        p = call.params
        idp.admin_reset_user_password(_pool(p), _user(p))
        return Reply({})

    def admin_get_user(call: Call) -> Reply:
        p = call.params
        return Reply(user_view(idp.admin_get_user(_pool(p), _user(p)), admin=True))

    def admin_delete_user(call: Call) -> Reply:
        p = call.params
        idp.admin_delete_user(_pool(p), _user(p))
        return Reply({})

    def admin_disable_user(call: Call) -> Reply:
        p = call.params
        idp.admin_set_user_enabled(_pool(p), _user(p), False)
        return Reply({})

    def admin_enable_user(call: Call) -> Reply:
        p = call.params
        idp.admin_set_user_enabled(_pool(p), _user(p), True)
        return Reply({})

    def admin_global_sign_out(call: Call) -> Reply:
        p = call.params
        idp.admin_user_global_sign_out(_pool(p), _user(p))
        return Reply({})

    def admin_set_mfa(call: Call) -> Reply:
        p = call.params
        idp.admin_set_user_mfa_preference(
            _pool(p),
            _user(p),
            sms=mfa_setting(p, "SMSMfaSettings"),
            software_token=mfa_setting(p, "SoftwareTokenMfaSettings"),
        )
        return Reply({})

    def op(name: str, handler: Any, mutating: bool) -> Operation:
        return Operation(name, handler, admin=True, mutating=mutating)

    return [
        op("CreateUserPool", create_pool, True),
        op("DescribeUserPool", describe_pool, False),
        op("UpdateUserPool", update_pool, True),
        op("SetUserPoolMfaConfig", set_mfa, True),
        op("GetUserPoolMfaConfig", get_mfa, False),
        op("CreateUserPoolClient", create_client, True),
        op("ListUsers", list_users, False),
        op("AdminCreateUser", admin_create_user, True),
        op("AdminSetUserPassword", admin_set_password, True),
        op("AdminResetUserPassword", admin_reset_password, True),
        op("AdminGetUser", admin_get_user, False),
        op("AdminDeleteUser", admin_delete_user, True),
        op("AdminSetUserMFAPreference", admin_set_mfa, True),
        op("AdminDisableUser", admin_disable_user, True),
        op("AdminEnableUser", admin_enable_user, True),
        op("AdminUserGlobalSignOut", admin_global_sign_out, True),
    ]
