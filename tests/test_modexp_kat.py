"""Known answers through the modexp API: RFC 5054 Appendix B and 3072-bit Cognito vectors."""

from __future__ import annotations

import base64
import hashlib

import pytest

from devicesrp import modexp
from vectors import group_modulus, load

RFC = load("rfc5054_appendix_b.json")
N1024 = int(RFC["N"], 16)
N3072 = group_modulus(3072)
COGNITO_K = 0x538282C4354742D7CBBDE2359FCF67F9F5B3A6B08791E5011B43B8A5B66D9EE6


def h(name: str) -> int:
    return int(RFC[name], 16)


def rfc_bytes(name: str) -> bytes:
    return bytes.fromhex(RFC[name])


def test_rfc5054_public_keys() -> None:
    g = int(RFC["g"], 16)
    assert modexp.FixedBase(g, N1024, 256).pow(h("a")) == h("A")
    # B = k*v + g^b, so g^b is B - k*v mod N
    assert modexp.powmod_secret(g, h("b"), N1024, 256) == (h("B") - h("k") * h("v")) % N1024


def test_rfc5054_verifier_and_server_key() -> None:
    g = int(RFC["g"], 16)
    v = modexp.srp_verifier(g, rfc_bytes("x"), N1024)
    assert v == h("v").to_bytes(128, "big")
    assert modexp.srp_server_public(g, h("k"), v, rfc_bytes("b"), N1024) == h("B")


def test_rfc5054_premaster_both_roles() -> None:
    g = int(RFC["g"], 16)
    s_client = modexp.srp_client_premaster(
        g, h("k"), rfc_bytes("x"), rfc_bytes("a"), h("u"), h("B"), N1024
    )
    v = h("v").to_bytes(128, "big")
    s_server = modexp.srp_server_premaster(h("A"), v, h("u"), rfc_bytes("b"), N1024)
    expected = rfc_bytes("premaster_secret")
    assert expected == rfc_bytes("S")
    assert s_client == expected
    assert s_server == expected


@pytest.mark.parametrize(
    ("a", "expected_a"),
    [
        pytest.param(
            int(load("cognito_kat_alexrudd_cognito-srp.json")["inputs"]["a_decimal"]),
            int(load("cognito_kat_alexrudd_cognito-srp.json")["expected"]["A_decimal"]),
            id="alexrudd",
        ),
        pytest.param(
            int(load("cognito_kat_ryanmab_aws-cognito-srp.json")["common_inputs"]["a_hex"], 16),
            int(load("cognito_kat_ryanmab_aws-cognito-srp.json")["expected_A_hex"], 16),
            id="ryanmab",
        ),
        pytest.param(
            int(
                load("cognito_kat_simonmcallister0210_cognito-srp-helper.json")["user_srp"][
                    "inputs"
                ]["smallA_hex"],
                16,
            ),
            int(
                load("cognito_kat_simonmcallister0210_cognito-srp-helper.json")["user_srp"][
                    "expected"
                ]["largeA_hex"],
                16,
            ),
            id="simonmcallister0210",
        ),
    ],
)
def test_cognito_client_public_key(a: int, expected_a: int) -> None:
    bits = max(8, a.bit_length())
    assert modexp.powmod_secret(2, a, N3072, bits) == expected_a
    assert modexp.FixedBase(2, N3072, 1024).pow(a) == expected_a


def _pad_hex(i: int) -> str:
    """Cognito PAD, written out here so this test stands apart from the srp layer."""
    text = format(i, "x")
    if len(text) % 2:
        text = "0" + text
    return "00" + text if text[0] in "89abcdef" else text


def test_cognito_device_verifier_ryanmab() -> None:
    vec = load("cognito_kat_ryanmab_aws-cognito-srp.json")["device_verifier"]
    inputs = vec["inputs"]
    salt_hex = inputs["salt_bytes_hex"]
    inner = hashlib.sha256(
        (inputs["DeviceGroupKey"] + inputs["DeviceKey"] + ":" + inputs["random_password"]).encode()
    ).hexdigest()
    x = hashlib.sha256(bytes.fromhex(_pad_hex(int(salt_hex, 16)) + inner)).digest()
    v = int.from_bytes(modexp.srp_verifier(2, x, N3072), "big")
    assert (
        base64.b64encode(bytes.fromhex(_pad_hex(v))).decode()
        == (vec["expected"]["PasswordVerifier_base64"])
    )


def test_cognito_k_is_a_residue_the_api_accepts() -> None:
    # k is public: srp_server_public with it must equal the textbook formula (gmpy2 oracle free).
    v = modexp.srp_verifier(2, b"\x05" * 32, N3072)
    b = b"\x07" * 32
    expected = (
        COGNITO_K * int.from_bytes(v, "big") + pow(2, int.from_bytes(b, "big"), N3072)
    ) % N3072
    assert modexp.srp_server_public(2, COGNITO_K, v, b, N3072) == expected
