"""Software-token (TOTP) enrolment and MFA preferences: AssociateSoftwareToken,
VerifySoftwareToken, SetUserMFAPreference (and the admin twin).

TOTP secrets are stored wrapped: AES-256-GCM under the vault's ``totp`` key with the pool and the
user's ``sub`` as associated data, so a secret cannot be moved to another user's row.
"""

from __future__ import annotations

import dataclasses

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..store.records import UserRecord
from .config import MfaMode, PoolSettings
from .decision import MfaFactor
from .errors import (
    EnableSoftwareTokenMfaError,
    InvalidParameterDomainError,
    InvalidUserPoolConfigurationError,
)
from .runtime import Runtime
from .totp import encode_secret
from .totp import verify as verify_totp
from .userstate import updated
from .vault import KIND_TOTP

__all__ = [
    "associate_software_token",
    "open_totp_secret",
    "record_totp_step",
    "set_mfa_preference",
    "verify_software_token",
]


def _aad(user: UserRecord) -> bytes:
    return f"devicesrp-totp\x00{user.pool_id}\x00{user.sub}".encode()


def open_totp_secret(rt: Runtime, user: UserRecord) -> bytes | None:
    blob = user.totp_secret
    if blob is None or len(blob) < 12 + 16:
        return None
    try:
        return AESGCM(rt.vault.secret(KIND_TOTP)).decrypt(blob[:12], blob[12:], _aad(user))
    except InvalidTag:
        return None


def record_totp_step(rt: Runtime, user: UserRecord, step: int) -> UserRecord:
    """Remember the step just used so that the same code is refused next time."""
    fresh = rt.store.get_user_by_sub(user.pool_id, user.sub) or user
    changed = updated(fresh, rt.now(), totp_last_step=step)
    rt.store.update_user(changed)
    return changed


def associate_software_token(rt: Runtime, user: UserRecord) -> str:
    """A fresh 20-byte secret, stored wrapped and unverified; returns it as base32 (SecretCode)."""
    secret = rt.random_bytes(20)
    nonce = rt.random_bytes(12)
    blob = nonce + AESGCM(rt.vault.secret(KIND_TOTP)).encrypt(nonce, secret, _aad(user))
    fresh = rt.store.get_user_by_sub(user.pool_id, user.sub) or user
    changed = updated(fresh, rt.now(), totp_verified=False, totp_enabled=False, totp_last_step=None)
    rt.store.update_user(dataclasses.replace(changed, totp_secret=blob))
    return encode_secret(secret)


def verify_software_token(rt: Runtime, pool: PoolSettings, user: UserRecord, code: object) -> None:
    """VerifySoftwareToken: a right code marks the token verified (Status SUCCESS)."""
    # A pool that asks for MFA but not by software token refuses enrolment (Cognito does too).
    if not pool.mfa.software_token_enabled and pool.mfa.mode is not MfaMode.OFF:
        raise InvalidUserPoolConfigurationError("Software token MFA is not enabled for this pool.")
    secret = open_totp_secret(rt, user)
    if secret is None:
        raise EnableSoftwareTokenMfaError("Software token is not associated with the user.")
    step = verify_totp(secret, code if isinstance(code, str) else "", rt.now())
    if step is None:
        raise EnableSoftwareTokenMfaError()
    fresh = rt.store.get_user_by_sub(user.pool_id, user.sub) or user
    first = not fresh.mfa.get("totp_verified")
    # Verifying a new token enables it (as Cognito does when no other preference exists).
    rt.store.update_user(
        updated(
            fresh,
            rt.now(),
            totp_verified=True,
            totp_last_step=step,
            totp_enabled=True if first else fresh.mfa.get("totp_enabled", True),
        )
    )


def set_mfa_preference(
    rt: Runtime,
    pool: PoolSettings,
    user: UserRecord,
    *,
    sms: tuple[bool, bool] | None,
    software_token: tuple[bool, bool] | None,
) -> None:
    """SetUserMFAPreference: each factor as (enabled, preferred), None = unchanged."""
    fresh = rt.store.get_user_by_sub(user.pool_id, user.sub) or user
    changes: dict[str, object] = {}
    preferred = fresh.mfa.get("preferred")
    if sms is not None:
        if sms[0] and not fresh.attributes.get("phone_number"):
            raise InvalidParameterDomainError("User does not have a phone number.")
        changes["sms_enabled"] = sms[0]
        if sms[1] and sms[0]:
            preferred = MfaFactor.SMS.value
        elif preferred == MfaFactor.SMS.value and not (sms[0] and sms[1]):
            preferred = None
    if software_token is not None:
        if software_token[0] and not fresh.mfa.get("totp_verified"):
            raise InvalidParameterDomainError("User has not verified software token mfa")
        changes["totp_enabled"] = software_token[0]
        if software_token[1] and software_token[0]:
            preferred = MfaFactor.SOFTWARE_TOKEN.value
        elif preferred == MfaFactor.SOFTWARE_TOKEN.value and not all(software_token):
            preferred = None
    changes["preferred"] = preferred
    rt.store.update_user(updated(fresh, rt.now(), **changes))
