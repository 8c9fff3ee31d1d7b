"""Shared builders for the protocol tests (no tests here): real engines, deterministic inputs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from devicesrp import modexp
from devicesrp.protocol import (
    Challenge,
    ChallengeContext,
    ClientHandshake,
    ClientResponse,
    DeviceCredentials,
    FinishResult,
    Flow,
    KeyRing,
    SealingKey,
    ServerEngine,
    UserCredentials,
    VerifierRecord,
)
from devicesrp.srp import cognito

POOL_ID = "us-east-1_TestPool1"
CLIENT_ID = "3n4b5urk1ft4fl3mg5e62d9ado"
USER = "0a1b2c3d-0000-4000-8000-00000000abcd"
DEVICE_KEY = "us-east-1_6f0c9d4e-1a2b-4c3d-8e9f-0123456789ab"
GROUP_KEY = "-Fk2gQzXy"
DEVICE_PASSWORD = "c2VjcmV0LWRldmljZS1wYXNzd29yZC1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ=="
USER_PASSWORD = "Correct horse 1!"
NOW = 1_764_170_000  # 2025-11-26, an arbitrary fixed clock


def det(label: str, n: int, counter: int = 0) -> bytes:
    """Deterministic test bytes (SHA-256 stream), so every run is reproducible."""
    out = b""
    block = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}/{counter}/{block}".encode()).digest()
        block += 1
    return out[:n]


def ring(*ids: int) -> KeyRing:
    return KeyRing(SealingKey(i, det("key", 32, i)) for i in ids)


def device_record(password: str = DEVICE_PASSWORD, salt: bytes | None = None) -> VerifierRecord:
    config = cognito.device_verifier(GROUP_KEY, DEVICE_KEY, password, salt or det("salt", 16))
    return VerifierRecord.for_device(GROUP_KEY, DEVICE_KEY, config)


def user_record(password: str = USER_PASSWORD) -> VerifierRecord:
    salt_bytes = b"\x00" + det("user-salt", 16)
    x = cognito.compute_x(salt_bytes.hex(), cognito.pool_name(POOL_ID), USER, password)
    return VerifierRecord.for_user(POOL_ID, USER, salt_bytes, cognito.compute_verifier(x))


def device_context(**changes: Any) -> ChallengeContext:
    fields: dict[str, Any] = {
        "flow": Flow.DEVICE_PASSWORD,
        "pool_id": POOL_ID,
        "client_id": CLIENT_ID,
        "user": USER,
        "device": DEVICE_KEY,
    }
    fields.update(changes)
    return ChallengeContext(**fields)


def user_context(**changes: Any) -> ChallengeContext:
    fields: dict[str, Any] = {
        "flow": Flow.USER_PASSWORD,
        "pool_id": POOL_ID,
        "client_id": CLIENT_ID,
        "user": USER,
        "device": None,
    }
    fields.update(changes)
    return ChallengeContext(**fields)


@dataclass
class Run:
    """One handshake in progress: the client, the server's challenge and the client's response."""

    client: ClientHandshake
    engine: ServerEngine
    record: VerifierRecord
    context: ChallengeContext
    A: int
    challenge: Challenge
    response: ClientResponse

    def finish(self, **changes: Any) -> FinishResult:
        kwargs: dict[str, Any] = {
            "record": self.record,
            "context": self.context,
            "response": self.response,
            "now": NOW + 1,
        }
        kwargs.update(changes)
        return self.engine.finish(
            kwargs["record"], kwargs["context"], kwargs["response"], now=kwargs["now"]
        )


def device_run(
    counter: int = 0,
    *,
    password: str = DEVICE_PASSWORD,
    engine: ServerEngine | None = None,
    require_server_proof: bool = True,
    client_now: int = NOW + 1,
) -> Run:
    """A device handshake up to the response: the client knows ``password``; the record is right."""
    eng = engine or ServerEngine(ring(1))
    record = device_record()
    context = device_context()
    client = ClientHandshake(
        DeviceCredentials(GROUP_KEY, DEVICE_KEY, password),
        require_server_proof=require_server_proof,
    )
    a_pub = client.start(det("a", 32, counter))
    challenge = eng.begin(
        record,
        context,
        a_pub,
        b=det("b", 32, counter),
        now=NOW,
        challenge_id=det("id", 16, counter),
        nonce=det("nonce", 12, counter),
    )
    response = client.respond(challenge, now=client_now)
    return Run(client, eng, record, context, a_pub, challenge, response)


def user_run(counter: int = 0, *, password: str = USER_PASSWORD) -> Run:
    eng = ServerEngine(ring(1))
    record = user_record()
    context = user_context()
    client = ClientHandshake(UserCredentials(POOL_ID, password), require_server_proof=True)
    a_pub = client.start(det("a", 32, counter))
    challenge = eng.begin(
        record,
        context,
        a_pub,
        b=det("b", 32, counter),
        now=NOW,
        challenge_id=det("id", 16, counter),
        nonce=det("nonce", 12, counter),
    )
    response = client.respond(challenge, now=NOW + 1)
    return Run(client, eng, record, context, a_pub, challenge, response)


class ModexpSpy:
    """Counts calls into the secret modexp entry points (wrapping the real functions)."""

    NAMES = (
        "srp_client_premaster",
        "srp_server_premaster",
        "srp_server_public",
        "srp_verifier",
        "powmod_secret",
    )

    def __init__(self, monkeypatch: Any) -> None:
        self.calls: list[str] = []
        for name in self.NAMES:
            real = getattr(modexp, name)
            monkeypatch.setattr(modexp, name, self._wrap(name, real))

    def _wrap(self, name: str, real: Any) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return real(*args, **kwargs)

        return spy
