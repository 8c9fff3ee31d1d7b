"""User-pool and app-client settings as immutable values, validated on construction.

Wire-level names follow Cognito (DeviceConfiguration, SetUserPoolMfaConfig); settings the wire
API cannot carry (the remembered-device cap, the pycognito ticket switch, refresh rotation)
are set here (``devicesrp admin pool set``). Token lifetimes are the pool's, unless an app
client has its own (CreateUserPoolClient's AccessTokenValidity, IdTokenValidity,
RefreshTokenValidity). An app client's ExplicitAuthFlows decide which InitiateAuth flows it may
use (Cognito's default when omitted: SRP, refresh and custom authentication).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from ..errors import InvalidParameterError

__all__ = [
    "AUTH_FLOWS",
    "DEFAULT_AUTH_FLOWS",
    "AppClient",
    "DeviceCapMode",
    "DeviceConfiguration",
    "MfaConfiguration",
    "MfaMode",
    "PasswordPolicy",
    "PoolSettings",
    "TokenLifetimes",
    "UsernameMode",
    "parse_pool_id",
]

# Cognito's pattern for UserPoolId: region, underscore, alphanumerics; at most 55 characters.
_POOL_ID = re.compile(r"^([\w-]+)_([0-9a-zA-Z]+)$")
_CLIENT_ID = re.compile(r"^[\w+]+$")


#: CreateUserPoolClient's ExplicitAuthFlows values.
AUTH_FLOWS = (
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
)
#: What a client allows when CreateUserPoolClient omits ExplicitAuthFlows (as Cognito).
DEFAULT_AUTH_FLOWS = ("ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_CUSTOM_AUTH")
# The legacy values: SRP and refresh stay allowed beside them (CUSTOM_AUTH_FLOW_ONLY: not SRP).
# Cognito refuses a list that mixes them with ALLOW_ values.
_LEGACY_FLOWS = {
    "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
    "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "CUSTOM_AUTH_FLOW_ONLY": "ALLOW_CUSTOM_AUTH",
}
# InitiateAuth's AuthFlow -> the ExplicitAuthFlows value that allows it.
_FLOW_NEEDS = {
    "USER_SRP_AUTH": "ALLOW_USER_SRP_AUTH",
    "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
    "REFRESH_TOKEN_AUTH": "ALLOW_REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN": "ALLOW_REFRESH_TOKEN_AUTH",
    "CUSTOM_AUTH": "ALLOW_CUSTOM_AUTH",
}


def parse_pool_id(pool_id: str) -> tuple[str, str]:
    """``<region>_<name>`` -> (region, SRP pool name); clients hash the SRP pool name as P."""
    if not isinstance(pool_id, str) or len(pool_id) > 55:
        raise InvalidParameterError("UserPoolId", "must be a string of at most 55 characters")
    m = _POOL_ID.fullmatch(pool_id)
    if m is None or "_" in m.group(2):
        raise InvalidParameterError("UserPoolId", "must look like <region>_<alphanumerics>")
    return m.group(1), m.group(2)


class MfaMode(Enum):
    """SetUserPoolMfaConfig's MfaConfiguration."""

    OFF = "OFF"
    OPTIONAL = "OPTIONAL"
    ON = "ON"


class UsernameMode(Enum):
    """Plain usernames, or the email address as username (then USER_ID_FOR_SRP is the ``sub``)."""

    USERNAME = "username"
    EMAIL = "email"


class DeviceCapMode(Enum):
    """What remembering one device too many does: refuse it, or forget the least recently used."""

    REFUSE = "refuse"
    EVICT = "evict"


@dataclass(frozen=True)
class DeviceConfiguration:
    """Cognito's DeviceConfiguration; ``None`` in the pool settings means tracking is off.

    ``challenge_required_on_new_device``: a remembered device answers device SRP instead of MFA.
    ``only_remembered_on_user_prompt``: ConfirmDevice tracks; UpdateDeviceStatus remembers.
    """

    challenge_required_on_new_device: bool = False
    only_remembered_on_user_prompt: bool = False


