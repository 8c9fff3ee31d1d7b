"""The key-encryption key (KEK) and the wrapping of keys at rest.

wrap(KEK, key) = 0x01 | kek_id(4) | nonce(12) | AES-256-GCM(KEK, nonce, key, aad = purpose | key_id)

The KEK comes from the environment (``DEVICESRP_KEK``, base64 of 32 bytes) or a file
(``DEVICESRP_KEK_FILE``, holding the same base64 text or 32 raw bytes), never from the database: a
copy of the database alone opens nothing. Previous KEKs (``DEVICESRP_KEK_PREVIOUS``, comma-separated
base64) still unwrap, so that a KEK change is a re-wrap, not an outage. The AAD binds each blob to
its purpose and key id, so a blob cannot be moved to another slot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import DeviceSrpError

__all__ = ["KEK_ENV", "KEK_FILE_ENV", "KEK_PREVIOUS_ENV", "Kek", "KekError", "load_kek"]

KEK_ENV = "DEVICESRP_KEK"
KEK_FILE_ENV = "DEVICESRP_KEK_FILE"
KEK_PREVIOUS_ENV = "DEVICESRP_KEK_PREVIOUS"
_VERSION = 1
_HEADER = 1 + 4 + 12
_MAX_BLOB = 16384


class KekError(DeviceSrpError):
    """No usable KEK, or a wrapped blob that does not open (wrong KEK, tampered, wrong slot)."""


def _kek_id(key: bytes) -> bytes:
    return hashlib.sha256(b"devicesrp-kek-id\x00" + key).digest()[:4]


@dataclass(frozen=True)
class Kek:
    """The current KEK plus any previous ones still accepted for unwrapping."""

    current: bytes = field(repr=False)
    previous: tuple[bytes, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        for k in (self.current, *self.previous):
            if not isinstance(k, bytes) or len(k) != 32:
                raise KekError("a KEK must be exactly 32 bytes")

    @property
    def key_id(self) -> str:
        return _kek_id(self.current).hex()

    def wrap(self, purpose: str, key_id: str, secret: bytes, nonce: bytes) -> bytes:
        """Seal ``secret`` for the slot (purpose, key_id); ``nonce`` is 12 fresh random bytes."""
        if len(nonce) != 12:
            raise KekError("nonce must be 12 bytes")
        sealed = AESGCM(self.current).encrypt(nonce, secret, _aad(purpose, key_id))
        return bytes([_VERSION]) + _kek_id(self.current) + nonce + sealed

    def unwrap(self, purpose: str, key_id: str, blob: bytes) -> bytes:
        if not isinstance(blob, bytes) or not _HEADER + 16 <= len(blob) <= _MAX_BLOB:
            raise KekError("wrapped key has the wrong size")
        if blob[0] != _VERSION:
            raise KekError("wrapped key has an unknown version")
        wanted = blob[1:5]
        for key in (self.current, *self.previous):
            if _kek_id(key) == wanted:
                try:
                    return AESGCM(key).decrypt(blob[5:17], blob[17:], _aad(purpose, key_id))
                except InvalidTag:
                    break
        raise KekError(f"wrapped key {purpose}/{key_id} does not open under the configured KEK")

    def needs_rewrap(self, blob: bytes) -> bool:
        return blob[1:5] != _kek_id(self.current)


def _aad(purpose: str, key_id: str) -> bytes:
    return b"devicesrp-wrapped-key\x00" + purpose.encode() + b"\x00" + key_id.encode()


def _decode(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KekError(f"{where} is not base64") from None
    if len(raw) != 32:
        raise KekError(f"{where} must decode to 32 bytes")
    return raw


def load_kek(environ: Mapping[str, str] | None = None) -> Kek:
    """The KEK from ``DEVICESRP_KEK`` or ``DEVICESRP_KEK_FILE`` (exactly one of them)."""
    env = os.environ if environ is None else environ
    text, path = env.get(KEK_ENV), env.get(KEK_FILE_ENV)
    if text and path:
        raise KekError(f"set only one of {KEK_ENV} and {KEK_FILE_ENV}")
    if text:
        current = _decode(text, KEK_ENV)
    elif path:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KekError(f"{KEK_FILE_ENV}: cannot read the file ({exc.strerror})") from None
        current = data if len(data) == 32 else _decode(data.decode("ascii", "replace"), path)
    else:
        raise KekError(
            f"no key-encryption key: set {KEK_ENV} (base64 of 32 bytes) or {KEK_FILE_ENV}"
        )
    previous = tuple(
        _decode(part, KEK_PREVIOUS_ENV) for part in env.get(KEK_PREVIOUS_ENV, "").split(",") if part
    )
    return Kek(current, previous)
