"""Sealing keys for the challenge state, with ids so keys rotate without breaking logins in flight.

A ``KeyRing`` is an ordered, immutable list of AES-256 keys: the first is the current one and
seals every new challenge; any key still on the ring opens a challenge it sealed. Rotation is
``ring.rotated(new_key)`` (the new key goes first, the old ones keep opening what they sealed);
retirement is ``ring.retired(key_id)``, after which that key's challenges no longer open. Keys
load from storage as (key id, 32 bytes); ``devicesrp.live.new_sealing_key`` draws a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import InvalidParameterError, InvalidTypeError

__all__ = ["KEY_BYTES", "MAX_KEY_ID", "KeyRing", "SealingKey"]

KEY_BYTES = 32
#: Key ids travel in the sealed block as 4 big-endian bytes.
MAX_KEY_ID = 2**32 - 1


@dataclass(frozen=True)
class SealingKey:
    """One AES-256-GCM sealing key and its id; the key bytes never appear in repr or str."""

    key_id: int
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.key_id, bool) or not isinstance(self.key_id, int):
            raise InvalidTypeError("key_id", "int", self.key_id)
        if not 0 <= self.key_id <= MAX_KEY_ID:
            raise InvalidParameterError("key_id", f"must be in 0..{MAX_KEY_ID}")
        if not isinstance(self.secret, bytes):
            raise InvalidTypeError("secret", "bytes", self.secret)
        if len(self.secret) != KEY_BYTES:
            raise InvalidParameterError("secret", f"must be exactly {KEY_BYTES} bytes")

    @cached_property
    def aead(self) -> AESGCM:
        """The AES-256-GCM cipher for this key, set up once (key expansion costs microseconds)."""
        return AESGCM(self.secret)


@dataclass(frozen=True)
class KeyRing:
    """Sealing keys, current first; ids are unique; never empty."""

    keys: tuple[SealingKey, ...]

    def __init__(self, keys: Iterable[SealingKey]) -> None:
        if isinstance(keys, SealingKey | bytes | str):
            raise InvalidTypeError("keys", "an iterable of SealingKey", keys)
        items = tuple(keys)
        if not items:
            raise InvalidParameterError("keys", "a key ring needs at least one key")
        for key in items:
            if not isinstance(key, SealingKey):
                raise InvalidTypeError("keys", "SealingKey items", key)
        ids = [key.key_id for key in items]
        if len(set(ids)) != len(ids):
            raise InvalidParameterError("keys", "key ids must be unique")
        object.__setattr__(self, "keys", items)

    @property
    def current(self) -> SealingKey:
        """The key that seals new challenges."""
        return self.keys[0]

    def find(self, key_id: int) -> SealingKey | None:
        """The key with ``key_id`` if it is still on the ring (not retired)."""
        for key in self.keys:
            if key.key_id == key_id:
                return key
        return None

    def rotated(self, new_key: SealingKey) -> KeyRing:
        """A ring that seals with ``new_key`` and still opens everything this ring opens."""
        return KeyRing((new_key, *self.keys))

    def retired(self, key_id: int) -> KeyRing:
        """A ring without ``key_id``: what it sealed stops opening. The current key cannot go."""
        if self.find(key_id) is None:
            raise InvalidParameterError("key_id", "not on the ring")
        if key_id == self.current.key_id:
            raise InvalidParameterError("key_id", "the current key cannot be retired; rotate first")
        return KeyRing(key for key in self.keys if key.key_id != key_id)

    def __iter__(self) -> Iterator[SealingKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={[key.key_id for key in self.keys]})"
