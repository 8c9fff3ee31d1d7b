"""The remembered-device flow over raw boto3 calls, with devicesrp's protocol client for the math
(it also checks the ``x-devicesrp-server-proof`` header). Each helper returns what the wire said."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devicesrp import live
from devicesrp.protocol.client import ClientHandshake
from devicesrp.protocol.values import Challenge, DeviceCredentials, UserCredentials

PROOF_HEADER = "x-devicesrp-server-proof"


@dataclass
class Device:
    key: str
    group: str
    password: str = field(repr=False)


@dataclass
class Totp:
    """RFC 6238 codes (HMAC-SHA-1, 6 digits, 30 s). The server takes steps now-1..now+1 but each
    step once, so every code uses a later step than the last; when none is left, wait."""

    secret: str
    last_step: int = 0

    def code(self) -> str:
        while True:
            t = time.time()
            now = int(t // 30)
            # now-1 only well inside the step, so the server's clock is still at `now`
            step = max(self.last_step + 1, now - 1 if t % 30 < 25 else now)
            if step <= now + 1:
                break
            time.sleep(30 - t % 30 + 0.1)
        self.last_step = step
        key = base64.b32decode(self.secret + "=" * (-len(self.secret) % 8))
        mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
        off = mac[-1] & 0x0F
        return f"{(struct.unpack('>I', mac[off : off + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def _challenge(params: dict[str, str], identity: str) -> Challenge:
    salt = params["SALT"]
    return Challenge(
        identity=identity,
        salt=bytes.fromhex(salt if len(salt) % 2 == 0 else "0" + salt),
        B=int(params["SRP_B"], 16),
        secret_block=params["SECRET_BLOCK"],
    )


def _proof(response: dict[str, Any]) -> bytes | None:
    value = response["ResponseMetadata"]["HTTPHeaders"].get(PROOF_HEADER)
    return base64.b64decode(value) if value else None


@dataclass
class SignIn:
    """One sign-in: the challenges seen in order and the final response."""

    challenges: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    server_proof_checked: bool = False
    offered: list[str] = field(default_factory=list)  # SELECT_MFA_TYPE's MFAS_CAN_CHOOSE

    @property
    def tokens(self) -> dict[str, Any]:
        tokens: dict[str, Any] = self.result["AuthenticationResult"]
        return tokens


def sign_in(
    cognito: Any,
    pool_id: str,
    client_id: str,
    username: str,
    password: str,
    *,
    device: Device | None = None,
    device_in_initiate: bool = True,
    totp: Totp | None = None,
    sms_code: Callable[[], str] | None = None,
    new_password: str | None = None,
    select_mfa: str | None = None,
) -> SignIn:
    """USER_SRP_AUTH -> PASSWORD_VERIFIER -> [SELECT_MFA_TYPE] -> [SOFTWARE_TOKEN_MFA] ->
    [device SRP] -> tokens."""
    out = SignIn()
    user = ClientHandshake(UserCredentials(pool_id, password))
    params = {"USERNAME": username, "SRP_A": format(live.start(user), "x")}
    if device is not None and device_in_initiate:
        params["DEVICE_KEY"] = device.key
    resp = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=params
    )
    out.challenges.append(resp["ChallengeName"])
    cp = resp["ChallengeParameters"]
    claim = live.respond(user, _challenge(cp, cp["USER_ID_FOR_SRP"]))
    answer = {
        "USERNAME": cp["USERNAME"],
        "PASSWORD_CLAIM_SECRET_BLOCK": claim.secret_block,
        "TIMESTAMP": claim.timestamp,
        "PASSWORD_CLAIM_SIGNATURE": claim.signature,
    }
    if device is not None:
        answer["DEVICE_KEY"] = device.key
    resp = cognito.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer
    )
    proof = _proof(resp) if "AuthenticationResult" in resp else None
    user.finish(proof)  # a proof that is present must verify (AuthenticationError otherwise)
    out.server_proof_checked = proof is not None
    username = cp["USERNAME"]
    while "ChallengeName" in resp:
        name = resp["ChallengeName"]
        out.challenges.append(name)
        if name == "SOFTWARE_TOKEN_MFA":
            assert totp is not None, "the server asked for TOTP"
            resp = cognito.respond_to_auth_challenge(
                ClientId=client_id,
                ChallengeName=name,
                Session=resp["Session"],
                ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": totp.code()},
            )
        elif name == "NEW_PASSWORD_REQUIRED":
            assert new_password is not None, "the server asked for a new password"
            resp = cognito.respond_to_auth_challenge(
                ClientId=client_id,
                ChallengeName=name,
                Session=resp["Session"],
                ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": new_password},
            )
        elif name == "SELECT_MFA_TYPE":
            assert select_mfa is not None, "the server asked to choose a factor"
            out.offered = json.loads(resp["ChallengeParameters"]["MFAS_CAN_CHOOSE"])
            resp = cognito.respond_to_auth_challenge(
                ClientId=client_id,
                ChallengeName=name,
                Session=resp["Session"],
                ChallengeResponses={"USERNAME": username, "ANSWER": select_mfa},
            )
        elif name == "SMS_MFA":
            assert sms_code is not None, "the server asked for an SMS code"
            resp = cognito.respond_to_auth_challenge(
                ClientId=client_id,
                ChallengeName=name,
                Session=resp["Session"],
                ChallengeResponses={"USERNAME": username, "SMS_MFA_CODE": sms_code()},
            )
        elif name == "DEVICE_SRP_AUTH":
            assert device is not None, "the server asked for a device"
            resp = device_steps(cognito, client_id, username, device, resp["Session"], out)
        else:
            raise AssertionError(f"unexpected challenge {name}")
    out.result = resp
    return out


def device_steps(
    cognito: Any, client_id: str, username: str, device: Device, session: str, out: SignIn
) -> dict[str, Any]:
    """DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER; the server proof is demanded and checked."""
    hs = ClientHandshake(
        DeviceCredentials(device.group, device.key, device.password), require_server_proof=True
    )
    resp = cognito.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="DEVICE_SRP_AUTH",
        Session=session,
        ChallengeResponses={
            "USERNAME": username,
            "DEVICE_KEY": device.key,
            "SRP_A": format(live.start(hs), "x"),
        },
    )
    out.challenges.append(resp["ChallengeName"])
    cp = resp["ChallengeParameters"]
    claim = live.respond(hs, _challenge(cp, device.key))
    resp = cognito.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="DEVICE_PASSWORD_VERIFIER",
        Session=resp["Session"],
        ChallengeResponses={
            "USERNAME": cp["USERNAME"],
            "DEVICE_KEY": device.key,
            "PASSWORD_CLAIM_SECRET_BLOCK": claim.secret_block,
            "TIMESTAMP": claim.timestamp,
            "PASSWORD_CLAIM_SIGNATURE": claim.signature,
        },
    )
    hs.finish(_proof(resp))  # raises AuthenticationError on a missing or wrong proof
    out.server_proof_checked = True
    result: dict[str, Any] = resp
    return result


def confirm_new_device(
    cognito: Any, tokens: dict[str, Any], name: str = "raw-boto3"
) -> tuple[Device, bool]:
    """ConfirmDevice for the NewDeviceMetadata in ``tokens``; returns (device, confirmation
    necessary)."""
    meta = tokens["NewDeviceMetadata"]
    password, verifier = live.new_device_secret(meta["DeviceGroupKey"], meta["DeviceKey"])
    resp = cognito.confirm_device(
        AccessToken=tokens["AccessToken"],
        DeviceKey=meta["DeviceKey"],
        DeviceName=name,
        DeviceSecretVerifierConfig={
            "Salt": base64.b64encode(verifier.salt).decode(),
            "PasswordVerifier": base64.b64encode(verifier.password_verifier).decode(),
        },
    )
    device = Device(meta["DeviceKey"], meta["DeviceGroupKey"], password)
    return device, bool(resp["UserConfirmationNecessary"])


def enroll_totp(cognito: Any, access_token: str) -> Totp:
    """AssociateSoftwareToken + VerifySoftwareToken + SetUserMFAPreference(preferred)."""
    secret = cognito.associate_software_token(AccessToken=access_token)["SecretCode"]
    totp = Totp(secret)
    status = cognito.verify_software_token(AccessToken=access_token, UserCode=totp.code())
    assert status["Status"] == "SUCCESS"
    cognito.set_user_mfa_preference(
        AccessToken=access_token,
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    return totp
