"""RFC 5054 Appendix B, all 54 srptools vectors and the Mozilla leading-zero vectors, step by step.

Each intermediate is its own test, so a failure names the step (the RustCrypto ``srp`` habit).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from devicesrp.srp import groups, srptools_profile
from devicesrp.srp.rfc5054 import Rfc5054
from vectors import load

STEPS = ("k", "x", "v", "A", "B", "u", "S_client", "S_server")


def _run(
    profile: Rfc5054, salt: bytes, ident: bytes, password: bytes, a: bytes, b: bytes
) -> dict[str, Any]:
    x = profile.compute_x(salt, ident, password)
    v = profile.compute_verifier(x)
    A = profile.client_public(a)
    B = profile.server_public(v, b)
    u = profile.compute_u(A, B)
    return {
        "k": profile.k,
        "x": int.from_bytes(x, "big"),
        "v": int.from_bytes(v, "big"),
        "A": A,
        "B": B,
        "u": u,
        "S_client": int.from_bytes(profile.client_premaster(x, a, u, B), "big"),
        "S_server": int.from_bytes(profile.server_premaster(A, v, u, b), "big"),
        "S_bytes": profile.client_premaster(x, a, u, B),
    }


# --- RFC 5054 Appendix B ------------------------------------------------------------------------

APPENDIX_B = load("rfc5054_appendix_b.json")


@cache
def appendix_b() -> dict[str, Any]:
    d = APPENDIX_B
    profile = Rfc5054(groups.get_group("rfc5054-1024"), d["hash"])
    assert profile.group.N == int(d["N"], 16) and profile.group.g == int(d["g"], 16)
    return _run(
        profile,
        bytes.fromhex(d["s"]),
        d["I"].encode(),
        d["P"].encode(),
        bytes.fromhex(d["a"]),
        bytes.fromhex(d["b"]),
    )


@pytest.mark.parametrize("step", STEPS)
def test_appendix_b(step: str) -> None:
    key = step.removeprefix("S_").replace("client", "S").replace("server", "S")
    assert appendix_b()[step] == int(APPENDIX_B[key], 16)


# --- srptools (54 vectors, 1024..6144 bits, nine hashes) ----------------------------------------

SRPTOOLS = load("srptools_kat.json")["vectors"]


def test_srptools_file_has_all_54() -> None:
    assert len(SRPTOOLS) == 54


@cache
def srptools_case(index: int) -> dict[str, Any]:
    vec = SRPTOOLS[index]
    profile = Rfc5054(groups.get_group(f"rfc5054-{vec['size']}"), vec["H"])
    assert profile.group.N == int(vec["N"], 16) and profile.group.g == int(vec["g"], 16)
    salt = bytes.fromhex(vec["s"])
    out = _run(
        profile,
        salt,
        vec["I"].encode(),
        vec["P"].encode(),
        bytes.fromhex(vec["a"]),
        bytes.fromhex(vec["b"]),
    )
    K = srptools_profile.session_key(profile, out["S_bytes"])
    M1 = srptools_profile.client_proof(profile, vec["I"], salt, out["A"], out["B"], K)
    out["K"] = K.hex()
    out["M1"] = M1.hex()
    out["M2"] = srptools_profile.server_proof(profile, out["A"], M1, K).hex()
    return out


@pytest.mark.parametrize("step", [*STEPS, "K", "M1", "M2"])
@pytest.mark.parametrize(
    "index", range(len(SRPTOOLS)), ids=[f"{v['H']}-{v['size']}" for v in SRPTOOLS]
)
def test_srptools(index: int, step: str) -> None:
    vec = SRPTOOLS[index]
    got = srptools_case(index)[step]
    if step in ("K", "M1", "M2"):
        assert got == vec[step]
    else:
        assert got == int(
            vec[step.removeprefix("S_").replace("client", "S").replace("server", "S")], 16
        )


# --- Mozilla PiCl vectors: values that begin with 0x00 at fixed width ---------------------------

MOZILLA = load("mozilla_picl_fast_srp_kat.json")


@cache
def mozilla_case(index: int) -> dict[str, Any]:
    vec = MOZILLA["vectors"][index]
    profile = Rfc5054(groups.get_group("rfc5054-2048"), MOZILLA["hash"])
    assert profile.group.N == int(MOZILLA["N"], 16)
    out = _run(
        profile,
        bytes.fromhex(vec["s"]),
        bytes.fromhex(vec["I_hex"]),
        bytes.fromhex(vec["P_hex"]),
        bytes.fromhex(vec["a"]),
        bytes.fromhex(vec["b"]),
    )
    out["S_hex"] = out["S_bytes"].hex()
    return out


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("index", range(len(MOZILLA["vectors"])))
def test_mozilla_leading_zero_vectors(index: int, step: str) -> None:
    vec = MOZILLA["vectors"][index]
    key = step.removeprefix("S_").replace("client", "S").replace("server", "S")
    assert mozilla_case(index)[step] == int(vec[key], 16)


@pytest.mark.parametrize("index", range(len(MOZILLA["vectors"])))
def test_mozilla_premaster_keeps_its_leading_zeros(index: int) -> None:
    """S leaves the math at the fixed width of N, leading 0x00 bytes included."""
    assert mozilla_case(index)["S_hex"] == MOZILLA["vectors"][index]["S"]


# --- Kong/go-srp: a 4096-bit SHA-256 verifier ---------------------------------------------------

KONG = load("kong_go_srp_kat.json")


def test_kong_go_srp_verifier() -> None:
    profile = Rfc5054(groups.get_group("rfc5054-4096"), KONG["hash"])
    assert profile.group.N == int(KONG["N"], 16) and profile.group.g == int(KONG["g"], 16)
    assert profile.k == int(KONG["k_sha256_computed_here"], 16)
    x = profile.compute_x(bytes.fromhex(KONG["s"]), KONG["I"], KONG["P"])
    assert x.hex() == KONG["x_computed_here"]
    assert profile.compute_verifier(x).hex() == KONG["v"].zfill(1024)
