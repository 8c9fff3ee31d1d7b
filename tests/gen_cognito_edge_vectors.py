"""Generate vectors/cognito_edge_vectors.json: Cognito SRP cases with padding-sensitive values.

How the inputs were found: for each target (A, B, S, u or the salt with a leading zero byte at
its fixed width, or with the top bit of its minimal form set so that PAD prefixes ``00``), try
candidate inputs derived deterministically from a label and a counter (SHA-512 expansion of
``"devicesrp-edge/<target>/<counter>"``) until the target holds; the first hit is kept. Values are
computed here by a deliberately separate reference (plain Python ``pow`` and hashlib, not
devicesrp), and tests/test_vectors_cognito_edge.py recomputes every case with devicesrp and
with the unmodified amazon-cognito-identity-js AuthenticationHelper in Node.

Run: .venv/bin/python tests/gen_cognito_edge_vectors.py  (rewrites the JSON; deterministic)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "vectors" / "cognito_edge_vectors.json"
GROUPS = Path(__file__).resolve().parent.parent / "vectors" / "rfc5054_groups.json"

N = int(next(g["N"] for g in json.loads(GROUPS.read_text())["groups"] if g["bits"] == 3072), 16)
G = 2
N_LEN = 384


def pad_hex(i: int) -> str:
    """Java BigInteger.toByteArray() in hex, written independently of devicesrp."""
    h = f"{i:x}"
    h = "0" + h if len(h) % 2 else h
    return "00" + h if int(h[0], 16) >= 8 else h


def hex_hash(h: str) -> str:
    return hashlib.sha256(bytes.fromhex(h)).hexdigest()


K_MULT = int(hex_hash(pad_hex(N) + pad_hex(G)), 16)


def expand(label: str, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha512(f"{label}#{counter}".encode()).digest()
        counter += 1
    return out[:length]


def reference(inputs: dict[str, Any]) -> dict[str, str]:
    """Every intermediate of one user-style SRP run, by the textbook formulas (doc §2)."""
    a = int(inputs["a_hex"], 16)
    b = int(inputs["b_hex"], 16)
    salt = int(inputs["salt_hex"], 16)
    inner = hashlib.sha256(
        f"{inputs['pool']}{inputs['identity']}:{inputs['secret']}".encode()
    ).hexdigest()
    x = int(hex_hash(pad_hex(salt) + inner), 16)
    v = pow(G, x, N)
    A = pow(G, a, N)
    B = (K_MULT * v + pow(G, b, N)) % N
    u = int(hex_hash(pad_hex(A) + pad_hex(B)), 16)
    S = pow((B - K_MULT * pow(G, x, N)) % N, a + u * x, N)
    assert S == pow(A * pow(v, u, N), b, N)
    prk = hmac.digest(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(S)), "sha256")
    key = hmac.digest(prk, b"Caldera Derived Key\x01", "sha256")[:16]
    ts = inputs["timestamp"]
    message = (
        inputs["pool"].encode()
        + inputs["identity"].encode()
        + base64.b64decode(inputs["secret_block_b64"])
        + ts.encode()
    )
    sig = base64.b64encode(hmac.digest(key, message, "sha256")).decode()
    return {
        "x": f"{x:064x}",
        "v": f"{v:0768x}",
        "A": f"{A:x}",
        "B": f"{B:x}",
        "u": f"{u:x}",
        "S": f"{S:0768x}",
        "K": key.hex(),
        "PASSWORD_CLAIM_SIGNATURE": sig,
    }


def leading_zero(width: int) -> Callable[[int], bool]:
    return lambda value: value < 1 << (8 * (width - 1))


def top_bit(value: int) -> bool:
    return pad_hex(value).startswith("00") and value != 0


TARGETS: list[tuple[str, str, Callable[[int], bool]]] = [
    ("A", "leading zero byte at 384 bytes", leading_zero(N_LEN)),
    ("A", "top bit set (PAD adds 00)", top_bit),
    ("B", "leading zero byte at 384 bytes", leading_zero(N_LEN)),
    ("B", "top bit set (PAD adds 00)", top_bit),
    ("S", "leading zero byte at 384 bytes", leading_zero(N_LEN)),
    ("S", "top bit set (PAD adds 00)", top_bit),
    ("u", "leading zero byte at 32 bytes", leading_zero(32)),
    ("u", "top bit set (PAD adds 00)", top_bit),
    ("salt", "leading zero byte at 16 bytes", leading_zero(16)),
    ("salt", "top bit set (PAD adds 00)", top_bit),
]


def candidate(target: str, counter: int) -> dict[str, Any]:
    label = f"devicesrp-edge/{target}/{counter}"
    salt = expand(label + "/salt", 16)
    return {
        "pool": "us-east-1_EdgePool1".partition("_")[2],
        "identity": f"edge-user-{counter}",
        "secret": base64.b64encode(expand(label + "/password", 12)).decode(),
        "a_hex": expand(label + "/a", 128).hex(),
        "b_hex": expand(label + "/b", 32).hex(),
        "salt_hex": salt.hex(),
        "secret_block_b64": base64.b64encode(expand(label + "/block", 48)).decode(),
        "epoch_ms": 1_700_000_000_000 + counter * 86_399_000,
    }


def timestamp_of(epoch_ms: int) -> str:
    import datetime as dt

    t = dt.datetime.fromtimestamp(epoch_ms // 1000, dt.UTC)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec").split()
    return (
        f"{days[t.weekday()]} {months[t.month - 1]} {t.day} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} UTC {t.year}"
    )


def device_reference(inputs: dict[str, Any]) -> dict[str, str]:
    """ConfirmDevice's DeviceSecretVerifierConfig from the client's random bytes (doc §4)."""
    raw = bytes.fromhex(inputs["random_hex"])
    password = base64.b64encode(raw[:40]).decode()
    salt = pad_hex(int.from_bytes(raw[40:], "big"))
    inner = hashlib.sha256(
        f"{inputs['group_key']}{inputs['device_key']}:{password}".encode()
    ).hexdigest()
    v = pow(G, int(hex_hash(salt + inner), 16), N)
    return {
        "password": password,
        "Salt_hex": salt,
        "PasswordVerifier_hex": pad_hex(v),
    }


DEVICE_TARGETS: list[tuple[str, str, Callable[[dict[str, Any], dict[str, str]], bool]]] = [
    (
        "salt",
        "leading zero byte (Salt is shorter than 16 bytes)",
        lambda i, e: len(e["Salt_hex"]) < 32,
    ),
    ("salt", "top bit set (Salt is 17 bytes)", lambda i, e: len(e["Salt_hex"]) == 34),
    (
        "v",
        "leading zero byte (PasswordVerifier < 384 bytes)",
        lambda i, e: len(e["PasswordVerifier_hex"]) < 768,
    ),
    (
        "v",
        "top bit set (PasswordVerifier is 385 bytes)",
        lambda i, e: len(e["PasswordVerifier_hex"]) == 770,
    ),
]


def device_cases() -> list[dict[str, Any]]:
    cases = []
    for field, condition, holds in DEVICE_TARGETS:
        for counter in range(100_000):
            label = f"devicesrp-edge/device-{field}-{condition}/{counter}"
            inputs = {
                "group_key": "-" + expand(label + "/group", 6).hex(),
                "device_key": "us-east-1_" + expand(label + "/key", 16).hex(),
                "random_hex": expand(label + "/random", 56).hex(),
            }
            expected = device_reference(inputs)
            if holds(inputs, expected):
                cases.append(
                    {
                        "name": f"device {field}: {condition}",
                        "search": {"field": field, "condition": condition, "tries": counter + 1},
                        "inputs": inputs,
                        "expected": expected,
                    }
                )
                break
    return cases


def main() -> None:
    cases = []
    for field, condition, holds in TARGETS:
        for counter in range(100_000):
            inputs = candidate(f"{field}-{condition}", counter)
            inputs["timestamp"] = timestamp_of(inputs["epoch_ms"])
            if field == "salt":
                value = int(inputs["salt_hex"], 16)
                width_ok = holds(value)
                expected = reference(inputs) if width_ok else None
            else:
                expected = reference(inputs)
                width_ok = holds(int(expected[field], 16))
            if width_ok and expected is not None:
                cases.append(
                    {
                        "name": f"{field}: {condition}",
                        "search": {"field": field, "condition": condition, "tries": counter + 1},
                        "inputs": inputs,
                        "expected": expected,
                    }
                )
                break
    doc = {
        "source": (
            "devicesrp's own vectors, generated by tests/gen_cognito_edge_vectors.py "
            "(deterministic search; independent pow/hashlib reference) "
            "and cross-checked by the unmodified "
            "amazon-cognito-identity-js 6.3.21 AuthenticationHelper (tests/js/cognito_helper.js)"
        ),
        "profile": "Cognito user SRP (doc §2); pool = 'EdgePool1' (UserPoolId us-east-1_EdgePool1)",
        "encoding": (
            "a, b, salt: hex of the fixed-size secret bytes "
            "(a 128 bytes as JS clients draw, b 32); "
            "A, B, u: minimal lowercase hex; x 32 bytes, v and S 384 bytes, K 16 bytes (hex)"
        ),
        "cases": cases,
        "device_verifier_note": (
            "ConfirmDevice: random_hex = 40 password bytes then 16 salt bytes, as "
            "amazon-cognito-identity-js draws them; Salt_hex = PAD(int(salt bytes)), "
            "PasswordVerifier_hex = PAD(v) (their base64 forms are what the client sends)"
        ),
        "device_verifier_cases": device_cases(),
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
