"""DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER (docs/cognito-device-srp.md §5, steps 3-4).

DEVICE_SRP_AUTH is unlocked by the Session naming it or, for pycognito (which sends none), by
the single-use ticket the password or MFA step left for this pool, client, user, device and the
user-step A that pycognito re-uses. DEVICE_PASSWORD_VERIFIER is tied to its DEVICE_SRP_AUTH by a
ticket keyed by the device challenge id, so a device step never stands in for the password step.
A forgotten device anywhere in between is "Device does not exist." and gets no tokens.
"""

from __future__ import annotations

import dataclasses
import hashlib

from ..errors import AuthenticationError, InvalidTimestampError
from ..protocol import ChallengeContext, ClientResponse, Flow, VerifierRecord
from ..protocol.sealed import open_challenge
from ..srp.cognito import parse_client_public
from ..srp.encoding import pad_bytes, to_hex
from ..store.records import TicketRecord
from .config import PoolSettings
from .decision import Step
from .errors import (
    InvalidParameterDomainError,
    device_does_not_exist,
    incorrect_credentials,
    invalid_session,
)
from .flow import (
    AuthOutcome,
    ChallengeResult,
    LockTarget,
    RespondRequest,
    check_secret_hash,
    device_key_param,
    fail_proof,
    param,
    refuse_if_locked,
    user_names,
)
from .identity import find_user
from .lockout import user_key
from .runtime import Runtime
from .session import SessionState
from .steps import (
    TICKET_KIND,
    TIMESTAMP_MESSAGE,
    consume_step,
    device_state,
    device_ticket_id,
    finish_with_tokens,
    open_step,
    same_user,
)

__all__ = ["device_password_verifier", "device_srp_auth"]

_DPV_KIND = "device-pv"


def device_srp_auth(rt: Runtime, request: RespondRequest) -> AuthOutcome:
    """DEVICE_SRP_AUTH -> DEVICE_PASSWORD_VERIFIER (SRP_B, SALT, SECRET_BLOCK, DEVICE_KEY)."""
    client, pool = rt.client(request.client_id)
    values = request.responses
    device_key = device_key_param(values)
    a_text = param(values, "SRP_A")
    assert a_text is not None
    username = param(values, "USERNAME")
    if request.session is not None:
        state = open_step(rt, request, Step.DEVICE_SRP_AUTH, client)
        if state.device_key != device_key:
            raise incorrect_credentials()
        user = same_user(rt, pool, username, state.user_sub)
    else:
        user = same_user(rt, pool, username, _claimed_sub(rt, pool, username))
        a_tag = _user_a_tag(a_text)
        ticket = None
        if pool.device_ticket_enabled:
            ticket_id = device_ticket_id(pool, client, user.sub, device_key, a_tag)
            ticket = rt.store.take_ticket(ticket_id, kind=TICKET_KIND, now=rt.now())
        if ticket is None:
            raise invalid_session()
        state = SessionState(
            txn=str(ticket.payload["txn"]),
            step=Step.DEVICE_SRP_AUTH,
            pool_id=pool.pool_id,
            client_id=client.client_id,
            user_sub=user.sub,
            device_key=device_key,
            mfa_done=bool(ticket.payload.get("mfa_done")),
            auth_time=int(ticket.payload["auth_time"]),
            expires_at=rt.now_int() + pool.challenge_seconds,
            then=(Step.DEVICE_PASSWORD_VERIFIER, Step.TOKENS),
        )
    check_secret_hash(
        client, param(values, "SECRET_HASH", required=False), user_names(user, username)
    )
    consume_step(rt, state)
    _, device = device_state(rt, pool, user, device_key)
    if device is None or device.salt is None or device.verifier is None:
        raise device_does_not_exist()
    try:
        a_pub = parse_client_public(a_text)
    except ValueError:
        raise incorrect_credentials() from None
    record = VerifierRecord(device.group_key, device.device_key, device.salt, device.verifier)
    context = ChallengeContext(
        Flow.DEVICE_PASSWORD, pool.pool_id, client.client_id, user.sub, device.device_key
    )
    challenge_id = rt.random_bytes(16)
    try:
        challenge = rt.engine(pool).begin(
            record,
            context,
            a_pub,
            b=_nonzero(rt),
            now=rt.now_int(),
            challenge_id=challenge_id,
            nonce=rt.random_bytes(12),
        )
    except AuthenticationError:
        raise incorrect_credentials() from None
    rt.store.put_ticket(
        TicketRecord(
            ticket_id="devpv." + challenge_id.hex(),
            kind=_DPV_KIND,
            payload={"txn": state.txn, "auth_time": state.auth_time},
            expires_at=rt.now() + pool.challenge_seconds + 1,
        )
    )
    following = dataclasses.replace(
        state, step=Step.DEVICE_PASSWORD_VERIFIER, then=(Step.TOKENS,), extra=""
    )
    session = rt.sealer().seal(following, rt.random_bytes(12))
    parameters = {
        "DEVICE_KEY": device.device_key,
        "USERNAME": username or user.username,
        "SALT": challenge.salt.hex(),
        "SRP_B": to_hex(challenge.B),
        "SECRET_BLOCK": challenge.secret_block,
    }
    return AuthOutcome(
        challenge=ChallengeResult(Step.DEVICE_PASSWORD_VERIFIER, session, parameters)
    )


