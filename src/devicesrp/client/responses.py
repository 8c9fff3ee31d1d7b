"""Strict checks on everything the service sends, turned into typed values.

boto3 already drops members its model does not know and checks JSON types loosely; these checks
go further, so a broken or hostile endpoint meets a ``RemoteProtocolError`` naming the field
(never a ``KeyError`` or a half-finished sign-in): challenge names from a closed set; every
challenge parameter a string under a size cap; ``Session`` 20..2,048 characters (the API model);
``SRP_B`` and ``SALT`` in strict hex (the math layer refuses an unsafe B before any secret work);
``SECRET_BLOCK`` base64 under a cap; access and id tokens shaped as JWTs; ``ExpiresIn`` a
positive integer; ``TokenType`` "Bearer"; device keys shaped as Cognito's ``[\\w-]+_[0-9a-f-]+``.
The server proof (devicesrp's ``x-devicesrp-server-proof`` header) is 32 bytes, sent as hex or
base64; anything else in that header is refused rather than ignored.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import InvalidParameterError, RemoteProtocolError
from ..protocol import SERVER_PROOF_BYTES, Challenge
from ..srp.cognito import parse_salt, parse_server_public
from ..srp.encoding import pad_bytes
from .store import check_device_key

__all__ = [
    "CHALLENGE_NAMES",
    "SERVER_PROOF_HEADER",
    "AuthStep",
    "Device",
    "NewDevice",
    "Tokens",
    "parse_auth_step",
    "parse_device",
    "parse_device_challenge",
    "parse_password_challenge",
    "parse_server_proof",
    "parse_session",
]

SERVER_PROOF_HEADER = "x-devicesrp-server-proof"
#: Challenges a USER_SRP_AUTH sign-in can meet; anything else cannot be answered here.
CHALLENGE_NAMES = frozenset(
    {
        "PASSWORD_VERIFIER",
        "DEVICE_SRP_AUTH",
        "DEVICE_PASSWORD_VERIFIER",
        "SMS_MFA",
        "SOFTWARE_TOKEN_MFA",
        "SELECT_MFA_TYPE",
        "MFA_SETUP",
        "NEW_PASSWORD_REQUIRED",
    }
)
MIN_SESSION_CHARS = 20
MAX_SESSION_CHARS = 2048
MAX_PARAMETER_CHARS = 32 * 1024
MAX_PARAMETERS = 64
MAX_TOKEN_CHARS = 16 * 1024
MAX_USERNAME_CHARS = 128
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_TEN_YEARS = 10 * 366 * 86_400


def _fail(name: str, reason: str) -> RemoteProtocolError:
    return RemoteProtocolError(name, reason)


def _string(name: str, value: object, cap: int) -> str:
    if not isinstance(value, str):
        raise _fail(name, "missing or not a string")
    if not value or len(value) > cap:
        raise _fail(name, f"must be 1..{cap} characters")
    if not value.isprintable():
        raise _fail(name, "contains control characters")
    return value


def _mapping(name: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(name, "missing or not an object")
    return value


def parse_session(value: object) -> str | None:
    """``Session``: absent, or 20..2,048 printable characters (the API model's bounds)."""
    if value is None:
        return None
    text = _string("Session", value, MAX_SESSION_CHARS)
    if len(text) < MIN_SESSION_CHARS:
        raise _fail("Session", f"must be at least {MIN_SESSION_CHARS} characters")
    return text


@dataclass(frozen=True, repr=False)
class Tokens:
    """The AuthenticationResult: the three tokens (kept out of ``repr``), lifetime and type."""

    access_token: str
    id_token: str
    refresh_token: str | None
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the token type, not a secret

    def __repr__(self) -> str:
        refresh = "yes" if self.refresh_token else "no"
        return f"Tokens(expires_in={self.expires_in}, refresh_token={refresh})"

    def claims(self, which: str = "access") -> dict[str, Any]:
        """The (unverified) JSON claims of the access or id token, for display and routing."""
        token = self.access_token if which == "access" else self.id_token
        parts = token.split(".")
        if len(parts) != 3:
            raise _fail(f"{which} token", "is not a JWT")
        payload = parts[1]
        try:
            decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, binascii.Error):
            raise _fail(f"{which} token", "payload is not base64url JSON") from None
        if not isinstance(decoded, dict):
            raise _fail(f"{which} token", "payload is not a JSON object")
        return decoded


