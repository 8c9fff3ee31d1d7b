"""Shared harness for the server-domain tests (no tests here): stores, clock, a real SRP client.

The client side is computed with the srp layer (x, A, S, K and the claim signature), the way a
Cognito SDK computes it; nothing in the sign-in path is mocked.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pgutil
from devicesrp.server.config import AppClient, DeviceConfiguration, PoolSettings
from devicesrp.server.flow import AuthOutcome, ChallengeResult, InitiateAuthRequest, RespondRequest
from devicesrp.server.grants import AuthenticationResult
from devicesrp.server.kek import Kek
from devicesrp.server.provider import IdentityProvider
from devicesrp.server.runtime import Runtime
from devicesrp.server.tokens import generate_signing_key
from devicesrp.server.vault import KIND_JWT
from devicesrp.srp.cognito import (
    claim_signature,
    client_public,
    client_session_key,
    compute_x,
    device_verifier,
    pool_name,
    secret_hash,
)
from devicesrp.srp.encoding import to_hex
from devicesrp.srp.timestamp import format_timestamp
from devicesrp.store import SqlStore, WrappedKeyRecord, open_store

POOL = "us-east-1_TestPool1"
CLIENT = "client1"
PASSWORD = "Corr3ct-horse!"
START = 1_790_000_000.0
BACKENDS = ["sqlite", "postgresql"]


def open_backend(kind: str, tmp_path: Path) -> SqlStore:
    if kind == "sqlite":
        return open_store(f"sqlite:///{tmp_path}/server.db", pool_size=8)
    url = pgutil.pg_url()
    pgutil.truncate_all(url)
    return open_store(url, pool_size=8)


class Clock:
    """An injected clock that moves only when told to."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


TRACK_REPLACE_MFA = DeviceConfiguration(
    challenge_required_on_new_device=True, only_remembered_on_user_prompt=False
)


@dataclass
class Env:
    store: SqlStore
    clock: Clock
    rt: Runtime
    idp: IdentityProvider
    client: AppClient
    pool_id: str = POOL

    def settings(self) -> PoolSettings:
        return self.idp.pool_settings(self.pool_id)


def make_env(
    store: SqlStore,
    settings: PoolSettings | None = None,
    *,
    clock: Clock | None = None,
    kek: Kek | None = None,
    with_secret: bool = False,
    auth_flows: list[str] | None = None,
) -> Env:
    clock = clock or Clock()
    rt = Runtime(
        store=store,
        kek=kek or Kek(os.urandom(32)),
        issuer_base="http://127.0.0.1:9229",
        clock=clock,
    )
    _seed_signing_key(store, rt.kek, clock())
    idp = IdentityProvider(rt)
    settings = settings or PoolSettings(POOL, devices=TRACK_REPLACE_MFA)
    if store.get_pool(settings.pool_id) is None:
        idp.create_pool(settings, "test")
    existing = store.get_client(CLIENT)
    if existing is None:
        client = idp.create_client(
            settings.pool_id, CLIENT, generate_secret=with_secret, auth_flows=auth_flows
        )
    else:
        client = AppClient(existing.client_id, existing.pool_id, existing.secret, existing.name)
    return Env(store, clock, rt, idp, client, settings.pool_id)


_SIGNING_PEM: list[bytes] = []


def _seed_signing_key(store: SqlStore, kek: Kek, now: float) -> None:
    """Put one RSA key, generated once per test process, into a fresh store, wrapped under this
    store's KEK, so that each test does not pay for an RSA key generation. The vault still
    loads and unwraps it from the store like any other key."""
    if store.list_keys(KIND_JWT):
        return
    if not _SIGNING_PEM:
        _SIGNING_PEM.append(generate_signing_key("seed").private_pem)
    key_id = os.urandom(4).hex()
    wrapped = kek.wrap(KIND_JWT, key_id, _SIGNING_PEM[0], os.urandom(12))
    store.put_key(WrappedKeyRecord(KIND_JWT, key_id, wrapped, now))


@dataclass
class Device:
    key: str
    group_key: str
    password: str = field(repr=False)


