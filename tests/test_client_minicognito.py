"""A tiny Cognito-shaped SRP server for the client's unit-level flow tests.

It is a real HTTP server on 127.0.0.1 (so boto3's whole stack runs: serialisation, the JSON 1.1
parser, headers), and its SRP answers are real computations by devicesrp's own server engine
(``devicesrp.protocol.ServerEngine`` through ``devicesrp.live``). It is NOT the service: it keeps
everything in memory, implements only what the client calls, and exists so the client's flow
logic is tested before (and beside) the end-to-end tests against ``devicesrp serve``
(tests/test_client_service.py). Hooks let a test tamper with answers (server proof, hostile
values) and read every request the client sent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devicesrp import live
from devicesrp.errors import AuthenticationError
from devicesrp.protocol import (
    ChallengeContext,
    ClientResponse,
    Flow,
    KeyRing,
    ServerEngine,
    VerifierRecord,
)
from devicesrp.srp import cognito
from devicesrp.srp.encoding import pad_hex, to_hex

REGION = "us-east-1"
POOL_ID = f"{REGION}_MiniPool1"
CLIENT_ID = "miniclient1"
TARGET = "AWSCognitoIdentityProviderService."


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def not_authorized() -> Refusal:
    return Refusal("NotAuthorizedException", "Incorrect username or password.")


def fake_jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.c2ln"


@dataclass
class MiniDevice:
    key: str
    group: str
    record: VerifierRecord | None = None
    remembered: bool = False
    name: str = ""


@dataclass
class MiniUser:
    username: str
    password: str
    sub: str = field(default_factory=lambda: str(uuid.uuid4()))
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    totp: bool = False
    #: None, "totp", "sms", "select" (choose SMS or TOTP) or "setup" (TOTP to be set up).
    mfa: str | None = None
    new_password_required: bool = False

    def record(self) -> VerifierRecord:
        salt_hex = pad_hex(int.from_bytes(self.salt, "big"))
        x = cognito.compute_x(salt_hex, POOL_ID.split("_")[1], self.username, self.password)
        return VerifierRecord.for_user(
            POOL_ID, self.username, bytes.fromhex(salt_hex), cognito.compute_verifier(x)
        )


@dataclass
class MiniCognito:
    """State and policy of one pool with one app client."""

    client_secret: str | None = None
    tracking: bool = True
    opt_in: bool = False
    device_replaces_mfa: bool = True
    proof_encoding: str = "base64"  # or "hex" or "none"
    users: dict[str, MiniUser] = field(default_factory=dict)
    devices: dict[str, MiniDevice] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: operation -> function(body, default_reply) -> reply: lets a test corrupt answers.
    tamper: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = field(
        default_factory=dict
    )
    proof_tamper: Callable[[bytes], bytes | None] | None = None
    #: Like ``devicesrp serve``: the proof header only on an answer that carries tokens.
    proof_with_tokens_only: bool = False

    def __post_init__(self) -> None:
        self.engine = ServerEngine(KeyRing([live.new_sealing_key(1)]))
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, tuple[str, str | None]] = {}
        self.lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------

    def add_user(self, username: str, password: str, **kwargs: Any) -> MiniUser:
        user = MiniUser(username, password, **kwargs)
        self.users[username] = user
        return user

    def sent(self, operation: str) -> list[dict[str, Any]]:
        return [body for op, body in self.requests if op == operation]

    def _check_secret_hash(self, params: dict[str, Any], username: str) -> None:
        if self.client_secret is None:
            return
        expected = cognito.secret_hash(self.client_secret, username, CLIENT_ID)
        if params.get("SECRET_HASH") != expected:
            raise Refusal("NotAuthorizedException", "Unable to verify secret hash for client")

    def _session(self, **state: Any) -> str:
        token = base64.urlsafe_b64encode(secrets.token_bytes(30)).decode()
        self.sessions[token] = state
        return token

    def _take_session(self, body: dict[str, Any], step: str) -> dict[str, Any]:
        state = self.sessions.pop(body.get("Session", ""), None)
        if state is None or state["next"] != step:
            raise Refusal("NotAuthorizedException", "Invalid session for the user.")
        return state

    def _proof_header(self, proof: bytes) -> dict[str, str]:
        if self.proof_tamper is not None:
            changed = self.proof_tamper(proof)
            if changed is None:
                return {}
            proof = changed
        if self.proof_encoding == "none":
            return {}
        text = proof.hex() if self.proof_encoding == "hex" else base64.b64encode(proof).decode()
        return {"x-devicesrp-server-proof": text}

    def _tokens(self, user: MiniUser, device_key: str | None, *, new_device: bool) -> Any:
        new_key = f"{REGION}_{uuid.uuid4()}" if new_device else None
        device_key = device_key or new_key  # Cognito binds a new device's tokens to it too
        claims = {"sub": user.sub, "username": user.username, "token_use": "access"}
        if device_key:
            claims["device_key"] = device_key
        refresh = secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = (user.username, device_key)
        result: dict[str, Any] = {
            "AccessToken": fake_jwt(claims),
            "IdToken": fake_jwt({"sub": user.sub, "token_use": "id"}),
            "RefreshToken": refresh,
            "ExpiresIn": 3600,
            "TokenType": "Bearer",
        }
        if new_key is not None:
            self.devices[new_key] = MiniDevice(new_key, "-" + secrets.token_hex(4))
            result["NewDeviceMetadata"] = {
                "DeviceKey": new_key,
                "DeviceGroupKey": self.devices[new_key].group,
            }
        return {"AuthenticationResult": result}

    def _user_of_access(self, token: str) -> tuple[MiniUser, dict[str, Any]]:
        try:
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return self.users[claims["username"]], claims
        except (KeyError, ValueError, IndexError):
            raise Refusal("NotAuthorizedException", "Invalid Access Token") from None

    # -- operations ------------------------------------------------------------------------

    def handle(self, op: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        with self.lock:
            self.requests.append((op, body))
            method = getattr(self, f"op_{op}", None)
            if method is None:
                raise Refusal("UnknownOperationException", op)
            reply, headers = method(body)
            if op in self.tamper:
                reply = self.tamper[op](body, reply)
            return reply, headers

    def op_InitiateAuth(self, body: dict[str, Any]) -> Any:
        params = body["AuthParameters"]
        if body["AuthFlow"] == "REFRESH_TOKEN_AUTH":
            username, device_key = self.refresh_tokens.get(params["REFRESH_TOKEN"], ("", None))
            if not username or params.get("DEVICE_KEY") != device_key:
                raise Refusal("NotAuthorizedException", "Invalid Refresh Token")
            self._check_secret_hash(params, username)
            reply = self._tokens(self.users[username], device_key, new_device=False)
            del reply["AuthenticationResult"]["RefreshToken"]
            return reply, {}
        user = self.users.get(params["USERNAME"])
        if user is None:
            raise not_authorized()
        self._check_secret_hash(params, user.username)
        A = cognito.parse_client_public(params["SRP_A"])
        context = ChallengeContext(Flow.USER_PASSWORD, POOL_ID, CLIENT_ID, user.sub)
        try:
            challenge = live.begin(self.engine, user.record(), context, A)
        except AuthenticationError:
            raise not_authorized() from None
        return {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": challenge.salt.hex(),
                "SRP_B": to_hex(challenge.B),
                "SECRET_BLOCK": challenge.secret_block,
                "USER_ID_FOR_SRP": user.username,
                "USERNAME": user.username,
            },
        }, {}

    def _finish(
        self, record: VerifierRecord, context: ChallengeContext, responses: dict[str, Any]
    ) -> bytes:
        answer = ClientResponse(
            responses["PASSWORD_CLAIM_SECRET_BLOCK"],
            responses["TIMESTAMP"],
            responses["PASSWORD_CLAIM_SIGNATURE"],
        )
        try:
            return live.finish(self.engine, record, context, answer).server_proof
        except AuthenticationError:
            raise not_authorized() from None

    def op_RespondToAuthChallenge(self, body: dict[str, Any]) -> Any:
        name = body["ChallengeName"]
        responses = body["ChallengeResponses"]
        user = self.users[responses["USERNAME"]]
        self._check_secret_hash(responses, user.username)
        if name == "PASSWORD_VERIFIER":
            context = ChallengeContext(Flow.USER_PASSWORD, POOL_ID, CLIENT_ID, user.sub)
            proof = self._finish(user.record(), context, responses)
            device_key = responses.get("DEVICE_KEY")
            device = self.devices.get(device_key) if device_key else None
            if device_key and (device is None or device.record is None):
                raise Refusal("ResourceNotFoundException", "Device does not exist.")
            reply = self._after_password(user, device)
            if self.proof_with_tokens_only and "AuthenticationResult" not in reply:
                return reply, {}
            return reply, self._proof_header(proof)
        if name == "DEVICE_SRP_AUTH":
            state = self._take_session(body, "DEVICE_SRP_AUTH")
            device = self.devices.get(responses["DEVICE_KEY"])
            if device is None or device.record is None:
                raise Refusal("ResourceNotFoundException", "Device does not exist.")
            if state["device"] != device.key:
                raise not_authorized()
            A = cognito.parse_client_public(responses["SRP_A"])
            context = ChallengeContext(
                Flow.DEVICE_PASSWORD, POOL_ID, CLIENT_ID, user.sub, device.key
            )
            challenge = live.begin(self.engine, device.record, context, A)
            return {
                "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
                "Session": self._session(next="DEVICE_PASSWORD_VERIFIER", device=device.key),
                "ChallengeParameters": {
                    "SALT": challenge.salt.hex(),
                    "SRP_B": to_hex(challenge.B),
                    "SECRET_BLOCK": challenge.secret_block,
                    "USERNAME": user.username,
                    "DEVICE_KEY": device.key,
                },
            }, {}
        if name == "DEVICE_PASSWORD_VERIFIER":
            state = self._take_session(body, "DEVICE_PASSWORD_VERIFIER")
            device = self.devices.get(state["device"])
            if device is None or device.record is None:
                raise Refusal("ResourceNotFoundException", "Device does not exist.")
            context = ChallengeContext(
                Flow.DEVICE_PASSWORD, POOL_ID, CLIENT_ID, user.sub, device.key
            )
            proof = self._finish(device.record, context, responses)
            return self._tokens(user, device.key, new_device=False), self._proof_header(proof)
        if name == "SOFTWARE_TOKEN_MFA":
            state = self._take_session(body, "SOFTWARE_TOKEN_MFA")
            if responses.get("SOFTWARE_TOKEN_MFA_CODE") != "123456":
                raise Refusal("CodeMismatchException", "Invalid code received for user")
            return self._after_mfa(user, state.get("device")), {}
        if name == "SMS_MFA":
            state = self._take_session(body, "SMS_MFA")
            if responses.get("SMS_MFA_CODE") != "654321":
                raise Refusal("CodeMismatchException", "Invalid code received for user")
            return self._after_mfa(user, state.get("device")), {}
        if name == "SELECT_MFA_TYPE":
            state = self._take_session(body, "SELECT_MFA_TYPE")
            answer = responses.get("ANSWER")
            if answer not in ("SMS_MFA", "SOFTWARE_TOKEN_MFA"):
                raise Refusal("InvalidParameterException", "bad ANSWER")
            return {
                "ChallengeName": answer,
                "Session": self._session(next=answer, device=state.get("device")),
                "ChallengeParameters": {"USER_ID_FOR_SRP": user.username},
            }, {}
        if name == "MFA_SETUP":
            state = self._take_session(body, "MFA_SETUP_DONE")
            user.mfa, user.totp = None, True
            return self._after_mfa(user, state.get("device")), {}
        if name == "NEW_PASSWORD_REQUIRED":
            self._take_session(body, "NEW_PASSWORD_REQUIRED")
            user.password = responses["NEW_PASSWORD"]
            user.new_password_required = False
            return self._tokens(user, None, new_device=self.tracking), {}
        raise Refusal("InvalidParameterException", f"unsupported challenge {name}")

    def _after_password(self, user: MiniUser, device: MiniDevice | None) -> dict[str, Any]:
        if user.new_password_required:
            return {
                "ChallengeName": "NEW_PASSWORD_REQUIRED",
                "Session": self._session(next="NEW_PASSWORD_REQUIRED"),
                "ChallengeParameters": {
                    "USER_ID_FOR_SRP": user.username,
                    "userAttributes": json.dumps({"email": "x@example.com"}),
                    "requiredAttributes": json.dumps([]),
                },
            }
        skip_mfa = device is not None and device.remembered and self.device_replaces_mfa
        key = device.key if device else None
        mfa = "totp" if user.totp else user.mfa
        if mfa is None or skip_mfa:
            return self._after_mfa(user, key)
        name, params = {
            "totp": ("SOFTWARE_TOKEN_MFA", {}),
            "sms": ("SMS_MFA", {"CODE_DELIVERY_DESTINATION": "+*******1234"}),
            "select": ("SELECT_MFA_TYPE", {"MFAS_CAN_CHOOSE": '["SMS_MFA","SOFTWARE_TOKEN_MFA"]'}),
            "setup": ("MFA_SETUP", {"MFAS_CAN_SETUP": '["SOFTWARE_TOKEN_MFA"]'}),
        }[mfa]
        return {
            "ChallengeName": name,
            "Session": self._session(next=name, device=key),
            "ChallengeParameters": {"USER_ID_FOR_SRP": user.username, **params},
        }

    def _after_mfa(self, user: MiniUser, device_key: str | None) -> dict[str, Any]:
        if device_key is not None and self.tracking:
            return {
                "ChallengeName": "DEVICE_SRP_AUTH",
                "Session": self._session(next="DEVICE_SRP_AUTH", device=device_key),
                "ChallengeParameters": {},
            }
        return self._tokens(user, None, new_device=self.tracking)

    def op_AssociateSoftwareToken(self, body: dict[str, Any]) -> Any:
        state = self._take_session(body, "MFA_SETUP")
        return {
            "SecretCode": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
            "Session": self._session(next="VERIFY", device=state.get("device")),
        }, {}

    def op_VerifySoftwareToken(self, body: dict[str, Any]) -> Any:
        state = self._take_session(body, "VERIFY")
        if body.get("UserCode") != "123456":
            raise Refusal("EnableSoftwareTokenMFAException", "Code mismatch")
        return {
            "Status": "SUCCESS",
            "Session": self._session(next="MFA_SETUP_DONE", device=state.get("device")),
        }, {}

    def op_ConfirmDevice(self, body: dict[str, Any]) -> Any:
        self._user_of_access(body["AccessToken"])
        device = self.devices.get(body["DeviceKey"])
        if device is None:
            raise Refusal("ResourceNotFoundException", "Device does not exist.")
        config = body["DeviceSecretVerifierConfig"]
        verifier = cognito.DeviceVerifier(
            base64.b64decode(config["Salt"]), base64.b64decode(config["PasswordVerifier"])
        )
        device.record = VerifierRecord.for_device(device.group, device.key, verifier)
        device.name = body.get("DeviceName", "")
        device.remembered = not self.opt_in
        return {"UserConfirmationNecessary": self.opt_in}, {}

    def op_UpdateDeviceStatus(self, body: dict[str, Any]) -> Any:
        self._user_of_access(body["AccessToken"])
        device = self.devices[body["DeviceKey"]]
        device.remembered = body["DeviceRememberedStatus"] == "remembered"
        return {}, {}

    def _device_type(self, device: MiniDevice) -> dict[str, Any]:
        status = "remembered" if device.remembered else "not_remembered"
        return {
            "DeviceKey": device.key,
            "DeviceAttributes": [
                {"Name": "device_name", "Value": device.name},
                {"Name": "dev:device_remembered_status", "Value": status},
            ],
            "DeviceCreateDate": 1_700_000_000,
            "DeviceLastModifiedDate": 1_700_000_100,
        }

    def op_ListDevices(self, body: dict[str, Any]) -> Any:
        self._user_of_access(body["AccessToken"])
        confirmed = sorted(
            (d for d in self.devices.values() if d.record is not None), key=lambda d: d.key
        )
        start = int(body.get("PaginationToken", "0"))
        page = confirmed[start : start + body.get("Limit", 60)]
        reply: dict[str, Any] = {"Devices": [self._device_type(d) for d in page]}
        if start + len(page) < len(confirmed):
            reply["PaginationToken"] = str(start + len(page))
        return reply, {}

    def op_GetDevice(self, body: dict[str, Any]) -> Any:
        self._user_of_access(body["AccessToken"])
        device = self.devices.get(body["DeviceKey"])
        if device is None or device.record is None:
            raise Refusal("ResourceNotFoundException", "Device does not exist.")
        return {"Device": self._device_type(device)}, {}

    def op_ForgetDevice(self, body: dict[str, Any]) -> Any:
        self._user_of_access(body["AccessToken"])
        if self.devices.pop(body["DeviceKey"], None) is None:
            raise Refusal("ResourceNotFoundException", "Device does not exist.")
        return {}, {}

    def op_RevokeToken(self, body: dict[str, Any]) -> Any:
        if self.refresh_tokens.pop(body["Token"], None) is None:
            raise Refusal("UnsupportedTokenTypeException", "Invalid token")
        return {}, {}


def _handler(service: MiniCognito) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            op = self.headers.get("X-Amz-Target", "").removeprefix(TARGET)
            try:
                reply, headers = service.handle(op, body)
                status = 200
            except Refusal as exc:
                reply, headers, status = {"__type": exc.code, "message": exc.message}, {}, 400
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextlib.contextmanager
def serving(service: MiniCognito) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_mini_server_refuses_a_wrong_password() -> None:
    """The fake must be able to say no, or the flow tests built on it prove nothing."""
    from devicesrp.client import Client, MemoryDeviceStore
    from devicesrp.errors import ServiceError

    service = MiniCognito()
    service.add_user("alice", "right password")
    with serving(service) as url:
        client = Client(POOL_ID, CLIENT_ID, store=MemoryDeviceStore(), endpoint_url=url)
        with pytest.raises(ServiceError) as caught:
            client.sign_in("alice", "wrong password")
        assert caught.value.code == "NotAuthorizedException"
        assert client.sign_in("alice", "right password").tokens.access_token
