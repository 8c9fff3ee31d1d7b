"""Who a sign-in is for: user lookup, the SRP identity, and stable fake answers for unknown names.

USER_ID_FOR_SRP is the user's lookup name (``username_norm``) in username pools and the ``sub`` in
email-as-username pools; the password verifier is made over it. An unknown name gets a challenge
of the same shape from a key only the server holds (security matrix row 17):

    id_fake   = the normalised name (username pools) or a UUID from HMAC(k_fake, name) (email pools)
    salt_fake = PAD(HMAC-SHA256(k_fake, "salt" | pool | id_fake)[:16])   (same form as real salts)
    v_fake    = HMAC expansion of (k_fake, "verifier" | pool | id_fake) to 384 bytes, mod N

No modular exponentiation is spent on the fake values, and the lookups run the same for known and
unknown names, so neither the answer nor its cost depends on whether the name exists.
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import uuid
from dataclasses import dataclass

from ..protocol import VerifierRecord
from ..srp.cognito import pool_name
from ..srp.encoding import pad_bytes
from ..srp.groups import COGNITO_GROUP
from ..store import UserRecord, user_from_row
from .config import PoolSettings, UsernameMode
from .lockout import name_key, user_key
from .runtime import Runtime
from .secrethash import user_names
from .vault import KIND_FAKE_SALT

__all__ = ["Principal", "find_user", "principal_for", "srp_identity", "valid_name"]

_MAX_NAME = 128


def valid_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= _MAX_NAME
        and name.isprintable()
        and " " not in name  # the one whitespace character printable text can hold
    )


def find_user(rt: Runtime, pool: PoolSettings, name: object) -> UserRecord | None:
    """The user named ``name`` (its user name, e-mail in email pools, or its ``sub``)."""
    if not valid_name(name):
        return None
    assert isinstance(name, str)
    full = pool.normalize_name(name)
    # Case folding can lengthen a name ("ß" -> "ss"): look up a truncated form, compare the full.
    norm = full[:_MAX_NAME]
    # A sub is printable ASCII; any other name still runs the query, with a stand-in value.
    sub_probe = name if name.isascii() else hashlib.sha256(name.encode()).hexdigest()
    # Both lookups always run (one statement), so the cost does not depend on which one hits.
    by_name, by_sub = rt.store.get_user_by_name_or_sub(pool.pool_id, norm, sub_probe)
    if by_name is not None and by_name.username_norm != full:
        by_name = None  # only a truncated form matched: not this name
    if by_name is None and by_sub is None:
        _decoy(pool.pool_id, name)
    return by_name if by_name is not None else by_sub


# A row as the store holds one for a typical user, decoded for every miss by the store's own row
# decoder. Same column types and sizes: a full-width 16-byte salt and 384-byte verifier (int
# conversions cost by significant bytes, so not zeros), JSON documents.
_DECOY_ROW = marshal.dumps(
    (
        "00000000-0000-4000-8000-000000000000",
        "{}",
        "CONFIRMED",
        1,
        b"\x5a" * 16,
        (COGNITO_GROUP.N * 2 // 3).to_bytes(COGNITO_GROUP.n_len, "big"),
        None,
        "{}",
        1.0e9,
        1.0e9,
    )
)


def _decoy(pool_id: str, name: str) -> UserRecord:
    """Decode (and drop) a stand-in row through the same decoder as a hit (JSON documents,
    every field check, the record's validation): a hit's decoding is about half of the user
    lookup's cost, so a miss that skipped it would tell a real name from an unknown one (~15 us,
    3% of an InitiateAuth). A fetched row's values are new objects made from the database's
    bytes; ``marshal.loads`` makes the stand-in's the same way (a constant tuple left a hit
    ~2 us, 0.5%, dearer than a miss)."""
    row = marshal.loads(_DECOY_ROW)  # noqa: S302 - our own constant, not outside input
    return user_from_row((pool_id, row[0], name, name, None, *row[1:]))


#: What :func:`principal_for` builds a user principal from for an unknown name, so that both
#: kinds of name run the same code (the result is dropped).
_STAND_IN = _decoy("us-east-1_standin", "stand-in")


def srp_identity(pool: PoolSettings, user: UserRecord) -> str:
    return user.sub if pool.username_mode is UsernameMode.EMAIL else user.username_norm


@dataclass(frozen=True)
class Principal:
    """The subject of a sign-in step: a real user, or the stable stand-in for an unknown name."""

    user: UserRecord | None
    context_user: str  # what the sealed challenge is bound to
    identity: str  # USER_ID_FOR_SRP
    record: VerifierRecord
    lockout_key: str
    # A UUID-shaped id for the Session: the sub, or a stable fake one (same length either way).
    session_id: str
    # The names besides the typed one a SECRET_HASH may be computed over: the user's, or for an
    # unknown name as many secret-derived ones as a user has (so as many HMACs are checked),
    # which nobody can compute a hash over.
    names: tuple[str, ...]


def _mac(key: bytes, label: str, pool_id: str, name: str) -> bytes:
    message = f"{label}\x00{pool_id}\x00{name}".encode()
    return hmac.digest(key, message, "sha256")  # one C call: the same value as hmac.new


def principal_for(rt: Runtime, pool: PoolSettings, name: str, user: UserRecord | None) -> Principal:
    """The principal for a looked-up name; unknown names get the fake, stable one.

    Both principals are built for every name, known or not (the user one from a stand-in record
    for an unknown name), so that the work does not differ; only the choice does.
    """
    fake = _fake_principal(rt, pool, name)
    real = _user_principal(pool, user if user is not None else _STAND_IN)
    return real if user is not None else fake


def _user_principal(pool: PoolSettings, user: UserRecord) -> Principal:
    identity = srp_identity(pool, user)
    record = VerifierRecord(pool_name(pool.pool_id), identity, user.srp_salt, user.srp_verifier)
    lock = user_key(pool.pool_id, user.sub)
    names = tuple(user_names(user))
    return Principal(user, user.sub, identity, record, lock, user.sub, names)


def _fake_identity(rt: Runtime, pool: PoolSettings, name: str) -> str:
    """USER_ID_FOR_SRP for an unknown name; applied to its own output it returns it unchanged,
    because clients answer with the identity they were given, not the name they typed."""
    norm = pool.normalize_name(name) if valid_name(name) else "unknown"
    if pool.username_mode is UsernameMode.EMAIL and "@" in norm:
        key = rt.vault.secret(KIND_FAKE_SALT)
        return str(uuid.UUID(bytes=_mac(key, "sub", pool.pool_id, norm)[:16], version=4))
    return norm


def _fake_principal(rt: Runtime, pool: PoolSettings, name: str) -> Principal:
    """Everything derives from the fake identity, so the proof step (which only sees the
    identity echoed back) rebuilds the same context, lockout key and record."""
    key = rt.vault.secret(KIND_FAKE_SALT)
    identity = _fake_identity(rt, pool, name)
    salt = pad_bytes(int.from_bytes(_mac(key, "salt", pool.pool_id, identity)[:16], "big"))
    stream = b"".join(_mac(key, f"verifier{i}", pool.pool_id, identity) for i in range(12))
    n = COGNITO_GROUP.N
    v = 2 + int.from_bytes(stream, "big") % (n - 3)
    session_id = str(uuid.UUID(bytes=_mac(key, "session", pool.pool_id, identity)[:16], version=4))
    record = VerifierRecord(
        pool_name(pool.pool_id), identity, salt, v.to_bytes(COGNITO_GROUP.n_len, "big")
    )
    lock_key = name_key(key, pool.pool_id, identity)
    email = pool.username_mode is UsernameMode.EMAIL  # there every user has an e-mail name
    names = (session_id,) * (4 if email else 3)
    return Principal(None, "unknown:" + lock_key, identity, record, lock_key, session_id, names)
