"""Issuing, refreshing and revoking tokens; checking the access token of an API call.

Refresh tokens are opaque (``rt1.`` + 32 random bytes, base64url), stored only as their SHA-256,
bound to user, client and device: a token issued with a device key (NewDeviceMetadata or a
device sign-in) refreshes only with that key, and forgetting the device revokes it. Like
Cognito, a refresh returns new access and id tokens but keeps the refresh token; with the pool's
``refresh_rotation`` it returns a new one and the old one stays usable once more within
``refresh_grace_seconds`` (a client whose response was lost can retry), after which it is dead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass

import jwt

from ..store.records import RefreshTokenRecord, TicketRecord, UserRecord
from .config import AppClient, PoolSettings, parse_pool_id
from .errors import NotAuthorizedError, ResourceNotFoundError
from .runtime import Runtime
from .secrethash import check_secret_hash, user_names
from .tokens import AccessClaims
from .userstate import revoke_origin, updated

__all__ = [
    "AuthenticationResult",
    "NewDeviceMetadata",
    "global_sign_out",
    "issue",
    "refresh",
    "revoke",
    "verify_access",
]

_PREFIX = "rt1."
_MAX_REFRESH_CHARS = 2048
_GRACE_KIND = "refresh-grace"


@dataclass(frozen=True)
class NewDeviceMetadata:
    device_key: str
    device_group_key: str


@dataclass(frozen=True)
class AuthenticationResult:
    """Cognito's AuthenticationResult; ``refresh_token`` is None on a refresh without rotation."""

    access_token: str
    id_token: str
    refresh_token: str | None
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the token type, not a secret
    new_device: NewDeviceMetadata | None = None
    server_proof: bytes | None = None

    def __repr__(self) -> str:
        return f"AuthenticationResult(expires_in={self.expires_in}, new_device={self.new_device})"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def _uuid(rt: Runtime) -> str:
    return str(uuid.UUID(bytes=rt.random_bytes(16), version=4))


def issue(
    rt: Runtime,
    pool: PoolSettings,
    client: AppClient,
    user: UserRecord,
    *,
    device_key: str | None,
    auth_time: int,
    new_device: NewDeviceMetadata | None = None,
    origin_jti: str | None = None,
    with_refresh: bool = True,
) -> AuthenticationResult:
    """Access and id tokens (and a stored refresh token) for a completed sign-in."""
    now = rt.now_int()
    origin = origin_jti or _uuid(rt)
    event_id = _uuid(rt)
    issuer = rt.issuer(pool.pool_id)
    access = issuer.access_token(
        sub=user.sub,
        username=user.username,
        client_id=client.client_id,
        auth_time=auth_time,
        now=now,
        lifetime=pool.tokens.access,
        jti=_uuid(rt),
        origin_jti=origin,
        event_id=event_id,
        device_key=device_key,
    )
    attributes = {str(k): str(v) for k, v in user.attributes.items()}
    id_token = issuer.id_token(
        sub=user.sub,
        username=user.username,
        client_id=client.client_id,
        attributes=attributes,
        auth_time=auth_time,
        now=now,
        lifetime=pool.tokens.id,
        jti=_uuid(rt),
        origin_jti=origin,
        event_id=event_id,
    )
    refresh_token = None
    if with_refresh:
        refresh_token = _PREFIX + base64.urlsafe_b64encode(rt.random_bytes(32)).decode().rstrip("=")
        rt.store.insert_refresh_token(
            RefreshTokenRecord(
                token_hash=_hash(refresh_token),
                pool_id=pool.pool_id,
                client_id=client.client_id,
                user_sub=user.sub,
                device_key=device_key,
                origin_jti=origin,
                created_at=float(auth_time),
                expires_at=float(now + pool.tokens.refresh),
            )
        )
    return AuthenticationResult(
        access_token=access,
        id_token=id_token,
        refresh_token=refresh_token,
        expires_in=pool.tokens.access,
        new_device=new_device,
    )


def _invalid() -> NotAuthorizedError:
    return NotAuthorizedError("Invalid Refresh Token")


def _lookup(
    rt: Runtime, token: object, client: AppClient
) -> tuple[RefreshTokenRecord, bytes | None]:
    """The live record of ``token``, and the successor it was rotated to if this is the one
    retry allowed within the grace period."""
    if (
        not isinstance(token, str)
        or not token.startswith(_PREFIX)
        or len(token) > _MAX_REFRESH_CHARS
        or not token.isascii()
    ):
        raise _invalid()
    record = rt.store.get_refresh_token(_hash(token))
    if record is None or record.client_id != client.client_id or rt.now() >= record.expires_at:
        raise _invalid()
    if not record.revoked:
        return record, None
    # One retry of a token rotated a moment ago, if its successor is still alive.
    ticket = rt.store.take_ticket(_grace_id(record), kind=_GRACE_KIND, now=rt.now())
    successor = None
    if ticket is not None:
        successor_hash = bytes.fromhex(str(ticket.payload.get("successor", "")))
        successor = rt.store.get_refresh_token(successor_hash)
    if successor is None or successor.revoked:
        raise NotAuthorizedError("Refresh Token has been revoked")
    return record, successor.token_hash