@dataclass(frozen=True)
class NewDevice:
    """NewDeviceMetadata: the key and group key the service issued for this device."""

    device_key: str
    device_group_key: str


@dataclass(frozen=True)
class AuthStep:
    """One InitiateAuth / RespondToAuthChallenge answer: a challenge, or tokens."""

    challenge: str | None
    parameters: Mapping[str, str] = field(default_factory=dict)
    session: str | None = None
    tokens: Tokens | None = None
    new_device: NewDevice | None = None


def _jwt(name: str, value: object) -> str:
    text = _string(name, value, MAX_TOKEN_CHARS)
    if not _JWT.fullmatch(text):
        raise _fail(name, "is not a JWT")
    return text


def parse_tokens(result: object, *, refresh: bool = False) -> tuple[Tokens, NewDevice | None]:
    """AuthenticationResult -> Tokens (+ NewDeviceMetadata). A refresh may omit RefreshToken."""
    body = _mapping("AuthenticationResult", result)
    access = _jwt("AccessToken", body.get("AccessToken"))
    id_token = _jwt("IdToken", body.get("IdToken"))
    raw_refresh = body.get("RefreshToken")
    if raw_refresh is None and not refresh:
        raise _fail("RefreshToken", "missing")
    refresh_token = None if raw_refresh is None else _string("RefreshToken", raw_refresh, 16384)
    expires = body.get("ExpiresIn")
    if isinstance(expires, bool) or not isinstance(expires, int) or not 0 < expires <= _TEN_YEARS:
        raise _fail("ExpiresIn", "must be a positive number of seconds")
    if body.get("TokenType") != "Bearer":
        raise _fail("TokenType", "must be Bearer")
    new_device = None
    if body.get("NewDeviceMetadata") is not None:
        meta = _mapping("NewDeviceMetadata", body["NewDeviceMetadata"])
        try:
            key = check_device_key(meta.get("DeviceKey"), "DeviceKey")
        except (InvalidParameterError, TypeError) as exc:
            raise _fail("DeviceKey", getattr(exc, "reason", "not a string")) from None
        group = _string("DeviceGroupKey", meta.get("DeviceGroupKey"), 1024)
        new_device = NewDevice(key, group)
    return Tokens(access, id_token, refresh_token, expires), new_device


def parse_auth_step(response: Mapping[str, Any]) -> AuthStep:
    """A sign-in answer: exactly one of a known challenge or an AuthenticationResult."""
    name = response.get("ChallengeName")
    result = response.get("AuthenticationResult")
    session = parse_session(response.get("Session"))
    if name is not None and result is not None:
        raise _fail("ChallengeName", "sent together with AuthenticationResult")
    if result is not None:
        tokens, new_device = parse_tokens(result)
        return AuthStep(None, {}, session, tokens, new_device)
    if name is None:
        raise _fail("ChallengeName", "neither a challenge nor tokens")
    name = _string("ChallengeName", name, 64)
    if name not in CHALLENGE_NAMES:
        # A challenge this client cannot answer (CUSTOM_CHALLENGE ...) is the caller's business.
        return AuthStep(name, {}, session)
    raw = response.get("ChallengeParameters") or {}
    params = _mapping("ChallengeParameters", raw)
    if len(params) > MAX_PARAMETERS:
        raise _fail("ChallengeParameters", "too many entries")
    checked = {
        _string("ChallengeParameters key", k, 128): _string(k, v, MAX_PARAMETER_CHARS)
        for k, v in params.items()
        if v is not None
    }
    return AuthStep(name, checked, session)


def _srp_values(params: Mapping[str, str]) -> tuple[bytes, int, str]:
    try:
        salt = pad_bytes(parse_salt(params.get("SALT", "")))
        b_pub = parse_server_public(params.get("SRP_B", ""))
    except InvalidParameterError as exc:
        raise _fail(exc.field, exc.reason) from None
    block = params.get("SECRET_BLOCK")
    if block is None:
        raise _fail("SECRET_BLOCK", "missing")
    return salt, b_pub, block


def parse_password_challenge(params: Mapping[str, str]) -> tuple[Challenge, str]:
    """PASSWORD_VERIFIER parameters -> (Challenge for USER_ID_FOR_SRP, the USERNAME to echo)."""
    user_id = _string("USER_ID_FOR_SRP", params.get("USER_ID_FOR_SRP"), MAX_USERNAME_CHARS)
    username = _string("USERNAME", params.get("USERNAME", user_id), MAX_USERNAME_CHARS)
    salt, b_pub, block = _srp_values(params)
    return Challenge(identity=user_id, salt=salt, B=b_pub, secret_block=block), username


