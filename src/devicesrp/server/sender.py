"""Where SMS and e-mail codes go: a pluggable sender; the default appends to the store's outbox.

The outbox is what the CLI and the tests read instead of a phone or a mailbox. A deployment that
really sends messages plugs in its own :class:`CodeSender` (anything with ``send(message)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from ..store.contract import Store
from ..store.records import OutboxRecord

__all__ = ["Channel", "CodeMessage", "CodeSender", "OutboxSender", "mask_destination"]


class Channel(Enum):
    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True)
class CodeMessage:
    """One message carrying a code; ``body`` holds the code, so it stays out of ``repr``."""

    pool_id: str
    user_sub: str
    channel: Channel
    destination: str = field(repr=False)
    body: str = field(repr=False)
    created_at: float


class CodeSender(Protocol):
    def send(self, message: CodeMessage) -> None: ...


class OutboxSender:
    """Appends every message to the store's outbox."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def send(self, message: CodeMessage) -> None:
        self._store.append_outbox(
            OutboxRecord(
                pool_id=message.pool_id,
                user_sub=message.user_sub,
                channel=message.channel.value,
                destination=message.destination,
                body=message.body,
                created_at=message.created_at,
            )
        )


def mask_destination(channel: Channel, destination: str) -> str:
    """Cognito's CODE_DELIVERY_DESTINATION: ``+*******1234`` or ``a***@e***``."""
    if channel is Channel.SMS:
        return "+" + "*" * max(0, len(destination) - 5) + destination[-4:]
    local, _, domain = destination.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"
