"""SECRET_BLOCK: the server's challenge state, sealed with AES-256-GCM and handed to the client.

Format (version 1), base64 text of::

    version (1) | key id (4) | nonce (12) | AES-256-GCM( plaintext ) | tag (16)
    plaintext = challenge id (16) | issued at (8, epoch s) | u (32) | len(b) (1) | masked b
                | len(A) (2) | A
    associated data = "devicesrp secret block" | version | key id | nonce
                      | ChallengeContext.encode()

It carries the server's ephemeral ``b`` masked with a key only the verifier gives
(``masked_b = b XOR HMAC-SHA256(v, "devicesrp b mask v1" | challenge id | i)``, see ``mask_b``),
the client's ``A`` and ``u = H(PAD(A) | PAD(B))`` (which commits to B, so B need not travel).
So a leaked sealing key alone neither logs anyone in nor reveals v: without v an opened block
yields no b (and b with the public B = k*v + g^b would give v away), and a forged block makes
the server use b = masked_b XOR mask(v), unknown to the forger. What remains is an offline
password guess per block, each costing modexps: the exposure of a stolen verifier. A
3072-bit A is 384 bytes, so a block is ~510 bytes (680 base64 characters). The server stays
stateless between ``begin`` and ``finish``; the challenge id lets the caller's store make each
block single-use. Any defect (bad base64, size, version, unknown or retired key, a flipped bit, a
context other than the sealing one) is the one ``AuthenticationError``: the block is opaque to
the client and the error says nothing about which check failed.

AES-GCM with random 96-bit nonces stays safe for about 2**32 seals per key: rotate keys well
before that (``KeyRing.rotated``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag

from ..errors import AuthenticationError, InvalidParameterError, InvalidTypeError
from .context import ChallengeContext
from .keyring import KeyRing

__all__ = [
    "CHALLENGE_ID_BYTES",
    "MAX_SECRET_BLOCK_CHARS",
    "NONCE_BYTES",
    "ChallengeState",
    "mask_b",
    "open_challenge",
    "seal_challenge",
]

VERSION = 1
CHALLENGE_ID_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
U_BYTES = 32
MAX_B_BYTES = 255
MAX_A_BYTES = 1024  # 8192-bit groups
_LABEL = b"devicesrp secret block"
_MASK_LABEL = b"devicesrp b mask v1"
_HEADER = struct.Struct(">BI12s")
_FIXED = struct.Struct(">16sq32s")
_MAX_PLAINTEXT = _FIXED.size + 1 + MAX_B_BYTES + 2 + MAX_A_BYTES
_MAX_SEALED = _HEADER.size + _MAX_PLAINTEXT + TAG_BYTES
#: Longest SECRET_BLOCK text this module could ever produce; longer text is refused unread.
MAX_SECRET_BLOCK_CHARS = 4 * ((_MAX_SEALED + 2) // 3)
_MIN_SEALED = _HEADER.size + _FIXED.size + 1 + 1 + 2 + 1 + TAG_BYTES
_U_LIMIT = 1 << (8 * U_BYTES)
_A_LIMIT = 1 << (8 * MAX_A_BYTES)
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


@dataclass(frozen=True)
class ChallengeState:
    """What the server needs to finish: challenge id, issue time, u, its masked b, and A."""

    challenge_id: bytes
    issued_at: int
    u: int
    masked_b: bytes = field(repr=False)
    A: int

    def __post_init__(self) -> None:
        if not isinstance(self.challenge_id, bytes) or len(self.challenge_id) != CHALLENGE_ID_BYTES:
            raise InvalidParameterError("challenge_id", f"must be {CHALLENGE_ID_BYTES} bytes")
        for name in ("issued_at", "u", "A"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidTypeError(name, "int", value)
        if not _I64_MIN <= self.issued_at <= _I64_MAX:
            raise InvalidParameterError("issued_at", "out of range")
        if not 0 <= self.u < _U_LIMIT:
            raise InvalidParameterError("u", f"must fit in {U_BYTES} bytes")
        if not isinstance(self.masked_b, bytes):
            raise InvalidTypeError("masked_b", "bytes", self.masked_b)
        if not 1 <= len(self.masked_b) <= MAX_B_BYTES:
            raise InvalidParameterError("masked_b", f"must be 1..{MAX_B_BYTES} bytes")
        if not 0 < self.A < _A_LIMIT:
            raise InvalidParameterError("A", f"must be positive and fit in {MAX_A_BYTES} bytes")

    def _plaintext(self) -> bytes:
        a_bytes = self.A.to_bytes((self.A.bit_length() + 7) // 8, "big")
        return (
            _FIXED.pack(self.challenge_id, self.issued_at, self.u.to_bytes(U_BYTES, "big"))
            + bytes([len(self.masked_b)])
            + self.masked_b
            + struct.pack(">H", len(a_bytes))
            + a_bytes
        )


def mask_b(verifier: bytes, challenge_id: bytes, b: bytes) -> bytes:
    """b XOR HMAC-SHA256(v, "devicesrp b mask v1" | challenge id | i), i = 1, 2 ... per 32 bytes.

    Its own inverse: ``mask_b(v, id, mask_b(v, id, b)) == b``. Keyed by the verifier, so only a
    holder of v (the server's record) turns a sealed ``masked_b`` back into b; a verifier that
    changed between begin and finish gives another b, and the proof fails.
    """
    stream = b""
    counter = 1
    while len(stream) < len(b):
        message = _MASK_LABEL + challenge_id + counter.to_bytes(1, "big")
        stream += hmac.digest(verifier, message, "sha256")
        counter += 1
    n = len(b)
    return (int.from_bytes(b, "big") ^ int.from_bytes(stream[:n], "big")).to_bytes(n, "big")


def _aad(header: bytes, context: ChallengeContext) -> bytes:
    return _LABEL + header + context.encode()


def seal_challenge(
    state: ChallengeState, context: ChallengeContext, ring: KeyRing, nonce: bytes
) -> str:
    """SECRET_BLOCK text for ``state`` bound to ``context``, sealed with the ring's current key.

    ``nonce`` (12 bytes) must never repeat under one key: ``devicesrp.live`` draws it at random.
    """
    if not isinstance(state, ChallengeState):
        raise InvalidTypeError("state", "ChallengeState", state)
    if not isinstance(context, ChallengeContext):
        raise InvalidTypeError("context", "ChallengeContext", context)
    if not isinstance(ring, KeyRing):
        raise InvalidTypeError("ring", "KeyRing", ring)
    if not isinstance(nonce, bytes):
        raise InvalidTypeError("nonce", "bytes", nonce)
    if len(nonce) != NONCE_BYTES:
        raise InvalidParameterError("nonce", f"must be exactly {NONCE_BYTES} bytes")
    key = ring.current
    header = _HEADER.pack(VERSION, key.key_id, nonce)
    body = key.aead.encrypt(nonce, state._plaintext(), _aad(header, context))
    return base64.b64encode(header + body).decode("ascii")


def decode_secret_block(text: object) -> bytes:
    """Sealed bytes of SECRET_BLOCK text: strict canonical base64, size-capped; else auth error."""
    if not isinstance(text, str) or not text.isascii() or len(text) > MAX_SECRET_BLOCK_CHARS:
        raise AuthenticationError()
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationError() from None
    # One spelling per block: other paddings or non-zero spare bits are not the block we issued.
    if base64.b64encode(data).decode("ascii") != text:
        raise AuthenticationError()
    return data


def open_challenge(text: object, context: ChallengeContext, ring: KeyRing) -> ChallengeState:
    """The state sealed in SECRET_BLOCK ``text`` for ``context``; any defect: auth failure."""
    if not isinstance(context, ChallengeContext):
        raise InvalidTypeError("context", "ChallengeContext", context)
    if not isinstance(ring, KeyRing):
        raise InvalidTypeError("ring", "KeyRing", ring)
    sealed = decode_secret_block(text)
    if not _MIN_SEALED <= len(sealed) <= _MAX_SEALED:
        raise AuthenticationError()
    header, body = sealed[: _HEADER.size], sealed[_HEADER.size :]
    version, key_id, nonce = _HEADER.unpack(header)
    key = ring.find(key_id)
    if version != VERSION or key is None:
        raise AuthenticationError()
    try:
        plain = key.aead.decrypt(nonce, body, _aad(header, context))
    except InvalidTag:
        raise AuthenticationError() from None
    return _parse_plaintext(plain)


def _parse_plaintext(plain: bytes) -> ChallengeState:
    """Parse the authenticated plaintext; only our own seal can produce it, but check anyway."""
    try:
        challenge_id, issued_at, u_bytes = _FIXED.unpack_from(plain, 0)
        pos = _FIXED.size
        b_len = plain[pos]
        b = plain[pos + 1 : pos + 1 + b_len]
        pos += 1 + b_len
        (a_len,) = struct.unpack_from(">H", plain, pos)
        a_bytes = plain[pos + 2 :]
        if len(b) != b_len or len(a_bytes) != a_len:
            raise AuthenticationError()
        return ChallengeState(
            challenge_id=challenge_id,
            issued_at=issued_at,
            u=int.from_bytes(u_bytes, "big"),
            masked_b=b,
            A=int.from_bytes(a_bytes, "big"),
        )
    except (struct.error, IndexError, InvalidParameterError):
        raise AuthenticationError() from None
