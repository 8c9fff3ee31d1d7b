"""Random Cognito round trips against an independent client: amazon-cognito-identity-js in Node.

Our server math (v, B, S, K, signature check) faces the unmodified AuthenticationHelper as the
client, and our client math must produce the same A, u, K and TIMESTAMP (security-matrix row 5).
Device cases also compare ConfirmDevice's verifier and then sign in with it. Many cases run in
one Node process; the soak (DEVICESRP_SOAK=1) runs 20,000 user round trips.
"""

from __future__ import annotations

import base64
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from counts import count
from devicesrp.srp import cognito
from devicesrp.srp.encoding import pad_hex, to_hex
from devicesrp.srp.timestamp import format_timestamp
from srp_node import run_cases

USER_ROUND_TRIPS = count(ci=300, soak=20000)
DEVICE_ROUND_TRIPS = count(ci=30, soak=2000)
BATCH = 250
SEED = 20261126
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+@é中ß"


def _text(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choices(NAME_CHARS, k=rng.randint(low, high)))


def _salt_text(rng: random.Random, salt: bytes) -> str:
    """SALT as a server may send it: minimal hex, PAD form, or the raw bytes' hex."""
    value = int.from_bytes(salt, "big")
    return rng.choice([format(value, "x") or "0", pad_hex(value), salt.hex()])


def _user_case(rng: random.Random) -> dict[str, Any]:
    salt = bytearray(rng.randbytes(16))
    if rng.random() < 0.1:
        salt[0] = 0
    return {
        "pool": cognito.pool_name(f"us-east-1_{_text(rng, 1, 12).replace('_', 'x')}"),
        "identity": _text(rng, 1, 40),
        "secret": _text(rng, 1, 40),
        "salt_hex": _salt_text(rng, bytes(salt)),
        "a": rng.randbytes(128 if rng.random() < 0.1 else 32),
        "b": rng.randbytes(32),
        "block": rng.randbytes(rng.randint(1, 200)),
        "epoch": rng.randint(946684800, 4102444799),  # 2000..2099
    }


def _server_side(case: dict[str, Any]) -> tuple[bytes, int]:
    """Our server: the stored verifier and B."""
    x = cognito.compute_x(case["salt_hex"], case["pool"], case["identity"], case["secret"])
    v = cognito.compute_verifier(x)
    return v, cognito.server_public(v, case["b"])


def _node_request(case: dict[str, Any], b_pub: int) -> dict[str, Any]:
    return {
        "kind": "srp",
        "a_hex": case["a"].hex(),
        "pool": case["pool"],
        "identity": case["identity"],
        "secret": case["secret"],
        "B_hex": to_hex(b_pub),
        "salt_hex": case["salt_hex"],
        "secret_block_b64": base64.b64encode(case["block"]).decode(),
        "epoch_ms": case["epoch"] * 1000,
    }


def _run_batched(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    batches = [requests[i : i + BATCH] for i in range(0, len(requests), BATCH)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return [r for out in pool.map(run_cases, batches) for r in out]


def _check_round_trip(case: dict[str, Any], v: bytes, b_pub: int, got: dict[str, Any]) -> None:
    assert "error" not in got, got
    # Our server, facing the Node client.
    a_pub = cognito.parse_client_public(got["A_hex"])
    server_key = cognito.server_session_key(a_pub, b_pub, v, case["b"])
    assert server_key.hex() == got["K_hex"]
    assert cognito.verify_claim_signature(
        server_key,
        case["pool"],
        case["identity"],
        case["block"],
        got["timestamp"],
        got["signature"],
    )
    # Our client, computing what the Node client computed.
    assert cognito.client_public(case["a"]) == a_pub
    assert cognito.compute_u(a_pub, b_pub) == int(got["u_hex"], 16)
    x = cognito.compute_x(case["salt_hex"], case["pool"], case["identity"], case["secret"])
    assert cognito.client_session_key(x, case["a"], a_pub, b_pub) == server_key
    assert format_timestamp(case["epoch"]) == got["timestamp"]


def test_user_round_trips_against_amazon_cognito_identity_js() -> None:
    rng = random.Random(SEED)
    cases = [_user_case(rng) for _ in range(USER_ROUND_TRIPS)]
    servers = [_server_side(c) for c in cases]
    results = _run_batched([_node_request(c, b) for c, (_, b) in zip(cases, servers, strict=True)])
    for n, (case, (v, b_pub), got) in enumerate(zip(cases, servers, results, strict=True)):
        try:
            _check_round_trip(case, v, b_pub, got)
        except AssertionError as exc:
            raise AssertionError(f"seed={SEED} case={n}: {exc}") from exc


def test_device_verifier_and_device_sign_in_against_amazon_cognito_identity_js() -> None:
    rng = random.Random(SEED + 1)
    confirm = []
    for _ in range(DEVICE_ROUND_TRIPS):
        confirm.append(
            {
                "kind": "device_verifier",
                "random_hex": rng.randbytes(56).hex(),
                "group_key": "-" + _text(rng, 1, 9),
                "device_key": f"us-east-1_{rng.randbytes(16).hex()}",
            }
        )
    confirmed = _run_batched(confirm)
    sign_ins = []
    for req, got in zip(confirm, confirmed, strict=True):
        assert "error" not in got, got
        raw = bytes.fromhex(req["random_hex"])
        password = base64.b64encode(raw[:40]).decode()
        assert got["password"] == password
        ours = cognito.device_verifier(req["group_key"], req["device_key"], password, raw[40:])
        assert ours.salt.hex() == got["salt_hex"]
        assert ours.password_verifier.hex() == got["verifier_hex"]
        # The server stores the bytes as sent and signs the device in with them.
        v = cognito.check_password_verifier(bytes.fromhex(got["verifier_hex"]))
        case = {
            "pool": req["group_key"],
            "identity": req["device_key"],
            "secret": password,
            "salt_hex": ours.salt.hex(),
            "a": rng.randbytes(32),
            "b": rng.randbytes(32),
            "block": rng.randbytes(64),
            "epoch": rng.randint(946684800, 4102444799),
        }
        sign_ins.append((case, v, cognito.server_public(v, case["b"])))
    results = _run_batched([_node_request(c, b) for c, _, b in sign_ins])
    for (case, v, b_pub), got in zip(sign_ins, results, strict=True):
        _check_round_trip(case, v, b_pub, got)


@pytest.mark.parametrize("mutation", ["secret", "identity", "pool", "salt_hex"])
def test_a_wrong_input_on_the_node_side_fails_our_check(mutation: str) -> None:
    """Agreement is not vacuous: one changed input on the client side fails the server check."""
    rng = random.Random(SEED + 2)
    cases = [_user_case(rng) for _ in range(5)]
    servers = [_server_side(c) for c in cases]
    requests = []
    for case, (_, b_pub) in zip(cases, servers, strict=True):
        request = _node_request(case, b_pub)
        request[mutation] = request[mutation] + ("0" if mutation == "salt_hex" else "x")
        requests.append(request)
    for case, (v, b_pub), got in zip(cases, servers, run_cases(requests), strict=True):
        a_pub = cognito.parse_client_public(got["A_hex"])
        server_key = cognito.server_session_key(a_pub, b_pub, v, case["b"])
        assert server_key.hex() != got["K_hex"]
        assert not cognito.verify_claim_signature(
            server_key,
            case["pool"],
            case["identity"],
            case["block"],
            got["timestamp"],
            got["signature"],
        )
