"""The Cognito SRP-6a profile, both roles: k, u, x, v, A, B, S, the HKDF key, claim signatures.

Formulas from the public Cognito clients (amazon-cognito-identity-js ``AuthenticationHelper``,
Amplify v6, pycognito), checked against the known answers in ``vectors/`` (doc §1-§5):

    k   = hexHash(PAD(N) + PAD(g))                          g = 2, N = 3072-bit RFC 5054 prime
    u   = hexHash(PAD(A) + PAD(B))                          u = 0 aborts both roles
    x   = hexHash(PAD(salt) + SHA256(P + I + ":" + secret))
    S   = (B - k*g^x)^(a + u*x) mod N     (client)          S = (A * v^u)^b mod N   (server)
    K   = HKDF-SHA256(IKM = bytes(PAD(S)), salt = bytes(PAD(u)), "Caldera Derived Key", L = 16)
    sig = base64(HMAC-SHA256(K, P + I + SECRET_BLOCK bytes + TIMESTAMP))

Secrets (a, b, x, v, S, K) are bytes whose length declares their size; every exponentiation with
a secret goes through ``devicesrp.modexp``. Peer values are checked before any secret work.
Nothing here accepts an N or g: the group is pinned to ``COGNITO_GROUP``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from .. import modexp
from ..errors import (
    GroupNotApprovedError,
    InvalidParameterError,
    InvalidTypeError,
    UnsafePublicValueError,
)
from .encoding import hex_hash, pad_bytes, pad_hex, parse_hex
from .groups import COGNITO_GROUP, Group
from .timestamp import canonical_timestamp

__all__ = [
    "COGNITO_K",
    "DEFAULT_SECRET_BYTES",
    "HKDF_INFO",
    "MAX_SALT_BYTES",
    "DeviceVerifier",
    "check_client_public",
    "check_password_verifier",
    "check_server_public",
    "claim_signature",
    "client_premaster",
    "client_public",
    "client_session_key",
    "compute_u",
    "compute_verifier",
    "compute_x",
    "derive_key",
    "device_verifier",
    "parse_client_public",
    "parse_salt",
    "parse_server_public",
    "pool_name",
    "require_cognito_parameters",
    "secret_hash",
    "server_premaster",
    "server_public",
    "server_session_key",
    "verify_claim_signature",
]

_N = COGNITO_GROUP.N
_G = COGNITO_GROUP.g
_N_LEN = COGNITO_GROUP.n_len

#: k = hexHash(PAD(N) + PAD(g)), asserted against the value every Cognito client uses.
COGNITO_K = 0x538282C4354742D7CBBDE2359FCF67F9F5B3A6B08791E5011B43B8A5B66D9EE6
if int(hex_hash(pad_hex(_N) + pad_hex(_G)), 16) != COGNITO_K:  # pragma: no cover - import guard
    raise GroupNotApprovedError("k", "the Cognito group does not give the Cognito k")

#: Size of this project's own secrets a and b (RFC 5054 §3.1 asks for at least 256 bits).
DEFAULT_SECRET_BYTES = 32
#: Largest salt accepted (security-matrix row 35); Cognito clients use 16 random bytes.
MAX_SALT_BYTES = 64
HKDF_INFO = b"Caldera Derived Key"
_KEY_LEN = 16
_MAX_SECRET_BYTES = 1024
_MAX_SIGNATURE_CHARS = 64


def _check_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(name, "str", value)
    return value


def _check_bytes(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidTypeError(name, "bytes", value)
    return bytes(value)


def _check_secret(name: str, value: object, *, exact_len: int | None = None) -> bytes:
    data = _check_bytes(name, value)
    if exact_len is not None and len(data) != exact_len:
        raise InvalidParameterError(name, f"must be exactly {exact_len} bytes")
    if not 1 <= len(data) <= _MAX_SECRET_BYTES:
        raise InvalidParameterError(name, f"must be 1..{_MAX_SECRET_BYTES} bytes")
    return data


def require_cognito_parameters(group: Group, k: int) -> None:
    """Fail unless (group, k) is exactly Cognito's: the 3072-bit prime, g = 2, k = COGNITO_K."""
    if group != COGNITO_GROUP:
        raise GroupNotApprovedError("group", "the Cognito profile needs the cognito-3072 group")
    if isinstance(k, bool) or not isinstance(k, int):
        raise InvalidTypeError("k", "int", k)
    if k != COGNITO_K:
        raise GroupNotApprovedError("k", "the Cognito profile needs k = hexHash(PAD(N) + PAD(g))")


def pool_name(user_pool_id: str) -> str:
    """The P of user SRP: the UserPoolId after its ``_`` (``us-east-1_Ab`` -> ``Ab``)."""
    text = _check_str("user_pool_id", user_pool_id)
    region, sep, name = text.partition("_")
    if not sep or not region or not name:
        raise InvalidParameterError("user_pool_id", "must look like <region>_<name>")
    return name


