"""One USER_SRP_AUTH sign-in over a boto3 ``cognito-idp`` client, step by step.

    InitiateAuth(USERNAME, SRP_A[, DEVICE_KEY][, SECRET_HASH]) -> PASSWORD_VERIFIER
    RespondToAuthChallenge(PASSWORD_VERIFIER: block, TIMESTAMP, signature[, DEVICE_KEY])
      -> [SMS_MFA | SOFTWARE_TOKEN_MFA | SELECT_MFA_TYPE | MFA_SETUP | NEW_PASSWORD_REQUIRED]*
      -> [DEVICE_SRP_AUTH(fresh a) -> DEVICE_PASSWORD_VERIFIER] -> AuthenticationResult
    (cognito-device-srp.md §5-6)

The SRP math and its checks (B, u, TIMESTAMP in English UTC, the server proof) are the sans-IO
``ClientHandshake``; ``devicesrp.live`` draws ``a`` and reads the clock. Each SRP step gets its
own handshake and its own fresh ``a`` (pycognito re-uses the user step's A; we do not).

Server proof (devicesrp's ``x-devicesrp-server-proof``): a proof that is sent is checked by
``ClientHandshake.finish`` on the answer to its step, before anything else is sent, so no MFA
code or device proof goes to a server that failed it. With ``require_server_proof`` the LAST SRP
step of the sign-in (the one whose proof vouches for the tokens that follow) must carry a valid
proof, else no tokens. An earlier step answered by a further challenge may lack one, because
``devicesrp serve`` attaches the proof only to an AuthenticationResult; a password step that
leads to DEVICE_SRP_AUTH is then vouched for by the device step's proof, and a password step
followed only by MFA is refused.
Every step echoes ``Session`` and, when the app client has a secret, a SECRET_HASH over the
USERNAME sent in that step.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import live
from ..errors import (
    AuthenticationError,
    ChallengeNotHandledError,
    DeviceNotFoundError,
    RemoteProtocolError,
)
from ..protocol import (
    Challenge,
    ClientHandshake,
    ClientResponse,
    DeviceCredentials,
    UserCredentials,
)
from ..srp.cognito import DEFAULT_SECRET_BYTES, DeviceVerifier, device_verifier, secret_hash
from ..srp.encoding import to_hex
from .callbacks import Callbacks
from .responses import (
    AuthStep,
    NewDevice,
    Tokens,
    parse_auth_step,
    parse_device_challenge,
    parse_password_challenge,
    parse_server_proof,
    parse_session,
)
from .store import DeviceSecrets

__all__ = ["MAX_CHALLENGE_STEPS", "SignInOutcome", "Sources", "run_sign_in"]

#: A sign-in that needs more round trips than this is a server going in circles.
MAX_CHALLENGE_STEPS = 10
_MAX_CODE_CHARS = 64

Call = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True)
class Sources:
    """Where ``a``, the device secret and ``now`` come from.

    By default ``devicesrp.live`` (``secrets`` and the system clock). The deterministic twin
    takes ``entropy(nbytes) -> bytes`` and ``clock() -> epoch seconds``, so the known-answer
    vectors can drive a whole sign-in; ``entropy`` then supplies ``a`` (32 bytes asked), the
    device password bytes (40) and the device salt (16), in that order of use.
    """

    entropy: Callable[[int], bytes] | None = None
    clock: Callable[[], int] | None = None

    def start(self, handshake: ClientHandshake) -> int:
        if self.entropy is None:
            return live.start(handshake)
        return handshake.start(self.entropy(DEFAULT_SECRET_BYTES))

    def respond(self, handshake: ClientHandshake, challenge: Challenge) -> ClientResponse:
        if self.clock is None:
            return live.respond(handshake, challenge)
        return handshake.respond(challenge, now=self.clock())

    def device_secret(self, group_key: str, device_key: str) -> tuple[str, DeviceVerifier]:
        """(device password, verifier): base64 of 40 random bytes over a 16-byte salt (§4)."""
        if self.entropy is None:
            return live.new_device_secret(group_key, device_key)
        password = base64.b64encode(self.entropy(live.DEVICE_PASSWORD_BYTES)).decode("ascii")
        salt = self.entropy(live.DEVICE_SALT_BYTES)
        return password, device_verifier(group_key, device_key, password, salt)


@dataclass(frozen=True)
class SignInOutcome:
    """What the password (and device) steps produced, before any device confirmation."""

    tokens: Tokens
    new_device: NewDevice | None
    user_id_for_srp: str
    device_authenticated: bool
    server_proofs: int
    device_key: str | None


@dataclass
class _Context:
    call: Call
    user_pool_id: str
    client_id: str
    client_secret: str | None
    require_server_proof: bool
    device_name: str
    callbacks: Callbacks
    sources: Sources

    def hashed(self, params: dict[str, str], username: str) -> dict[str, str]:
        if self.client_secret is not None:
            params["SECRET_HASH"] = secret_hash(self.client_secret, username, self.client_id)
        return params

    def respond(
        self, challenge: str, responses: dict[str, str], session: str | None, username: str
    ) -> Mapping[str, Any]:
        kwargs: dict[str, Any] = {
            "ClientId": self.client_id,
            "ChallengeName": challenge,
            "ChallengeResponses": self.hashed(responses, username),
        }
        if session is not None:
            kwargs["Session"] = session
        return self.call("respond_to_auth_challenge", **kwargs)


def _claim(answer: ClientResponse) -> dict[str, str]:
    return {
        "PASSWORD_CLAIM_SECRET_BLOCK": answer.secret_block,
        "TIMESTAMP": answer.timestamp,
        "PASSWORD_CLAIM_SIGNATURE": answer.signature,
    }


def run_sign_in(
    call: Call,
    *,
    user_pool_id: str,
    client_id: str,
    client_secret: str | None,
    username: str,
    password: str,
    device: DeviceSecrets | None,
    require_server_proof: bool,
    device_name: str,
    callbacks: Callbacks,
    sources: Sources,
    on_stale_device: Callable[[DeviceSecrets], None],
) -> SignInOutcome:
    """Run the whole challenge sequence; raises ServiceError, AuthenticationError,
    RemoteProtocolError or ChallengeNotHandledError, and returns tokens only when every server
    proof that was sent (or required) verified."""
    ctx = _Context(
        call,
        user_pool_id,
        client_id,
        client_secret,
        require_server_proof,
        device_name,
        callbacks,
        sources,
    )
    # The requirement is enforced below (last SRP step); the engine checks any proof sent.
    user = ClientHandshake(UserCredentials(user_pool_id, password))
    params = {"USERNAME": username, "SRP_A": to_hex(sources.start(user))}
    if device is not None:
        params["DEVICE_KEY"] = device.device_key
    first = parse_auth_step(
        ctx.call(
            "initiate_auth",
            AuthFlow="USER_SRP_AUTH",
            ClientId=client_id,
            AuthParameters=ctx.hashed(params, username),
        )
    )
    if first.challenge != "PASSWORD_VERIFIER":
        raise RemoteProtocolError("ChallengeName", "InitiateAuth must answer PASSWORD_VERIFIER")
    challenge, echo_name = parse_password_challenge(first.parameters)
    answer = sources.respond(user, challenge)
    responses = {"USERNAME": echo_name, **_claim(answer)}
    if device is not None:
        responses["DEVICE_KEY"] = device.device_key
    try:
        raw = ctx.respond("PASSWORD_VERIFIER", responses, first.session, echo_name)
    except DeviceNotFoundError:
        if device is None:
            raise
        # The password proof was good but the service forgot the device: answer the same
        # challenge once more without it (the identical claim, as amazon-cognito-identity-js
        # does; the signature does not cover DEVICE_KEY), after the caller drops the device.
        on_stale_device(device)
        device = None
        del responses["DEVICE_KEY"]
        raw = ctx.respond("PASSWORD_VERIFIER", responses, first.session, echo_name)
    proof = parse_server_proof(raw)
    user.finish(proof)
    proofs = last_proven = int(proof is not None)
    step = parse_auth_step(raw)
    device_done = False
    for _ in range(MAX_CHALLENGE_STEPS):
        if step.tokens is not None:
            if require_server_proof and not last_proven:
                raise AuthenticationError()
            return SignInOutcome(
                step.tokens,
                step.new_device,
                echo_name,
                device_done,
                proofs,
                device.device_key if device is not None else None,
            )
        name = step.challenge
        if name == "DEVICE_SRP_AUTH" and device is not None and not device_done:
            step, last_proven = _device_steps(ctx, step, device, echo_name)
            proofs += last_proven
            device_done = True
        elif name == "DEVICE_SRP_AUTH":
            reason = "a second device step" if device_done else "no stored device to answer it"
            raise RemoteProtocolError("ChallengeName", f"unexpected DEVICE_SRP_AUTH: {reason}")
        else:
            step = _interactive_step(ctx, step, echo_name)
    raise RemoteProtocolError("ChallengeName", f"more than {MAX_CHALLENGE_STEPS} challenges")


def _device_steps(
    ctx: _Context, step: AuthStep, device: DeviceSecrets, echo_name: str
) -> tuple[AuthStep, int]:
    """DEVICE_SRP_AUTH with a fresh a, then DEVICE_PASSWORD_VERIFIER; returns the next step."""
    handshake = ClientHandshake(
        DeviceCredentials(device.device_group_key, device.device_key, device.device_password)
    )
    start = {
        "USERNAME": echo_name,
        "DEVICE_KEY": device.device_key,
        "SRP_A": to_hex(ctx.sources.start(handshake)),
    }
    verifier = parse_auth_step(ctx.respond("DEVICE_SRP_AUTH", start, step.session, echo_name))
    if verifier.challenge != "DEVICE_PASSWORD_VERIFIER":
        raise RemoteProtocolError("ChallengeName", "DEVICE_SRP_AUTH must answer the verifier")
    challenge = parse_device_challenge(verifier.parameters, device.device_key)
    answer = ctx.sources.respond(handshake, challenge)
    responses = {"USERNAME": echo_name, "DEVICE_KEY": device.device_key, **_claim(answer)}
    raw = ctx.respond("DEVICE_PASSWORD_VERIFIER", responses, verifier.session, echo_name)
    proof = parse_server_proof(raw)
    handshake.finish(proof)
    return parse_auth_step(raw), int(proof is not None)


def _code(challenge: str, value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_CODE_CHARS:
        raise ChallengeNotHandledError(challenge, "the callback must return a non-empty code")
    return value


def _need(challenge: str, callback: Callable[..., Any] | None) -> Callable[..., Any]:
    if callback is None:
        raise ChallengeNotHandledError(challenge, "no callback answers this challenge")
    return callback


def _json(name: str, text: str | None, kind: type) -> Any:
    if text is None:
        return kind()
    try:
        value = json.loads(text)
    except ValueError:
        raise RemoteProtocolError(name, "is not JSON") from None
    if not isinstance(value, kind):
        raise RemoteProtocolError(name, f"must be a JSON {kind.__name__}")
    return value


def _options(name: str, text: str | None) -> list[str]:
    options = _json(name, text, list)
    if not options or not all(isinstance(o, str) for o in options):
        raise RemoteProtocolError(name, "must be a non-empty list of names")
    return list(options)


def _interactive_step(ctx: _Context, step: AuthStep, echo_name: str) -> AuthStep:
    """Answer one MFA / new-password challenge through the caller's callbacks."""
    name = step.challenge or ""
    params = step.parameters
    cb = ctx.callbacks
    responses = {"USERNAME": echo_name}
    session = step.session
    if name == "SMS_MFA":
        sms = _need(name, cb.sms_code)
        responses["SMS_MFA_CODE"] = _code(name, sms(params.get("CODE_DELIVERY_DESTINATION")))
    elif name == "SOFTWARE_TOKEN_MFA":
        responses["SOFTWARE_TOKEN_MFA_CODE"] = _code(name, _need(name, cb.totp_code)())
    elif name == "SELECT_MFA_TYPE":
        options = _options("MFAS_CAN_CHOOSE", params.get("MFAS_CAN_CHOOSE"))
        choice = _need(name, cb.select_mfa)(tuple(options))
        if choice not in options:
            raise ChallengeNotHandledError(name, "the callback chose an option not offered")
        responses["ANSWER"] = choice
    elif name == "MFA_SETUP":
        session = _totp_setup(ctx, params, session)
    elif name == "NEW_PASSWORD_REQUIRED":
        attributes = _json("userAttributes", params.get("userAttributes"), dict)
        required = _json("requiredAttributes", params.get("requiredAttributes"), list)
        answer = _need(name, cb.new_password)(
            {k: v for k, v in attributes.items() if isinstance(v, str)},
            tuple(r for r in required if isinstance(r, str)),
        )
        responses["NEW_PASSWORD"] = answer.password
        for attr, value in answer.attributes.items():
            responses[f"userAttributes.{attr}"] = value
    else:
        raise ChallengeNotHandledError(name, "this client cannot answer it")
    return parse_auth_step(ctx.respond(name, responses, session, echo_name))


