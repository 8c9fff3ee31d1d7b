"""Row 26, the scanner itself: the suite-wide secret scan (tests/secret_scan.py, run at the end of
every pytest session from conftest) must find a planted secret in every encoding it claims, and
must really be wired: secrets drawn by the engines get registered, log records get collected."""

from __future__ import annotations

import base64
import logging
import random
from pathlib import Path

import pytest

import secret_scan
from devicesrp.protocol.client import ClientHandshake
from devicesrp.protocol.values import UserCredentials


def planted(rng: random.Random) -> bytes:
    return b"\x00" + rng.randbytes(31)  # a leading zero byte: the minimal-hex spelling differs


@pytest.mark.matrix(26)
def test_positive_control_finds_a_planted_secret_in_every_encoding(
    matrix_cases: object,
) -> None:
    rng = random.Random(26)
    registry = secret_scan.SecretRegistry()
    secret = planted(rng)
    registry.add_bytes(secret, "b")
    number = int.from_bytes(secret, "big")
    spellings = {
        "hex": f"b={format(number, 'x')}",
        "HEX": f"B: 0x{secret.hex().upper()} end",
        "padded hex": f"value {secret.hex()}.",
        "base64": f"blob {base64.b64encode(secret).decode()}",
        "urlsafe": f"u={base64.urlsafe_b64encode(secret).decode().rstrip('=')}&x=1",
        "decimal": f"S={number}",
        "inside a longer hex run": "ab" * 20 + secret.hex() + "cd" * 20,
    }
    tried = 0
    for name, line in spellings.items():
        found = registry.scan(f"2026-11-26 INFO devicesrp {line}\n", name)
        assert found and {f.label for f in found} == {"b"}, name
        tried += 1
    password = base64.b64encode(rng.randbytes(40)).decode()
    registry.add_text(password, "device password")
    registry.add_text("Corr3ct-Horse!", "user password")
    assert registry.scan(f"remembered {password} ok", "t")
    assert registry.scan("typed Corr3ct-Horse! into the form", "t")
    tried += 2
    matrix_cases(tried)  # type: ignore[operator]


@pytest.mark.matrix(26)
def test_near_misses_are_not_reported() -> None:
    rng = random.Random(27)
    registry = secret_scan.SecretRegistry()
    secret = rng.randbytes(32)
    registry.add_bytes(secret, "a")
    damaged = bytearray(secret)
    damaged[-1] ^= 1
    text = "\n".join(
        [
            bytes(damaged).hex(),
            base64.b64encode(bytes(damaged)).decode(),
            str(int.from_bytes(damaged, "big")),
            secret.hex()[:40],  # a prefix is not the secret
            "0" * 200,
        ]
    )
    assert registry.scan(text, "near") == []
    registry.add_bytes((5).to_bytes(32, "big"), "tiny")  # under 2**64: not indexed (noise)
    assert registry.scan("5" * 40, "tiny") == []


@pytest.mark.matrix(26)
def test_the_suite_registry_sees_engine_secrets() -> None:
    """The wrappers installed from conftest register a as it is used, x and S as computed."""
    a = bytes.fromhex("7f" * 32)
    client = ClientHandshake(UserCredentials("us-east-1_Hygiene1", "Pa55-word-hygiene"))
    A = client.start(a)
    assert A > 1
    found = secret_scan.REGISTRY.scan(f"debug a={a.hex()}", "probe")
    assert [f.label for f in found] == ["a"]


@pytest.mark.matrix(26)
def test_the_suite_collector_sees_log_records_and_serve_logs(tmp_path: Path) -> None:
    marker = "hygiene-marker-7d1c"
    logging.getLogger("devicesrp.hygiene").debug("%s %d", marker, 1)
    assert any(marker + " 1" in text for _, text in secret_scan.COLLECTOR.chunks)
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "serve-x.log").write_text("line one\nline two\n")
    files = list(secret_scan.log_files(tmp_path))
    assert len(files) == 1 and files[0][1].startswith("line one")
    summary = secret_scan.check(files, secret_scan.SecretRegistry())
    assert summary.lines == 3 and summary.findings == ()