def device_password_verifier(rt: Runtime, request: RespondRequest) -> AuthOutcome:
    """The device proof -> tokens bound to the device (no NewDeviceMetadata)."""
    client, pool = rt.client(request.client_id)
    values = request.responses
    device_key = device_key_param(values)
    block = param(values, "PASSWORD_CLAIM_SECRET_BLOCK")
    timestamp = param(values, "TIMESTAMP")
    signature = param(values, "PASSWORD_CLAIM_SIGNATURE")
    assert device_key and block and timestamp and signature
    username = param(values, "USERNAME")
    user = find_user(rt, pool, username)
    if user is None:
        raise incorrect_credentials()
    check_secret_hash(
        client, param(values, "SECRET_HASH", required=False), user_names(user, username)
    )
    lock = LockTarget(known=True, key=user_key(pool.pool_id, user.sub))
    context = ChallengeContext(
        Flow.DEVICE_PASSWORD, pool.pool_id, client.client_id, user.sub, device_key
    )
    engine = rt.engine(pool)
    try:
        sealed_state = open_challenge(block, context, engine.ring)
    except AuthenticationError:
        raise incorrect_credentials() from None
    refuse_if_locked(rt, lock)
    ticket = rt.store.take_ticket(
        "devpv." + sealed_state.challenge_id.hex(), kind=_DPV_KIND, now=rt.now()
    )
    if ticket is None:
        raise incorrect_credentials()
    _, device = device_state(rt, pool, user, device_key)
    if device is None or device.salt is None or device.verifier is None:
        raise device_does_not_exist()
    record = VerifierRecord(device.group_key, device.device_key, device.salt, device.verifier)
    try:
        finished = engine.finish(
            record, context, ClientResponse(block, timestamp, signature), now=rt.now_int()
        )
    except InvalidTimestampError:
        raise InvalidParameterDomainError(TIMESTAMP_MESSAGE) from None
    except AuthenticationError:
        raise fail_proof(rt, lock) from None
    rt.store.touch_device(pool.pool_id, device.device_key, now=rt.now(), ip=request.source_ip)
    state = SessionState(
        txn=str(ticket.payload["txn"]),
        step=Step.TOKENS,
        pool_id=pool.pool_id,
        client_id=client.client_id,
        user_sub=user.sub,
        device_key=device.device_key,
        mfa_done=True,
        auth_time=int(ticket.payload["auth_time"]),
        expires_at=rt.now_int() + pool.challenge_seconds,
    )
    result = finish_with_tokens(rt, pool, client, user, state, source_ip=request.source_ip)
    return AuthOutcome(result=dataclasses.replace(result, server_proof=finished.server_proof))


def _nonzero(rt: Runtime) -> bytes:
    while True:
        value = rt.random_bytes(32)
        if any(value):
            return value


def _user_a_tag(a_text: str) -> str:
    try:
        a_pub = parse_client_public(a_text)
    except ValueError:
        return ""
    return hashlib.sha256(pad_bytes(a_pub)).hexdigest()[:32]


def _claimed_sub(rt: Runtime, pool: PoolSettings, name: str | None) -> str:
    user = find_user(rt, pool, name)
    if user is None:
        raise invalid_session()
    return user.sub
