"""`devicesrp serve` as a real process (SQLite and PostgreSQL) driven by boto3: admin operations
(SigV4), the remembered-device story over raw calls with devicesrp's client checking the server
proof, policy variants, JWKS/OpenID, and the AWS error shapes on the real operations."""

from __future__ import annotations

import base64
import json
import os
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from clients.harness import Service, postgres_reachable, shared_service
from clients.raw import Device, SignIn, confirm_new_device, enroll_totp, sign_in

PASSWORD = "Corr3ct-Horse!"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def svc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Service:
    if request.param == "postgres":
        reason = postgres_reachable()
        if reason is not None:
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
    base = tmp_path_factory.getbasetemp() / f"http-{request.param}"
    return shared_service(request.param, Path(base))


def make_pool(
    svc: Service, devices: str = "always", *, replaces_mfa: bool = True, mfa: str = "OFF"
) -> tuple[str, str]:
    admin = svc.admin()
    kwargs: dict[str, Any] = {"PoolName": f"p{uuid.uuid4().hex[:8]}"}
    if devices != "off":
        kwargs["DeviceConfiguration"] = {
            "ChallengeRequiredOnNewDevice": replaces_mfa,
            "DeviceOnlyRememberedOnUserPrompt": devices == "optin",
        }
    pool_id = admin.create_user_pool(**kwargs)["UserPool"]["Id"]
    if mfa != "OFF":
        admin.set_user_pool_mfa_config(
            UserPoolId=pool_id,
            SoftwareTokenMfaConfiguration={"Enabled": True},
            MfaConfiguration=mfa,
        )
    client_id = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="app")[
        "UserPoolClient"
    ]["ClientId"]
    return pool_id, client_id


def make_user(
    svc: Service,
    pool_id: str,
    name: str = "alice",
    *,
    permanent: bool = True,
    phone: str | None = None,
) -> str:
    """A user with PASSWORD (permanent unless asked otherwise), and a phone number if given."""
    admin = svc.admin()
    attributes = [] if phone is None else [{"Name": "phone_number", "Value": phone}]
    admin.admin_create_user(
        UserPoolId=pool_id,
        Username=name,
        TemporaryPassword=PASSWORD,
        UserAttributes=attributes,
        MessageAction="SUPPRESS",
    )
    if permanent:
        admin.admin_set_user_password(
            UserPoolId=pool_id, Username=name, Password=PASSWORD, Permanent=True
        )
    return name


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return err["Code"], err["Message"]


def attrs(device: dict[str, Any]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}


# -- admin operations ----------------------------------------------------------------------------


