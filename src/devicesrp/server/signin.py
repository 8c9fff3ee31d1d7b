"""InitiateAuth and the PASSWORD_VERIFIER step (docs/cognito-device-srp.md §5, steps 1-2).

The user step: InitiateAuth(USERNAME, SRP_A) -> PASSWORD_VERIFIER with SALT, SRP_B, SECRET_BLOCK,
USER_ID_FOR_SRP = USERNAME; then the proof. The sealed SECRET_BLOCK is the pending challenge; its
challenge id is consumed once in the store (concurrent replays: exactly one wins). A valid proof
with an unknown device gets "Device does not exist." and leaves one deviceless answer to the same
challenge open (a ticket keyed by the challenge id). Replays are refused without counting as
failed attempts (a replay says nothing about the password); evaluated wrong proofs count, and the
counter resets only when the whole sign-in succeeds (tokens issued), so device-proof failures
after a right password add up with password failures.

USER_PASSWORD_AUTH (USERNAME, PASSWORD, optional SECRET_HASH and DEVICE_KEY) checks the password
against the stored verifier instead: v' = g^x mod N with x from the stored salt (constant-time
modexp), compared with hmac.compare_digest. An unknown name does the same work on its stable
fake salt and verifier, so answer and cost do not tell the names apart (row 17); lockout and the
failure counter are the SRP proof's. After a right password the same decision table follows
(device challenge, MFA, NewDeviceMetadata, tokens, or "Device does not exist."). Each app client
allows the flows of its ExplicitAuthFlows; a flow it does not allow is InvalidParameterException.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Mapping

from ..errors import AuthenticationError, InvalidParameterError, InvalidTimestampError
from ..protocol import ChallengeContext, ClientResponse, Flow
from ..protocol.sealed import open_challenge
from ..srp.cognito import compute_verifier, compute_x, parse_client_public
from ..srp.encoding import pad_bytes, to_hex
from ..store.records import TicketRecord, UserRecord
from .config import AppClient, PoolSettings
from .decision import Step
from .errors import (
    InvalidParameterDomainError,
    NotAuthorizedError,
    PasswordResetRequiredError,
    TooManyRequestsError,
    UserNotConfirmedError,
    device_does_not_exist,
    incorrect_credentials,
)
from .flow import (
    ABSENT,
    DEVICE_KEY_PATTERN,
    AuthOutcome,
    ChallengeResult,
    InitiateAuthRequest,
    LockTarget,
    RespondRequest,
    check_secret_hash,
    fail_proof,
    param,
    raw_param,
    refuse_if_locked,
)
from .grants import refresh
from .identity import Principal, find_user, principal_for, valid_name
from .lockout import name_key
from .runtime import Runtime
from .session import SessionState
from .steps import after_first_factor, device_state
from .vault import KIND_FAKE_SALT

__all__ = ["initiate_auth", "password_verifier", "require_flow"]

_CHALLENGE_SCOPE = "chal.user"
_RETRY_KIND = "deviceless-retry"
_RATE_SCOPE = "rate.start"
_TIMESTAMP_MESSAGE = "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english."


def _srp_a(text: str) -> int:
    """SRP_A, strictly parsed; an unsafe value is the uniform sign-in failure (row 1)."""
    try:
        return parse_client_public(text)
    except InvalidParameterError:
        raise incorrect_credentials() from None


# Cognito's words when an app client does not allow the flow (SRP has its own sentence).
_NOT_ENABLED = {"USER_SRP_AUTH": "USER_SRP_AUTH is not enabled for the client."}
_FLOWS = ("USER_SRP_AUTH", "USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN")


def require_flow(client: AppClient, flow: str) -> None:
    """InvalidParameterException unless the client's ExplicitAuthFlows allow ``flow``."""
    if not client.allows(flow):
        message = _NOT_ENABLED.get(flow, f"{flow} flow not enabled for this client")
        raise InvalidParameterDomainError(message)


