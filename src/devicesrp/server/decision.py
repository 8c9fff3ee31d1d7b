"""What a sign-in asks for after a valid password proof: the decision table of
docs/cognito-device-srp.md §6.1, as pure functions over plain values.

- tracking off: any device ignored; [MFA] -> tokens; never NewDeviceMetadata.
- on, no device: [MFA] -> tokens; NewDeviceMetadata with a fresh key.
- on, unknown / forgotten / never confirmed: "Device does not exist." (one deviceless retry of the
  same challenge is allowed, and gets NewDeviceMetadata).
- on, remembered, and the pool lets remembered devices replace MFA: MFA skipped;
  DEVICE_SRP_AUTH -> DEVICE_PASSWORD_VERIFIER -> tokens.
- on, any other confirmed device: [MFA] -> DEVICE_SRP_AUTH -> DEVICE_PASSWORD_VERIFIER -> tokens.

MFA always comes before the device step (official clients expect tokens right after
DEVICE_PASSWORD_VERIFIER).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .config import MfaConfiguration, MfaMode

__all__ = [
    "DevicePresented",
    "MfaFactor",
    "Plan",
    "Step",
    "UserMfa",
    "decide",
    "mfa_factor",
]


class DevicePresented(Enum):
    NONE = "none"
    UNKNOWN = "unknown"  # never issued, forgotten, or issued but never confirmed
    REMEMBERED = "remembered"
    NOT_REMEMBERED = "not_remembered"  # confirmed, but not (or no longer) remembered


class MfaFactor(Enum):
    # The values are challenge names, not secrets.
    SMS = "SMS_MFA"
    SOFTWARE_TOKEN = "SOFTWARE_TOKEN_MFA"  # noqa: S105
    SETUP = "MFA_SETUP"  # MFA is required but the user has no usable factor yet
    SELECT = "SELECT_MFA_TYPE"  # two factors enabled, none preferred: the user picks


class Step(Enum):
    """The next thing a sign-in asks for; the values are Cognito's ChallengeName spellings."""

    PASSWORD_VERIFIER = "PASSWORD_VERIFIER"  # noqa: S105
    SMS_MFA = "SMS_MFA"
    SOFTWARE_TOKEN_MFA = "SOFTWARE_TOKEN_MFA"  # noqa: S105
    MFA_SETUP = "MFA_SETUP"
    SELECT_MFA_TYPE = "SELECT_MFA_TYPE"
    NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105
    DEVICE_SRP_AUTH = "DEVICE_SRP_AUTH"
    DEVICE_PASSWORD_VERIFIER = "DEVICE_PASSWORD_VERIFIER"  # noqa: S105
    TOKENS = "TOKENS"


@dataclass(frozen=True)
class UserMfa:
    """A user's factors and preferences (SetUserMFAPreference)."""

    sms_enabled: bool = False
    software_token_enabled: bool = False
    preferred: MfaFactor | None = None
    has_phone: bool = False
    has_software_token: bool = False


@dataclass(frozen=True)
class Plan:
    """The steps left after the password step, in order, ending with TOKENS."""

    steps: tuple[Step, ...]
    new_device_metadata: bool
    device_not_found: bool = False

    @property
    def first(self) -> Step:
        return self.steps[0]

    def after(self, step: Step) -> Step:
        """The step that follows ``step`` in this plan."""
        index = self.steps.index(step)
        return self.steps[index + 1]


def mfa_factor(pool: MfaConfiguration, user: UserMfa) -> MfaFactor | None:
    """Which factor this sign-in must pass, or None (SetUserPoolMfaConfig semantics).

    OFF: never. OPTIONAL: only when the user enabled a factor the pool allows. ON: always. The
    user's preferred enabled factor; with two enabled and none preferred, the user chooses
    (SELECT_MFA_TYPE); with one, that one; under ON with none enabled, TOTP if set up, else SMS to
    a phone, else MFA_SETUP.
    """
    if pool.mode is MfaMode.OFF:
        return None
    totp_ok = pool.software_token_enabled and user.has_software_token
    sms_ok = pool.sms_enabled and user.has_phone
    enabled: list[MfaFactor] = []
    if totp_ok and user.software_token_enabled:
        enabled.append(MfaFactor.SOFTWARE_TOKEN)
    if sms_ok and user.sms_enabled:
        enabled.append(MfaFactor.SMS)
    if user.preferred in enabled:
        return user.preferred
    if len(enabled) > 1:
        return MfaFactor.SELECT
    if enabled:
        return enabled[0]
    if pool.mode is MfaMode.OPTIONAL:
        return None
    if totp_ok:
        return MfaFactor.SOFTWARE_TOKEN
    if sms_ok:
        return MfaFactor.SMS
    return MfaFactor.SETUP


def decide(
    *,
    tracking: bool,
    device: DevicePresented,
    mfa: MfaFactor | None,
    remembered_replaces_mfa: bool,
) -> Plan:
    """The §6.1 row for these facts."""
    mfa_steps: tuple[Step, ...] = () if mfa is None else (Step(mfa.value),)
    if not tracking:
        return Plan(steps=(*mfa_steps, Step.TOKENS), new_device_metadata=False)
    if device is DevicePresented.NONE:
        return Plan(steps=(*mfa_steps, Step.TOKENS), new_device_metadata=True)
    if device is DevicePresented.UNKNOWN:
        return Plan(steps=(), new_device_metadata=False, device_not_found=True)
    device_steps = (Step.DEVICE_SRP_AUTH, Step.DEVICE_PASSWORD_VERIFIER, Step.TOKENS)
    if device is DevicePresented.REMEMBERED and remembered_replaces_mfa:
        return Plan(steps=device_steps, new_device_metadata=False)
    return Plan(steps=(*mfa_steps, *device_steps), new_device_metadata=False)