def test_pool_lifecycle_and_update_resets_omitted_settings(svc: Service) -> None:
    admin = svc.admin()
    pool_id, _ = make_pool(svc, "optin", replaces_mfa=True)
    assert pool_id.startswith("us-east-1_")
    pool = admin.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["DeviceConfiguration"] == {
        "ChallengeRequiredOnNewDevice": True,
        "DeviceOnlyRememberedOnUserPrompt": True,
    }
    admin.update_user_pool(UserPoolId=pool_id, MfaConfiguration="OFF")
    pool = admin.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert "DeviceConfiguration" not in pool  # omitted -> back to the default (off)
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 8
    admin.set_user_pool_mfa_config(
        UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="ON"
    )
    cfg = admin.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert cfg["MfaConfiguration"] == "ON"
    assert cfg["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    with pytest.raises(ClientError) as info:
        admin.describe_user_pool(UserPoolId="us-east-1_NoSuchPool")
    assert error_of(info)[0] == "ResourceNotFoundException"


def test_users_created_listed_fetched_deleted(svc: Service) -> None:
    admin = svc.admin()
    pool_id, _ = make_pool(svc)
    for name in ("bob", "bobby", "carol"):
        make_user(svc, pool_id, name)
    listed = admin.list_users(UserPoolId=pool_id, Filter='username ^= "bob"')["Users"]
    assert sorted(u["Username"] for u in listed) == ["bob", "bobby"]
    exact = admin.list_users(UserPoolId=pool_id, Filter='username = "bob"')["Users"]
    assert [u["Username"] for u in exact] == ["bob"]
    user = admin.admin_get_user(UserPoolId=pool_id, Username="carol")
    assert user["UserStatus"] == "CONFIRMED" and user["Enabled"] is True
    assert any(a["Name"] == "sub" for a in user["UserAttributes"])
    admin.admin_delete_user(UserPoolId=pool_id, Username="carol")
    with pytest.raises(ClientError) as info:
        admin.admin_get_user(UserPoolId=pool_id, Username="carol")
    assert error_of(info)[0] == "UserNotFoundException"
    with pytest.raises(ClientError) as info:
        # not byte-identical to the first call: that one would be refused as a replay
        admin.admin_create_user(UserPoolId=pool_id, Username="bob", TemporaryPassword="Oth3r-pw!")
    assert error_of(info)[0] == "UsernameExistsException"


def test_admin_refusals_change_nothing(svc: Service) -> None:
    pool_id, _ = make_pool(svc)
    unsigned = svc.admin(signature_version=UNSIGNED)
    with pytest.raises(ClientError) as info:
        unsigned.admin_create_user(UserPoolId=pool_id, Username="mallory")
    assert error_of(info)[0] == "MissingAuthenticationTokenException"
    wrong = svc.public()
    with pytest.raises(ClientError) as info:
        wrong.admin_create_user(UserPoolId=pool_id, Username="mallory")
    assert error_of(info)[0] == "UnrecognizedClientException"
    assert svc.admin().list_users(UserPoolId=pool_id)["Users"] == []
    # a mutating admin request replayed byte for byte is refused (documented deviation)
    seen: dict[str, Any] = {}

    def grab(request: Any, **_: Any) -> None:
        seen["body"], seen["headers"] = request.body, dict(request.headers)

    admin = svc.admin()
    admin.meta.events.register("before-send.cognito-idp.AdminCreateUser", grab)
    admin.admin_create_user(UserPoolId=pool_id, Username="once", TemporaryPassword=PASSWORD)
    admin.admin_delete_user(UserPoolId=pool_id, Username="once")
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in seen["headers"].items()}
    req = urllib.request.Request(svc.url + "/", data=seen["body"], headers=headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(req, timeout=10)
    body = json.loads(http_err.value.read())
    assert http_err.value.code == 400 and body["__type"] == "InvalidSignatureException"
    assert svc.admin().list_users(UserPoolId=pool_id)["Users"] == []


def test_unknown_operation_and_bad_input_on_the_real_service(svc: Service) -> None:
    req = urllib.request.Request(
        svc.url + "/",
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.CreateGroup",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 400
    assert json.loads(info.value.read())["__type"] == "UnknownOperationException"
    _, client_id = make_pool(svc)
    for bad_a in ("0", "zz", "-1", "1" * 771):
        with pytest.raises(ClientError) as err:
            svc.public().initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_SRP_AUTH",
                AuthParameters={"USERNAME": "alice", "SRP_A": bad_a},
            )
        assert error_of(err)[0] in ("InvalidParameterException", "NotAuthorizedException")


def test_jwks_and_openid_configuration(svc: Service) -> None:
    pool_id, client_id = make_pool(svc, "off")
    make_user(svc, pool_id)
    with urllib.request.urlopen(f"{svc.url}/{pool_id}/.well-known/jwks.json") as resp:
        keys = json.loads(resp.read())["keys"]
    assert keys and all(k["kty"] == "RSA" and k["alg"] == "RS256" for k in keys)
    with urllib.request.urlopen(f"{svc.url}/{pool_id}/.well-known/openid-configuration") as resp:
        doc = json.loads(resp.read())
    assert doc["issuer"] == f"{svc.url}/{pool_id}"
    assert doc["jwks_uri"] == f"{svc.url}/{pool_id}/.well-known/jwks.json"
    tokens = sign_in(svc.public(), pool_id, client_id, "alice", PASSWORD).tokens
    header = json.loads(base64.urlsafe_b64decode(tokens["IdToken"].split(".")[0] + "=="))
    assert header["kid"] in {k["kid"] for k in keys}
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{svc.url}/us-east-1_Nope/.well-known/jwks.json")
    assert info.value.code == 404


# -- the remembered-device story over raw boto3 ---------------------------------------------------


def test_always_pool_story(svc: Service) -> None:
    cognito = svc.public()
    pool_id, client_id = make_pool(svc, "always")
    make_user(svc, pool_id)
    with pytest.raises(ClientError) as info:
        sign_in(cognito, pool_id, client_id, "alice", "Wrong-Passw0rd!")
    assert error_of(info) == ("NotAuthorizedException", "Incorrect username or password.")

    first = sign_in(cognito, pool_id, client_id, "alice", PASSWORD)
    assert first.challenges == ["PASSWORD_VERIFIER"]
    device, necessary = confirm_new_device(cognito, first.tokens)
    assert necessary is False  # "Always": remembered at once

    second = sign_in(cognito, pool_id, client_id, "alice", PASSWORD, device=device)
    assert second.challenges == ["PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"]
    assert second.server_proof_checked
    assert "NewDeviceMetadata" not in second.tokens
    access = second.tokens["AccessToken"]

    listed = cognito.list_devices(AccessToken=access)["Devices"]
    assert [d["DeviceKey"] for d in listed] == [device.key]
    meta = attrs(listed[0])
    assert meta["device_name"] == "raw-boto3"
    assert meta["dev:device_remembered_status"] == "remembered"
    assert meta["last_ip_used"] == "127.0.0.1"
    got = cognito.get_device(AccessToken=access, DeviceKey=device.key)["Device"]
    assert got["DeviceKey"] == device.key and "DeviceLastAuthenticatedDate" in got
    admin_got = svc.admin().admin_get_device(
        UserPoolId=pool_id, Username="alice", DeviceKey=device.key
    )
    assert admin_got["Device"]["DeviceKey"] == device.key

    refreshed = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": second.tokens["RefreshToken"], "DEVICE_KEY": device.key},
    )
    assert refreshed["AuthenticationResult"]["AccessToken"]
    v6 = cognito.get_tokens_from_refresh_token(
        ClientId=client_id, RefreshToken=second.tokens["RefreshToken"], DeviceKey=device.key
    )
    assert v6["AuthenticationResult"]["IdToken"]

    stolen = Device(device.key, device.group, "not-the-device-password")
    with pytest.raises(ClientError) as info:
        sign_in(cognito, pool_id, client_id, "alice", PASSWORD, device=stolen)
    assert error_of(info) == ("NotAuthorizedException", "Incorrect username or password.")

    cognito.forget_device(AccessToken=access, DeviceKey=device.key)
    assert cognito.list_devices(AccessToken=access)["Devices"] == []
    with pytest.raises(ClientError) as info:
        sign_in(cognito, pool_id, client_id, "alice", PASSWORD, device=device)
    assert error_of(info) == ("ResourceNotFoundException", "Device does not exist.")


