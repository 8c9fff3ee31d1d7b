"""TOTP against RFC 6238 Appendix B, plus window and replay rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devicesrp.errors import InvalidParameterError
from devicesrp.server import totp

VECTORS = json.loads(
    (Path(__file__).parent.parent / "vectors" / "rfc6238_totp.json").read_text(encoding="utf-8")
)
SEED = VECTORS["seed_ascii"].encode("ascii")


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: str(c["time"]))
def test_rfc6238_sha1_vectors(case: dict[str, object]) -> None:
    t = int(str(case["time"]))
    assert int(t // 30) == int(str(case["step_hex"]), 16)
    assert totp.totp(SEED, t) == str(case["totp8"])[-6:]


def test_window_accepts_one_step_either_side_only() -> None:
    now = 1_700_000_015.0
    step = int(now // 30)
    for delta, ok in [(-2, False), (-1, True), (0, True), (1, True), (2, False)]:
        code = totp.hotp(SEED, step + delta)
        got = totp.verify(SEED, code, now)
        assert (got == step + delta) if ok else (got is None or got != step + delta)


def test_a_code_is_good_once() -> None:
    now = 1_700_000_000.0
    code = totp.totp(SEED, now)
    used = totp.verify(SEED, code, now)
    assert used is not None
    assert totp.verify(SEED, code, now, last_step=used) is None
    assert totp.verify(SEED, totp.totp(SEED, now + 30), now + 30, last_step=used) == used + 1


@pytest.mark.parametrize(
    "bad", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345", None, 123456]
)
def test_malformed_codes_never_match(bad: object) -> None:
    assert totp.verify(SEED, bad, 59.0) is None  # type: ignore[arg-type]


def test_secret_round_trip_and_strict_parsing() -> None:
    secret = bytes(range(20))
    text = totp.encode_secret(secret)
    assert len(text) == 32 and "=" not in text
    assert totp.decode_secret(text) == secret
    assert totp.decode_secret(text.lower()) == secret
    for bad in ["", "A" * 8, "!" * 32, "A" * 200, "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ"]:
        with pytest.raises(InvalidParameterError):
            totp.decode_secret(bad)