def _grace_id(record: RefreshTokenRecord) -> str:
    return "rtgrace." + record.token_hash.hex()


def refresh(
    rt: Runtime,
    pool: PoolSettings,
    client: AppClient,
    token: object,
    *,
    device_key: str | None,
    secret_hash: str | None = None,
    check_hash: bool = False,
) -> AuthenticationResult:
    """REFRESH_TOKEN_AUTH (``check_hash``: SECRET_HASH over the user's names) and
    GetTokensFromRefreshToken (whose caller checks the ClientSecret)."""
    record, lost_successor = _lookup(rt, token, client)
    if record.device_key is not None and device_key != record.device_key:
        # Bound to the device the sign-in was issued (even one never confirmed), as Cognito:
        # a refresh without that key, or with another, fails.
        raise _invalid()
    user = rt.store.get_user_by_sub(pool.pool_id, record.user_sub)
    if user is None or not user.enabled:
        raise _invalid()
    if check_hash:
        check_secret_hash(client, secret_hash, user_names(user))
    with rt.store.transaction():
        result = issue(
            rt,
            pool,
            client,
            user,
            device_key=record.device_key,
            auth_time=int(record.created_at),
            origin_jti=record.origin_jti,
            with_refresh=pool.refresh_rotation,
        )
        if lost_successor is not None:
            # The retry replaces the successor whose response was lost; no further grace.
            rt.store.revoke_refresh_token(lost_successor)
        elif pool.refresh_rotation and result.refresh_token is not None:
            rt.store.revoke_refresh_token(record.token_hash)
            rt.store.put_ticket(
                TicketRecord(
                    ticket_id=_grace_id(record),
                    kind=_GRACE_KIND,
                    payload={"successor": _hash(result.refresh_token).hex()},
                    expires_at=rt.now() + pool.refresh_grace_seconds,
                )
            )
    return result


def revoke(rt: Runtime, pool: PoolSettings, client: AppClient, token: object) -> None:
    """RevokeToken: the refresh token, its family and the access tokens issued from it."""
    try:
        record, _ = _lookup(rt, token, client)
    except NotAuthorizedError:
        return  # RFC 7009 §2.2: an invalid token is not an error for revocation
    with rt.store.transaction():
        rt.store.revoke_refresh_tokens(pool.pool_id, record.user_sub, origin_jti=record.origin_jti)
        user = rt.store.get_user_by_sub(pool.pool_id, record.user_sub)
        if user is not None:
            expires = rt.now() + max(pool.tokens.access, pool.tokens.id)
            rt.store.update_user(revoke_origin(user, record.origin_jti, expires, rt.now()))


def global_sign_out(rt: Runtime, pool: PoolSettings, user: UserRecord) -> None:
    """Every refresh token of the user dies; access tokens issued until now are refused."""
    with rt.store.transaction():
        rt.store.revoke_refresh_tokens(pool.pool_id, user.sub)
        fresh = rt.store.get_user_by_sub(pool.pool_id, user.sub) or user
        rt.store.update_user(updated(fresh, rt.now(), signed_out_at=int(rt.now())))


def _unverified_pool(token: str) -> str:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        pool_id = str(claims["iss"]).rsplit("/", 1)[-1]
        parse_pool_id(pool_id)
        return pool_id
    except (IndexError, ValueError, KeyError, TypeError):
        raise NotAuthorizedError("Invalid Access Token") from None


def verify_access(rt: Runtime, token: object) -> tuple[PoolSettings, AccessClaims, UserRecord]:
    """The pool, claims and user of a valid, unrevoked access token, else NotAuthorized."""
    if not isinstance(token, str) or len(token) > 16384 or token.count(".") != 2:
        raise NotAuthorizedError("Invalid Access Token")
    pool_id = _unverified_pool(token)
    try:
        pool = rt.pool(pool_id)
    except ResourceNotFoundError:
        raise NotAuthorizedError("Invalid Access Token") from None
    try:
        kid = str(jwt.get_unverified_header(token).get("kid"))
    except jwt.PyJWTError:
        raise NotAuthorizedError("Invalid Access Token") from None
    claims = rt.issuer(pool_id, want_kid=kid).verify_access(token, rt.now_int())
    user = rt.store.get_user_by_sub(pool_id, claims.sub)
    if user is None or not user.enabled:
        raise NotAuthorizedError("Access Token has been revoked")
    signed_out = user.mfa.get("signed_out_at")
    revoked = user.mfa.get("revoked_origins") or {}
    # iat has one-second resolution: a token from the second of the sign-out itself is refused
    # too (a sign-in in that same second must sign in again: safer than letting one survive).
    if (isinstance(signed_out, int | float) and claims.issued_at <= signed_out) or (
        claims.origin_jti in revoked
    ):
        raise NotAuthorizedError("Access Token has been revoked")
    return pool, claims, user
