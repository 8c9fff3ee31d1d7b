"""Shared pieces of the sign-in steps: requests, outcomes, parameter parsing, lockout, checks.

Requests carry Cognito's AuthParameters / ChallengeResponses maps as they arrived (string values,
``None`` where a JavaScript client sent ``null``): their keys are the API's parameter names, and
a JS client's ``"DEVICE_KEY": null`` means "no device", which differs from an absent key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .decision import Step
from .errors import (
    InvalidParameterDomainError,
    NotAuthorizedError,
    incorrect_credentials,
    password_attempts_exceeded,
)
from .grants import AuthenticationResult
from .identity import Principal
from .runtime import Runtime
from .secrethash import check_secret_hash, user_names

__all__ = [
    "ABSENT",
    "DEVICE_KEY_PATTERN",
    "AuthOutcome",
    "ChallengeResult",
    "InitiateAuthRequest",
    "LockTarget",
    "RespondRequest",
    "check_secret_hash",
    "device_key_param",
    "fail_proof",
    "param",
    "raw_param",
    "refuse_if_locked",
    "succeed_proof",
    "user_names",
]

SCOPE_USER = "signin.user"
SCOPE_NAME = "signin.name"
_MAX_PARAM = 4096
_KNOWN_TABLE_CAP = 10**9
ABSENT = object()


@dataclass(frozen=True)
class InitiateAuthRequest:
    client_id: str
    auth_flow: str
    parameters: Mapping[str, str | None] = field(repr=False)
    source_ip: str | None = None


@dataclass(frozen=True)
class RespondRequest:
    client_id: str
    challenge_name: str
    responses: Mapping[str, str | None] = field(repr=False)
    session: str | None = field(default=None, repr=False)
    source_ip: str | None = None


@dataclass(frozen=True)
class ChallengeResult:
    """A challenge for the client: its name, the next Session and ChallengeParameters."""

    name: Step
    session: str | None
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class AuthOutcome:
    """Exactly one of ``challenge`` and ``result``."""

    challenge: ChallengeResult | None = None
    result: AuthenticationResult | None = None


def raw_param(values: Mapping[str, str | None], name: str) -> object:
    """The value as sent: a string, ``None`` for JSON null, or ``ABSENT``."""
    if name not in values:
        return ABSENT
    return values[name]


def param(values: Mapping[str, str | None], name: str, *, required: bool = True) -> str | None:
    """A string parameter, size-capped; missing -> InvalidParameterException if required."""
    value = values.get(name)
    if value is None or value == "":
        if required:
            raise InvalidParameterDomainError(f"Missing required parameter {name}")
        return None
    if not isinstance(value, str) or len(value) > _MAX_PARAM:
        raise InvalidParameterDomainError(f"Invalid value for parameter {name}")
    return value


DEVICE_KEY_PATTERN = re.compile(r"[\w-]{1,40}_[0-9a-f-]{1,40}", re.ASCII)


def device_key_param(values: Mapping[str, str | None]) -> str:
    """A required DEVICE_KEY shaped like ``<region>_<uuid>`` (at most 55 characters)."""
    value = param(values, "DEVICE_KEY")
    if value is None or len(value) > 55 or not DEVICE_KEY_PATTERN.fullmatch(value):
        raise InvalidParameterDomainError("Invalid value for parameter DEVICE_KEY")
    return value


@dataclass(frozen=True)
class LockTarget:
    """Whose failure counter a proof moves: a known user's, or an unknown name's (bounded)."""

    known: bool
    key: str

    @classmethod
    def of(cls, principal: Principal) -> LockTarget:
        return cls(principal.user is not None, principal.lockout_key)

    @property
    def scope(self) -> str:
        return SCOPE_USER if self.known else SCOPE_NAME


def refuse_if_locked(rt: Runtime, target: LockTarget) -> None:
    """While locked, every proof gets the same answer, whatever its value."""
    record = rt.store.get_lockout(target.scope, target.key)
    if record is not None and rt.now() < record.locked_until:
        raise password_attempts_exceeded()


def fail_proof(rt: Runtime, target: LockTarget) -> NotAuthorizedError:
    """Count an evaluated wrong proof (password and device share the counter)."""
    rt.store.record_failure(
        target.scope,
        target.key,
        now=rt.now(),
        lock_for=rt.lockout.delay_after,
        # Known users' counters are never evicted (the cap is unreachable), but they run the
        # same statements as the bounded table of unknown names, so the cost does not differ.
        max_keys=_KNOWN_TABLE_CAP if target.known else rt.unknown_name_table_size,
    )
    return incorrect_credentials()


def succeed_proof(rt: Runtime, target: LockTarget) -> None:
    rt.store.reset_lockout(target.scope, target.key)