def initiate_auth(rt: Runtime, request: InitiateAuthRequest) -> AuthOutcome:
    client, pool = rt.client(request.client_id)
    flow = request.auth_flow
    params = request.parameters
    if flow not in _FLOWS:
        raise InvalidParameterDomainError(f"Unsupported AuthFlow {flow!s:.40}")
    require_flow(client, flow)
    if flow == "USER_PASSWORD_AUTH":
        return _user_password_auth(rt, pool, client, request)
    if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
        token = param(params, "REFRESH_TOKEN")
        result = refresh(
            rt,
            pool,
            client,
            token,
            device_key=param(params, "DEVICE_KEY", required=False),
            secret_hash=param(params, "SECRET_HASH", required=False),
            check_hash=True,
        )
        return AuthOutcome(result=result)
    username = param(params, "USERNAME")
    assert username is not None
    if not valid_name(username):
        raise InvalidParameterDomainError("Invalid value for parameter USERNAME")
    a_pub = _srp_a(param(params, "SRP_A") or "")
    principal = _start_principal(rt, pool, client, params, username)
    context = ChallengeContext(
        Flow.USER_PASSWORD, pool.pool_id, client.client_id, principal.context_user
    )
    now = rt.now_int()
    try:
        challenge = rt.engine(pool).begin(
            principal.record,
            context,
            a_pub,
            b=_nonzero(rt, 32),
            now=now,
            challenge_id=rt.random_bytes(16),
            nonce=rt.random_bytes(12),
        )
    except AuthenticationError:
        raise incorrect_credentials() from None
    # The Session carries InitiateAuth's DEVICE_KEY to the proof step (clients that echo it).
    device_key = param(params, "DEVICE_KEY", required=False)
    session = _session(rt, pool, client, principal, device_key, challenge.secret_block, now)
    parameters = {
        "SALT": challenge.salt.hex(),
        "SRP_B": to_hex(challenge.B),
        "SECRET_BLOCK": challenge.secret_block,
        "USER_ID_FOR_SRP": principal.identity,
        "USERNAME": principal.identity,
    }
    return AuthOutcome(challenge=ChallengeResult(Step.PASSWORD_VERIFIER, session, parameters))


def _start_principal(
    rt: Runtime, pool: PoolSettings, client: AppClient, params: Mapping[str, str | None], name: str
) -> Principal:
    """What both sign-in starts do with the name: throttle, look up, principal (fake for an
    unknown name), SECRET_HASH, and the reset-required refusal."""
    _throttle(rt, pool, name)
    user = find_user(rt, pool, name)
    principal = principal_for(rt, pool, name, user)
    # principal.names: as many candidates for an unknown name as for a user (same HMAC count).
    check_secret_hash(
        client, param(params, "SECRET_HASH", required=False), [name, *principal.names]
    )
    if user is not None and user.status == "RESET_REQUIRED":
        raise PasswordResetRequiredError()
    return principal


def _user_password_auth(
    rt: Runtime, pool: PoolSettings, client: AppClient, request: InitiateAuthRequest
) -> AuthOutcome:
    """USER_PASSWORD_AUTH: the password against the stored verifier, then the decision table."""
    params = request.parameters
    username = param(params, "USERNAME")
    password = param(params, "PASSWORD")
    assert username is not None and password is not None
    if not valid_name(username):
        raise InvalidParameterDomainError("Invalid value for parameter USERNAME")
    principal = _start_principal(rt, pool, client, params, username)
    lock = LockTarget.of(principal)
    refuse_if_locked(rt, lock)
    # The same work for every name: the fake principal has a salt and verifier of the same form.
    record = principal.record
    x = compute_x(record.salt.hex(), record.realm, record.identity, password)
    if not hmac.compare_digest(compute_verifier(x), record.verifier):
        raise fail_proof(rt, lock)
    user = _proven_user(rt, principal, lock)
    device_key = param(params, "DEVICE_KEY", required=False)
    presented, _ = device_state(rt, pool, user, device_key)
    outcome = after_first_factor(
        rt,
        pool,
        client,
        user,
        device_key=device_key,
        presented=presented,
        # no user-step A here: a tag nobody can name, so no Session-less device ticket matches
        a_tag=rt.random_bytes(16).hex(),
        source_ip=request.source_ip,
    )
    if outcome is None:
        raise device_does_not_exist()  # the client starts again without the device
    return outcome


def _proven_user(rt: Runtime, principal: Principal, lock: LockTarget) -> UserRecord:
    """The user behind a proven first factor, if that user may sign in."""
    if principal.user is None:  # cannot happen: nobody can prove a fake verifier
        raise fail_proof(rt, lock)
    user = principal.user
    if user.status == "UNCONFIRMED":
        raise UserNotConfirmedError()
    if not user.enabled:
        raise NotAuthorizedError("User is disabled.")
    return user


