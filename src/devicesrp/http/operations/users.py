"""User operations: sign-up, confirmation, passwords, profile and the user's MFA settings."""

from __future__ import annotations

from ...server.provider import IdentityProvider
from ..codec import Params
from ..dispatch import Call, Operation, Reply
from .shapes import code_delivery, user_view

CLIENT_ID = r"[\w+]+"
MAX_TOKEN = 8192
MAX_PASSWORD = 256


def _client(p: Params) -> str:
    return p.req_str("ClientId", max_len=128, pattern=CLIENT_ID)


def _user(p: Params) -> str:
    return p.req_str("Username", max_len=128)


def _secret_hash(p: Params) -> str | None:
    return p.opt_str("SecretHash", max_len=128)


def mfa_setting(p: Params, name: str) -> tuple[bool, bool] | None:
    """``{"Enabled": bool, "PreferredMfa": bool}`` -> (enabled, preferred); absent -> None."""
    setting = p.opt_object(name)
    if setting is None:
        return None
    return bool(setting.opt_bool("Enabled")), bool(setting.opt_bool("PreferredMfa"))


def token_or_session(p: Params) -> tuple[str | None, str | None]:
    return p.opt_str("AccessToken", max_len=MAX_TOKEN), p.opt_str(
        "Session", min_len=20, max_len=2048
    )


def operations(idp: IdentityProvider) -> list[Operation]:
    def sign_up(call: Call) -> Reply:
        p = call.params
        sub, delivery = idp.sign_up(
            _client(p),
            _user(p),
            p.req_str("Password", max_len=MAX_PASSWORD),
            dict(p.attributes("UserAttributes")),
            secret_hash=_secret_hash(p),
        )
        return Reply(
            {
                "UserConfirmed": False,
                "UserSub": sub,
                "CodeDeliveryDetails": code_delivery(delivery),
            }
        )

    def confirm_sign_up(call: Call) -> Reply:
        p = call.params
        idp.confirm_sign_up(
            _client(p),
            _user(p),
            p.req_str("ConfirmationCode", max_len=2048),
            secret_hash=_secret_hash(p),
        )
        return Reply({})

    def get_user(call: Call) -> Reply:
        view = idp.get_user(call.params.req_str("AccessToken", max_len=MAX_TOKEN))
        return Reply(user_view(view, admin=False))

    def change_password(call: Call) -> Reply:
        p = call.params
        idp.change_password(
            p.req_str("AccessToken", max_len=MAX_TOKEN),
            p.req_str("PreviousPassword", max_len=MAX_PASSWORD),
            p.req_str("ProposedPassword", max_len=MAX_PASSWORD),
        )
        return Reply({})

    def forgot_password(call: Call) -> Reply:
        p = call.params
        delivery = idp.forgot_password(_client(p), _user(p), secret_hash=_secret_hash(p))
        return Reply({"CodeDeliveryDetails": code_delivery(delivery)})

    def confirm_forgot_password(call: Call) -> Reply:
        p = call.params
        idp.confirm_forgot_password(
            _client(p),
            _user(p),
            p.req_str("ConfirmationCode", max_len=2048),
            p.req_str("Password", max_len=MAX_PASSWORD),
            secret_hash=_secret_hash(p),
        )
        return Reply({})

    def associate(call: Call) -> Reply:
        token, session = token_or_session(call.params)
        secret, next_session = idp.associate_software_token(access_token=token, session=session)
        body = {"SecretCode": secret}
        if next_session is not None:
            body["Session"] = next_session
        return Reply(body)

    def verify(call: Call) -> Reply:
        p = call.params
        token, session = token_or_session(p)
        next_session = idp.verify_software_token(
            p.req_str("UserCode", max_len=6, min_len=6, pattern=r"[0-9]{6}"),
            access_token=token,
            session=session,
        )
        body = {"Status": "SUCCESS"}
        if next_session is not None:
            body["Session"] = next_session
        return Reply(body)

    def set_preference(call: Call) -> Reply:
        p = call.params
        idp.set_user_mfa_preference(
            p.req_str("AccessToken", max_len=MAX_TOKEN),
            sms=mfa_setting(p, "SMSMfaSettings"),
            software_token=mfa_setting(p, "SoftwareTokenMfaSettings"),
        )
        return Reply({})

    return [
        Operation("SignUp", sign_up, signin=True),
        Operation("ConfirmSignUp", confirm_sign_up, signin=True),
        Operation("GetUser", get_user),
        Operation("ChangePassword", change_password),
        Operation("ForgotPassword", forgot_password, signin=True),
        Operation("ConfirmForgotPassword", confirm_forgot_password, signin=True),
        Operation("AssociateSoftwareToken", associate),
        Operation("VerifySoftwareToken", verify),
        Operation("SetUserMFAPreference", set_preference),
    ]
