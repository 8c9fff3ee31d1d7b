"""Session key and proofs as the srptools library computes them (its ``conventions`` field).

    K  = H(S)                                         S without leading zero bytes
    M1 = H(H(N) XOR H(g) | H(I) | s | A | B | K)      g unpadded; integers unpadded, s as given
    M2 = H(A | M1 | K)

srptools serialises each integer, including H(I) and the XOR, with no leading zero bytes, and
the salt as the bytes it was given. That is not RFC 2945's padded form; this module exists to
check interoperability with srptools.
"""

from __future__ import annotations

from .rfc5054 import Rfc5054

__all__ = ["client_proof", "server_proof", "session_key"]


def _min_bytes(value: int) -> bytes:
    """Big-endian bytes, no leading zero byte (one zero byte for 0), as srptools int_to_bytes."""
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


def _hash_int(profile: Rfc5054, data: bytes) -> int:
    return int.from_bytes(profile.H(data), "big")


def session_key(profile: Rfc5054, S: bytes) -> bytes:
    """K = H(S) with S stripped of leading zero bytes."""
    return profile.H(_min_bytes(int.from_bytes(S, "big")))


def client_proof(
    profile: Rfc5054,
    identity: str,
    salt: bytes,
    A: int,
    B: int,
    K: bytes,
) -> bytes:
    """M1 = H(H(N) XOR H(g) | H(I) | s | A | B | K), srptools serialisation."""
    group = profile.group
    xor = _hash_int(profile, _min_bytes(group.N)) ^ _hash_int(profile, _min_bytes(group.g))
    h_identity = _hash_int(profile, identity.encode())
    return profile.H(
        _min_bytes(xor),
        _min_bytes(h_identity),
        bytes(salt),
        _min_bytes(A),
        _min_bytes(B),
        K,
    )


def server_proof(profile: Rfc5054, A: int, M1: bytes, K: bytes) -> bytes:
    """M2 = H(A | M1 | K), srptools serialisation."""
    return profile.H(_min_bytes(A), M1, K)
