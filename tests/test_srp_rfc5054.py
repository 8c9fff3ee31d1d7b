"""The RFC 5054 profile: hostile public values, u = 0, hash names, and client/server agreement."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devicesrp.errors import InvalidParameterError, InvalidTypeError, UnsafePublicValueError
from devicesrp.srp import groups
from devicesrp.srp.rfc5054 import Rfc5054, new_hash

PROFILE = Rfc5054(groups.get_group("rfc5054-1024"), "sha256")
N = PROFILE.group.N
X = PROFILE.compute_x(b"salt", "alice", "password123")
V = PROFILE.compute_verifier(X)
A_SECRET, B_SECRET = bytes(range(1, 33)), bytes(range(2, 34))
A_PUB = PROFILE.client_public(A_SECRET)
B_PUB = PROFILE.server_public(V, B_SECRET)


@pytest.mark.parametrize("value", [0, 1, N - 1, N, N + 1, 2 * N, -1])
def test_bad_public_values(value: int) -> None:
    with pytest.raises(UnsafePublicValueError):
        PROFILE.compute_u(value, B_PUB)
    with pytest.raises(UnsafePublicValueError):
        PROFILE.compute_u(A_PUB, value)
    with pytest.raises(UnsafePublicValueError):
        PROFILE.client_premaster(X, A_SECRET, 1, value)
    with pytest.raises(UnsafePublicValueError):
        PROFILE.server_premaster(value, V, 1, B_SECRET)


def test_u_zero_aborts_both_roles() -> None:
    with pytest.raises(UnsafePublicValueError):
        PROFILE.client_premaster(X, A_SECRET, 0, B_PUB)
    with pytest.raises(UnsafePublicValueError):
        PROFILE.server_premaster(A_PUB, V, 0, B_SECRET)


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("sha1", hashlib.sha1),
        ("sha512", hashlib.sha512),
        ("sha3_256", hashlib.sha3_256),
        ("blake2b-256", lambda d: hashlib.blake2b(d, digest_size=32)),
        ("blake2s-128", lambda d: hashlib.blake2s(d, digest_size=16)),
    ],
)
def test_new_hash(name: str, reference: object) -> None:
    assert new_hash(name)(b"abc") == reference(b"abc").digest()  # type: ignore[operator]


def test_new_hash_rejects() -> None:
    with pytest.raises(InvalidTypeError):
        new_hash(b"sha1")  # type: ignore[arg-type]
    for bad in ("", "shake_256", "blake2s-512", "sha-256"):
        with pytest.raises(InvalidParameterError):
            new_hash(bad)


@settings(max_examples=20, deadline=None)
@given(
    st.sampled_from(["rfc5054-1024", "rfc5054-1536", "rfc5054-2048"]),
    st.sampled_from(["sha1", "sha256", "blake2b-512"]),
    st.binary(min_size=1, max_size=64).filter(any),
    st.binary(min_size=1, max_size=64).filter(any),
    st.binary(max_size=32),
    st.text(max_size=20),
)
def test_client_and_server_agree(
    group: str, hash_name: str, a: bytes, b: bytes, salt: bytes, password: str
) -> None:
    profile = Rfc5054(groups.get_group(group), hash_name)
    x = profile.compute_x(salt, "user", password)
    v = profile.compute_verifier(x)
    a_pub, b_pub = profile.client_public(a), profile.server_public(v, b)
    u = profile.compute_u(a_pub, b_pub)
    s_client = profile.client_premaster(x, a, u, b_pub)
    assert s_client == profile.server_premaster(a_pub, v, u, b)
    assert len(s_client) == profile.group.n_len
    wrong = profile.compute_x(salt, "user", password + "x")
    assert profile.client_premaster(wrong, a, u, b_pub) != s_client
