"""Keys at rest: sealing keys, JWT signing keys, the TOTP data key and the fake-salt key.

Each key is stored in the store's wrapped-key table, wrapped under the KEK (see :mod:`.kek`), so a
copy of the database opens nothing. Key ids are 8 hex digits (a 32-bit number: the protocol's
SECRET_BLOCK header carries it as 4 bytes; the JWT ``kid`` is the same text).

Rotation, without breaking sign-ins in flight:

- ``seal`` and ``jwt``: a rotation adds a fresh key that signs/seals from then on; older keys keep
  opening and verifying until :meth:`KeyVault.retire_older` retires them (after a challenge
  lifetime, or after the longest token lifetime).
- ``totp`` and ``fake-salt``: the secret itself is kept and only re-wrapped (under the current KEK)
  in a new record; replacing it would lose every TOTP enrolment, and would change every unknown
  name's fake salt at once (which would tell an observer which names do not exist).

Several processes share one store: a vault reloads when it meets a key id it does not know and at
most every ``reload_seconds`` otherwise (or when the clock went back), so a rotation or retirement
made by one process (e.g. ``devicesrp keys``) reaches a running ``serve`` within that time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import InvalidParameterError
from ..protocol.keyring import KeyRing, SealingKey
from ..store.contract import Store
from ..store.records import WrappedKeyRecord
from .kek import Kek
from .memo import BuiltFrom
from .tokens import SigningKey

__all__ = ["KINDS", "KIND_FAKE_SALT", "KIND_JWT", "KIND_SEAL", "KIND_TOTP", "KeyVault"]

KIND_SEAL = "seal"
KIND_JWT = "jwt"
KIND_TOTP = "totp"
KIND_FAKE_SALT = "fake-salt"
KINDS = (KIND_SEAL, KIND_JWT, KIND_TOTP, KIND_FAKE_SALT)
_REPLACED_ON_ROTATE = (KIND_SEAL, KIND_JWT)


@dataclass(frozen=True)
class _Loaded:
    """Unwrapped keys of one kind, newest first."""

    entries: tuple[tuple[str, bytes], ...] = field(repr=False)
    loaded_at: float


class KeyVault:
    """Creates, loads, rotates and retires the wrapped keys of one store."""

    def __init__(
        self,
        store: Store,
        kek: Kek,
        *,
        clock: Callable[[], float],
        random_bytes: Callable[[int], bytes],
        reload_seconds: float = 30.0,
    ) -> None:
        self._store = store
        self._kek = kek
        self._clock = clock
        self._random = random_bytes
        self._reload_seconds = reload_seconds
        self._cache: dict[str, _Loaded] = {}
        self._signers: dict[str, SigningKey] = {}
        # Each view (ring, session keys, signing keys) is built once per loaded key set, not per
        # request (a ring's ciphers expand their keys once).
        self._views = BuiltFrom(limit=len(KINDS))
        self._lock = threading.Lock()

    # -- creation and loading --------------------------------------------------------------------
    def _new_material(self, kind: str) -> bytes:
        if kind == KIND_JWT:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        return self._random(32)

    def _put(self, kind: str, material: bytes, now: float) -> str:
        key_id = self._random(4).hex()
        wrapped = self._kek.wrap(kind, key_id, material, self._random(12))
        self._store.put_key(WrappedKeyRecord(kind, key_id, wrapped, now))
        return key_id

    def _load(self, kind: str) -> _Loaded:
        now = self._clock()
        records = self._store.list_keys(kind)
        if not records:
            self._put(kind, self._new_material(kind), now)
            records = self._store.list_keys(kind)
        entries = tuple((r.key_id, self._kek.unwrap(kind, r.key_id, r.wrapped)) for r in records)
        return _Loaded(entries, now)

    def _entries(self, kind: str, *, force: bool = False) -> tuple[tuple[str, bytes], ...]:
        if kind not in KINDS:
            raise InvalidParameterError("kind", f"one of {', '.join(KINDS)}")
        with self._lock:
            loaded = self._cache.get(kind)
            # A wall clock stepped backwards (NTP) reloads too: an age below zero would otherwise
            # keep the cache, and a rotation or retirement unseen, for as long as the step.
            stale = (
                loaded is None or not 0 <= self._clock() - loaded.loaded_at < self._reload_seconds
            )
            if force or stale:
                loaded = self._load(kind)
                self._cache[kind] = loaded
            assert loaded is not None
            return loaded.entries

    def refresh(self) -> None:
        """Forget the cache: the next use reloads from the store."""
        with self._lock:
            self._cache.clear()

    # -- views for the rest of the domain ---------------------------------------------------------
    def seal_ring(self, *, want_key_id: int | None = None) -> KeyRing:
        """The protocol's key ring (newest seals). Reloads once if ``want_key_id`` is unknown."""
        entries = self._entries(KIND_SEAL)
        if want_key_id is not None and all(int(k, 16) != want_key_id for k, _ in entries):
            entries = self._entries(KIND_SEAL, force=True)
        keys = (SealingKey(int(k, 16), secret) for k, secret in entries)
        return self._views.get("ring", entries, lambda: KeyRing(keys))

    def session_keys(self, *, want_kid: bytes | None = None) -> tuple[tuple[bytes, bytes], ...]:
        """(4-byte id, key) pairs for the Session sealer; the same keys as the ring."""
        entries = self._entries(KIND_SEAL)
        if want_kid is not None and all(bytes.fromhex(k) != want_kid for k, _ in entries):
            entries = self._entries(KIND_SEAL, force=True)
        return self._views.get(
            "session", entries, lambda: tuple((bytes.fromhex(k), secret) for k, secret in entries)
        )

    def signing_keys(self, *, want_kid: str | None = None) -> tuple[SigningKey, ...]:
        entries = self._entries(KIND_JWT)
        if want_kid is not None and all(k != want_kid for k, _ in entries):
            entries = self._entries(KIND_JWT, force=True)
        return self._views.get("signing", entries, lambda: self._signing_keys(entries))

    def _signing_keys(self, entries: tuple[tuple[str, bytes], ...]) -> tuple[SigningKey, ...]:
        # The same SigningKey objects across reloads of the same keys: each parses its PEM once.
        with self._lock:
            out = []
            for kid, pem in entries:
                key = self._signers.get(kid)
                if key is None or key.private_pem != pem:
                    key = self._signers[kid] = SigningKey(kid=kid, private_pem=pem)
                out.append(key)
            return tuple(out)

    def secret(self, kind: str) -> bytes:
        """The one secret of ``totp`` or ``fake-salt`` (the newest record)."""
        if kind not in (KIND_TOTP, KIND_FAKE_SALT):
            raise InvalidParameterError("kind", "totp or fake-salt")
        return self._entries(kind)[0][1]

    # -- rotation --------------------------------------------------------------------------------
    def rotate(self, kind: str) -> str:
        """Add the new current key of ``kind`` and return its id (see the module docstring)."""
        current = self._entries(kind, force=True)
        # Strictly newer than every live key, so "newest first" is unambiguous even when the
        # clock has not moved (tests inject a frozen clock).
        newest = max((r.created_at for r in self._store.list_keys(kind)), default=0.0)
        now = max(self._clock(), newest + 0.001)
        if kind in _REPLACED_ON_ROTATE:
            key_id = self._put(kind, self._new_material(kind), now)
        else:
            key_id = self._put(kind, current[0][1], now)
            # The old record holds the same secret; retire it so only one copy stays live.
            for old_id, _ in current:
                self._store.retire_key(kind, old_id, now=now)
        self._entries(kind, force=True)
        return key_id

    def rotate_all(self) -> dict[str, str]:
        return {kind: self.rotate(kind) for kind in KINDS}

    def retire_older(self, kind: str, *, keep: int = 1) -> list[str]:
        """Retire all but the ``keep`` newest keys of ``kind``; their seals stop opening."""
        if keep < 1:
            raise InvalidParameterError("keep", "at least the current key stays")
        entries = self._entries(kind, force=True)
        now = self._clock()
        retired = [key_id for key_id, _ in entries[keep:]]
        for key_id in retired:
            self._store.retire_key(kind, key_id, now=now)
        self._entries(kind, force=True)
        return retired