@dataclass(frozen=True)
class MfaConfiguration:
    mode: MfaMode = MfaMode.OFF
    sms_enabled: bool = False
    software_token_enabled: bool = False

    def __post_init__(self) -> None:
        if self.mode is not MfaMode.OFF and not (self.sms_enabled or self.software_token_enabled):
            # Cognito's SetUserPoolMfaConfig refuses ON/OPTIONAL with no factor enabled.
            raise InvalidParameterError("MfaConfiguration", "needs SMS or software token enabled")


@dataclass(frozen=True)
class TokenLifetimes:
    """Seconds; Cognito's defaults (1 h access and id, 30 days refresh)."""

    access: int = 3600
    id: int = 3600
    refresh: int = 30 * 24 * 3600

    def __post_init__(self) -> None:
        # Cognito's bounds: access and id 5 min .. 1 day, refresh 1 h .. 10 years.
        if not 300 <= self.access <= 86400 or not 300 <= self.id <= 86400:
            raise InvalidParameterError("TokenValidity", "access and id tokens: 5 min .. 1 day")
        if not 3600 <= self.refresh <= 3650 * 86400:
            raise InvalidParameterError("TokenValidity", "refresh tokens: 1 hour .. 10 years")


@dataclass(frozen=True)
class PasswordPolicy:
    """Cognito's password policy; the defaults are Cognito's (8 characters, all four classes)."""

    min_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True

    def __post_init__(self) -> None:
        if not 6 <= self.min_length <= 99:
            raise InvalidParameterError("MinimumLength", "must be 6..99")

    def check(self, password: object) -> str | None:
        """None if ``password`` conforms, else the reason (never echoing the password)."""
        if not isinstance(password, str) or len(password) > 256:
            return "Password must be a string of at most 256 characters"
        if not password.isprintable() or any(0xD800 <= ord(c) <= 0xDFFF for c in password):
            return "Password must be printable Unicode text"
        if len(password) < self.min_length:
            return "Password not long enough"
        if self.require_uppercase and not any(c.isupper() for c in password):
            return "Password must have uppercase characters"
        if self.require_lowercase and not any(c.islower() for c in password):
            return "Password must have lowercase characters"
        if self.require_numbers and not any(c.isdigit() for c in password):
            return "Password must have numeric characters"
        if self.require_symbols and all(c.isalnum() or c.isspace() for c in password):
            return "Password must have symbol characters"
        return None


