"""Cognito known answers from three independent codebases, the PAD table and TIMESTAMP examples.

Every expected value comes from vectors/ (provenance: vectors/README.md); each step is its own test.
"""

from __future__ import annotations

import base64

import pytest

from devicesrp.errors import InvalidParameterError
from devicesrp.srp import cognito
from devicesrp.srp.encoding import pad_hex
from devicesrp.srp.timestamp import format_timestamp, parse_timestamp
from vectors import load

# --- alexrudd/cognito-srp (Go): user SRP with B - k*g^x negative ------------------------------

ALEX = load("cognito_kat_alexrudd_cognito-srp.json")


def test_alexrudd_k() -> None:
    assert cognito.COGNITO_K == int(ALEX["params"]["k_hex"], 16) == int(ALEX["params"]["k_decimal"])


def _alex_key() -> tuple[int, bytes]:
    i = ALEX["inputs"]
    a = int(i["a_decimal"]).to_bytes(4, "big")
    A = cognito.client_public(a)
    x = cognito.compute_x(
        i["SALT_hex_as_sent"], i["pool_name"], i["USER_ID_FOR_SRP"], i["password"]
    )
    B = cognito.parse_server_public(i["SRP_B_hex_as_sent"])
    assert B == int(i["B_decimal"])
    return A, cognito.client_session_key(x, a, A, B)


def test_alexrudd_pool_name() -> None:
    assert cognito.pool_name(ALEX["inputs"]["user_pool_id"]) == ALEX["inputs"]["pool_name"]


def test_alexrudd_A() -> None:
    assert _alex_key()[0] == int(ALEX["expected"]["A_decimal"])


def test_alexrudd_hkdf_key() -> None:
    assert _alex_key()[1].hex() == ALEX["expected"]["hkdf_key_hex"]


def test_alexrudd_signature() -> None:
    i = ALEX["inputs"]
    block = base64.b64decode(i["SECRET_BLOCK_base64"])
    assert block == i["SECRET_BLOCK_plain_bytes_ascii"].encode()
    sig = cognito.claim_signature(
        _alex_key()[1], i["pool_name"], i["USER_ID_FOR_SRP"], block, i["TIMESTAMP"]
    )
    assert sig == ALEX["expected"]["PASSWORD_CLAIM_SIGNATURE"]


def test_alexrudd_secret_hash() -> None:
    i = ALEX["inputs"]
    got = cognito.secret_hash(i["client_secret"], i["username"], i["client_id"])
    assert got == ALEX["expected"]["SECRET_HASH(username='test')"]


# --- ryanmab/aws-cognito-srp (Rust): user and device signatures, device verifier ---------------

RYAN = load("cognito_kat_ryanmab_aws-cognito-srp.json")
RYAN_A = bytes.fromhex(RYAN["common_inputs"]["a_hex"])
RYAN_BLOCK = base64.b64decode(RYAN["common_inputs"]["SECRET_BLOCK_base64"])


def test_ryanmab_A() -> None:
    assert cognito.client_public(RYAN_A) == int(RYAN["expected_A_hex"], 16)


def _ryan_signature(pool: str, identity: str, secret: str, b_hex: str, salt_hex: str) -> str:
    A = cognito.client_public(RYAN_A)
    x = cognito.compute_x(salt_hex, pool, identity, secret)
    key = cognito.client_session_key(x, RYAN_A, A, cognito.parse_server_public(b_hex))
    ts = RYAN["common_inputs"]["TIMESTAMP"]
    return cognito.claim_signature(key, pool, identity, RYAN_BLOCK, ts)


@pytest.mark.parametrize("case", RYAN["user_srp"], ids=["even-hex", "odd-hex"])
def test_ryanmab_user_signature(case: dict) -> None:
    i = case["inputs"]
    assert cognito.pool_name(i["pool_id"]) == i["pool_name"]
    got = _ryan_signature(
        i["pool_name"], i["USER_ID_FOR_SRP"], i["password"], i["SRP_B_hex"], i["SALT_hex"]
    )
    assert got == case["expected"]["PASSWORD_CLAIM_SIGNATURE"]


@pytest.mark.parametrize("case", RYAN["device_srp"], ids=["even-hex", "odd-hex"])
def test_ryanmab_device_signature(case: dict) -> None:
    i = case["inputs"]
    got = _ryan_signature(
        i["DeviceGroupKey"], i["DeviceKey"], i["device_password"], i["SRP_B_hex"], i["SALT_hex"]
    )
    assert got == case["expected"]["PASSWORD_CLAIM_SIGNATURE"]


def test_ryanmab_device_verifier() -> None:
    i = RYAN["device_verifier"]["inputs"]
    salt = bytes.fromhex(i["salt_bytes_hex"])
    assert salt == i["salt_bytes_ascii"].encode()
    dv = cognito.device_verifier(i["DeviceGroupKey"], i["DeviceKey"], i["random_password"], salt)
    expected = RYAN["device_verifier"]["expected"]
    assert base64.b64encode(dv.salt).decode() == expected["Salt_base64"]
    assert base64.b64encode(dv.password_verifier).decode() == expected["PasswordVerifier_base64"]


# --- simonmcallister0210/cognito-srp-helper (TS): realistic shapes ---------------------------

SIMON = load("cognito_kat_simonmcallister0210_cognito-srp-helper.json")
SIMON_USER = SIMON["user_srp"]