def _check_public(name: str, value: object) -> int:
    """1 < value < N-1: rejects 0, 1, N-1 and anything >= N (≡ 0 or small-subgroup values)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(name, "int", value)
    if not 1 < value < _N - 1:
        raise UnsafePublicValueError(name, "must satisfy 1 < value < N-1")
    return value


def check_client_public(A: int) -> int:
    """Server-side check of A: 1 < A < N-1 (rejects A ≡ 0 mod N) — RFC 5054 §2.5.4."""
    return _check_public("A", A)


def check_server_public(B: int) -> int:
    """Client-side check of B: 1 < B < N-1 (rejects B ≡ 0 mod N) — RFC 5054 §2.5.4."""
    return _check_public("B", B)


def parse_client_public(text: str) -> int:
    """SRP_A from strict hex (at most 770 characters), then ``check_client_public``."""
    return check_client_public(parse_hex("SRP_A", text, COGNITO_GROUP.max_hex_len))


def parse_server_public(text: str) -> int:
    """SRP_B from strict hex (at most 770 characters), then ``check_server_public``."""
    return check_server_public(parse_hex("SRP_B", text, COGNITO_GROUP.max_hex_len))


def parse_salt(text: str) -> int:
    """SALT from strict hex, at most MAX_SALT_BYTES (in PAD form, 2*64 + 2 characters)."""
    return parse_hex("SALT", text, 2 * MAX_SALT_BYTES + 2)


def compute_u(A: int, B: int) -> int:
    """u = hexHash(PAD(A) + PAD(B)); checks A and B first; u = 0 is an UnsafePublicValueError."""
    a_pub = check_client_public(A)
    b_pub = check_server_public(B)
    u = int(hex_hash(pad_hex(a_pub) + pad_hex(b_pub)), 16)
    if u == 0:
        raise UnsafePublicValueError("u", "must not be zero")
    return u


def _check_u(u: object) -> int:
    if isinstance(u, bool) or not isinstance(u, int):
        raise InvalidTypeError("u", "int", u)
    if u == 0:
        raise UnsafePublicValueError("u", "must not be zero")
    if not 0 < u < 1 << 256:
        raise InvalidParameterError("u", "must be a SHA-256 value")
    return u


def compute_x(salt_hex: str, pool_or_group: str, identity: str, secret: str) -> bytes:
    """x = hexHash(PAD(salt) + SHA256(P + I + ":" + secret)), as 32 secret bytes.

    User SRP: P = pool name, I = USER_ID_FOR_SRP, secret = password. Device SRP:
    P = DeviceGroupKey, I = DeviceKey, secret = the device password. Strings are UTF-8.
    """
    salt = parse_salt(salt_hex)
    p = _check_str("pool_or_group", pool_or_group)
    i = _check_str("identity", identity)
    s = _check_str("secret", secret)
    inner = hashlib.sha256(f"{p}{i}:{s}".encode()).hexdigest()
    return bytes.fromhex(hex_hash(pad_hex(salt) + inner))


def compute_verifier(x: bytes) -> bytes:
    """v = g^x mod N, as len(N) = 384 secret bytes (the server's stored verifier)."""
    return modexp.srp_verifier(_G, _check_secret("x", x), _N)


_fixed_base: dict[int, modexp.FixedBase] = {}


def client_public(a: bytes) -> int:
    """A = g^a mod N for the secret ``a`` (its byte length declares its size; 32 bytes by default).

    Uses a per-process fixed-base table for each secret size.
    """
    secret = _check_secret("a", a)
    value = int.from_bytes(secret, "big")
    if value == 0:
        raise InvalidParameterError("a", "must not be zero")
    bits = 8 * len(secret)
    table = _fixed_base.get(bits)
    if table is None:
        table = _fixed_base.setdefault(bits, modexp.FixedBase(_G, _N, bits))
    return table.pow(value)


def client_premaster(x: bytes, a: bytes, u: int, B: int) -> bytes:
    """S = (B - k*g^x)^(a + u*x) mod N — RFC 5054 §2.6; B and u are checked before any work."""
    b_pub = check_server_public(B)
    uu = _check_u(u)
    return modexp.srp_client_premaster(
        _G, COGNITO_K, _check_secret("x", x), _check_secret("a", a), uu, b_pub, _N
    )


def server_public(v: bytes, b: bytes) -> int:
    """B = (k*v + g^b) mod N — RFC 5054 §2.5.3; v is the 384-byte verifier."""
    return modexp.srp_server_public(
        _G, COGNITO_K, _check_secret("v", v, exact_len=_N_LEN), _check_secret("b", b), _N
    )


def server_premaster(A: int, v: bytes, u: int, b: bytes) -> bytes:
    """S = (A * v^u)^b mod N — RFC 5054 §2.6; A and u are checked before any work."""
    a_pub = check_client_public(A)
    uu = _check_u(u)
    return modexp.srp_server_premaster(
        a_pub, _check_secret("v", v, exact_len=_N_LEN), uu, _check_secret("b", b), _N
    )


def derive_key(S: bytes, u: int) -> bytes:
    """K = HKDF-SHA256(IKM = bytes(PAD(S)), salt = bytes(PAD(u)), "Caldera Derived Key", L = 16).

    RFC 5869 with one expand block (16 <= 32 bytes): PRK = HMAC(salt, IKM), K = HMAC(PRK, info|1).
    """
    premaster = _check_secret("S", S)
    uu = _check_u(u)
    prk = hmac.digest(pad_bytes(uu), pad_bytes(int.from_bytes(premaster, "big")), "sha256")
    return hmac.digest(prk, HKDF_INFO + b"\x01", "sha256")[:_KEY_LEN]


def client_session_key(x: bytes, a: bytes, A: int, B: int) -> bytes:
    """The client's K from x, a, its own A and the server's B (B and u checked first)."""
    u = compute_u(A, B)
    return derive_key(client_premaster(x, a, u, B), u)


def server_session_key(A: int, B: int, v: bytes, b: bytes) -> bytes:
    """The server's K from the client's A, its own B, v and b (A and u checked first)."""
    u = compute_u(A, B)
    return derive_key(server_premaster(A, v, u, b), u)


def _signature_message(pool_or_group: str, identity: str, secret_block: bytes, ts: str) -> bytes:
    p = _check_str("pool_or_group", pool_or_group).encode()
    i = _check_str("identity", identity).encode()
    block = _check_bytes("secret_block", secret_block)
    return p + i + block + _check_str("timestamp", ts).encode()


def claim_signature(
    key: bytes, pool_or_group: str, identity: str, secret_block: bytes, timestamp: str
) -> str:
    """PASSWORD_CLAIM_SIGNATURE = base64(HMAC-SHA256(K, P + I + SECRET_BLOCK + TIMESTAMP)).

    ``secret_block`` is the decoded SECRET_BLOCK; ``timestamp`` is used exactly as given.
    """
    k = _check_secret("key", key, exact_len=_KEY_LEN)
    message = _signature_message(pool_or_group, identity, secret_block, timestamp)
    return base64.b64encode(hmac.digest(k, message, "sha256")).decode("ascii")


def verify_claim_signature(
    key: bytes,
    pool_or_group: str,
    identity: str,
    secret_block: bytes,
    timestamp: str,
    signature: str,
) -> bool:
    """True iff ``signature`` is the claim signature over the canonical re-rendering of timestamp.

    An unparsable timestamp raises ``InvalidTimestampError``; a parsable but non-canonical one
    simply fails to verify. The comparison is constant time (``hmac.compare_digest``).
    """
    sig = _check_str("signature", signature)
    canonical = canonical_timestamp(timestamp)
    expected = claim_signature(key, pool_or_group, identity, secret_block, canonical)
    if len(sig) > _MAX_SIGNATURE_CHARS or not sig.isascii():
        return False
    return hmac.compare_digest(expected.encode("ascii"), sig.encode("ascii"))


@dataclass(frozen=True)
class DeviceVerifier:
    """DeviceSecretVerifierConfig as bytes: Salt = PAD(salt), PasswordVerifier = PAD(v)."""

    salt: bytes
    password_verifier: bytes = field(repr=False)


def device_verifier(
    device_group_key: str, device_key: str, password: str, salt: bytes
) -> DeviceVerifier:
    """What a client sends in ConfirmDevice (doc §4), from its password and random salt bytes.

    salt' = PAD(int(salt));
    x = hexHash(salt' + SHA256(DeviceGroupKey + DeviceKey + ":" + password));
    v = g^x mod N; returns Salt = bytes(salt'), PasswordVerifier = bytes(PAD(v)).
    """
    raw = _check_bytes("salt", salt)
    if not 1 <= len(raw) <= MAX_SALT_BYTES:
        raise InvalidParameterError("salt", f"must be 1..{MAX_SALT_BYTES} bytes")
    salt_int = int.from_bytes(raw, "big")
    x = compute_x(pad_hex(salt_int), device_group_key, device_key, password)
    v = int.from_bytes(compute_verifier(x), "big")
    return DeviceVerifier(salt=pad_bytes(salt_int), password_verifier=pad_bytes(v))


def check_password_verifier(password_verifier: bytes) -> bytes:
    """A PasswordVerifier (any PAD width) as the fixed 384-byte v; 2 <= v <= N-2."""
    data = _check_bytes("PasswordVerifier", password_verifier)
    if not 1 <= len(data) <= _N_LEN + 1:
        raise InvalidParameterError("PasswordVerifier", f"must be 1..{_N_LEN + 1} bytes")
    v = int.from_bytes(data, "big")
    if not 1 < v < _N - 1:
        raise InvalidParameterError("PasswordVerifier", "must satisfy 1 < v < N-1")
    return v.to_bytes(_N_LEN, "big")


def secret_hash(client_secret: str, username: str, client_id: str) -> str:
    """SECRET_HASH = base64(HMAC-SHA256(key = client secret, msg = username + client id))."""
    key = _check_str("client_secret", client_secret).encode()
    msg = (_check_str("username", username) + _check_str("client_id", client_id)).encode()
    return base64.b64encode(hmac.digest(key, msg, "sha256")).decode("ascii")
