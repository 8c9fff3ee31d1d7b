"""The Cognito profile under hostile input (security-matrix rows 2, 3, 4, 22, 35) and properties."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devicesrp import modexp
from devicesrp.errors import (
    InvalidParameterError,
    InvalidTypeError,
    UnsafePublicValueError,
)
from devicesrp.srp import cognito
from devicesrp.srp.groups import COGNITO_GROUP

N = COGNITO_GROUP.N
SECRET_OPS = (
    "srp_client_premaster",
    "srp_server_premaster",
    "srp_server_public",
    "srp_verifier",
    "powmod_secret",
)


@pytest.fixture
def modexp_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Record every secret modexp call (the real functions still run)."""
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for name in SECRET_OPS:
        real = getattr(modexp, name)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            calls.append((_name, args))
            return _real(*args)

        monkeypatch.setattr(modexp, name, spy)
    yield calls


X = cognito.compute_x("a1b2c3", "pool", "user", "password")
V = cognito.compute_verifier(X)
A_SECRET = bytes(range(1, 33))
B_SECRET = bytes(range(33, 65))
A_PUB = cognito.client_public(A_SECRET)
B_PUB = cognito.server_public(V, B_SECRET)
U = cognito.compute_u(A_PUB, B_PUB)

BAD_PUBLIC_VALUES = [0, 1, N - 1, N, N + 1, 2 * N, 7 * N, 1 << 3072, (1 << 3072) + 5, -1, -N]
BAD_PUBLIC_TEXTS = [
    "",
    "-1",
    "+2",
    "0x2",
    " 2",
    "2 ",
    "2\n",
    "２",
    "1",
    "0",
    "00",
    format(N, "x"),
    format(N - 1, "x"),
    format(N + 1, "x"),
    "0" + format(N, "x"),
    format(1 << 3072, "x"),
    "f" * 771,
    "f" * 10**6,
]


# --- row 2: A out of range, at the server -------------------------------------------------------


@pytest.mark.parametrize("value", BAD_PUBLIC_VALUES)
def test_server_rejects_bad_A_before_any_work(value: int, modexp_calls: list) -> None:
    with pytest.raises(UnsafePublicValueError) as info:
        cognito.server_session_key(value, B_PUB, V, B_SECRET)
    assert info.value.field == "A"
    with pytest.raises(UnsafePublicValueError):
        cognito.server_premaster(value, V, U, B_SECRET)
    with pytest.raises(UnsafePublicValueError):
        cognito.check_client_public(value)
    assert modexp_calls == []


