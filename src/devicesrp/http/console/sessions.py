"""Operator sign-in and sessions: constant-time credential check, a per-address rate limit,
server-side sessions shared by every worker process, and CSRF tokens.

    k      = HMAC-SHA256("devicesrp console v1", key_id_1 | 0 | secret_1 | 0 | ...)   (admin keys)
    cookie = sid "." expiry "." who "." b64url(HMAC-SHA256(k, "session" | 0 | sid | 0 | expiry
             | 0 | who))                                  (who = b64url of the operator's key id)
    csrf   = b64url(HMAC-SHA256(k, "csrf" | 0 | sid))            (one per session, in every form)

The cookie's MAC keeps guesses away from the database; the session itself is a row in the store's
scoped-counter table (scope ``console.session``, the table sign-in lockout uses: the one keyed table
of the store contract that every backend reads and deletes atomically across processes), keyed by
SHA-256(sid), whose ``locked_until`` is the expiry. Sign-out deletes the row, so a copied cookie is
dead from then on. Changing the admin keys changes ``k`` and ends every session.

The sign-in form carries its own token, bound to a short-lived pre-session cookie, so a page
elsewhere cannot sign a browser in under credentials of its choosing (login CSRF).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ...server.lockout import LockoutPolicy
from ...store.contract import Store
from ..sigv4 import AdminKey

__all__ = ["ConsoleSession", "Gatekeeper"]

SESSION_SCOPE = "console.session"
SIGNIN_SCOPE = "console.signin"
SESSION_SECONDS = 8 * 3600
PRESESSION_SECONDS = 3600
MAX_SESSIONS = 1000  # beyond this, the least recently created sessions end
MAX_ADDRESSES = 100_000  # bound on the sign-in failure counters
_MAX_COOKIE = 1024
_MAX_CREDENTIAL = 512


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in operator: the session id, its expiry, the admin key id it signed in with (for
    the audit log) and its CSRF token (the id and token never logged)."""

    sid: str = field(repr=False)
    expires_at: float
    operator: str
    csrf: str = field(repr=False)


class Gatekeeper:
    """Checks credentials, rate-limits sign-in, and issues, verifies and ends sessions."""

    def __init__(
        self,
        store: Store,
        admin_keys: Sequence[AdminKey],
        *,
        clock: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        policy: LockoutPolicy | None = None,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self._store = store
        self._max_sessions = max_sessions
        self._keys = tuple(admin_keys)
        self._clock = clock
        self._random = random_bytes
        self._policy = policy or LockoutPolicy()
        material = b"".join(
            k.key_id.encode() + b"\x00" + k.secret.encode() + b"\x00" for k in self._keys
        )
        # Without admin keys nobody can sign in; the key then only signs pre-sessions.
        seed = material or random_bytes(32)
        self._key = hmac.new(b"devicesrp console v1", seed, hashlib.sha256).digest()

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def _mac(self, *parts: str) -> str:
        message = "\x00".join(parts).encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    # -- credentials and rate limit -------------------------------------------------------------
    def credentials_match(self, key_id: str, secret: str) -> bool:
        """Every configured key is compared, each in constant time over fixed-size digests."""
        given = _credential_digest(key_id[:_MAX_CREDENTIAL], secret[:_MAX_CREDENTIAL])
        ok = False
        for key in self._keys:
            ok |= hmac.compare_digest(given, _credential_digest(key.key_id, key.secret))
        return ok and bool(key_id) and len(key_id) <= _MAX_CREDENTIAL

    def locked_for(self, address: str) -> float:
        """Seconds until ``address`` may try to sign in again (0 when it may now)."""
        record = self._store.get_lockout(SIGNIN_SCOPE, _address_key(address))
        return max(0.0, record.locked_until - self._clock()) if record else 0.0

    def sign_in(self, address: str, key_id: str, secret: str) -> tuple[str, ConsoleSession] | None:
        """(cookie value, session) for matching credentials, else None (the failure counts).
        The caller checks ``locked_for`` first: a locked address is not evaluated at all."""
        key = _address_key(address)
        if not self.credentials_match(key_id, secret):
            self._store.record_failure(
                SIGNIN_SCOPE,
                key,
                now=self._clock(),
                lock_for=self._policy.delay_after,
                max_keys=MAX_ADDRESSES,
            )
            return None
        self._store.reset_lockout(SIGNIN_SCOPE, key)
        sid = _b64(self._random(32))
        expires = int(self._clock()) + SESSION_SECONDS
        self._store.record_failure(
            SESSION_SCOPE,
            _session_key(sid),
            now=self._clock(),
            lock_for=lambda _: float(expires) - self._clock(),
            max_keys=self._max_sessions,
        )
        who = _b64(key_id.encode())
        cookie = f"{sid}.{expires}.{who}.{self._mac('session', sid, str(expires), who)}"
        return cookie, ConsoleSession(sid, float(expires), key_id, self._mac("csrf", sid))

    # -- sessions --------------------------------------------------------------------------------
    def session(self, cookie: str | None) -> ConsoleSession | None:
        """The live session a cookie names, or None (bad MAC, expired, or signed out)."""
        if not self.enabled or not cookie or len(cookie) > _MAX_COOKIE:
            return None
        parts = cookie.split(".")
        if len(parts) != 4 or not parts[1].isdigit() or len(parts[1]) > 12:
            return None
        sid, expiry, who, mac = parts
        expected = self._mac("session", sid, expiry, who)
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        now = self._clock()
        if int(expiry) <= now:
            return None
        record = self._store.get_lockout(SESSION_SCOPE, _session_key(sid))
        if record is None or record.locked_until <= now:
            return None
        operator = base64.urlsafe_b64decode(who + "=" * (-len(who) % 4)).decode("utf-8", "replace")
        return ConsoleSession(sid, float(expiry), operator, self._mac("csrf", sid))

    def sign_out(self, session: ConsoleSession) -> None:
        self._store.reset_lockout(SESSION_SCOPE, _session_key(session.sid))

    @staticmethod
    def csrf_ok(session: ConsoleSession, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(
            given.encode("utf-8", "replace"), session.csrf.encode()
        )

    # -- the sign-in form's own token (login CSRF) -----------------------------------------------
    def new_presession(self) -> tuple[str, str]:
        """(cookie value, form token) for a sign-in form."""
        nonce = _b64(self._random(18))
        expires = str(int(self._clock()) + PRESESSION_SECONDS)
        cookie = f"{nonce}.{expires}.{self._mac('pre', nonce, expires)}"
        return cookie, self._mac("signin-form", nonce)

    def presession_token(self, cookie: str | None) -> str | None:
        """The form token a live pre-session cookie vouches for, else None."""
        if not cookie or len(cookie) > _MAX_COOKIE:
            return None
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
            return None
        nonce, expires, mac = parts
        if not hmac.compare_digest(mac.encode(), self._mac("pre", nonce, expires).encode()):
            return None
        if int(expires) <= self._clock():
            return None
        return self._mac("signin-form", nonce)


def _credential_digest(key_id: str, secret: str) -> bytes:
    message = f"{len(key_id)}:{key_id}\x00{secret}".encode("utf-8", "replace")
    return hashlib.sha256(message).digest()


def _address_key(address: str) -> str:
    # an address is printable ASCII; anything else (a proxy's odd peer name) is hashed
    if address.isascii() and address.isprintable() and " " not in address and len(address) < 64:
        return "a:" + address
    return "h:" + hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()


def _session_key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()
