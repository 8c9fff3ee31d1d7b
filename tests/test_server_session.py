"""The sealed Session value and access-token verification, as units."""

from __future__ import annotations

import os

import jwt
import pytest

from devicesrp.server.decision import Step
from devicesrp.server.errors import NotAuthorizedError
from devicesrp.server.session import MAX_SESSION_CHARS, SessionSealer, SessionState
from devicesrp.server.tokens import TokenIssuer, generate_signing_key

K1 = (b"\x00\x00\x00\x01", os.urandom(32))
K2 = (b"\x00\x00\x00\x02", os.urandom(32))


def state(**kw: object) -> SessionState:
    base: dict[str, object] = {
        "txn": "ab" * 16,
        "step": Step.DEVICE_SRP_AUTH,
        "pool_id": "us-east-1_TestPool1",
        "client_id": "client1",
        "user_sub": "7f1c9a52-64a4-4f5f-9b59-2d3f3b1c0a11",
        "device_key": "us-east-1_0f0e0d0c-0b0a-4908-8706-050403020100",
        "mfa_done": True,
        "auth_time": 1000,
        "expires_at": 1180,
        "then": (Step.DEVICE_PASSWORD_VERIFIER, Step.TOKENS),
        "extra": "cd" * 16,
    }
    base.update(kw)
    return SessionState(**base)  # type: ignore[arg-type]


def test_round_trip_and_expiry() -> None:
    sealer = SessionSealer([K1])
    text = sealer.seal(state(), os.urandom(12))
    assert sealer.open(text, 1180) == state()
    with pytest.raises(NotAuthorizedError):
        sealer.open(text, 1181)


def test_worst_case_length_fits() -> None:
    big = state(
        client_id="c" * 128,
        pool_id="eu-central-1_" + "P" * 42,
        device_key="eu-central-1_" + "0" * 42,
        then=(
            Step.SOFTWARE_TOKEN_MFA,
            Step.DEVICE_SRP_AUTH,
            Step.DEVICE_PASSWORD_VERIFIER,
            Step.TOKENS,
        ),
        step=Step.NEW_PASSWORD_REQUIRED,
        extra="e" * 64,
        code_mac="f" * 64,
    )
    text = SessionSealer([K1]).seal(big, os.urandom(12))
    assert 20 <= len(text) <= MAX_SESSION_CHARS
    with pytest.raises(ValueError):
        state(client_id="c" * 129)


def test_rotation_and_retirement() -> None:
    old = SessionSealer([K1]).seal(state(), os.urandom(12))
    rotated = SessionSealer([K2, K1])
    assert rotated.open(old, 1000) == state()
    assert SessionSealer([K2]).open(rotated.seal(state(), os.urandom(12)), 1000) == state()
    with pytest.raises(NotAuthorizedError):
        SessionSealer([K2]).open(old, 1000)


def test_every_flip_fails() -> None:
    sealer = SessionSealer([K1])
    text = sealer.seal(state(), os.urandom(12))
    for i in range(len(text)):
        flipped = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]
        with pytest.raises(NotAuthorizedError):
            sealer.open(flipped, 1000)
    for bad in (None, 5, "", "v1", "v1" + "=" * 30, "v2" + text[2:], text + "=", text.lower()):
        with pytest.raises(NotAuthorizedError):
            sealer.open(bad, 1000)


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer("https://idp.example", "us-east-1_TestPool1", [generate_signing_key("k1")])


def _access(issuer: TokenIssuer, now: int = 1000, lifetime: int = 3600) -> str:
    return issuer.access_token(
        sub="s",
        username="u",
        client_id="c",
        auth_time=now,
        now=now,
        lifetime=lifetime,
        jti="j",
        origin_jti="o",
        event_id="e",
        device_key=None,
    )


def test_access_token_checks(issuer: TokenIssuer) -> None:
    token = _access(issuer)
    claims = issuer.verify_access(token, 1000)
    assert (claims.sub, claims.device_key, claims.issued_at) == ("s", None, 1000)
    with pytest.raises(NotAuthorizedError):
        issuer.verify_access(token, 4600)  # expired
    id_token = issuer.id_token(
        sub="s",
        username="u",
        client_id="c",
        attributes={"email_verified": "true"},
        auth_time=1000,
        now=1000,
        lifetime=3600,
        jti="j",
        origin_jti="o",
        event_id="e",
    )
    assert jwt.decode(id_token, options={"verify_signature": False})["email_verified"] is True
    other = TokenIssuer("https://idp.example", "us-east-1_TestPool1", [generate_signing_key("k1")])
    payload = jwt.decode(token, options={"verify_signature": False})
    forged = [
        id_token,  # token_use id
        _access(other),  # same kid, another key
        jwt.encode(payload, key=None, algorithm="none"),  # type: ignore[arg-type]
        jwt.encode(payload, "s" * 32, algorithm="HS256", headers={"kid": "k1"}),
        token[:-4] + "AAAA",
        "a.b.c",
        "",
    ]
    for bad in forged:
        with pytest.raises(NotAuthorizedError):
            issuer.verify_access(bad, 1000)
    keys = list(issuer._by_kid.values())
    wrong_issuer = TokenIssuer("https://evil.example", "us-east-1_TestPool1", keys)
    with pytest.raises(NotAuthorizedError):
        issuer.verify_access(_access(wrong_issuer), 1000)
    assert "PRIVATE" not in repr(generate_signing_key("k9"))