def test_stale_device_retry_is_allowed_exactly_once(svc: Service) -> None:
    """After "Device does not exist." the same challenge may be answered once without a device
    (amazon-cognito-identity-js resends it with DEVICE_KEY null), and only once."""
    from devicesrp import live
    from devicesrp.protocol.client import ClientHandshake
    from devicesrp.protocol.values import Challenge, UserCredentials

    cognito = svc.public()
    pool_id, client_id = make_pool(svc, "always")
    make_user(svc, pool_id)
    hs = ClientHandshake(UserCredentials(pool_id, PASSWORD))
    stale = "us-east-1_" + str(uuid.uuid4())
    start = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_SRP_AUTH",
        AuthParameters={"USERNAME": "alice", "SRP_A": format(live.start(hs), "x")},
    )
    cp = start["ChallengeParameters"]
    claim = live.respond(
        hs,
        Challenge(
            cp["USER_ID_FOR_SRP"],
            bytes.fromhex(cp["SALT"].zfill(len(cp["SALT"]) + len(cp["SALT"]) % 2)),
            int(cp["SRP_B"], 16),
            cp["SECRET_BLOCK"],
        ),
    )
    answer: dict[str, Any] = {
        "USERNAME": cp["USERNAME"],
        "PASSWORD_CLAIM_SECRET_BLOCK": claim.secret_block,
        "TIMESTAMP": claim.timestamp,
        "PASSWORD_CLAIM_SIGNATURE": claim.signature,
        "DEVICE_KEY": stale,
    }

    def respond(responses: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = cognito.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
        )
        return result

    with pytest.raises(ClientError) as info:
        respond(answer)
    assert error_of(info) == ("ResourceNotFoundException", "Device does not exist.")
    deviceless = {k: v for k, v in answer.items() if k != "DEVICE_KEY"}
    tokens = respond(deviceless)["AuthenticationResult"]
    assert "NewDeviceMetadata" in tokens
    with pytest.raises(ClientError) as info:
        respond(deviceless)
    assert error_of(info)[0] == "NotAuthorizedException"


