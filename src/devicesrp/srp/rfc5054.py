"""SRP-6a as RFC 5054 defines it, for any approved group and any hashlib hash.

    k = H(N | PAD(g))            x = H(s | H(I | ":" | P))       v = g^x mod N
    A = g^a mod N                B = (k*v + g^b) mod N           u = H(PAD(A) | PAD(B))
    S = (B - k*g^x)^(a + u*x) mod N (client)   =   (A * v^u)^b mod N (server)

PAD here is RFC 5054's: left-padding with zeros to len(N) bytes (unlike Cognito's PAD). Secrets are
bytes whose length declares their size; secret exponentiations go through ``devicesrp.modexp``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from .. import modexp
from ..errors import InvalidParameterError, InvalidTypeError, UnsafePublicValueError
from .groups import Group

__all__ = ["Rfc5054", "new_hash"]

_MAX_SECRET_BYTES = 1024


def new_hash(name: str) -> Callable[[bytes], bytes]:
    """A digest function for a hashlib hash name; ``blake2b-256``-style names set the digest size.

    Extendable-output hashes (SHAKE) are refused: SRP needs a fixed digest length.
    """
    if not isinstance(name, str):
        raise InvalidTypeError("hash_name", "str", name)
    family, _, size = name.partition("-")
    if family in ("blake2b", "blake2s") and size:
        if not size.isdigit() or int(size) % 8:
            raise InvalidParameterError("hash_name", "unknown hash")
        constructor = hashlib.blake2b if family == "blake2b" else hashlib.blake2s
        digest_size = int(size) // 8
        if not 1 <= digest_size <= constructor.MAX_DIGEST_SIZE:
            raise InvalidParameterError("hash_name", "unknown hash")
        return lambda data: constructor(data, digest_size=digest_size).digest()
    if name not in hashlib.algorithms_available or name.startswith("shake"):
        raise InvalidParameterError("hash_name", "unknown or variable-length hash")
    hashlib.new(name)  # fail now, not on first use, if the build lacks it
    return lambda data: hashlib.new(name, data).digest()


def _secret(field: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidTypeError(field, "bytes", value)
    data = bytes(value)
    if not 1 <= len(data) <= _MAX_SECRET_BYTES:
        raise InvalidParameterError(field, f"must be 1..{_MAX_SECRET_BYTES} bytes")
    return data


def _text(field: str, value: object) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise InvalidTypeError(field, "str or bytes", value)


@dataclass(frozen=True)
class Rfc5054:
    """RFC 5054 SRP-6a over ``group`` with hash ``hash_name`` (e.g. ``sha1``, ``blake2b-256``)."""

    group: Group
    hash_name: str

    def __post_init__(self) -> None:
        if not isinstance(self.group, Group):
            raise InvalidTypeError("group", "Group", self.group)
        new_hash(self.hash_name)

    def H(self, *parts: bytes) -> bytes:
        """H(p1 | p2 | ...)."""
        return new_hash(self.hash_name)(b"".join(parts))

    def pad(self, value: int) -> bytes:
        """PAD(i): i as len(N) big-endian bytes — RFC 5054 §2.1."""
        return value.to_bytes(self.group.n_len, "big")

    @property
    def k(self) -> int:
        """k = H(N | PAD(g)) — RFC 5054 §2.5.3."""
        return int.from_bytes(self.H(self.pad(self.group.N), self.pad(self.group.g)), "big")

    def check_public(self, field: str, value: int) -> int:
        """1 < value < N-1 (rejects ≡ 0 mod N and the small-subgroup values) — RFC 5054 §2.5.4."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTypeError(field, "int", value)
        if not 1 < value < self.group.N - 1:
            raise UnsafePublicValueError(field, "must satisfy 1 < value < N-1")
        return value

    def compute_x(self, salt: bytes, identity: str | bytes, password: str | bytes) -> bytes:
        """x = H(s | H(I | ":" | P)) — RFC 5054 §2.4; secret, as digest bytes."""
        inner = self.H(_text("identity", identity), b":", _text("password", password))
        return self.H(_text("salt", salt), inner)

    def compute_verifier(self, x: bytes) -> bytes:
        """v = g^x mod N — RFC 5054 §2.4; len(N) secret bytes."""
        return modexp.srp_verifier(self.group.g, _secret("x", x), self.group.N)

    def client_public(self, a: bytes) -> int:
        """A = g^a mod N — RFC 5054 §2.5.4."""
        secret = _secret("a", a)
        return modexp.powmod_secret(
            self.group.g, int.from_bytes(secret, "big"), self.group.N, 8 * len(secret)
        )

    def server_public(self, v: bytes, b: bytes) -> int:
        """B = (k*v + g^b) mod N — RFC 5054 §2.5.3; v is len(N) bytes."""
        return modexp.srp_server_public(self.group.g, self.k, v, _secret("b", b), self.group.N)

    def compute_u(self, A: int, B: int) -> int:
        """u = H(PAD(A) | PAD(B)) — RFC 5054 §2.6; A, B checked; u = 0 is refused."""
        a_pub = self.check_public("A", A)
        b_pub = self.check_public("B", B)
        u = int.from_bytes(self.H(self.pad(a_pub), self.pad(b_pub)), "big")
        if u == 0:
            raise UnsafePublicValueError("u", "must not be zero")
        return u

    def client_premaster(self, x: bytes, a: bytes, u: int, B: int) -> bytes:
        """S = (B - k*g^x)^(a + u*x) mod N — RFC 5054 §2.6; len(N) secret bytes."""
        b_pub = self.check_public("B", B)
        if u == 0:
            raise UnsafePublicValueError("u", "must not be zero")
        g, n = self.group.g, self.group.N
        return modexp.srp_client_premaster(g, self.k, _secret("x", x), _secret("a", a), u, b_pub, n)

    def server_premaster(self, A: int, v: bytes, u: int, b: bytes) -> bytes:
        """S = (A * v^u)^b mod N — RFC 5054 §2.6; len(N) secret bytes."""
        a_pub = self.check_public("A", A)
        if u == 0:
            raise UnsafePublicValueError("u", "must not be zero")
        return modexp.srp_server_premaster(a_pub, v, u, _secret("b", b), self.group.N)
