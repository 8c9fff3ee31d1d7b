"""The steps after the password: MFA, DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER, and the tokens.

Every step is unlocked by a sealed Session naming it (see :mod:`.session`) and consumed once in
the store. pycognito's DEVICE_SRP_AUTH comes without a Session: it is accepted only through a
single-use ticket, alive ``device_ticket_seconds``, that the password step (or the MFA step
before the device step) made for this pool, client, user, device and the user-step A that
pycognito re-uses. DEVICE_PASSWORD_VERIFIER is then tied to its DEVICE_SRP_AUTH by a ticket keyed
by the device challenge id, so a device step never stands in for the password step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import uuid

from ..errors import AuthenticationError, InvalidTimestampError
from ..protocol import ChallengeContext, ClientResponse, Flow, VerifierRecord
from ..protocol.sealed import open_challenge
from ..srp.cognito import parse_client_public
from ..srp.encoding import pad_bytes, to_hex
from ..store.records import DeviceRecord, TicketRecord, UserRecord
from .config import AppClient, PoolSettings
from .decision import DevicePresented, Step, decide, mfa_factor
from .errors import (
    CodeMismatchError,
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
    fail_proof,
    param,
    refuse_if_locked,
    succeed_proof,
    user_names,
)
from .grants import AuthenticationResult, NewDeviceMetadata, issue
from .identity import find_user
from .lockout import user_key
from .mfa import open_totp_secret, record_totp_step
from .runtime import Runtime
from .sender import Channel, CodeMessage, mask_destination
from .session import SessionState
from .totp import verify as verify_totp
from .userstate import user_mfa

__all__ = [
    "after_first_factor",
    "device_password_verifier",
    "device_srp_auth",
    "device_state",
    "respond_mfa",
]

_STEP_SCOPE = "sess.step"
_DEVICE_CHALLENGE_SCOPE = "chal.device"
_TICKET_KIND = "device-srp"
_DPV_KIND = "device-pv"
_MFA_KIND = "mfa-step"
_MFA_ATTEMPTS = 3
_TIMESTAMP_MESSAGE = "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english."


def device_state(
    rt: Runtime, pool: PoolSettings, user: UserRecord, device_key: str | None
) -> tuple[DevicePresented, DeviceRecord | None]:
    """Classify the presented key for the decision table."""
    if not pool.tracking or device_key is None:
        return DevicePresented.NONE, None
    try:
        record = rt.store.get_device(pool.pool_id, device_key)
    except ValueError:  # not even shaped like a device key
        record = None
    if record is None or record.user_sub != user.sub or not record.confirmed:
        return DevicePresented.UNKNOWN, None
    if record.remembered:
        return DevicePresented.REMEMBERED, record
    return DevicePresented.NOT_REMEMBERED, record


def after_first_factor(
    rt: Runtime,
    pool: PoolSettings,
    client: AppClient,
    user: UserRecord,
    *,
    username: str,
    device_key: str | None,
    presented: DevicePresented,
    a_tag: str,
    source_ip: str | None,
) -> AuthOutcome | None:
    """The decision table after a valid password; None means "Device does not exist."."""
    factor = mfa_factor(pool.mfa, user_mfa(user))
    plan = decide(
        tracking=pool.tracking,
        device=presented,
        mfa=factor,
        remembered_replaces_mfa=pool.remembered_replaces_mfa,
    )
    if plan.device_not_found:
        return None
    on_device = presented in (DevicePresented.REMEMBERED, DevicePresented.NOT_REMEMBERED)
    state = SessionState(
        txn=rt.random_bytes(16).hex(),
        step=plan.first,
        pool_id=pool.pool_id,
        client_id=client.client_id,
        user_sub=user.sub,
        username=username,
        device_key=device_key if on_device else None,
        mfa_done=factor is None or Step.DEVICE_SRP_AUTH == plan.first,
        auth_time=rt.now_int(),
        expires_at=rt.now_int() + pool.challenge_seconds,
        new_device=plan.new_device_metadata,
        then=plan.steps[1:],
        extra=a_tag,
    )
    return advance(rt, pool, client, user, state, source_ip=source_ip)


def advance(
    rt: Runtime,
    pool: PoolSettings,
    client: AppClient,
    user: UserRecord,
    state: SessionState,
    *,
    source_ip: str | None,
) -> AuthOutcome:
    """Answer for ``state.step``: a challenge with its Session, or the tokens."""
    step = state.step
    if step is Step.TOKENS:
        return AuthOutcome(result=_tokens(rt, pool, client, user, state, source_ip=source_ip))
    parameters: dict[str, str] = {}
    if step is Step.SMS_MFA:
        code = f"{int.from_bytes(rt.random_bytes(4), 'big') % 1_000_000:06d}"
        phone = str(user.attributes.get("phone_number", ""))
        rt.code_sender().send(
            CodeMessage(
                pool.pool_id,
                user.sub,
                Channel.SMS,
                phone,
                f"Your authentication code is {code}.",
                rt.now(),
            )
        )
        state = dataclasses.replace(state, code_mac=_code_mac(rt, state.txn, code))
        parameters = {
            "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
            "CODE_DELIVERY_DESTINATION": mask_destination(Channel.SMS, phone),
        }
    elif step is Step.MFA_SETUP:
        parameters = {"MFAS_CAN_SETUP": '["SOFTWARE_TOKEN_MFA"]'}
    elif step is Step.DEVICE_SRP_AUTH and pool.device_ticket_enabled and state.device_key:
        ticket = TicketRecord(
            ticket_id=_ticket_id(pool, client, user.sub, state.device_key, state.extra),
            kind=_TICKET_KIND,
            payload={"txn": state.txn, "auth_time": state.auth_time, "mfa_done": state.mfa_done},
            expires_at=rt.now() + pool.device_ticket_seconds,
        )
        rt.store.put_ticket(ticket)
    if step in (Step.SMS_MFA, Step.SOFTWARE_TOKEN_MFA):
        rt.store.put_ticket(
            TicketRecord(
                ticket_id=_mfa_ticket_id(state.txn),
                kind=_MFA_KIND,
                payload={"tries": 0},
                expires_at=float(state.expires_at + 1),
            )
        )
    session = rt.sealer().seal(state, rt.random_bytes(12))
    if step is Step.DEVICE_SRP_AUTH:
        parameters = {}
    return AuthOutcome(challenge=ChallengeResult(step, session, parameters))


def _tokens(
    rt: Runtime,
    pool: PoolSettings,
    client: AppClient,
    user: UserRecord,
    state: SessionState,
    *,
    source_ip: str | None,
) -> AuthenticationResult:
    new_device = None
    token_device = state.device_key
    # The whole sign-in succeeded: the shared failure counter starts again.
    succeed_proof(rt, LockTarget(known=True, key=user_key(pool.pool_id, user.sub)))
    with rt.store.transaction():
        if state.new_device:
            device_key = f"{pool.region}_{uuid.UUID(bytes=rt.random_bytes(16), version=4)}"
            group_key = "-" + rt.random_bytes(8).hex()
            now = rt.now()
            rt.store.issue_device(
                DeviceRecord(
                    pool_id=pool.pool_id,
                    device_key=device_key,
                    user_sub=user.sub,
                    group_key=group_key,
                    salt=None,
                    verifier=None,
                    name=None,
                    remembered=False,
                    confirmed=False,
                    first_tracked_at=now,
                    last_modified_at=now,
                    last_authenticated_at=None,
                    last_ip=source_ip,
                    sdk=None,
                )
            )
            new_device = NewDeviceMetadata(device_key, group_key)
            token_device = device_key
        return issue(
            rt,
            pool,
            client,
            user,
            device_key=token_device,
            auth_time=state.auth_time,
            new_device=new_device,
        )


def _mfa_ticket_id(txn: str) -> str:
    return "mfa." + txn


def _code_mac(rt: Runtime, txn: str, code: str) -> str:
    key = rt.vault.secret("totp")
    return hmac.new(key, f"sms-code\x00{txn}\x00{code}".encode(), hashlib.sha256).hexdigest()[:64]


def _ticket_id(pool: PoolSettings, client: AppClient, sub: str, device_key: str, a_tag: str) -> str:
    text = f"{pool.pool_id}\x00{client.client_id}\x00{sub}\x00{device_key}\x00{a_tag}"
    return "devsrp." + hashlib.sha256(text.encode()).hexdigest()


def _open(rt: Runtime, request: RespondRequest, step: Step, client: AppClient) -> SessionState:
    state = rt.sealer().open(request.session, rt.now_int())
    if state.step is not step or state.client_id != client.client_id:
        raise invalid_session()
    return state


def _consume(rt: Runtime, state: SessionState) -> None:
    key = f"{state.txn}:{state.step.value}".encode()
    if not rt.store.consume_once(_STEP_SCOPE, key, expires_at=float(state.expires_at + 1)):
        raise invalid_session()


def _same_user(rt: Runtime, pool: PoolSettings, name: str | None, sub: str) -> UserRecord:
    user = find_user(rt, pool, name)
    if user is None or user.sub != sub or not user.enabled:
        raise incorrect_credentials()
    return user


def respond_mfa(rt: Runtime, request: RespondRequest, step: Step) -> AuthOutcome:
    """SMS_MFA / SOFTWARE_TOKEN_MFA: the code, up to 3 tries per Session, then tokens or device."""
    client, pool = rt.client(request.client_id)
    state = _open(rt, request, step, client)
    values = request.responses
    typed = param(values, "USERNAME")
    user = _same_user(rt, pool, typed, state.user_sub)
    check_secret_hash(client, param(values, "SECRET_HASH", required=False), user_names(user, typed))
    code_name = "SMS_MFA_CODE" if step is Step.SMS_MFA else "SOFTWARE_TOKEN_MFA_CODE"
    code = param(values, code_name) or ""
    # The step's ticket is its attempt counter: taking it is atomic, so one answer at a time.
    ticket = rt.store.take_ticket(_mfa_ticket_id(state.txn), kind=_MFA_KIND, now=rt.now())
    if ticket is None:
        raise invalid_session()
    if step is Step.SMS_MFA:
        good = hmac.compare_digest(_code_mac(rt, state.txn, code), state.code_mac)
        matched_step = None
    else:
        secret = open_totp_secret(rt, user)
        last = user.mfa.get("totp_last_step")
        matched_step = (
            verify_totp(secret, code, rt.now(), last if isinstance(last, int) else None)
            if secret is not None
            else None
        )
        good = matched_step is not None
    if not good:
        tries = int(ticket.payload.get("tries", 0)) + 1
        if tries < _MFA_ATTEMPTS:
            rt.store.put_ticket(dataclasses.replace(ticket, payload={"tries": tries}))
        raise CodeMismatchError()
    _consume(rt, state)
    if matched_step is not None:
        user = record_totp_step(rt, user, matched_step)
    return _next(rt, pool, client, user, state, request)


def _next(
    rt: Runtime,
    pool: PoolSettings,
    client: AppClient,
    user: UserRecord,
    state: SessionState,
    request: RespondRequest,
) -> AuthOutcome:
    if not state.then:
        raise invalid_session()
    following = dataclasses.replace(
        state,
        step=state.then[0],
        then=state.then[1:],
        mfa_done=True,
        expires_at=rt.now_int() + pool.challenge_seconds,
        code_mac="",
    )
    return advance(rt, pool, client, user, following, source_ip=request.source_ip)


def respond_mfa_setup(rt: Runtime, request: RespondRequest) -> AuthOutcome:
    """MFA_SETUP: answered once the user verified a software token with this Session."""
    client, pool = rt.client(request.client_id)
    state = _open(rt, request, Step.MFA_SETUP, client)
    user = _same_user(rt, pool, param(request.responses, "USERNAME"), state.user_sub)
    if not user_mfa(user).has_software_token:
        raise invalid_session()
    _consume(rt, state)
    return _next(rt, pool, client, user, state, request)


def device_srp_auth(rt: Runtime, request: RespondRequest) -> AuthOutcome:
    """DEVICE_SRP_AUTH -> DEVICE_PASSWORD_VERIFIER (SRP_B, SALT, SECRET_BLOCK, DEVICE_KEY)."""
    client, pool = rt.client(request.client_id)
    values = request.responses
    device_key = param(values, "DEVICE_KEY")
    assert device_key is not None
    a_text = param(values, "SRP_A")
    assert a_text is not None
    username = param(values, "USERNAME")
    if request.session is not None:
        state = _open(rt, request, Step.DEVICE_SRP_AUTH, client)
        if state.device_key != device_key:
            raise incorrect_credentials()
        user = _same_user(rt, pool, username, state.user_sub)
    else:
        user = _same_user(rt, pool, username, _claimed_sub(rt, pool, username))
        a_tag = _user_a_tag(a_text)
        ticket = None
        if pool.device_ticket_enabled:
            ticket_id = _ticket_id(pool, client, user.sub, device_key, a_tag)
            ticket = rt.store.take_ticket(ticket_id, kind=_TICKET_KIND, now=rt.now())
        if ticket is None:
            raise invalid_session()
        state = SessionState(
            txn=str(ticket.payload["txn"]),
            step=Step.DEVICE_SRP_AUTH,
            pool_id=pool.pool_id,
            client_id=client.client_id,
            user_sub=user.sub,
            username=username or user.username,
            device_key=device_key,
            mfa_done=bool(ticket.payload.get("mfa_done")),
            auth_time=int(ticket.payload["auth_time"]),
            expires_at=rt.now_int() + pool.challenge_seconds,
            then=(Step.DEVICE_PASSWORD_VERIFIER, Step.TOKENS),
        )
    check_secret_hash(
        client, param(values, "SECRET_HASH", required=False), user_names(user, username)
    )
    _consume(rt, state)
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
    device_key = param(values, "DEVICE_KEY")
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
        raise InvalidParameterDomainError(_TIMESTAMP_MESSAGE) from None
    except AuthenticationError:
        raise fail_proof(rt, lock) from None
    rt.store.touch_device(pool.pool_id, device.device_key, now=rt.now(), ip=request.source_ip)
    state = SessionState(
        txn=str(ticket.payload["txn"]),
        step=Step.TOKENS,
        pool_id=pool.pool_id,
        client_id=client.client_id,
        user_sub=user.sub,
        username=user.username,
        device_key=device.device_key,
        mfa_done=True,
        auth_time=int(ticket.payload["auth_time"]),
        expires_at=rt.now_int() + pool.challenge_seconds,
    )
    result = _tokens(rt, pool, client, user, state, source_ip=request.source_ip)
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
