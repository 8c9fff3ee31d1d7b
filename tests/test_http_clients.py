"""Unmodified, pinned Cognito clients play the remembered-device story against `devicesrp serve`
(SQLite and PostgreSQL): pycognito 2024.5.1 (the `Cognito` class with its full JWT checks, and
`AWSSRP` for the device flow), amazon-cognito-identity-js 6.3.21 and Amplify JS 6.22.1 in Node.

Each test asserts what the client itself reports, plus the wire it produced. Capability matrix
(steps a client cannot do are done with raw boto3, or asserted as the client really fails):

| step                        | pycognito                      | identity-js | Amplify v6          |
|-----------------------------|--------------------------------|-------------|---------------------|
| SRP sign-in, JWT checks     | Cognito class (RS256 via JWKS) | yes         | yes                 |
| ConfirmDevice / remember    | boto3 (its own calls hit AWS)  | automatic   | automatic + remember|
| device SRP sign-in          | AWSSRP (no Session, ticket)    | yes         | yes                 |
| TOTP                        | Cognito class                  | yes         | yes                 |
| list devices / get one      | boto3                          | yes / yes   | yes / boto3         |
| refresh with the device key | boto3 (its renew omits the key)| yes         | yes                 |
| stale device key            | fails (no retry path)          | retries     | retries             |
| USER_PASSWORD_AUTH + device | not run                        | yes         | not run             |

On SQLite the pool is "User Opt-In" with TOTP that remembered devices replace; on PostgreSQL it is
"Always" without MFA, so both policies meet every client and the Node runs stay four.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from clients.harness import REPO, Service, postgres_reachable, shared_service
from clients.raw import enroll_totp, sign_in
from test_http_service import PASSWORD, make_pool, make_user

CLIENTS = Path(__file__).parent / "clients"


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


def story_pool(svc: Service, name: str) -> dict[str, Any]:
    """A pool, client and user for one client's story; TOTP enrolled on the opt-in variant."""
    opt_in = svc.backend == "sqlite"
    pool_id, client_id = make_pool(
        svc, "optin" if opt_in else "always", replaces_mfa=True, mfa="OPTIONAL" if opt_in else "OFF"
    )
    make_user(svc, pool_id, name)
    cfg: dict[str, Any] = {
        "endpoint": svc.url,
        "poolId": pool_id,
        "clientId": client_id,
        "username": name,
        "password": PASSWORD,
        "optIn": opt_in,
    }
    if opt_in:
        first = sign_in(svc.public(), pool_id, client_id, name, PASSWORD)
        totp = enroll_totp(svc.public(), first.tokens["AccessToken"])
        cfg.update(totpSecret=totp.secret, totpLastStep=totp.last_step)
    return cfg