def _present(**kwargs: str | None) -> dict[str, str]:
    """boto3 refuses None for an optional member: leave absent values out."""
    return {k: v for k, v in kwargs.items() if v is not None}


def _totp_setup(ctx: _Context, params: Mapping[str, str], session: str | None) -> str | None:
    """MFA_SETUP: AssociateSoftwareToken -> the user's first code -> VerifySoftwareToken."""
    name = "MFA_SETUP"
    options = _options("MFAS_CAN_SETUP", params.get("MFAS_CAN_SETUP"))
    if "SOFTWARE_TOKEN_MFA" not in options:
        raise ChallengeNotHandledError(name, "only TOTP setup is supported")
    setup = _need(name, ctx.callbacks.totp_setup)
    assoc = ctx.call("associate_software_token", **_present(Session=session))
    secret = assoc.get("SecretCode")
    if not isinstance(secret, str) or not 16 <= len(secret) <= 128 or not secret.isalnum():
        raise RemoteProtocolError("SecretCode", "must be a base32 secret")
    code = _code(name, setup(secret))
    verified = ctx.call(
        "verify_software_token",
        **_present(Session=parse_session(assoc.get("Session"))),
        UserCode=code,
        FriendlyDeviceName=ctx.device_name,
    )
    if verified.get("Status") != "SUCCESS":
        raise RemoteProtocolError("Status", "VerifySoftwareToken did not succeed")
    return parse_session(verified.get("Session"))
