"""Convenience wrappers that fill the protocol's randomness and clock from ``secrets`` and time.

Each function here is the live twin of a deterministic entry point in ``devicesrp.protocol`` or
``devicesrp.srp`` (the pattern of pyca/cryptography's ``Fernet.encrypt`` over
``encrypt_at_time``): tests and known-answer vectors drive the twin; applications call these.

- ``start(client)``: a = 32 random bytes, then ``ClientHandshake.start(a)``.
- ``respond(client, challenge)``: now = the system clock, then ``ClientHandshake.respond``.
- ``begin(engine, record, context, A)``: b (32 bytes), a 16-byte challenge id, a 12-byte nonce
  and now, then ``ServerEngine.begin``.
- ``finish(engine, record, context, response)``: now, then ``ServerEngine.finish``.
- ``new_sealing_key(key_id)``: a fresh AES-256 key for the key ring.
- ``new_device_secret(device_group_key, device_key)``: the device password (base64 of 40 random
  bytes, as the official clients make it) and its verifier over a 16-byte random salt.
"""

from __future__ import annotations

import base64
import secrets
import time

from ..errors import InvalidParameterError, InvalidTypeError
from ..protocol import (
    CHALLENGE_ID_BYTES,
    NONCE_BYTES,
    Challenge,
    ChallengeContext,
    ClientHandshake,
    ClientResponse,
    FinishResult,
    SealingKey,
    ServerEngine,
    VerifierRecord,
)
from ..protocol.keyring import KEY_BYTES
from ..srp.cognito import DEFAULT_SECRET_BYTES, DeviceVerifier, device_verifier

__all__ = [
    "DEVICE_PASSWORD_BYTES",
    "DEVICE_SALT_BYTES",
    "begin",
    "finish",
    "new_device_secret",
    "new_sealing_key",
    "new_secret",
    "now",
    "respond",
    "start",
]

#: Official clients draw 40 random bytes for the device password and 16 for its salt (doc §4).
DEVICE_PASSWORD_BYTES = 40
DEVICE_SALT_BYTES = 16


def now() -> int:
    """The system clock in whole epoch seconds (TIMESTAMP has one-second resolution)."""
    return int(time.time())


def new_secret(nbytes: int = DEFAULT_SECRET_BYTES) -> bytes:
    """A random SRP secret (a or b) of ``nbytes`` bytes, never zero."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int):
        raise InvalidTypeError("nbytes", "int", nbytes)
    if not DEFAULT_SECRET_BYTES <= nbytes <= 1024:
        raise InvalidParameterError("nbytes", f"must be {DEFAULT_SECRET_BYTES}..1024")
    while True:
        value = secrets.token_bytes(nbytes)
        if any(value):  # an all-zero draw (2**-256) would be refused by the engines
            return value


def new_sealing_key(key_id: int) -> SealingKey:
    """A fresh random 32-byte AES-256-GCM sealing key with id ``key_id``."""
    return SealingKey(key_id, secrets.token_bytes(KEY_BYTES))


def start(client: ClientHandshake, *, nbytes: int = DEFAULT_SECRET_BYTES) -> int:
    """``client.start(a)`` with a fresh random ``a``; returns A."""
    return client.start(new_secret(nbytes))


def respond(client: ClientHandshake, challenge: Challenge) -> ClientResponse:
    """``client.respond(challenge, now=<system clock>)``."""
    return client.respond(challenge, now=now())


def begin(
    engine: ServerEngine,
    record: VerifierRecord,
    context: ChallengeContext,
    A: int,
    *,
    nbytes: int = DEFAULT_SECRET_BYTES,
) -> Challenge:
    """``engine.begin`` with a fresh b, challenge id, sealing nonce and the system clock."""
    return engine.begin(
        record,
        context,
        A,
        b=new_secret(nbytes),
        now=now(),
        challenge_id=secrets.token_bytes(CHALLENGE_ID_BYTES),
        nonce=secrets.token_bytes(NONCE_BYTES),
    )


def finish(
    engine: ServerEngine,
    record: VerifierRecord,
    context: ChallengeContext,
    response: ClientResponse,
) -> FinishResult:
    """``engine.finish`` at the system clock."""
    return engine.finish(record, context, response, now=now())


def new_device_secret(device_group_key: str, device_key: str) -> tuple[str, DeviceVerifier]:
    """(device password, DeviceSecretVerifierConfig bytes) for a newly confirmed device."""
    password = base64.b64encode(secrets.token_bytes(DEVICE_PASSWORD_BYTES)).decode("ascii")
    salt = secrets.token_bytes(DEVICE_SALT_BYTES)
    return password, device_verifier(device_group_key, device_key, password, salt)
