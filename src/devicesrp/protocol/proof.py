"""The server proof, devicesrp's extension beyond Cognito: the server shows it knows v too.

    key   = HKDF-SHA256(IKM = PAD(S), salt = PAD(u), info = "devicesrp server proof v1", L = 32)
    proof = HMAC-SHA256(key, transcript)
    transcript = "devicesrp server proof v1" | for each of P, I, PAD(A), u (32 bytes),
                 the sealed secret block, the canonical TIMESTAMP, the client's signature text:
                 4-byte big-endian length | bytes

Cognito's session key is K = HKDF(PAD(S), PAD(u), "Caldera Derived Key", 16); the proof key
shares IKM and salt but not the info string, so the two keys are independent and K itself is
never used here. B enters through u = H(PAD(A) | PAD(B)), which commits to both public values
(RFC 5054 §2.6), so the server need not keep B. Only a party that derived the same S (a server
holding v, for this A, B, and b) can compute the proof: it is the client's evidence that it talks
to the real server, in the spirit of SRP-6a's M2 = H(A | M | K) (RFC 2945 §3), but bound to
everything both sides saw. Cognito sends nothing like it; devicesrp's service sends it in a
response header and devicesrp's client can demand it.
"""

from __future__ import annotations

import hmac
import struct

from ..srp.encoding import pad_bytes

__all__ = ["SERVER_PROOF_BYTES", "SERVER_PROOF_INFO", "server_proof", "verify_server_proof"]

SERVER_PROOF_INFO = b"devicesrp server proof v1"
SERVER_PROOF_BYTES = 32


def _proof_key(premaster: int, u: int) -> bytes:
    """HKDF-SHA256(IKM = PAD(S), salt = PAD(u), info = SERVER_PROOF_INFO, L = 32) — RFC 5869.

    L = 32 is one HMAC block: PRK = HMAC(salt, IKM), OKM = HMAC(PRK, info | 0x01).
    """
    prk = hmac.digest(pad_bytes(u), pad_bytes(premaster), "sha256")
    return hmac.digest(prk, SERVER_PROOF_INFO + b"\x01", "sha256")


def _transcript(
    realm: str,
    identity: str,
    a_pub: int,
    u: int,
    secret_block: bytes,
    timestamp: str,
    signature: str,
) -> bytes:
    parts = (
        realm.encode("utf-8"),
        identity.encode("utf-8"),
        pad_bytes(a_pub),
        u.to_bytes(32, "big"),
        secret_block,
        timestamp.encode("utf-8"),
        signature.encode("utf-8"),
    )
    return SERVER_PROOF_INFO + b"".join(struct.pack(">I", len(p)) + p for p in parts)


def server_proof(
    premaster: int,
    *,
    realm: str,
    identity: str,
    a_pub: int,
    u: int,
    secret_block: bytes,
    timestamp: str,
    signature: str,
) -> bytes:
    """proof = HMAC-SHA256(HKDF(PAD(S), PAD(u), "devicesrp server proof v1"), transcript)."""
    key = _proof_key(premaster, u)
    message = _transcript(realm, identity, a_pub, u, secret_block, timestamp, signature)
    return hmac.digest(key, message, "sha256")


def verify_server_proof(
    proof: bytes,
    premaster: int,
    *,
    realm: str,
    identity: str,
    a_pub: int,
    u: int,
    secret_block: bytes,
    timestamp: str,
    signature: str,
) -> bool:
    """True iff ``proof`` is the server proof for these values (compared in constant time)."""
    expected = server_proof(
        premaster,
        realm=realm,
        identity=identity,
        a_pub=a_pub,
        u=u,
        secret_block=secret_block,
        timestamp=timestamp,
        signature=signature,
    )
    return hmac.compare_digest(expected, proof)