@dataclass
class SignIn:
    """One user sign-in driven like a Cognito SDK (fresh a per SRP step unless told otherwise)."""

    env: Env
    username: str
    password: str = field(default=PASSWORD, repr=False)
    a: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    challenge: ChallengeResult | None = None

    @property
    def A(self) -> int:
        return client_public(self.a)

    def _hash(self, name: str) -> dict[str, str]:
        secret = self.env.client.secret
        if secret is None:
            return {}
        return {"SECRET_HASH": secret_hash(secret, name, self.env.client.client_id)}

    def initiate(self, device_key: str | None = None) -> ChallengeResult:
        params: dict[str, str | None] = {"USERNAME": self.username, "SRP_A": to_hex(self.A)}
        params.update(self._hash(self.username))
        if device_key is not None:
            params["DEVICE_KEY"] = device_key
        out = self.env.idp.initiate_auth(InitiateAuthRequest(CLIENT, "USER_SRP_AUTH", params))
        assert out.challenge is not None and out.result is None
        self.challenge = out.challenge
        return out.challenge

    def proof(
        self,
        *,
        password: str | None = None,
        device_key: object = None,
        ts: float | None = None,
        with_session: bool = True,
    ) -> RespondRequest:
        """PASSWORD_VERIFIER; ``device_key``: None = key absent, "null" = JSON null, else key."""
        assert self.challenge is not None
        p = self.challenge.parameters
        identity = p["USER_ID_FOR_SRP"]
        x = compute_x(p["SALT"], pool_name(self.env.pool_id), identity, password or self.password)
        key = client_session_key(x, self.a, self.A, int(p["SRP_B"], 16))
        stamp = format_timestamp(int(self.env.clock() if ts is None else ts))
        block = p["SECRET_BLOCK"]
        sig = claim_signature(
            key, pool_name(self.env.pool_id), identity, base64.b64decode(block), stamp
        )
        responses: dict[str, str | None] = {
            "USERNAME": p["USERNAME"],
            "PASSWORD_CLAIM_SECRET_BLOCK": block,
            "TIMESTAMP": stamp,
            "PASSWORD_CLAIM_SIGNATURE": sig,
        }
        responses.update(self._hash(p["USERNAME"]))
        if device_key == "null":
            responses["DEVICE_KEY"] = None
        elif isinstance(device_key, str):
            responses["DEVICE_KEY"] = device_key
        session = self.challenge.session if with_session else None
        return RespondRequest(CLIENT, "PASSWORD_VERIFIER", responses, session)

    def respond(self, request: RespondRequest) -> AuthOutcome:
        out = self.env.idp.respond_to_auth_challenge(request)
        if out.challenge is not None:
            self.challenge = out.challenge
        return out

    def device_srp_auth(
        self, device: Device, *, with_session: bool = True, reuse_a: bool = False
    ) -> RespondRequest:
        assert self.challenge is not None
        if not reuse_a:
            self.a = os.urandom(32)
        responses: dict[str, str | None] = {
            "USERNAME": self.username,
            "DEVICE_KEY": device.key,
            "SRP_A": to_hex(self.A),
        }
        responses.update(self._hash(self.username))
        session = self.challenge.session if with_session else None
        return RespondRequest(CLIENT, "DEVICE_SRP_AUTH", responses, session)

    def device_proof(
        self, device: Device, *, password: str | None = None, with_session: bool = True
    ) -> RespondRequest:
        assert self.challenge is not None
        p = self.challenge.parameters
        x = compute_x(p["SALT"], device.group_key, device.key, password or device.password)
        key = client_session_key(x, self.a, self.A, int(p["SRP_B"], 16))
        stamp = format_timestamp(int(self.env.clock()))
        block = p["SECRET_BLOCK"]
        sig = claim_signature(key, device.group_key, device.key, base64.b64decode(block), stamp)
        responses: dict[str, str | None] = {
            "USERNAME": p["USERNAME"],
            "DEVICE_KEY": device.key,
            "PASSWORD_CLAIM_SECRET_BLOCK": block,
            "TIMESTAMP": stamp,
            "PASSWORD_CLAIM_SIGNATURE": sig,
        }
        responses.update(self._hash(p["USERNAME"]))
        session = self.challenge.session if with_session else None
        return RespondRequest(CLIENT, "DEVICE_PASSWORD_VERIFIER", responses, session)

    def mfa(self, name: str, code: str) -> RespondRequest:
        assert self.challenge is not None
        field_name = "SMS_MFA_CODE" if name == "SMS_MFA" else "SOFTWARE_TOKEN_MFA_CODE"
        responses: dict[str, str | None] = {"USERNAME": self.username, field_name: code}
        responses.update(self._hash(self.username))
        return RespondRequest(CLIENT, name, responses, self.challenge.session)