def test_opt_in_pool_with_totp(svc: Service) -> None:
    cognito = svc.public()
    pool_id, client_id = make_pool(svc, "optin", replaces_mfa=True, mfa="OPTIONAL")
    make_user(svc, pool_id)
    plain = sign_in(cognito, pool_id, client_id, "alice", PASSWORD)
    totp = enroll_totp(cognito, plain.tokens["AccessToken"])

    first = sign_in(cognito, pool_id, client_id, "alice", PASSWORD, totp=totp)
    assert first.challenges == ["PASSWORD_VERIFIER", "SOFTWARE_TOKEN_MFA"]
    device, necessary = confirm_new_device(cognito, first.tokens)
    assert necessary is True  # "User Opt-In": tracked, not yet remembered

    tracked = sign_in(cognito, pool_id, client_id, "alice", PASSWORD, device=device, totp=totp)
    assert tracked.challenges == [
        "PASSWORD_VERIFIER",
        "SOFTWARE_TOKEN_MFA",
        "DEVICE_SRP_AUTH",
        "DEVICE_PASSWORD_VERIFIER",
    ]
    cognito.update_device_status(
        AccessToken=tracked.tokens["AccessToken"],
        DeviceKey=device.key,
        DeviceRememberedStatus="remembered",
    )
    remembered = sign_in(cognito, pool_id, client_id, "alice", PASSWORD, device=device, totp=totp)
    assert remembered.challenges == [
        "PASSWORD_VERIFIER",
        "DEVICE_SRP_AUTH",
        "DEVICE_PASSWORD_VERIFIER",
    ]
    listed = svc.admin().admin_list_devices(UserPoolId=pool_id, Username="alice")["Devices"]
    assert attrs(listed[0])["dev:device_remembered_status"] == "remembered"
    svc.admin().admin_update_device_status(
        UserPoolId=pool_id,
        Username="alice",
        DeviceKey=device.key,
        DeviceRememberedStatus="not_remembered",
    )
    listed = svc.admin().admin_list_devices(UserPoolId=pool_id, Username="alice")["Devices"]
    assert [attrs(d)["dev:device_remembered_status"] for d in listed] == ["not_remembered"]
    svc.admin().admin_forget_device(UserPoolId=pool_id, Username="alice", DeviceKey=device.key)
    assert svc.admin().admin_list_devices(UserPoolId=pool_id, Username="alice")["Devices"] == []


