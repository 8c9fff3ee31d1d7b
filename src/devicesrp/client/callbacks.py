"""How a sign-in asks its caller for what only a person knows: MFA codes, a new password, and
whether to remember this device.

Each callback is optional; a challenge whose callback is missing ends the sign-in with
``ChallengeNotHandledError`` naming the challenge (never a hang waiting for input).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import InvalidParameterError, InvalidTypeError

__all__ = ["Callbacks", "NewPassword", "RememberPolicy"]


class RememberPolicy(enum.Enum):
    """What to do with a new device once confirmed, when the pool leaves it to the user.

    ALWAYS: mark it remembered. ASK: call ``Callbacks.remember_device``. NEVER: leave it
    not remembered (and, in a pool that remembers every device at once, mark it not remembered).
    """

    ALWAYS = "always"
    ASK = "ask"
    NEVER = "never"

    @classmethod
    def parse(cls, value: RememberPolicy | str) -> RememberPolicy:
        if isinstance(value, RememberPolicy):
            return value
        if not isinstance(value, str):
            raise InvalidTypeError("remember", "RememberPolicy or str", value)
        try:
            return cls(value.lower())
        except ValueError:
            raise InvalidParameterError("remember", "must be always, ask or never") from None


@dataclass(frozen=True)
class NewPassword:
    """The answer to NEW_PASSWORD_REQUIRED: the new password and any required attributes."""

    password: str = field(repr=False)
    attributes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.password, str) or not self.password:
            raise InvalidParameterError("password", "must be a non-empty string")
        for name, value in self.attributes.items():
            if not isinstance(name, str) or not isinstance(value, str) or not name:
                raise InvalidParameterError("attributes", "names and values must be strings")


@dataclass(frozen=True)
class Callbacks:
    """Answers to the interactive challenges.

    - ``sms_code(destination)``: SMS_MFA; ``destination`` is the masked number, if sent.
    - ``totp_code()``: SOFTWARE_TOKEN_MFA.
    - ``select_mfa(options)``: SELECT_MFA_TYPE; return one of ``options``.
    - ``totp_setup(secret_code)``: MFA_SETUP; show the base32 secret to an authenticator app and
      return its first code.
    - ``new_password(user_attributes, required_attributes)``: NEW_PASSWORD_REQUIRED.
    - ``remember_device(device_key)``: with ``RememberPolicy.ASK``, whether to remember.
    """

    sms_code: Callable[[str | None], str] | None = None
    totp_code: Callable[[], str] | None = None
    select_mfa: Callable[[Sequence[str]], str] | None = None
    totp_setup: Callable[[str], str] | None = None
    new_password: Callable[[Mapping[str, str], Sequence[str]], NewPassword] | None = None
    remember_device: Callable[[str], bool] | None = None