def tokens_of(out: AuthOutcome) -> AuthenticationResult:
    assert out.challenge is None and out.result is not None, out
    return out.result


def password_login(env: Env, username: str, **kw: object) -> AuthenticationResult:
    s = SignIn(env, username)
    s.initiate()
    return tokens_of(s.respond(s.proof(**kw)))  # type: ignore[arg-type]


def confirm_new_device(env: Env, result: AuthenticationResult, name: str = "test") -> Device:
    """ConfirmDevice with a real device verifier, as an SDK does after NewDeviceMetadata."""
    meta = result.new_device
    assert meta is not None
    password = base64.b64encode(os.urandom(40)).decode()
    cfg = device_verifier(meta.device_group_key, meta.device_key, password, os.urandom(16))
    env.idp.confirm_device(
        result.access_token,
        meta.device_key,
        base64.b64encode(cfg.salt).decode(),
        base64.b64encode(cfg.password_verifier).decode(),
        name,
    )
    return Device(meta.device_key, meta.device_group_key, password)


def device_login(env: Env, username: str, device: Device) -> AuthenticationResult:
    """Password step with the device, then DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER."""
    s = SignIn(env, username)
    s.initiate()
    out = s.respond(s.proof(device_key=device.key))
    assert out.challenge is not None and out.challenge.name.value == "DEVICE_SRP_AUTH", out
    out = s.respond(s.device_srp_auth(device))
    assert out.challenge is not None and out.challenge.name.value == "DEVICE_PASSWORD_VERIFIER"
    return tokens_of(s.respond(s.device_proof(device)))


# -- a second process serving the same store (scale-out tests) ------------------------------------
def serve_domain(url: str, kek: bytes, conn: Any) -> None:
    """Child-process loop: run IdentityProvider methods sent over ``conn`` at the sent time."""
    from devicesrp.server.errors import DomainError

    store = open_store(url, pool_size=4)
    clock = Clock()
    rt = Runtime(store=store, kek=Kek(kek), issuer_base="http://127.0.0.1:9229", clock=clock)
    idp = IdentityProvider(rt)
    try:
        while True:
            message = conn.recv()
            if message is None:
                break
            now, method, args, kwargs = message
            clock.now = now
            try:
                conn.send(("ok", getattr(idp, method)(*args, **kwargs)))
            except DomainError as exc:
                conn.send(("err", exc.cognito_type, exc.message))
            except Exception as exc:  # report, keep serving
                conn.send(("crash", type(exc).__name__, str(exc)[:200]))
    finally:
        store.close()


class RemoteDomain:
    """The IdentityProvider of another process, called like the local one."""

    def __init__(self, conn: Any, clock: Clock) -> None:
        self._conn = conn
        self._clock = clock
        self._lock = threading.Lock()

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._conn.send((self._clock(), method, args, kwargs))
                reply = self._conn.recv()
            if reply[0] == "ok":
                return reply[1]
            if reply[0] == "err":
                from devicesrp.server import errors

                cls = next(
                    c
                    for c in vars(errors).values()
                    if isinstance(c, type)
                    and issubclass(c, errors.DomainError)
                    and c.cognito_type == reply[1]
                )
                raise cls(reply[2])
            raise RuntimeError(f"worker crashed: {reply[1]}: {reply[2]}")

        return call