def run_node(script: str, cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "aws-amplify").is_dir():
        reason = "node or node_modules missing (run `npm ci`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    proc = subprocess.run(
        [node, str(CLIENTS / script), json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines, (
        proc.returncode,
        proc.stdout[-2000:],
        proc.stderr[-2000:],
    )
    report = json.loads(lines[-1])
    assert "crash" not in report, report
    return {step["name"]: step for step in report["steps"]}


def ops(step: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(w["op"], w.get("challenge") or w.get("error") or w["status"]) for w in step["wire"]]


def assert_common_story(steps: dict[str, dict[str, Any]], opt_in: bool) -> str:
    """The assertions both JS clients share; returns the first device key."""
    assert steps["wrong_password"]["result"]["error"] == "NotAuthorizedException"
    first = steps["first_sign_in"]
    device_key = first["deviceKey"]
    assert device_key and device_key.startswith("us-east-1_")
    assert ("ConfirmDevice", 200) in ops(first)
    assert any(w.get("newDevice") for w in first["wire"])
    if opt_in:
        assert ("UpdateDeviceStatus", 200) in ops(steps["remember"])
    device = steps["device_sign_in"]
    assert [w.get("answered") for w in device["wire"] if w["op"] == "RespondToAuthChallenge"] == [
        "PASSWORD_VERIFIER",
        "DEVICE_SRP_AUTH",
        "DEVICE_PASSWORD_VERIFIER",
    ]
    assert device["wire"][-1]["tokens"] and device["wire"][-1]["serverProof"]
    assert device["accessDeviceKey"] == device_key
    refresh = steps["refresh"]
    assert refresh["result"]["ok"], refresh
    assert [w.get("sentDevice") for w in refresh["wire"]] == [device_key]
    wrong = steps["wrong_device_secret"]
    assert wrong["result"]["error"] == "NotAuthorizedException"
    assert ops(wrong)[-1] == ("RespondToAuthChallenge", "NotAuthorizedException")
    assert steps["forget"]["result"]["forgot"]["ok"]
    assert ("ForgetDevice", 200) in ops(steps["forget"])
    stale = steps["stale_device"]
    assert stale["result"]["ok"], stale
    assert ("RespondToAuthChallenge", "ResourceNotFoundException") in ops(stale)
    retry = [w for w in stale["wire"] if w.get("answered") == "PASSWORD_VERIFIER"]
    assert retry[0]["sentDevice"] == device_key and retry[1].get("sentDevice") in (None, "")
    assert stale["newDeviceKey"] and stale["newDeviceKey"] != device_key
    assert ("ConfirmDevice", 200) in ops(stale)
    return str(device_key)


def test_amazon_cognito_identity_js(svc: Service) -> None:
    cfg = story_pool(svc, "ijs-user")
    steps = run_node("story_identity_js.js", cfg)
    device_key = assert_common_story(steps, cfg["optIn"])
    first = steps["first_sign_in"]["result"]
    # the SDK passes the flag to onSuccess only when it is true
    assert first.get("userConfirmationNecessary", False) is cfg["optIn"]
    assert first["mfaPrompts"] == (1 if cfg["optIn"] else 0)
    assert steps["device_sign_in"]["result"]["mfaPrompts"] == 0  # the device replaces TOTP
    listed = steps["list_devices"]["result"]["data"]["Devices"]
    assert [d["DeviceKey"] for d in listed] == [device_key]
    names = {a["Name"]: a["Value"] for a in listed[0]["DeviceAttributes"]}
    assert names["device_name"] == "nodejs" and names["last_ip_used"] == "127.0.0.1"
    assert steps["get_device"]["result"]["data"]["Device"]["DeviceKey"] == device_key
    assert [w["op"] for w in steps["refresh"]["wire"]] == ["InitiateAuth"]  # REFRESH_TOKEN_AUTH
    assert steps["stale_device"]["result"]["mfaPrompts"] == (1 if cfg["optIn"] else 0)


def test_identity_js_user_password_auth_with_its_device(svc: Service) -> None:
    """identity-js with authenticationFlowType USER_PASSWORD_AUTH on a client that allows it:
    the password in one InitiateAuth, the SDK confirms the new device, and the next sign-in
    answers DEVICE_SRP_AUTH with the stored device (issue #7)."""
    pool_id, _ = make_pool(svc, "always")
    client_id = svc.admin().create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="pw",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    make_user(svc, pool_id, "ijs-pw")
    cfg = {
        "endpoint": svc.url,
        "poolId": pool_id,
        "clientId": client_id,
        "username": "ijs-pw",
        "password": PASSWORD,
    }
    steps = run_node("password_identity_js.js", cfg)
    assert steps["wrong_password"]["result"]["error"] == "NotAuthorizedException"
    first = steps["first_sign_in"]
    assert first["result"]["ok"], first
    assert ops(first)[:2] == [("InitiateAuth", 200), ("ConfirmDevice", 200)]
    assert first["wire"][0]["newDevice"] and first["deviceKey"]
    device = steps["device_sign_in"]
    assert device["result"]["ok"], device
    assert ops(device) == [
        ("InitiateAuth", "DEVICE_SRP_AUTH"),
        ("RespondToAuthChallenge", "DEVICE_PASSWORD_VERIFIER"),
        ("RespondToAuthChallenge", 200),
    ]
    assert device["wire"][0]["sentDevice"] == first["deviceKey"]
    assert device["result"]["accessDeviceKey"] == first["deviceKey"]


def test_amplify_v6(svc: Service) -> None:
    cfg = story_pool(svc, "amp-user")
    steps = run_node("story_amplify.js", cfg)
    device_key = assert_common_story(steps, cfg["optIn"])
    assert steps["first_sign_in"]["result"]["data"]["mfaPrompts"] == (1 if cfg["optIn"] else 0)
    assert steps["device_sign_in"]["result"]["data"]["mfaPrompts"] == 0
    listed = steps["list_devices"]["result"]["data"]
    assert [d["id"] for d in listed] == [device_key]
    assert listed[0]["attributes"]["dev:device_remembered_status"] == "remembered"
    assert [w["op"] for w in steps["refresh"]["wire"]] == ["GetTokensFromRefreshToken"]
    assert ("RevokeToken", 200) in ops(steps["sign_out"])  # origin_jti in the access token
    # Amplify has no get-one-device: the same device fetched with boto3
    got = svc.admin().admin_list_devices(UserPoolId=cfg["poolId"], Username=cfg["username"])
    assert (
        steps["stale_device"]["newDeviceKey"] in [d["DeviceKey"] for d in got["Devices"]]
        or (
            cfg["optIn"]  # opt-in: the new device is tracked but not remembered, so not listed
        )
    )


def test_pycognito(svc: Service) -> None:
    from pycognito import Cognito
    from pycognito.aws_srp import AWSSRP, generate_hash_device
    from pycognito.exceptions import SoftwareTokenMFAChallengeException

    pool_id, client_id = make_pool(svc, "always", replaces_mfa=True, mfa="OPTIONAL")
    make_user(svc, pool_id, "pyc-user")
    boto_kwargs = {
        "endpoint_url": svc.url,
        "aws_access_key_id": "AKIDUSER",
        "aws_secret_access_key": "unused",
    }

    def cognito() -> Any:
        return Cognito(pool_id, client_id, username="pyc-user", boto3_client_kwargs=boto_kwargs)

    # the Cognito class: SRP sign-in, then both JWTs checked against our JWKS and issuer
    user = cognito()
    with pytest.raises(ClientError) as info:
        user.authenticate(password="Wrong-Passw0rd!")
    assert info.value.response["Error"]["Code"] == "NotAuthorizedException"
    user.authenticate(password=PASSWORD)
    assert user.id_claims["cognito:username"] == "pyc-user"
    assert user.access_claims["token_use"] == "access"
    # pycognito refreshes without DEVICE_KEY; in a device-tracking pool the token is bound to
    # the device the sign-in was issued, so it fails as on Cognito (boto3 refreshes below)
    with pytest.raises(ClientError) as info:
        user.renew_access_token()
    assert info.value.response["Error"]["Message"] == "Invalid Refresh Token"

    # TOTP through the Cognito class
    totp = enroll_totp(svc.public(), user.access_token)
    mfa_user = cognito()
    with pytest.raises(SoftwareTokenMFAChallengeException):
        mfa_user.authenticate(password=PASSWORD)
    mfa_user.respond_to_software_token_mfa_challenge(totp.code())
    assert mfa_user.access_claims["username"]

    # the device flow: AWSSRP gets NewDeviceMetadata; ConfirmDevice goes through boto3 because
    # pycognito's own device calls are hard-wired to AWS
    client = mfa_user.client
    srp = AWSSRP("pyc-user", PASSWORD, pool_id, client_id, client=client)
    with pytest.raises(SoftwareTokenMFAChallengeException) as mfa:
        srp.authenticate_user()
    tokens = client.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=mfa.value.get_tokens()["Session"],
        ChallengeResponses={"USERNAME": "pyc-user", "SOFTWARE_TOKEN_MFA_CODE": totp.code()},
    )["AuthenticationResult"]
    meta = tokens["NewDeviceMetadata"]
    device_password, verifier = generate_hash_device(meta["DeviceGroupKey"], meta["DeviceKey"])
    confirmed = client.confirm_device(
        AccessToken=tokens["AccessToken"],
        DeviceKey=meta["DeviceKey"],
        DeviceSecretVerifierConfig=verifier,
        DeviceName="pycognito",
    )
    assert confirmed["UserConfirmationNecessary"] is False

    def device_srp(password: str, key: str = meta["DeviceKey"]) -> dict[str, Any]:
        result: dict[str, Any] = AWSSRP(
            "pyc-user",
            PASSWORD,
            pool_id,
            client_id,
            client=client,
            device_key=key,
            device_group_key=meta["DeviceGroupKey"],
            device_password=password,
        ).authenticate_user()
        return result

    # remembered device: TOTP skipped, Session-less DEVICE_SRP_AUTH with the user-phase A
    result = device_srp(device_password)["AuthenticationResult"]
    verifying = cognito()
    verifying.verify_token(result["IdToken"], "id_token", "id")
    claims = verifying.verify_token(result["AccessToken"], "access_token", "access")
    assert claims["device_key"] == meta["DeviceKey"]

    with pytest.raises(ClientError) as info:
        device_srp("not-the-device-password")
    assert info.value.response["Error"]["Code"] == "NotAuthorizedException"

    listed = client.list_devices(AccessToken=result["AccessToken"])["Devices"]
    assert [d["DeviceKey"] for d in listed] == [meta["DeviceKey"]]
    refreshed = client.initiate_auth(
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": result["RefreshToken"], "DEVICE_KEY": meta["DeviceKey"]},
    )
    assert refreshed["AuthenticationResult"]["AccessToken"]

    client.forget_device(AccessToken=result["AccessToken"], DeviceKey=meta["DeviceKey"])
    # pycognito has no stale-device retry: it surfaces the error as Cognito words it
    with pytest.raises(ClientError) as info:
        device_srp(device_password)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert info.value.response["Error"]["Message"] == "Device does not exist."
