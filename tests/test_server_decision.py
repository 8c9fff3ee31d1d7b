"""The decision table of docs/cognito-device-srp.md §6.1, row by row, and the MFA factor rules."""

from __future__ import annotations

import itertools

import pytest

from devicesrp.server.config import MfaConfiguration, MfaMode
from devicesrp.server.decision import DevicePresented, MfaFactor, Step, UserMfa, decide, mfa_factor

D = DevicePresented
DEVICE_STEPS = (Step.DEVICE_SRP_AUTH, Step.DEVICE_PASSWORD_VERIFIER, Step.TOKENS)


@pytest.mark.parametrize(
    ("mfa", "replaces"), list(itertools.product([None, *MfaFactor], [False, True]))
)
def test_every_row(mfa: MfaFactor | None, replaces: bool) -> None:
    mfa_steps = () if mfa is None else (Step(mfa.value),)
    for device in D:
        off = decide(tracking=False, device=device, mfa=mfa, remembered_replaces_mfa=replaces)
        assert off.steps == (*mfa_steps, Step.TOKENS) and not off.new_device_metadata
    none = decide(tracking=True, device=D.NONE, mfa=mfa, remembered_replaces_mfa=replaces)
    assert none.steps == (*mfa_steps, Step.TOKENS) and none.new_device_metadata
    unknown = decide(tracking=True, device=D.UNKNOWN, mfa=mfa, remembered_replaces_mfa=replaces)
    assert unknown.device_not_found and unknown.steps == ()
    rem = decide(tracking=True, device=D.REMEMBERED, mfa=mfa, remembered_replaces_mfa=replaces)
    assert rem.steps == (DEVICE_STEPS if replaces else (*mfa_steps, *DEVICE_STEPS))
    assert not rem.new_device_metadata
    nrem = decide(tracking=True, device=D.NOT_REMEMBERED, mfa=mfa, remembered_replaces_mfa=replaces)
    assert nrem.steps == (*mfa_steps, *DEVICE_STEPS)


def test_plan_navigation() -> None:
    plan = decide(
        tracking=True, device=D.NOT_REMEMBERED, mfa=MfaFactor.SMS, remembered_replaces_mfa=False
    )
    assert plan.first is Step.SMS_MFA
    assert plan.after(Step.SMS_MFA) is Step.DEVICE_SRP_AUTH
    assert plan.after(Step.DEVICE_PASSWORD_VERIFIER) is Step.TOKENS


BOTH = MfaConfiguration(MfaMode.ON, sms_enabled=True, software_token_enabled=True)
OPTIONAL = MfaConfiguration(MfaMode.OPTIONAL, sms_enabled=True, software_token_enabled=True)


def test_mfa_off_never_asks() -> None:
    user = UserMfa(sms_enabled=True, software_token_enabled=True, has_phone=True)
    assert mfa_factor(MfaConfiguration(), user) is None


def test_mfa_optional_follows_the_user() -> None:
    assert mfa_factor(OPTIONAL, UserMfa(has_phone=True, has_software_token=True)) is None
    sms = UserMfa(sms_enabled=True, has_phone=True)
    assert mfa_factor(OPTIONAL, sms) is MfaFactor.SMS
    both = UserMfa(
        sms_enabled=True,
        software_token_enabled=True,
        has_phone=True,
        has_software_token=True,
        preferred=MfaFactor.SMS,
    )
    assert mfa_factor(OPTIONAL, both) is MfaFactor.SMS
    # A factor the pool does not allow is not used even if the user enabled it.
    sms_only_pool = MfaConfiguration(MfaMode.OPTIONAL, sms_enabled=True)
    totp_user = UserMfa(software_token_enabled=True, has_software_token=True)
    assert mfa_factor(sms_only_pool, totp_user) is None


def test_two_enabled_factors_without_preference_let_the_user_choose() -> None:
    both = UserMfa(
        sms_enabled=True, software_token_enabled=True, has_phone=True, has_software_token=True
    )
    assert mfa_factor(OPTIONAL, both) is MfaFactor.SELECT
    assert mfa_factor(BOTH, both) is MfaFactor.SELECT


def test_mfa_on_always_asks_and_falls_back() -> None:
    assert mfa_factor(BOTH, UserMfa(has_software_token=True)) is MfaFactor.SOFTWARE_TOKEN
    assert mfa_factor(BOTH, UserMfa(has_phone=True)) is MfaFactor.SMS
    assert mfa_factor(BOTH, UserMfa()) is MfaFactor.SETUP


def test_mfa_on_without_a_factor_is_refused() -> None:
    with pytest.raises(ValueError):
        MfaConfiguration(MfaMode.ON)