@pytest.mark.parametrize("text", BAD_PUBLIC_TEXTS, ids=lambda t: repr(t[:20]))
def test_server_rejects_bad_SRP_A_text(text: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        cognito.parse_client_public(text)
    assert info.value.field in ("SRP_A", "A")


# --- row 3: rogue server B, at the client -------------------------------------------------------


@pytest.mark.parametrize("value", BAD_PUBLIC_VALUES)
def test_client_rejects_bad_B_before_exponentiating(value: int, modexp_calls: list) -> None:
    with pytest.raises(UnsafePublicValueError) as info:
        cognito.client_session_key(X, A_SECRET, A_PUB, value)
    assert info.value.field == "B"
    with pytest.raises(UnsafePublicValueError):
        cognito.client_premaster(X, A_SECRET, U, value)
    assert modexp_calls == []


@pytest.mark.parametrize("text", BAD_PUBLIC_TEXTS, ids=lambda t: repr(t[:20]))
def test_client_rejects_bad_SRP_B_text(text: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        cognito.parse_server_public(text)
    assert info.value.field in ("SRP_B", "B")


@pytest.mark.parametrize("value", [True, 2.0, "2", b"\x02", None])
def test_public_values_must_be_int(value: object) -> None:
    with pytest.raises(InvalidTypeError):
        cognito.check_server_public(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        cognito.check_client_public(value)  # type: ignore[arg-type]


def test_the_extreme_valid_public_values_are_accepted() -> None:
    assert cognito.check_server_public(2) == 2
    assert cognito.check_client_public(N - 2) == N - 2


# --- row 4: u = 0 -----------------------------------------------------------------------------


def test_u_zero_aborts_both_roles(modexp_calls: list) -> None:
    for call in (
        lambda: cognito.client_premaster(X, A_SECRET, 0, B_PUB),
        lambda: cognito.server_premaster(A_PUB, V, 0, B_SECRET),
        lambda: cognito.derive_key(bytes(384), 0),
    ):
        with pytest.raises(UnsafePublicValueError) as info:
            call()
        assert info.value.field == "u"
    assert modexp_calls == []


def test_a_hash_yielding_u_zero_aborts_both_roles(
    monkeypatch: pytest.MonkeyPatch, modexp_calls: list
) -> None:
    """Inject a hash that gives u = 0 (only for the u computation); both roles refuse."""
    real = cognito.hex_hash
    u_input = cognito.pad_hex(A_PUB) + cognito.pad_hex(B_PUB)
    monkeypatch.setattr(
        cognito, "hex_hash", lambda text, *a: "00" * 32 if text == u_input else real(text, *a)
    )
    with pytest.raises(UnsafePublicValueError, match="u"):
        cognito.client_session_key(X, A_SECRET, A_PUB, B_PUB)
    with pytest.raises(UnsafePublicValueError, match="u"):
        cognito.server_session_key(A_PUB, B_PUB, V, B_SECRET)
    assert modexp_calls == []


# --- row 22: fixed sizes ----------------------------------------------------------------------


def test_secrets_cross_into_modexp_as_fixed_length_bytes(modexp_calls: list) -> None:
    small_a = bytes(31) + b"\x05"  # a small value still declares 256 bits
    a_pub = cognito.client_public(small_a)
    key_c = cognito.client_session_key(X, small_a, a_pub, B_PUB)
    key_s = cognito.server_session_key(a_pub, B_PUB, V, B_SECRET)
    assert key_c == key_s and len(key_c) == 16
    by_name = {name: args for name, args in modexp_calls}
    x, a = by_name["srp_client_premaster"][2:4]  # (g, k, x, a, u, B, N)
    assert (type(x), len(x), type(a), len(a)) == (bytes, 32, bytes, 32)
    v, b = by_name["srp_server_premaster"][1], by_name["srp_server_premaster"][3]  # (A, v, u, b, N)
    assert (type(v), len(v), type(b), len(b)) == (bytes, 384, bytes, 32)
    assert cognito._fixed_base[256].exp_bits == 256


def test_outputs_have_fixed_sizes() -> None:
    assert len(X) == 32
    assert len(V) == 384
    s = cognito.client_premaster(X, A_SECRET, U, B_PUB)
    assert len(s) == 384 == len(cognito.server_premaster(A_PUB, V, U, B_SECRET))
    assert len(cognito.derive_key(s, U)) == 16


@pytest.mark.parametrize("bad", [b"", bytes(1025), "00" * 32, 5])
def test_secret_sizes_and_types_are_checked(bad: object) -> None:
    err = InvalidTypeError if not isinstance(bad, bytes) else InvalidParameterError
    with pytest.raises(err):
        cognito.client_public(bad)  # type: ignore[arg-type]
    with pytest.raises(err):
        cognito.server_public(V, bad)  # type: ignore[arg-type]


def test_zero_a_and_wrong_verifier_width_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="zero"):
        cognito.client_public(bytes(32))
    with pytest.raises(InvalidParameterError, match="384"):
        cognito.server_public(V[1:], B_SECRET)
    with pytest.raises(InvalidParameterError, match="16"):
        cognito.claim_signature(bytes(15), "p", "i", b"x", "t")


def test_errors_never_contain_the_secret() -> None:
    secret = bytes.fromhex("deadbeef" * 8)
    with pytest.raises(InvalidParameterError) as info:
        cognito.server_public(secret, B_SECRET)  # v of the wrong width
    assert "deadbeef" not in str(info.value) and "3q2+7" not in str(info.value)
    dv = cognito.device_verifier("g", "d", "password", bytes(range(16)))
    assert dv.password_verifier.hex()[:16] not in repr(dv)


# --- salts and verifiers (row 35 at the math level) -------------------------------------------


@pytest.mark.parametrize("text", ["", "0x12", "-12", "12 ", "g", "1" * 131])
def test_bad_salt_text(text: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        cognito.compute_x(text, "p", "i", "s")
    assert info.value.field == "SALT"


def test_salt_size_limits() -> None:
    cognito.compute_x("ff" * 64, "p", "i", "s")
    cognito.compute_x("00" + "ff" * 64, "p", "i", "s")  # PAD form of a 64-byte salt
    with pytest.raises(InvalidParameterError):
        cognito.device_verifier("g", "d", "pw", bytes(65))
    with pytest.raises(InvalidParameterError):
        cognito.device_verifier("g", "d", "pw", b"")


@pytest.mark.parametrize("value", [0, 1, N - 1, N, N + 1])
def test_password_verifier_range(value: int) -> None:
    with pytest.raises(InvalidParameterError):
        cognito.check_password_verifier(value.to_bytes(385, "big"))


def test_password_verifier_widths() -> None:
    assert cognito.check_password_verifier(b"\x02") == (2).to_bytes(384, "big")
    assert cognito.check_password_verifier(b"\x00" + V) == V
    with pytest.raises(InvalidParameterError):
        cognito.check_password_verifier(bytes(386))
    with pytest.raises(InvalidParameterError):
        cognito.check_password_verifier(b"")


def test_pool_name() -> None:
    assert cognito.pool_name("us-east-1_TestPool1") == "TestPool1"
    assert cognito.pool_name("eu-west-2_a_b") == "a_b"
    for bad in ("nounderscore", "_x", "us-east-1_", ""):
        with pytest.raises(InvalidParameterError):
            cognito.pool_name(bad)


# --- properties: both roles agree; any wrong input or flipped byte fails -------------------------

SECRETS = st.binary(min_size=32, max_size=32).filter(any)
NAMES = st.text(min_size=1, max_size=30)


@settings(max_examples=25, deadline=None)
@given(SECRETS, SECRETS, NAMES, NAMES, st.binary(min_size=1, max_size=16), st.binary(max_size=64))
def test_round_trip_and_signature(
    a: bytes, b: bytes, identity: str, password: str, salt: bytes, block: bytes
) -> None:
    dv = cognito.device_verifier("group", identity, password, salt)
    v = cognito.check_password_verifier(dv.password_verifier)
    salt_hex = dv.salt.hex()
    a_pub = cognito.client_public(a)
    b_pub = cognito.server_public(v, b)
    x = cognito.compute_x(salt_hex, "group", identity, password)
    key = cognito.client_session_key(x, a, a_pub, b_pub)
    assert key == cognito.server_session_key(a_pub, b_pub, v, b)
    ts = "Tue Feb 1 03:04:05 UTC 2000"
    sig = cognito.claim_signature(key, "group", identity, block, ts)
    assert cognito.verify_claim_signature(key, "group", identity, block, ts, sig)
    wrong_x = cognito.compute_x(salt_hex, "group", identity, password + "!")
    assert cognito.client_session_key(wrong_x, a, a_pub, b_pub) != key
    raw = bytearray(base64.b64decode(sig))
    raw[len(block) % 32] ^= 0x01
    flipped = base64.b64encode(bytes(raw)).decode()
    assert not cognito.verify_claim_signature(key, "group", identity, block, ts, flipped)
    assert not cognito.verify_claim_signature(key, "group", identity, block + b"\x00", ts, sig)


def test_every_flipped_bit_of_the_signature_fails() -> None:
    key = cognito.derive_key(cognito.client_premaster(X, A_SECRET, U, B_PUB), U)
    ts = "Tue Feb 1 03:04:05 UTC 2000"
    sig = cognito.claim_signature(key, "pool", "user", b"block", ts)
    raw = base64.b64decode(sig)
    for bit in range(8 * len(raw)):
        mutated = bytearray(raw)
        mutated[bit // 8] ^= 1 << (bit % 8)
        bad = base64.b64encode(bytes(mutated)).decode()
        assert not cognito.verify_claim_signature(key, "pool", "user", b"block", ts, bad)
    for bad in ("", sig[:-1], sig + "=", sig.rstrip("="), " " + sig, "é" * 44, "A" * 10**5):
        assert not cognito.verify_claim_signature(key, "pool", "user", b"block", ts, bad)
    assert cognito.verify_claim_signature(key, "pool", "user", b"block", ts, sig)