def _simon_user_key() -> tuple[int, bytes]:
    i = SIMON_USER["inputs"]
    a = bytes.fromhex(i["smallA_hex"])
    A = cognito.client_public(a)
    x = cognito.compute_x(i["SALT_hex"], i["poolIdAbbr"], i["USER_ID_FOR_SRP"], i["password"])
    return A, cognito.client_session_key(x, a, A, cognito.parse_server_public(i["SRP_B_hex"]))


def test_simon_pool_name() -> None:
    i = SIMON_USER["inputs"]
    assert cognito.pool_name(i["poolId"]) == i["poolIdAbbr"]


def test_simon_A() -> None:
    assert _simon_user_key()[0] == int(SIMON_USER["expected"]["largeA_hex"], 16)


def test_simon_hkdf_key() -> None:
    expected = SIMON_USER["expected"]["hkdf_key_hex (computed by reference impl, not in source)"]
    assert _simon_user_key()[1].hex() == expected


def test_simon_timestamp() -> None:
    i = SIMON_USER["inputs"]
    assert format_timestamp(i["TIMESTAMP_epoch_ms"] // 1000) == i["TIMESTAMP"]


def test_simon_user_signature() -> None:
    i = SIMON_USER["inputs"]
    block = base64.b64decode(i["SECRET_BLOCK_base64"])
    sig = cognito.claim_signature(
        _simon_user_key()[1], i["poolIdAbbr"], i["USER_ID_FOR_SRP"], block, i["TIMESTAMP"]
    )
    assert sig == SIMON_USER["expected"]["PASSWORD_CLAIM_SIGNATURE"]


def test_simon_secret_hash_over_the_sub() -> None:
    i = SIMON_USER["inputs"]
    got = cognito.secret_hash(i["client_secret"], i["USER_ID_FOR_SRP"], i["clientId"])
    assert got == SIMON_USER["expected"]["SECRET_HASH(USER_ID_FOR_SRP=sub)"]


def test_simon_device_verifier() -> None:
    """The effective inputs after the source's hex-parsing quirk (see the file's QUIRK note)."""
    case = SIMON["device_verifier (ConfirmDevice)"]
    i = case["inputs"]
    password = base64.b64encode(bytes.fromhex(i["effective_random_password_bytes_hex"])).decode()
    assert password == case["expected"]["DeviceRandomPassword"]
    salt = bytes.fromhex(i["effective_salt_bytes_hex_before_padHex"])
    dv = cognito.device_verifier(i["DeviceGroupKey"], i["DeviceKey"], password, salt)
    assert base64.b64encode(dv.salt).decode() == case["expected"]["Salt_base64"]
    assert (
        base64.b64encode(dv.password_verifier).decode()
        == case["expected"]["PasswordVerifier_base64"]
    )


def test_simon_device_signature() -> None:
    case = SIMON["device_srp (DEVICE_PASSWORD_VERIFIER)"]
    i = case["inputs"]
    a = bytes.fromhex(i["smallA_hex"])
    A = cognito.client_public(a)
    B = cognito.parse_server_public(SIMON_USER["inputs"]["SRP_B_hex"])
    x = cognito.compute_x(
        i["salt_int_effective_hex"], i["DeviceGroupKey"], i["DeviceKey"], i["DeviceRandomPassword"]
    )
    key = cognito.client_session_key(x, a, A, B)
    block = base64.b64decode(SIMON_USER["inputs"]["SECRET_BLOCK_base64"])
    sig = cognito.claim_signature(key, i["DeviceGroupKey"], i["DeviceKey"], block, i["TIMESTAMP"])
    assert sig == case["expected"]["PASSWORD_CLAIM_SIGNATURE"]


# --- amplify-js: the PAD table and TIMESTAMP examples ------------------------------------------

AMPLIFY = load("cognito_kat_amplify-js_padhex_timestamp.json")
PAD_TABLE = {int(k): v for k, v in AMPLIFY["padHex"].items()}


def test_pad_table_is_complete() -> None:
    assert sorted(PAD_TABLE) == list(range(-256, 257))


@pytest.mark.parametrize("value", range(257))
def test_pad_table_non_negative(value: int) -> None:
    assert pad_hex(value).lower() == PAD_TABLE[value].lower()


@pytest.mark.parametrize("value", range(-256, 0))
def test_pad_of_a_negative_value_is_a_typed_error(value: int) -> None:
    with pytest.raises(InvalidParameterError) as info:
        pad_hex(value)
    assert info.value.field == "value"


@pytest.mark.parametrize("case", AMPLIFY["timestamp"], ids=lambda c: c["expected"])
def test_amplify_timestamp(case: dict) -> None:
    assert format_timestamp(case["epoch_ms"] // 1000) == case["expected"]
    assert parse_timestamp(case["expected"]) == case["epoch_ms"] // 1000


PYCOGNITO_TS = next(v for k, v in AMPLIFY.items() if k.startswith("pycognito_timestamp"))


@pytest.mark.parametrize("case", PYCOGNITO_TS, ids=lambda c: c["expected"])
def test_pycognito_timestamp(case: dict) -> None:
    import datetime as dt

    epoch = int(dt.datetime.fromisoformat(case["utc"]).replace(tzinfo=dt.UTC).timestamp())
    assert format_timestamp(epoch) == case["expected"]
    assert parse_timestamp(case["expected"]) == epoch