@dataclass(frozen=True)
class PoolSettings:
    """Everything the domain needs to know about one user pool."""

    pool_id: str
    devices: DeviceConfiguration | None = None
    mfa: MfaConfiguration = field(default_factory=MfaConfiguration)
    username_mode: UsernameMode = UsernameMode.USERNAME
    case_insensitive: bool = True
    tokens: TokenLifetimes = field(default_factory=TokenLifetimes)
    # Lifetime of a Session / SECRET_BLOCK; Cognito allows 3..15 minutes, default 3.
    challenge_seconds: int = 180
    # Extension: remembered devices per user (None = no cap), and what to do at the cap.
    max_remembered_devices: int | None = None
    device_cap_mode: DeviceCapMode = DeviceCapMode.REFUSE
    # pycognito's Session-less DEVICE_SRP_AUTH through a 60-second single-use ticket.
    device_ticket_enabled: bool = True
    device_ticket_seconds: int = 60
    # Refresh tokens: Cognito does not rotate; optional rotation keeps the old one valid briefly.
    refresh_rotation: bool = False
    refresh_grace_seconds: int = 60
    password_policy: PasswordPolicy = field(default_factory=lambda: PasswordPolicy())
    # Throttling: sign-in starts per user name per minute before TooManyRequestsException
    # (0 = off). Per-address and global limits belong to the HTTP service.
    signin_starts_per_minute: int = 0

    def __post_init__(self) -> None:
        parse_pool_id(self.pool_id)
        if not 180 <= self.challenge_seconds <= 900:
            raise InvalidParameterError("challenge_seconds", "must be 180..900 (3..15 minutes)")
        if self.max_remembered_devices is not None and not 1 <= self.max_remembered_devices <= 1000:
            raise InvalidParameterError("max_remembered_devices", "must be 1..1000 or None")
        if not 1 <= self.device_ticket_seconds <= 300:
            raise InvalidParameterError("device_ticket_seconds", "must be 1..300")
        if not 0 <= self.refresh_grace_seconds <= 3600:
            raise InvalidParameterError("refresh_grace_seconds", "must be 0..3600")
        if not 0 <= self.signin_starts_per_minute <= 100_000:
            raise InvalidParameterError("signin_starts_per_minute", "must be 0..100000")

    @property
    def region(self) -> str:
        return parse_pool_id(self.pool_id)[0]

    @property
    def srp_pool_name(self) -> str:
        """P in the SRP formulas: the pool id without its region prefix."""
        return parse_pool_id(self.pool_id)[1]

    @property
    def tracking(self) -> bool:
        return self.devices is not None

    @property
    def remembered_replaces_mfa(self) -> bool:
        return self.devices is not None and self.devices.challenge_required_on_new_device

    def normalize_name(self, name: str) -> str:
        """The form a user name is looked up and locked out under."""
        return name.casefold() if self.case_insensitive else name


@dataclass(frozen=True)
class AppClient:
    """An app client; with a secret, every call must carry a SECRET_HASH. ``tokens``: the
    client's own token lifetimes (CreateUserPoolClient's *TokenValidity), None = the pool's.
    ``auth_flows``: its ExplicitAuthFlows as given (ALLOW_ or legacy values), None = omitted
    (Cognito's default, :data:`DEFAULT_AUTH_FLOWS`)."""

    client_id: str
    pool_id: str
    secret: str | None = field(default=None, repr=False)
    name: str = ""
    tokens: TokenLifetimes | None = None
    auth_flows: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not _CLIENT_ID.fullmatch(self.client_id) or len(self.client_id) > 128:
            raise InvalidParameterError("ClientId", "must match [\\w+]+ and be <= 128 characters")
        parse_pool_id(self.pool_id)
        flows = self.auth_flows
        if flows is not None:
            if not flows or len(set(flows)) != len(flows):
                raise InvalidParameterError("ExplicitAuthFlows", "must list distinct values")
            unknown = [f for f in flows if f not in AUTH_FLOWS and f not in _LEGACY_FLOWS]
            if unknown:
                raise InvalidParameterError(
                    "ExplicitAuthFlows", f"{unknown[0]!s:.40} is not an auth flow"
                )
            if any(f in _LEGACY_FLOWS for f in flows) and any(f in AUTH_FLOWS for f in flows):
                raise InvalidParameterError(
                    "ExplicitAuthFlows", "legacy values and ALLOW_ values cannot be mixed"
                )

    @property
    def allowed_flows(self) -> frozenset[str]:
        """The ALLOW_ values in force (legacy values translated)."""
        flows = self.auth_flows
        if flows is None:
            return frozenset(DEFAULT_AUTH_FLOWS)
        if not any(f in _LEGACY_FLOWS for f in flows):
            return frozenset(flows)
        implied = {"ALLOW_REFRESH_TOKEN_AUTH"}
        if "CUSTOM_AUTH_FLOW_ONLY" not in flows:
            implied.add("ALLOW_USER_SRP_AUTH")
        return frozenset(implied | {_LEGACY_FLOWS[f] for f in flows})

    def allows(self, auth_flow: str) -> bool:
        """Whether InitiateAuth may use ``auth_flow`` (an AuthFlow name) with this client."""
        needed = _FLOW_NEEDS.get(auth_flow)
        return needed is not None and needed in self.allowed_flows
