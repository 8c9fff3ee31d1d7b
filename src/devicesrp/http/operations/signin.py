"""Sign-in and token operations: InitiateAuth, RespondToAuthChallenge, GetTokensFromRefreshToken,
RevokeToken, GlobalSignOut."""

from __future__ import annotations

from ...server.flow import InitiateAuthRequest, RespondRequest
from ...server.provider import IdentityProvider
from ..dispatch import Call, Operation, Reply
from .shapes import auth_outcome, authentication_result, proof_headers

CLIENT_ID = r"[\w+]+"
MAX_TOKEN = 8192
# SRP_A is at most 770 hex digits; TOTP codes, secret blocks and signatures are far shorter.
MAX_AUTH_VALUE = 4096


def operations(idp: IdentityProvider) -> list[Operation]:
    def initiate_auth(call: Call) -> Reply:
        p = call.params
        request = InitiateAuthRequest(
            client_id=p.req_str("ClientId", max_len=128, pattern=CLIENT_ID),
            auth_flow=p.req_str("AuthFlow", max_len=64),
            parameters=p.nullable_map("AuthParameters", max_value=MAX_TOKEN),
            source_ip=call.source_ip,
        )
        return auth_outcome(idp.initiate_auth(request))

    def respond(call: Call) -> Reply:
        p = call.params
        request = RespondRequest(
            client_id=p.req_str("ClientId", max_len=128, pattern=CLIENT_ID),
            challenge_name=p.req_str("ChallengeName", max_len=64),
            responses=p.nullable_map("ChallengeResponses", max_value=MAX_AUTH_VALUE),
            session=p.opt_str("Session", min_len=20, max_len=2048),
            source_ip=call.source_ip,
        )
        return auth_outcome(idp.respond_to_auth_challenge(request))

    def refresh(call: Call) -> Reply:
        p = call.params
        result = idp.get_tokens_from_refresh_token(
            p.req_str("ClientId", max_len=128, pattern=CLIENT_ID),
            p.req_str("RefreshToken", max_len=MAX_TOKEN),
            client_secret=p.opt_str("ClientSecret", max_len=128),
            device_key=p.opt_str("DeviceKey", max_len=55),
        )
        return Reply({"AuthenticationResult": authentication_result(result)}, proof_headers(result))

    def revoke(call: Call) -> Reply:
        p = call.params
        idp.revoke_token(
            p.req_str("ClientId", max_len=128, pattern=CLIENT_ID),
            p.req_str("Token", max_len=MAX_TOKEN),
            client_secret=p.opt_str("ClientSecret", max_len=128),
        )
        return Reply({})

    def global_sign_out(call: Call) -> Reply:
        idp.global_sign_out(call.params.req_str("AccessToken", max_len=MAX_TOKEN))
        return Reply({})

    return [
        Operation("InitiateAuth", initiate_auth, signin=True),
        Operation("RespondToAuthChallenge", respond, signin=True),
        Operation("GetTokensFromRefreshToken", refresh, signin=True),
        Operation("RevokeToken", revoke),
        Operation("GlobalSignOut", global_sign_out),
    ]
