"""What a sealed challenge is bound to: the step of the sign-in and who it is for.

A challenge sealed for one (flow, pool, app client, user, device) opens for exactly that tuple:
the tuple is the AEAD's associated data, so a secret block carried to another user, device,
client, pool or step fails like a forged one (security-matrix row 10, and row 11 at the engine
level: a user-step block cannot answer the device step, nor the reverse).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from ..errors import InvalidParameterError, InvalidTypeError

__all__ = ["MAX_CONTEXT_FIELD_BYTES", "ChallengeContext", "Flow"]

#: Cap on each context string, UTF-8 encoded (Cognito ids and names are far shorter).
MAX_CONTEXT_FIELD_BYTES = 1024


class Flow(enum.Enum):
    """The SRP step a challenge belongs to."""

    #: PASSWORD_VERIFIER: P = the pool name, I = USER_ID_FOR_SRP, the user's password verifier.
    USER_PASSWORD = 1
    #: DEVICE_PASSWORD_VERIFIER: P = DeviceGroupKey, I = DeviceKey, the device's verifier.
    DEVICE_PASSWORD = 2


def _encode_field(name: str, value: str | None) -> bytes:
    """Presence byte, 2-byte length, UTF-8: unambiguous, so no two tuples encode alike."""
    if value is None:
        return b"\x00"
    if not isinstance(value, str):
        raise InvalidTypeError(name, "str", value)
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameterError(name, "not valid Unicode text") from None
    if len(data) > MAX_CONTEXT_FIELD_BYTES:
        raise InvalidParameterError(name, f"longer than {MAX_CONTEXT_FIELD_BYTES} bytes")
    return b"\x01" + struct.pack(">H", len(data)) + data


@dataclass(frozen=True)
class ChallengeContext:
    """The binding of a challenge: ``flow``, pool id, app client id, user, device (or None).

    ``user`` should be the user's stable identifier (e.g. its ``sub``). For the user step the
    identity provider decides whether a device belongs in the binding: the device key of a
    PASSWORD_VERIFIER answer may differ from InitiateAuth's, so it normally passes ``None``.
    """

    flow: Flow
    pool_id: str
    client_id: str
    user: str
    device: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.flow, Flow):
            raise InvalidTypeError("flow", "Flow", self.flow)
        for name in ("pool_id", "client_id", "user"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InvalidTypeError(name, "str", value)
            if not value:
                raise InvalidParameterError(name, "empty")
        if self.device is not None and not self.device:
            raise InvalidParameterError("device", "empty (use None for no device)")
        # validates the sizes and the text once, at construction; kept for each seal and open
        encoded = (
            bytes([self.flow.value])
            + _encode_field("pool_id", self.pool_id)
            + _encode_field("client_id", self.client_id)
            + _encode_field("user", self.user)
            + _encode_field("device", self.device)
        )
        object.__setattr__(self, "_encoded", encoded)

    def encode(self) -> bytes:
        """The canonical byte form used as associated data when sealing."""
        encoded: bytes = self.__dict__["_encoded"]
        return encoded
