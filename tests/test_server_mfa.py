"""MFA in sign-in: TOTP (codes computed here), SMS (codes read from the outbox), MFA_SETUP, and
remembered devices replacing MFA per the decision table — on both stores."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from devicesrp.server import totp
from devicesrp.server.config import DeviceConfiguration, MfaConfiguration, MfaMode, PoolSettings
from devicesrp.server.errors import (
    CodeMismatchError,
    EnableSoftwareTokenMfaError,
    InvalidParameterDomainError,
    NotAuthorizedError,
)
from devicesrp.server.flow import RespondRequest
from test_server_harness import (
    CLIENT,
    POOL,
    Env,
    SignIn,
    confirm_new_device,
    make_env,
    open_backend,
    tokens_of,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
BOTH = MfaConfiguration(MfaMode.ON, sms_enabled=True, software_token_enabled=True)


def make(backend: str, tmp_path: Path, **kw: object) -> Env:
    settings = PoolSettings(POOL, **kw)  # type: ignore[arg-type]
    return make_env(open_backend(backend, tmp_path), settings)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def totp_env(backend: str, tmp_path: Path) -> Iterator[tuple[Env, bytes]]:
    """Pool with MFA ON and remembered devices replacing it; alice enrolled through MFA_SETUP."""
    env = make(backend, tmp_path, mfa=BOTH, devices=DeviceConfiguration(True, False))
    env.idp.admin_create_user(POOL, "alice", "Corr3ct-horse!")
    s = SignIn(env, "alice")
    s.initiate()
    out = s.respond(s.proof())
    assert out.challenge is not None and out.challenge.name.value == "MFA_SETUP"
    assert out.challenge.parameters["MFAS_CAN_SETUP"] == '["SMS_MFA","SOFTWARE_TOKEN_MFA"]'
    secret_code, session = env.idp.associate_software_token(session=out.challenge.session)
    secret = totp.decode_secret(secret_code)
    with pytest.raises(EnableSoftwareTokenMfaError):
        env.idp.verify_software_token(
            "000000" if totp.totp(secret, env.clock()) != "000000" else "111111", session=session
        )
    session2 = env.idp.verify_software_token(totp.totp(secret, env.clock()), session=session)
    result = tokens_of(
        env.idp.respond_to_auth_challenge(
            RespondRequest(CLIENT, "MFA_SETUP", {"USERNAME": "alice"}, session2)
        )
    )
    assert result.new_device is not None
    env.clock.advance(30)
    yield env, secret
    env.store.close()


def totp_login(env: Env, secret: bytes, device_key: str | None = None) -> SignIn:
    s = SignIn(env, "alice")
    s.initiate()
    out = s.respond(s.proof(device_key=device_key))
    assert out.challenge is not None and out.challenge.name.value == "SOFTWARE_TOKEN_MFA"
    return s


def test_totp_sign_in_and_code_good_once(totp_env: tuple[Env, bytes]) -> None:
    env, secret = totp_env
    s = totp_login(env, secret)
    code = totp.totp(secret, env.clock())
    tokens_of(s.respond(s.mfa("SOFTWARE_TOKEN_MFA", code)))
    s2 = totp_login(env, secret)
    with pytest.raises(CodeMismatchError):  # the same step's code again
        s2.respond(s2.mfa("SOFTWARE_TOKEN_MFA", code))
    env.clock.advance(30)
    tokens_of(s2.respond(s2.mfa("SOFTWARE_TOKEN_MFA", totp.totp(secret, env.clock()))))


def test_mfa_session_allows_three_tries_then_dies(totp_env: tuple[Env, bytes]) -> None:
    env, secret = totp_env
    s = totp_login(env, secret)
    good = totp.totp(secret, env.clock())
    bad = f"{(int(good) + 500_000) % 1_000_000:06d}"
    request = s.mfa("SOFTWARE_TOKEN_MFA", bad)
    for _ in range(3):
        with pytest.raises(CodeMismatchError):
            env.idp.respond_to_auth_challenge(request)
    with pytest.raises(NotAuthorizedError):
        s.respond(s.mfa("SOFTWARE_TOKEN_MFA", good))


def test_mfa_session_is_single_use(totp_env: tuple[Env, bytes]) -> None:
    env, secret = totp_env
    s = totp_login(env, secret)
    request = s.mfa("SOFTWARE_TOKEN_MFA", totp.totp(secret, env.clock()))
    tokens_of(env.idp.respond_to_auth_challenge(request))
    with pytest.raises(NotAuthorizedError):
        env.idp.respond_to_auth_challenge(request)


def test_remembered_device_replaces_mfa(totp_env: tuple[Env, bytes]) -> None:
    env, secret = totp_env
    s = totp_login(env, secret)
    first = tokens_of(s.respond(s.mfa("SOFTWARE_TOKEN_MFA", totp.totp(secret, env.clock()))))
    device = confirm_new_device(env, first)
    s = SignIn(env, "alice")
    s.initiate()
    out = s.respond(s.proof(device_key=device.key))
    assert out.challenge is not None and out.challenge.name.value == "DEVICE_SRP_AUTH"
    s.respond(s.device_srp_auth(device))
    tokens_of(s.respond(s.device_proof(device)))
    # Not remembered any more: MFA first, then the device step.
    env.idp.update_device_status(first.access_token, device.key, "not_remembered")
    env.clock.advance(30)
    s = totp_login(env, secret, device_key=device.key)
    out = s.respond(s.mfa("SOFTWARE_TOKEN_MFA", totp.totp(secret, env.clock())))
    assert out.challenge is not None and out.challenge.name.value == "DEVICE_SRP_AUTH"
    s.respond(s.device_srp_auth(device))
    assert tokens_of(s.respond(s.device_proof(device))).new_device is None


def test_a_device_step_cannot_skip_mfa(totp_env: tuple[Env, bytes]) -> None:
    """State order (row 11): the MFA Session does not open the device step."""
    env, secret = totp_env
    s = totp_login(env, secret)
    first = tokens_of(s.respond(s.mfa("SOFTWARE_TOKEN_MFA", totp.totp(secret, env.clock()))))
    device = confirm_new_device(env, first)
    env.idp.update_device_status(first.access_token, device.key, "not_remembered")
    env.clock.advance(30)
    s = totp_login(env, secret, device_key=device.key)
    with pytest.raises(NotAuthorizedError):
        s.respond(s.device_srp_auth(device))
    with pytest.raises(NotAuthorizedError):
        s.respond(s.device_srp_auth(device, with_session=False, reuse_a=True))


def test_sms_mfa_with_code_from_outbox(backend: str, tmp_path: Path) -> None:
    env = make(backend, tmp_path, mfa=MfaConfiguration(MfaMode.OPTIONAL, sms_enabled=True))
    env.idp.admin_create_user(POOL, "bob", "Corr3ct-horse!", {"phone_number": "+15550001234"})
    plain = SignIn(env, "bob")
    plain.initiate()
    token = tokens_of(plain.respond(plain.proof())).access_token  # OPTIONAL and not enabled
    env.idp.set_user_mfa_preference(token, sms=(True, True))
    s = SignIn(env, "bob")
    s.initiate()
    out = s.respond(s.proof())
    assert out.challenge is not None and out.challenge.name.value == "SMS_MFA"
    assert out.challenge.parameters["CODE_DELIVERY_DESTINATION"].endswith("1234")
    user = env.store.get_user(POOL, "bob")
    assert user is not None
    messages = env.store.read_outbox(POOL, user_sub=user.sub)
    assert messages and messages[-1].channel == "sms"
    match = re.search(r"\b(\d{6})\b", messages[-1].body)
    assert match is not None
    code = match.group(1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(CodeMismatchError):
        s.respond(s.mfa("SMS_MFA", wrong))
    tokens_of(s.respond(s.mfa("SMS_MFA", code)))
    env.store.close()


def test_mfa_off_pool_never_asks(backend: str, tmp_path: Path) -> None:
    env = make(backend, tmp_path)
    env.idp.admin_create_user(POOL, "erin", "Corr3ct-horse!", {"phone_number": "+15550009999"})
    s = SignIn(env, "erin")
    s.initiate()
    tokens_of(s.respond(s.proof()))
    env.store.close()


def test_pool_without_mfa_replacement_asks_mfa_then_device(backend: str, tmp_path: Path) -> None:
    """Decision table, last row: remembered, but the pool does not let devices replace MFA."""
    env = make(
        backend,
        tmp_path,
        mfa=MfaConfiguration(MfaMode.ON, sms_enabled=True),
        devices=DeviceConfiguration(False, False),
    )
    env.idp.admin_create_user(POOL, "sam", "Corr3ct-horse!", {"phone_number": "+15550004321"})
    sub = env.idp.admin_get_user(POOL, "sam").sub

    def sms_code() -> str:
        match = re.search(r"\b(\d{6})\b", env.store.read_outbox(POOL, user_sub=sub)[-1].body)
        assert match is not None
        return match.group(1)

    s = SignIn(env, "sam")
    s.initiate()
    s.respond(s.proof())
    first = tokens_of(s.respond(s.mfa("SMS_MFA", sms_code())))
    device = confirm_new_device(env, first)
    assert env.idp.get_device(first.access_token, device.key).remembered
    s = SignIn(env, "sam")
    s.initiate()
    out = s.respond(s.proof(device_key=device.key))
    assert out.challenge is not None and out.challenge.name.value == "SMS_MFA"
    out = s.respond(s.mfa("SMS_MFA", sms_code()))
    assert out.challenge is not None and out.challenge.name.value == "DEVICE_SRP_AUTH"
    s.respond(s.device_srp_auth(device))
    tokens_of(s.respond(s.device_proof(device)))
    env.store.close()


def test_select_mfa_type_when_two_factors_and_no_preference(backend: str, tmp_path: Path) -> None:
    env = make(backend, tmp_path, mfa=BOTH, devices=DeviceConfiguration(True, False))
    env.idp.admin_create_user(POOL, "tia", "Corr3ct-horse!", {"phone_number": "+15550007777"})
    sub = env.idp.admin_get_user(POOL, "tia").sub

    def sms_code() -> str:
        match = re.search(r"\b(\d{6})\b", env.store.read_outbox(POOL, user_sub=sub)[-1].body)
        assert match is not None
        return match.group(1)

    s = SignIn(env, "tia")
    s.initiate()
    assert s.respond(s.proof()).challenge.name.value == "SMS_MFA"  # type: ignore[union-attr]
    token = tokens_of(s.respond(s.mfa("SMS_MFA", sms_code()))).access_token
    secret = totp.decode_secret(env.idp.associate_software_token(access_token=token)[0])
    env.idp.verify_software_token(totp.totp(secret, env.clock()), access_token=token)
    env.idp.set_user_mfa_preference(token, sms=(True, False), software_token=(True, False))
    env.clock.advance(30)
    s = SignIn(env, "tia")
    s.initiate()
    out = s.respond(s.proof())
    assert out.challenge is not None and out.challenge.name.value == "SELECT_MFA_TYPE"
    assert out.challenge.parameters["MFAS_CAN_CHOOSE"] == '["SMS_MFA","SOFTWARE_TOKEN_MFA"]'
    bad = RespondRequest(
        CLIENT, "SELECT_MFA_TYPE", {"USERNAME": "tia", "ANSWER": "EMAIL_OTP"}, out.challenge.session
    )
    with pytest.raises(InvalidParameterDomainError):
        env.idp.respond_to_auth_challenge(bad)
    pick = RespondRequest(
        CLIENT,
        "SELECT_MFA_TYPE",
        {"USERNAME": "tia", "ANSWER": "SOFTWARE_TOKEN_MFA"},
        out.challenge.session,
    )
    out = s.respond(pick)
    assert out.challenge is not None and out.challenge.name.value == "SOFTWARE_TOKEN_MFA"
    tokens_of(s.respond(s.mfa("SOFTWARE_TOKEN_MFA", totp.totp(secret, env.clock()))))
    with pytest.raises(NotAuthorizedError):  # the selection Session was spent
        env.idp.respond_to_auth_challenge(pick)
    env.store.close()
