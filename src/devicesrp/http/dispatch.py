"""The operation table: what each ``X-Amz-Target`` runs and which guards apply to it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .codec import Params

TARGET_PREFIX = "AWSCognitoIdentityProviderService."


@dataclass(frozen=True)
class Call:
    """One parsed request as an operation sees it."""

    operation: str
    params: Params
    source_ip: str
    now: float
    admin_key_id: str | None = None
    user_agent: str = ""


@dataclass(frozen=True)
class Reply:
    """A 200 body plus extra response headers (``x-devicesrp-server-proof``)."""

    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Operation:
    """``admin``: SigV4 required; ``mutating``: replay-cached; ``signin``: per-client throttle."""

    name: str
    handler: Handler
    admin: bool = False
    mutating: bool = False
    signin: bool = False


def operation_name(target: str | None) -> str | None:
    """``AWSCognitoIdentityProviderService.InitiateAuth`` -> ``InitiateAuth``; else None."""
    if target is None or not target.startswith(TARGET_PREFIX):
        return None
    name = target[len(TARGET_PREFIX) :]
    return name if name.isalnum() and len(name) <= 64 else None