def parse_device_challenge(params: Mapping[str, str], device_key: str) -> Challenge:
    """DEVICE_PASSWORD_VERIFIER parameters, which must name our device."""
    named = params.get("DEVICE_KEY", device_key)
    if named != device_key:
        raise _fail("DEVICE_KEY", "the challenge names another device")
    salt, b_pub, block = _srp_values(params)
    return Challenge(identity=device_key, salt=salt, B=b_pub, secret_block=block)


def parse_server_proof(response: Mapping[str, Any]) -> bytes | None:
    """The ``x-devicesrp-server-proof`` header: None if absent, else exactly 32 bytes."""
    meta = response.get("ResponseMetadata")
    headers = meta.get("HTTPHeaders") if isinstance(meta, Mapping) else None
    if not isinstance(headers, Mapping):
        return None
    values = [v for k, v in headers.items() if str(k).lower() == SERVER_PROOF_HEADER]
    if not values:
        return None
    text = values[0]
    if not isinstance(text, str) or len(values) > 1:
        raise _fail(SERVER_PROOF_HEADER, "must be one value")
    text = text.strip()
    proof: bytes | None = None
    if len(text) == 2 * SERVER_PROOF_BYTES and re.fullmatch(r"[0-9a-fA-F]+", text):
        proof = bytes.fromhex(text)
    else:
        try:
            proof = base64.b64decode(text.encode("ascii"), validate=True)
        except (ValueError, binascii.Error):
            proof = None
        if proof is None:
            with_url = text.replace("-", "+").replace("_", "/")
            try:
                proof = base64.b64decode(with_url + "=" * (-len(with_url) % 4), validate=True)
            except (ValueError, binascii.Error):
                proof = None
    if proof is None or len(proof) != SERVER_PROOF_BYTES:
        raise _fail(SERVER_PROOF_HEADER, f"must be {SERVER_PROOF_BYTES} bytes in hex or base64")
    return proof


@dataclass(frozen=True)
class Device:
    """A DeviceType: key, the attributes by name, and its dates (None when not sent)."""

    device_key: str
    attributes: Mapping[str, str]
    created: dt.datetime | None
    last_modified: dt.datetime | None
    last_authenticated: dt.datetime | None

    @property
    def name(self) -> str | None:
        return self.attributes.get("device_name")

    @property
    def remembered(self) -> bool | None:
        status = self.attributes.get("dev:device_remembered_status")
        return None if status is None else status == "remembered"

    @property
    def last_ip(self) -> str | None:
        return self.attributes.get("last_ip_used")


def _date(name: str, value: object) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise _fail(name, "must be a date")
    return value


def parse_device(value: object) -> Device:
    """One DeviceType from ListDevices / GetDevice."""
    body = _mapping("Device", value)
    try:
        key = check_device_key(body.get("DeviceKey"), "DeviceKey")
    except (InvalidParameterError, TypeError) as exc:
        raise _fail("DeviceKey", getattr(exc, "reason", "not a string")) from None
    attributes: dict[str, str] = {}
    raw_attributes = body.get("DeviceAttributes") or []
    if not isinstance(raw_attributes, list) or len(raw_attributes) > MAX_PARAMETERS:
        raise _fail("DeviceAttributes", "must be a short list")
    for item in raw_attributes:
        entry = _mapping("DeviceAttributes[]", item)
        attr_name = _string("DeviceAttributes.Name", entry.get("Name"), 128)
        attr_value = entry.get("Value", "")
        if not isinstance(attr_value, str) or len(attr_value) > 2048:
            raise _fail("DeviceAttributes.Value", "must be a string of at most 2048 characters")
        attributes[attr_name] = attr_value
    return Device(
        device_key=key,
        attributes=MappingProxyType(attributes),
        created=_date("DeviceCreateDate", body.get("DeviceCreateDate")),
        last_modified=_date("DeviceLastModifiedDate", body.get("DeviceLastModifiedDate")),
        last_authenticated=_date(
            "DeviceLastAuthenticatedDate", body.get("DeviceLastAuthenticatedDate")
        ),
    )
