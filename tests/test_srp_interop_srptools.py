"""Interop with srptools (an independent SRP-6a implementation), both directions.

Direction 1: srptools client against devicesrp's RFC 5054 server math.
Direction 2: devicesrp's client math against an srptools server.
Both agree on K, M1 and M2 (srptools conventions) for random users, passwords, salts (leading
zero bytes included) and secrets, on the 1024- and 2048-bit groups with SHA-1 and SHA-256.
"""

from __future__ import annotations

import hashlib
import random
import string
import zlib

import pytest
from srptools import SRPClientSession, SRPContext, SRPServerSession

from counts import count
from devicesrp.srp import groups, srptools_profile
from devicesrp.srp.rfc5054 import Rfc5054

ROUND_TRIPS = count(ci=1000, soak=20000)
SETTINGS = [
    ("rfc5054-1024", "sha1"),
    ("rfc5054-1024", "sha256"),
    ("rfc5054-2048", "sha1"),
    ("rfc5054-2048", "sha256"),
]
HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
ALPHABET = string.ascii_letters + string.digits + "_-.@é中"


def _context(group_name: str, hash_name: str, user: str, password: str) -> SRPContext:
    group = groups.get_group(group_name)
    return SRPContext(
        user,
        password,
        prime=format(group.N, "x"),
        generator=format(group.g, "x"),
        hash_func=HASHES[hash_name],
    )


def _case(rng: random.Random) -> dict:
    salt_len = rng.choice([8, 16, 32])
    salt = bytearray(rng.randbytes(salt_len))
    if rng.random() < 0.2:
        salt[0] = 0  # leading zero byte: srptools hashes the salt bytes as given
    return {
        "user": "".join(rng.choices(ALPHABET, k=rng.randint(1, 24))),
        "password": "".join(rng.choices(ALPHABET, k=rng.randint(1, 32))),
        "salt": bytes(salt),
        "a": rng.randbytes(32),
        "b": rng.randbytes(32),
    }


@pytest.mark.parametrize(("group_name", "hash_name"), SETTINGS)
def test_srptools_client_against_our_server(group_name: str, hash_name: str) -> None:
    seed = zlib.crc32(f"{group_name}/{hash_name}/client".encode())
    rng = random.Random(seed)
    ours = Rfc5054(groups.get_group(group_name), hash_name)
    for n in range(ROUND_TRIPS // len(SETTINGS)):
        c = _case(rng)
        context = _context(group_name, hash_name, c["user"], c["password"])
        # Registration on our side: v from the password (what the server stores).
        v = ours.compute_verifier(ours.compute_x(c["salt"], c["user"], c["password"]))
        b_pub = ours.server_public(v, c["b"])
        client = SRPClientSession(context, private=int.from_bytes(c["a"], "big"))
        key, m1, m2 = client.process(format(b_pub, "x"), c["salt"].hex())
        a_pub = int(client.public, 16)
        u = ours.compute_u(a_pub, b_pub)
        our_key = srptools_profile.session_key(ours, ours.server_premaster(a_pub, v, u, c["b"]))
        our_m1 = srptools_profile.client_proof(ours, c["user"], c["salt"], a_pub, b_pub, our_key)
        our_m2 = srptools_profile.server_proof(ours, a_pub, our_m1, our_key)
        assert (our_key.hex(), our_m1.hex()) == (key, m1), f"seed={seed} case={n}"
        assert client.verify_proof(our_m2), f"seed={seed} case={n}"
        assert our_m2.hex() == m2


@pytest.mark.parametrize(("group_name", "hash_name"), SETTINGS)
def test_our_client_against_srptools_server(group_name: str, hash_name: str) -> None:
    seed = zlib.crc32(f"{group_name}/{hash_name}/server".encode())
    rng = random.Random(seed)
    ours = Rfc5054(groups.get_group(group_name), hash_name)
    for n in range(ROUND_TRIPS // len(SETTINGS)):
        c = _case(rng)
        context = _context(group_name, hash_name, c["user"], None)
        x = ours.compute_x(c["salt"], c["user"], c["password"])
        server = SRPServerSession(
            context,
            password_verifier=ours.compute_verifier(x),
            private=int.from_bytes(c["b"], "big"),
        )
        a_pub = ours.client_public(c["a"])
        b_pub = int(server.public, 16)
        u = ours.compute_u(a_pub, b_pub)
        our_key = srptools_profile.session_key(ours, ours.client_premaster(x, c["a"], u, b_pub))
        our_m1 = srptools_profile.client_proof(ours, c["user"], c["salt"], a_pub, b_pub, our_key)
        key, m1, m2 = server.process(format(a_pub, "x"), c["salt"].hex())
        assert server.verify_proof(our_m1), f"seed={seed} case={n}"
        assert (our_key.hex(), our_m1.hex()) == (key, m1)
        assert srptools_profile.server_proof(ours, a_pub, our_m1, our_key).hex() == m2


def test_a_wrong_password_is_refused_by_srptools() -> None:
    """The agreement above is not vacuous: one changed password character breaks the proof."""
    rng = random.Random(7)
    ours = Rfc5054(groups.get_group("rfc5054-1024"), "sha256")
    for _ in range(20):
        c = _case(rng)
        context = _context("rfc5054-1024", "sha256", c["user"], None)
        right = ours.compute_x(c["salt"], c["user"], c["password"])
        wrong = ours.compute_x(c["salt"], c["user"], c["password"] + "!")
        server = SRPServerSession(
            context, password_verifier=ours.compute_verifier(right), private=c["b"].hex()
        )
        a_pub = ours.client_public(c["a"])
        b_pub = int(server.public, 16)
        u = ours.compute_u(a_pub, b_pub)
        key = srptools_profile.session_key(ours, ours.client_premaster(wrong, c["a"], u, b_pub))
        m1 = srptools_profile.client_proof(ours, c["user"], c["salt"], a_pub, b_pub, key)
        server.process(format(a_pub, "x"), c["salt"].hex())
        assert not server.verify_proof(m1)