def _throttle(rt: Runtime, pool: PoolSettings, username: str) -> None:
    """At most ``signin_starts_per_minute`` starts per name and minute, counted in the store
    (exact across processes) under an HMAC of the name, before any modular exponentiation."""
    limit = pool.signin_starts_per_minute
    if not limit:
        return
    minute = int(rt.now() // 60)
    key = name_key(rt.vault.secret(KIND_FAKE_SALT), pool.pool_id, pool.normalize_name(username))
    record = rt.store.record_failure(
        _RATE_SCOPE,
        f"{minute}:{key}",
        now=rt.now(),
        lock_for=lambda _: 0.0,
        max_keys=rt.unknown_name_table_size,
    )
    if record.failures > limit:
        raise TooManyRequestsError("Too many requests")


def _nonzero(rt: Runtime, n: int) -> bytes:
    while True:
        value = rt.random_bytes(n)
        if any(value):
            return value


def _block_tag(secret_block: str) -> str:
    return hashlib.sha256(secret_block.encode()).hexdigest()[:32]


def _session(
    rt: Runtime,
    pool: PoolSettings,
    client: AppClient,
    principal: Principal,
    device_key: str | None,
    secret_block: str,
    now: int,
) -> str | None:
    if device_key is not None and not DEVICE_KEY_PATTERN.fullmatch(device_key):
        device_key = None  # not a device key: carried as none (the proof step may name one)
    state = SessionState(
        txn=rt.random_bytes(16).hex(),
        step=Step.PASSWORD_VERIFIER,
        pool_id=pool.pool_id,
        client_id=client.client_id,
        user_sub=principal.session_id,
        device_key=device_key,
        mfa_done=False,
        auth_time=now,
        expires_at=now + pool.challenge_seconds,
        extra=_block_tag(secret_block),
    )
    return rt.sealer().seal(state, rt.random_bytes(12))


def _device_from_session(rt: Runtime, request: RespondRequest, block: str) -> str | None:
    """InitiateAuth's DEVICE_KEY, if the client echoed the Session issued with this block."""
    if request.session is None:
        return None
    try:
        state = rt.sealer().open(request.session, rt.now_int())
    except NotAuthorizedError:
        return None
    if state.step is not Step.PASSWORD_VERIFIER or state.extra != _block_tag(block):
        return None
    return state.device_key


def password_verifier(rt: Runtime, request: RespondRequest) -> AuthOutcome:
    client, pool = rt.client(request.client_id)
    values = request.responses
    username = param(values, "USERNAME")
    assert username is not None
    block = param(values, "PASSWORD_CLAIM_SECRET_BLOCK")
    timestamp = param(values, "TIMESTAMP")
    signature = param(values, "PASSWORD_CLAIM_SIGNATURE")
    assert block is not None and timestamp is not None and signature is not None
    sent_device = raw_param(values, "DEVICE_KEY")
    user = find_user(rt, pool, username)
    principal = principal_for(rt, pool, username, user)
    check_secret_hash(
        client, param(values, "SECRET_HASH", required=False), [username, *principal.names]
    )
    context = ChallengeContext(
        Flow.USER_PASSWORD, pool.pool_id, client.client_id, principal.context_user
    )
    engine = rt.engine(pool)
    try:
        state = open_challenge(block, context, engine.ring)
    except AuthenticationError:
        raise incorrect_credentials() from None
    if rt.now_int() - state.issued_at > pool.challenge_seconds:
        raise incorrect_credentials()
    lock = LockTarget.of(principal)
    refuse_if_locked(rt, lock)
    expires = float(state.issued_at + pool.challenge_seconds + 1)
    retry = False
    if not rt.store.consume_once(_CHALLENGE_SCOPE, state.challenge_id, expires_at=expires):
        # Used already: only the one deviceless answer after "Device does not exist." remains.
        if sent_device not in (ABSENT, None):
            raise incorrect_credentials()
        ticket = rt.store.take_ticket(_retry_id(state.challenge_id), kind=_RETRY_KIND, now=rt.now())
        if ticket is None:
            raise incorrect_credentials()
        retry = True
    try:
        finished = engine.finish(
            principal.record, context, ClientResponse(block, timestamp, signature), now=rt.now_int()
        )
    except InvalidTimestampError:
        raise InvalidParameterDomainError(_TIMESTAMP_MESSAGE) from None
    except AuthenticationError:
        raise fail_proof(rt, lock) from None
    user = _proven_user(rt, principal, lock)
    if sent_device is ABSENT:
        device_key = _device_from_session(rt, request, block)
    else:
        device_key = sent_device if isinstance(sent_device, str) and sent_device else None
    if retry:
        device_key = None
    presented, _ = device_state(rt, pool, user, device_key)
    outcome = after_first_factor(
        rt,
        pool,
        client,
        user,
        device_key=device_key,
        presented=presented,
        a_tag=_a_tag(state.A),
        source_ip=request.source_ip,
    )
    if outcome is None:
        # Unknown device: allow exactly one more answer to this challenge, without the device.
        rt.store.put_ticket(
            TicketRecord(
                ticket_id=_retry_id(state.challenge_id),
                kind=_RETRY_KIND,
                payload={"user": user.sub},
                expires_at=expires,
            )
        )
        raise device_does_not_exist()
    if outcome.result is not None:
        outcome = AuthOutcome(
            result=dataclasses.replace(outcome.result, server_proof=finished.server_proof)
        )
    return outcome


def _retry_id(challenge_id: bytes) -> str:
    return "retry." + challenge_id.hex()


def _a_tag(a_pub: int) -> str:
    """A hash of the user-step A: pycognito re-uses A in its Session-less device step."""
    return hashlib.sha256(pad_bytes(a_pub)).hexdigest()[:32]
