"""The ``Session`` value that ties the steps of one sign-in together.

Session = "v1" | base64url( kid(4) | nonce(12) | AES-256-GCM(key[kid], nonce, JSON(state), aad) )

Opaque to clients, sealed (a flipped byte never opens), 20..1,024 characters (boto3 requires >= 20;
docs/cognito-device-srp.md §6.1 caps it at 1,024). It names the transaction, the step it unlocks,
pool, client, user, device and whether MFA is done; the caller consumes (transaction, step) once in
the store, so a Session is good for one step only. Older sealing keys keep opening until retired, so
a key rotation does not break sign-ins in flight.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import InvalidParameterError
from .decision import Step
from .errors import invalid_session

__all__ = ["MAX_SESSION_CHARS", "MIN_SESSION_CHARS", "SessionSealer", "SessionState"]

MIN_SESSION_CHARS = 20
MAX_SESSION_CHARS = 1024
_PREFIX = "v1"
_AAD = b"devicesrp-session-v1"
_FIELD_CAPS = {
    "txn": 64,
    "pool_id": 55,
    "client_id": 128,
    "user_sub": 64,
    "device_key": 55,
}


@dataclass(frozen=True)
class SessionState:
    """What one Session vouches for. ``step`` is the step this Session unlocks."""

    txn: str
    step: Step
    pool_id: str
    client_id: str
    user_sub: str
    device_key: str | None
    mfa_done: bool
    auth_time: int
    expires_at: int
    # Whether the tokens at the end come with NewDeviceMetadata.
    new_device: bool = False
    # Steps after ``step``, in order (the rest of the decision-table plan).
    then: tuple[Step, ...] = ()
    # The hash of the user-step A (binds pycognito's device ticket) or of the challenge block.
    extra: str = field(default="")
    # The MAC of the SMS code sent for this step (the code itself never leaves the outbox).
    code_mac: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        for name, cap in _FIELD_CAPS.items():
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, str) or len(value.encode("utf-8", "replace")) > cap
            ):
                raise InvalidParameterError(name, f"must be a string of at most {cap} bytes")
        if len(self.then) > 4 or len(self.extra) > 64 or len(self.code_mac) > 64:
            raise InvalidParameterError("extra", "at most 4 steps and 64 characters")


# Positional JSON with steps as small numbers: the worst case stays under 1,024 characters.
_FIELDS = [f.name for f in fields(SessionState)]
_STEPS = list(Step)


def _encode(state: SessionState) -> list[object]:
    values: list[object] = []
    for name in _FIELDS:
        value = getattr(state, name)
        if name == "step":
            value = _STEPS.index(value)
        elif name == "then":
            value = [_STEPS.index(s) for s in value]
        values.append(value)
    return values


def _decode(values: object) -> SessionState:
    if not isinstance(values, list) or len(values) != len(_FIELDS):
        raise ValueError("not a session")
    data = dict(zip(_FIELDS, values, strict=True))
    data["step"] = _STEPS[data["step"]]
    data["then"] = tuple(_STEPS[i] for i in data["then"])
    for name in ("auth_time", "expires_at"):
        if not isinstance(data[name], int):
            raise ValueError("not a session")
    return SessionState(**data)


class SessionSealer:
    """Seals with the first key, opens with any; keys are (4-byte kid, 32-byte AES key)."""

    def __init__(self, keys: Sequence[tuple[bytes, bytes]]) -> None:
        if not keys:
            raise ValueError("at least one sealing key is needed")
        for kid, key in keys:
            if len(kid) != 4 or len(key) != 32:
                raise ValueError("sealing keys are (4-byte id, 32-byte key)")
        # one cipher per key, set up once (AES key expansion per call costs microseconds)
        self._current = (keys[0][0], AESGCM(keys[0][1]))
        self._by_kid = {kid: AESGCM(key) for kid, key in keys}

    def seal(self, state: SessionState, nonce: bytes) -> str:
        """The deterministic twin: ``nonce`` is 12 fresh random bytes from the caller."""
        if len(nonce) != 12:
            raise ValueError("nonce must be 12 bytes")
        kid, cipher = self._current
        plain = json.dumps(_encode(state), separators=(",", ":")).encode()
        sealed = cipher.encrypt(nonce, plain, _AAD + kid)
        text = _PREFIX + base64.urlsafe_b64encode(kid + nonce + sealed).decode("ascii").rstrip("=")
        if not MIN_SESSION_CHARS <= len(text) <= MAX_SESSION_CHARS:
            raise InvalidParameterError("Session", "sealed session out of bounds")
        return text

    def open(self, text: object, now: int) -> SessionState:
        """The state inside ``text``; any defect or expiry is the one "invalid session" error."""
        if (
            not isinstance(text, str)
            or not MIN_SESSION_CHARS <= len(text) <= MAX_SESSION_CHARS
            or not text.startswith(_PREFIX)
            or not text.isascii()
        ):
            raise invalid_session()
        body = text[len(_PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise invalid_session() from None
        # Only the canonical encoding opens (no alternative spellings of the same bytes).
        if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != body or len(raw) < 33:
            raise invalid_session()
        cipher = self._by_kid.get(raw[:4])
        if cipher is None:
            raise invalid_session()
        try:
            plain = cipher.decrypt(raw[4:16], raw[16:], _AAD + raw[:4])
            state = _decode(json.loads(plain))
        except (InvalidTag, ValueError, TypeError, KeyError, IndexError):
            raise invalid_session() from None
        if now > state.expires_at:
            raise invalid_session()
        return state