def test_tracking_off_pool_never_issues_devices(svc: Service) -> None:
    cognito = svc.public()
    pool_id, client_id = make_pool(svc, "off")
    make_user(svc, pool_id)
    result: SignIn = sign_in(cognito, pool_id, client_id, "alice", PASSWORD)
    assert result.challenges == ["PASSWORD_VERIFIER"]
    assert "NewDeviceMetadata" not in result.tokens
    assert result.server_proof_checked  # x-devicesrp-server-proof on the password step too


def test_client_token_validity_sets_the_lifetimes_of_its_tokens(svc: Service) -> None:
    """CreateUserPoolClient's *TokenValidity (in TokenValidityUnits) are that client's token
    lifetimes; another client of the pool keeps the pool's (1 h); bounds as Cognito's."""
    import jwt

    admin, cognito = svc.admin(), svc.public()
    pool_id, plain = make_pool(svc, "off")
    make_user(svc, pool_id)
    made = admin.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="short",
        AccessTokenValidity=10,
        IdTokenValidity=2,
        TokenValidityUnits={"AccessToken": "minutes"},  # IdToken: hours, Cognito's default
    )["UserPoolClient"]
    assert (made["AccessTokenValidity"], made["IdTokenValidity"]) == (600, 7200)
    assert made["RefreshTokenValidity"] == 30 * 86400  # omitted: the pool's
    for client_id, access, id_ in ((made["ClientId"], 600, 7200), (plain, 3600, 3600)):
        tokens = sign_in(cognito, pool_id, client_id, "alice", PASSWORD).tokens
        assert tokens["ExpiresIn"] == access
        for token, lifetime in ((tokens["AccessToken"], access), (tokens["IdToken"], id_)):
            claims = jwt.decode(token, options={"verify_signature": False})
            assert claims["exp"] - claims["iat"] == lifetime
    for bad in (
        {"AccessTokenValidity": 4, "TokenValidityUnits": {"AccessToken": "minutes"}},
        {"IdTokenValidity": 2, "TokenValidityUnits": {"IdToken": "days"}},
        {"RefreshTokenValidity": 59, "TokenValidityUnits": {"RefreshToken": "minutes"}},
        {"AccessTokenValidity": 1, "TokenValidityUnits": {"AccessToken": "weeks"}},
    ):
        with pytest.raises(ClientError) as info:
            admin.create_user_pool_client(UserPoolId=pool_id, ClientName="bad", **bad)
        assert error_of(info)[0] == "InvalidParameterException", bad


