"""RS256 JWTs as Cognito issues them, and the JWKS that lets clients check them.

iss = <issuer base>/<pool id>  (Cognito: https://cognito-idp.<region>.amazonaws.com/<pool id>)
Access token: sub, username, cognito:username, client_id, token_use=access,
  scope=aws.cognito.signin.user.admin, auth_time, iat, exp, jti, origin_jti, event_id[, device_key].
Id token: sub, aud=<client id>, token_use=id, cognito:username, auth_time, iat, exp, jti,
  origin_jti, event_id, plus the user's attributes (email, email_verified, ...).
Claims follow docs/real-clients.md (pycognito checks kid, iss, exp, token_use, aud, integer iat).

Signing keys rotate: the newest active key signs; every key not yet retired stays in the JWKS, so
tokens signed before a rotation verify until they expire.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import NotAuthorizedError

__all__ = [
    "ACCESS_SCOPE",
    "AccessClaims",
    "SigningKey",
    "TokenIssuer",
    "generate_signing_key",
]

ACCESS_SCOPE = "aws.cognito.signin.user.admin"
_MAX_TOKEN_CHARS = 16384
# Attributes copied into the id token when the user has them.
_ID_TOKEN_ATTRIBUTES = (
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "locale",
)


@dataclass(frozen=True)
class SigningKey:
    """One RSA key pair with its key id; the private half never appears in repr."""

    kid: str
    private_pem: bytes = field(repr=False)

    def private_key(self) -> rsa.RSAPrivateKey:
        return self._loaded

    @functools.cached_property
    def _loaded(self) -> rsa.RSAPrivateKey:
        # Loading checks the key, which takes ~0.1 s: done once per key, not per token.
        key = serialization.load_pem_private_key(self.private_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("signing key is not RSA")
        return key

    def jwk(self) -> dict[str, str]:
        numbers = self.private_key().public_key().public_numbers()
        return {
            "alg": "RS256",
            "e": _b64u_int(numbers.e),
            "kid": self.kid,
            "kty": "RSA",
            "n": _b64u_int(numbers.n),
            "use": "sig",
        }


def generate_signing_key(kid: str) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(kid=kid, private_pem=pem)


def _b64u_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class AccessClaims:
    """What the device and user APIs learn from a verified access token."""

    sub: str
    username: str
    client_id: str
    jti: str
    origin_jti: str
    issued_at: int
    device_key: str | None


class TokenIssuer:
    """Signs and verifies the tokens of one pool under an issuer base URL."""

    def __init__(self, issuer_base: str, pool_id: str, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self.issuer = f"{issuer_base.rstrip('/')}/{pool_id}"
        self._signer = keys[0]
        self._by_kid = {k.kid: k for k in keys}
        self._public = {k.kid: k.private_key().public_key() for k in keys}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [k.jwk() for k in self._by_kid.values()]}

    def _sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(
            dict(claims),
            self._signer.private_key(),
            algorithm="RS256",
            headers={"kid": self._signer.kid},
        )

    def access_token(
        self,
        *,
        sub: str,
        username: str,
        client_id: str,
        auth_time: int,
        now: int,
        lifetime: int,
        jti: str,
        origin_jti: str,
        event_id: str,
        device_key: str | None,
    ) -> str:
        claims: dict[str, Any] = {
            "sub": sub,
            "iss": self.issuer,
            "client_id": client_id,
            "origin_jti": origin_jti,
            "event_id": event_id,
            "token_use": "access",
            "scope": ACCESS_SCOPE,
            "auth_time": auth_time,
            "exp": now + lifetime,
            "iat": now,
            "jti": jti,
            "username": username,
            "cognito:username": username,
        }
        if device_key is not None:
            claims["device_key"] = device_key
        return self._sign(claims)

    def id_token(
        self,
        *,
        sub: str,
        username: str,
        client_id: str,
        attributes: Mapping[str, str],
        auth_time: int,
        now: int,
        lifetime: int,
        jti: str,
        origin_jti: str,
        event_id: str,
    ) -> str:
        claims: dict[str, Any] = {
            "sub": sub,
            "iss": self.issuer,
            "cognito:username": username,
            "origin_jti": origin_jti,
            "aud": client_id,
            "event_id": event_id,
            "token_use": "id",
            "auth_time": auth_time,
            "exp": now + lifetime,
            "iat": now,
            "jti": jti,
        }
        for name in _ID_TOKEN_ATTRIBUTES:
            if name in attributes:
                value = attributes[name]
                # Cognito renders the *_verified attributes as JSON booleans in the id token.
                claims[name] = value == "true" if name.endswith("_verified") else value
        return self._sign(claims)

    def verify_access(self, token: object, now: int) -> AccessClaims:
        """Signature, issuer, expiry and token_use of an access token; any failure is one error."""
        if not isinstance(token, str) or not 0 < len(token) <= _MAX_TOKEN_CHARS:
            raise NotAuthorizedError("Invalid Access Token")
        try:
            header = jwt.get_unverified_header(token)
            key = self._public.get(str(header.get("kid")))
            if key is None or header.get("alg") != "RS256":
                raise NotAuthorizedError("Invalid Access Token")
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                    "require": ["exp", "iat"],
                },
            )
        except jwt.PyJWTError:
            raise NotAuthorizedError("Invalid Access Token") from None
        if claims.get("token_use") != "access" or claims.get("scope") != ACCESS_SCOPE:
            raise NotAuthorizedError("Invalid Access Token")
        exp = claims.get("exp")
        if not isinstance(exp, int) or now >= exp:
            raise NotAuthorizedError("Access Token has expired")
        try:
            return AccessClaims(
                sub=_str(claims["sub"]),
                username=_str(claims["username"]),
                client_id=_str(claims["client_id"]),
                jti=_str(claims["jti"]),
                origin_jti=_str(claims["origin_jti"]),
                issued_at=int(claims["iat"]),
                device_key=_str(claims["device_key"]) if "device_key" in claims else None,
            )
        except (KeyError, TypeError, ValueError):
            raise NotAuthorizedError("Invalid Access Token") from None


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("claim is not a string")
    return value
