"""The domain's per-user state kept in the user record's ``mfa`` JSON document.

Keys: ``sms_enabled``, ``totp_enabled``, ``preferred`` (MFA preference), ``totp_verified``,
``totp_last_step`` (the last TOTP step accepted: a code is good once), ``signed_out_at``
(GlobalSignOut: access tokens issued before it are revoked), ``revoked_origins``
({origin_jti: expiry}, access tokens of revoked refresh tokens; pruned as they expire).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..store.records import UserRecord
from .decision import MfaFactor, UserMfa

__all__ = ["MAX_REVOKED_ORIGINS", "revoke_origin", "updated", "user_mfa"]

MAX_REVOKED_ORIGINS = 200


def user_mfa(user: UserRecord) -> UserMfa:
    data = user.mfa
    preferred = data.get("preferred")
    return UserMfa(
        sms_enabled=bool(data.get("sms_enabled", False)),
        software_token_enabled=bool(data.get("totp_enabled", False)),
        preferred=MfaFactor(preferred) if preferred in ("SMS_MFA", "SOFTWARE_TOKEN_MFA") else None,
        has_phone=bool(user.attributes.get("phone_number")),
        has_software_token=user.totp_secret is not None and bool(data.get("totp_verified")),
    )


def updated(user: UserRecord, now: float, **changes: Any) -> UserRecord:
    """A copy of ``user`` with ``changes`` merged into its ``mfa`` document (None deletes)."""
    data = dict(user.mfa)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return dataclasses.replace(user, mfa=data, modified_at=max(now, user.modified_at))


def revoke_origin(user: UserRecord, origin_jti: str, expires_at: float, now: float) -> UserRecord:
    """Record a revoked token family; expired entries drop out, the list stays bounded."""
    current: Mapping[str, Any] = user.mfa.get("revoked_origins") or {}
    live = {k: float(v) for k, v in current.items() if float(v) > now}
    live[origin_jti] = expires_at
    if len(live) > MAX_REVOKED_ORIGINS:
        keep = sorted(live.items(), key=lambda kv: kv[1])[-MAX_REVOKED_ORIGINS:]
        live = dict(keep)
    return updated(user, now, revoked_origins=live)
