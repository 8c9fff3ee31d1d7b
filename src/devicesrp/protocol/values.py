"""The typed values the handshake engines exchange (no wire spellings: the HTTP codec maps them).

Secrets (passwords, verifiers) are kept out of ``repr``. Each value validates on construction and
raises ``InvalidTypeError`` / ``InvalidParameterError`` naming the field, never showing a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidParameterError, InvalidTypeError
from ..srp.cognito import MAX_SALT_BYTES, DeviceVerifier, check_password_verifier, pool_name

__all__ = [
    "MAX_IDENTITY_CHARS",
    "Challenge",
    "ClientResponse",
    "DeviceCredentials",
    "FinishResult",
    "UserCredentials",
    "VerifierRecord",
]

#: Cap on P and I (pool names, user ids, device keys are far shorter; this only bounds work).
MAX_IDENTITY_CHARS = 1024
#: A stored salt is PAD(random salt): up to MAX_SALT_BYTES plus PAD's sign byte.
MAX_STORED_SALT_BYTES = MAX_SALT_BYTES + 1


def _text(name: str, value: object, *, cap: int = MAX_IDENTITY_CHARS) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(name, "str", value)
    if not value:
        raise InvalidParameterError(name, "empty")
    if len(value) > cap:
        raise InvalidParameterError(name, f"longer than {cap} characters")
    return value


def _salt(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise InvalidTypeError("salt", "bytes", value)
    if not 1 <= len(value) <= MAX_STORED_SALT_BYTES:
        raise InvalidParameterError("salt", f"must be 1..{MAX_STORED_SALT_BYTES} bytes")
    return value


@dataclass(frozen=True)
class VerifierRecord:
    """What the server stores for one SRP identity: P, I, salt bytes and the verifier v.

    User step: ``realm`` = pool name, ``identity`` = USER_ID_FOR_SRP. Device step: ``realm`` =
    DeviceGroupKey, ``identity`` = DeviceKey. ``verifier`` is accepted in any PAD width (as
    ConfirmDevice sends it) and kept as the fixed 384-byte v, 1 < v < N - 1.
    """

    realm: str
    identity: str
    salt: bytes
    verifier: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _text("realm", self.realm)
        _text("identity", self.identity)
        _salt(self.salt)
        object.__setattr__(self, "verifier", check_password_verifier(self.verifier))

    @classmethod
    def for_user(
        cls, user_pool_id: str, user_id_for_srp: str, salt: bytes, verifier: bytes
    ) -> VerifierRecord:
        """The user-step record: P = the pool name part of ``user_pool_id``."""
        return cls(pool_name(user_pool_id), user_id_for_srp, salt, verifier)

    @classmethod
    def for_device(
        cls, device_group_key: str, device_key: str, config: DeviceVerifier
    ) -> VerifierRecord:
        """The device-step record from a confirmed DeviceSecretVerifierConfig."""
        return cls(device_group_key, device_key, config.salt, config.password_verifier)


@dataclass(frozen=True)
class Challenge:
    """Server -> client: I (USER_ID_FOR_SRP or DeviceKey), salt, B, and the sealed SECRET_BLOCK."""

    identity: str
    salt: bytes
    B: int
    secret_block: str

    def __post_init__(self) -> None:
        _text("identity", self.identity)
        _salt(self.salt)
        if isinstance(self.B, bool) or not isinstance(self.B, int):
            raise InvalidTypeError("B", "int", self.B)
        if not isinstance(self.secret_block, str):
            raise InvalidTypeError("secret_block", "str", self.secret_block)


@dataclass(frozen=True)
class ClientResponse:
    """Client -> server: the echoed SECRET_BLOCK, the TIMESTAMP text, the claim signature."""

    secret_block: str
    timestamp: str
    signature: str

    def __post_init__(self) -> None:
        for name in ("secret_block", "timestamp", "signature"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InvalidTypeError(name, "str", value)


@dataclass(frozen=True)
class FinishResult:
    """A verified proof: the challenge id (the caller makes it single-use) and the server proof."""

    challenge_id: bytes
    issued_at: int
    server_proof: bytes


@dataclass(frozen=True)
class UserCredentials:
    """The client's user-step secret: P comes from the pool id, I from the challenge."""

    user_pool_id: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        pool_name(_text("user_pool_id", self.user_pool_id))
        if not isinstance(self.password, str):
            raise InvalidTypeError("password", "str", self.password)
        if not self.password:
            raise InvalidParameterError("password", "empty")

    @property
    def realm(self) -> str:
        return pool_name(self.user_pool_id)


@dataclass(frozen=True)
class DeviceCredentials:
    """The client's device-step secret: P = DeviceGroupKey, I = DeviceKey, the device password."""

    device_group_key: str
    device_key: str
    device_password: str = field(repr=False)

    def __post_init__(self) -> None:
        _text("device_group_key", self.device_group_key)
        _text("device_key", self.device_key)
        if not isinstance(self.device_password, str):
            raise InvalidTypeError("device_password", "str", self.device_password)
        if not self.device_password:
            raise InvalidParameterError("device_password", "empty")

    @property
    def realm(self) -> str:
        return self.device_group_key