def test_sms_mfa_through_the_outbox_then_skipped_by_the_device(svc: Service) -> None:
    import re

    from devicesrp.store import open_store

    admin = svc.admin()
    cognito = svc.public()
    pool_id, client_id = make_pool(svc, "always", replaces_mfa=True)
    admin.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        SmsMfaConfiguration={"SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::0:role/sns"}},
        MfaConfiguration="ON",
    )
    make_user(svc, pool_id, "sam", phone="+15555550100")
    admin.admin_set_user_mfa_preference(
        UserPoolId=pool_id, Username="sam", SMSMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    seen: list[int] = [0]

    def code_from_outbox() -> str:
        store = open_store(svc.db_url, migrate=False)  # read only: no write lock
        try:
            messages = store.read_outbox(pool_id, after_id=seen[0])
        finally:
            store.close()
        assert messages, "no SMS in the outbox"
        seen[0] = messages[-1].message_id
        assert messages[-1].channel == "sms" and messages[-1].destination == "+15555550100"
        found = re.search(r"\b(\d{6})\b", messages[-1].body)
        assert found is not None
        return found.group(1)

    first = sign_in(cognito, pool_id, client_id, "sam", PASSWORD, sms_code=code_from_outbox)
    assert first.challenges == ["PASSWORD_VERIFIER", "SMS_MFA"]
    device, _ = confirm_new_device(cognito, first.tokens)
    second = sign_in(
        cognito, pool_id, client_id, "sam", PASSWORD, device=device, sms_code=code_from_outbox
    )
    assert second.challenges == ["PASSWORD_VERIFIER", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"]


def test_temporary_password_then_new_password_required(svc: Service) -> None:
    admin, cognito = svc.admin(), svc.public()
    pool_id, client_id = make_pool(svc, "always")
    admin.admin_create_user(UserPoolId=pool_id, Username="tina", TemporaryPassword=PASSWORD)
    assert admin.admin_get_user(UserPoolId=pool_id, Username="tina")["UserStatus"] == (
        "FORCE_CHANGE_PASSWORD"
    )
    chosen = "Tina-0wn-Passw0rd!"
    first = sign_in(cognito, pool_id, client_id, "tina", PASSWORD, new_password=chosen)
    assert first.challenges == ["PASSWORD_VERIFIER", "NEW_PASSWORD_REQUIRED"]
    assert first.tokens["AccessToken"]
    assert admin.admin_get_user(UserPoolId=pool_id, Username="tina")["UserStatus"] == "CONFIRMED"
    with pytest.raises(ClientError) as info:
        sign_in(cognito, pool_id, client_id, "tina", PASSWORD)
    assert error_of(info)[0] == "NotAuthorizedException"
    assert sign_in(cognito, pool_id, client_id, "tina", chosen).challenges == ["PASSWORD_VERIFIER"]
    # AdminSetUserPassword without Permanent is temporary again, as on Cognito
    admin.admin_set_user_password(UserPoolId=pool_id, Username="tina", Password=PASSWORD)
    again = sign_in(cognito, pool_id, client_id, "tina", PASSWORD, new_password="Tina-N3w-again!")
    assert again.challenges == ["PASSWORD_VERIFIER", "NEW_PASSWORD_REQUIRED"]


def test_disable_enable_and_global_sign_out(svc: Service) -> None:
    admin, cognito = svc.admin(), svc.public()
    pool_id, client_id = make_pool(svc, "off")
    make_user(svc, pool_id, "dora")
    tokens = sign_in(cognito, pool_id, client_id, "dora", PASSWORD).tokens
    admin.admin_disable_user(UserPoolId=pool_id, Username="dora")
    assert admin.admin_get_user(UserPoolId=pool_id, Username="dora")["Enabled"] is False
    with pytest.raises(ClientError) as info:
        sign_in(cognito, pool_id, client_id, "dora", PASSWORD)
    assert error_of(info)[0] == "NotAuthorizedException"
    admin.admin_enable_user(UserPoolId=pool_id, Username="dora")
    fresh = sign_in(cognito, pool_id, client_id, "dora", PASSWORD).tokens
    admin.admin_user_global_sign_out(UserPoolId=pool_id, Username="dora")
    for refresh_token in (tokens["RefreshToken"], fresh["RefreshToken"]):
        with pytest.raises(ClientError) as info:
            cognito.get_tokens_from_refresh_token(ClientId=client_id, RefreshToken=refresh_token)
        assert error_of(info)[0] == "NotAuthorizedException"


def test_user_password_auth_is_per_client_and_leads_to_the_device_step(svc: Service) -> None:
    """USER_PASSWORD_AUTH only on a client whose ExplicitAuthFlows allow it; refusals in
    Cognito's words; NewDeviceMetadata, then DEVICE_SRP_AUTH for the remembered device."""
    import jwt

    import secret_scan
    from clients.raw import device_steps

    secret_scan.REGISTRY.add_text(PASSWORD, "user password")
    admin, cognito = svc.admin(), svc.public()
    pool_id, srp_client = make_pool(svc, "always")
    make_user(svc, pool_id)
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    made = admin.create_user_pool_client(
        UserPoolId=pool_id, ClientName="pw", ExplicitAuthFlows=flows
    )["UserPoolClient"]
    assert made["ExplicitAuthFlows"] == flows
    client_id = made["ClientId"]

    def password_auth(
        password: str, name: str = "alice", client: str = client_id, **extra: str
    ) -> dict[str, Any]:
        params = {"USERNAME": name, "PASSWORD": password, **extra}
        reply: dict[str, Any] = cognito.initiate_auth(
            ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params
        )
        return reply

    with pytest.raises(ClientError) as info:  # the default client: SRP, refresh, custom
        password_auth(PASSWORD, client=srp_client)
    assert error_of(info) == (
        "InvalidParameterException",
        "USER_PASSWORD_AUTH flow not enabled for this client",
    )
    with pytest.raises(ClientError) as info:
        sign_in(cognito, pool_id, client_id, "alice", PASSWORD)
    assert error_of(info) == (
        "InvalidParameterException",
        "USER_SRP_AUTH is not enabled for the client.",
    )
    for name, password in (("alice", "Wrong-Passw0rd!"), ("nobody", PASSWORD)):
        with pytest.raises(ClientError) as info:
            password_auth(password, name)
        assert error_of(info) == ("NotAuthorizedException", "Incorrect username or password.")

    first = password_auth(PASSWORD)
    assert "ChallengeName" not in first
    assert "x-devicesrp-server-proof" not in first["ResponseMetadata"]["HTTPHeaders"]
    device, necessary = confirm_new_device(cognito, first["AuthenticationResult"])
    assert necessary is False
    second = password_auth(PASSWORD, DEVICE_KEY=device.key)
    assert second["ChallengeName"] == "DEVICE_SRP_AUTH"
    out = SignIn(challenges=["DEVICE_SRP_AUTH"])
    tokens = device_steps(cognito, client_id, "alice", device, second["Session"], out)
    assert out.challenges == ["DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"]
    assert out.server_proof_checked
    claims = jwt.decode(
        tokens["AuthenticationResult"]["AccessToken"], options={"verify_signature": False}
    )
    assert claims["device_key"] == device.key and claims["client_id"] == client_id
    refreshed = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={
            "REFRESH_TOKEN": tokens["AuthenticationResult"]["RefreshToken"],
            "DEVICE_KEY": device.key,
        },
    )
    assert refreshed["AuthenticationResult"]["AccessToken"]


def test_select_mfa_type_when_two_factors_and_no_preference(svc: Service) -> None:
    """SMS and TOTP both enabled for the pool and the user, neither preferred: SELECT_MFA_TYPE
    offers both; the answer SOFTWARE_TOKEN_MFA leads to the code, then the tokens."""
    from clients.raw import Totp

    admin, cognito = svc.admin(), svc.public()
    pool_id, client_id = make_pool(svc, "off")
    admin.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        SmsMfaConfiguration={"SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::0:role/sns"}},
        SoftwareTokenMfaConfiguration={"Enabled": True},
        MfaConfiguration="OPTIONAL",
    )
    make_user(svc, pool_id, "max", phone="+15555550101")
    access = sign_in(cognito, pool_id, client_id, "max", PASSWORD).tokens["AccessToken"]
    totp = Totp(cognito.associate_software_token(AccessToken=access)["SecretCode"])
    verified = cognito.verify_software_token(AccessToken=access, UserCode=totp.code())
    assert verified["Status"] == "SUCCESS"
    cognito.set_user_mfa_preference(
        AccessToken=access,
        SMSMfaSettings={"Enabled": True, "PreferredMfa": False},
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False},
    )
    user = admin.admin_get_user(UserPoolId=pool_id, Username="max")
    assert sorted(user["UserMFASettingList"]) == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
    assert "PreferredMfaSetting" not in user

    chose = sign_in(
        cognito, pool_id, client_id, "max", PASSWORD, totp=totp, select_mfa="SOFTWARE_TOKEN_MFA"
    )
    assert chose.challenges == ["PASSWORD_VERIFIER", "SELECT_MFA_TYPE", "SOFTWARE_TOKEN_MFA"]
    assert chose.offered == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
    assert chose.tokens["AccessToken"]
    with pytest.raises(ClientError) as info:  # neither factor: refused, nothing sent
        sign_in(cognito, pool_id, client_id, "max", PASSWORD, select_mfa="EMAIL_OTP")
    assert error_of(info)[0] == "InvalidParameterException"
