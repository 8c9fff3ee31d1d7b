"""The steps after the password: the plan of the decision table, MFA, and the tokens.

Every step is unlocked by a sealed Session naming it (see :mod:`.session`) and consumed once in
the store; an MFA step also keeps its attempt counter in a single-use ticket. The device steps
are in :mod:`.devicesteps`; when the next step is DEVICE_SRP_AUTH, :func:`advance` also leaves
the ticket that lets pycognito take that step without a Session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import uuid

from ..store.records import DeviceRecord, TicketRecord, UserRecord
from .config import AppClient, PoolSettings
from .decision import DevicePresented, Step, decide, mfa_factor
from .errors import (
    CodeMismatchError,
    InvalidParameterDomainError,
    incorrect_credentials,
    invalid_session,
)
from .flow import (
    AuthOutcome,
    ChallengeResult,
    LockTarget,
    RespondRequest,
    check_secret_hash,
    param,
    succeed_proof,
    user_names,
)
from .grants import AuthenticationResult, NewDeviceMetadata, issue
from .identity import find_user, srp_identity
from .lockout import user_key
from .mfa import open_totp_secret, record_totp_step
from .runtime import Runtime
from .sender import Channel, CodeMessage, mask_destination
from .session import SessionState
from .totp import verify as verify_totp
from .users import check_password, set_password
from .userstate import user_mfa

__all__ = [
    "TICKET_KIND",
    "TIMESTAMP_MESSAGE",
    "advance",
    "after_first_factor",
    "consume_step",
    "device_state",
    "device_ticket_id",
    "finish_with_tokens",
    "open_step",
    "respond_mfa",
    "respond_mfa_setup",
    "respond_new_password",
    "respond_select_mfa",
    "same_user",
]

_STEP_SCOPE = "sess.step"
TICKET_KIND = "device-srp"
_MFA_KIND = "mfa-step"
_MFA_ATTEMPTS = 3
TIMESTAMP_MESSAGE = "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english."


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
    steps = plan.steps
    if user.status == "FORCE_CHANGE_PASSWORD":
        # A temporary password: the new one comes first, then the rest of the plan.
        steps = (Step.NEW_PASSWORD_REQUIRED, *steps)
    state = SessionState(
        txn=rt.random_bytes(16).hex(),
        step=steps[0],
        pool_id=pool.pool_id,
        client_id=client.client_id,
        user_sub=user.sub,
        device_key=device_key if on_device else None,
        mfa_done=factor is None or Step.DEVICE_SRP_AUTH == plan.first,
        auth_time=rt.now_int(),
        expires_at=rt.now_int() + pool.challenge_seconds,
        new_device=plan.new_device_metadata,
        then=steps[1:],
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
        return AuthOutcome(
            result=finish_with_tokens(rt, pool, client, user, state, source_ip=source_ip)
        )
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
    elif step is Step.SELECT_MFA_TYPE:
        parameters = {"MFAS_CAN_CHOOSE": '["SMS_MFA","SOFTWARE_TOKEN_MFA"]'}
    elif step is Step.MFA_SETUP:
        can = [f for f, on in (("SMS_MFA", pool.mfa.sms_enabled),) if on]
        if pool.mfa.software_token_enabled:
            can.append("SOFTWARE_TOKEN_MFA")
        parameters = {"MFAS_CAN_SETUP": json.dumps(can, separators=(",", ":"))}
    elif step is Step.NEW_PASSWORD_REQUIRED:
        shown = {str(k): str(v) for k, v in user.attributes.items() if k != "email_verified"}
        parameters = {
            "USER_ID_FOR_SRP": srp_identity(pool, user),
            "requiredAttributes": "[]",
            "userAttributes": json.dumps(shown, separators=(",", ":")),
        }
    elif step is Step.DEVICE_SRP_AUTH and pool.device_ticket_enabled and state.device_key:
        ticket = TicketRecord(
            ticket_id=device_ticket_id(pool, client, user.sub, state.device_key, state.extra),
            kind=TICKET_KIND,
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


def finish_with_tokens(
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
    # The unit commits on a refusal (see .unit): should issuing the tokens refuse after the new
    # device was recorded (a token record's checks raise InvalidParameterError), the savepoint
    # takes the device back, so no key is kept that the client never got. Without a new device
    # there is nothing to take back: the refresh token is the last write (a signing key the
    # vault makes on first use may stay, as the vault's memory keeps it anyway).
    with rt.store.transaction() if state.new_device else contextlib.nullcontext():
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


def device_ticket_id(
    pool: PoolSettings, client: AppClient, sub: str, device_key: str, a_tag: str
) -> str:
    text = f"{pool.pool_id}\x00{client.client_id}\x00{sub}\x00{device_key}\x00{a_tag}"
    return "devsrp." + hashlib.sha256(text.encode()).hexdigest()


def open_step(rt: Runtime, request: RespondRequest, step: Step, client: AppClient) -> SessionState:
    state = rt.sealer().open(request.session, rt.now_int())
    if state.step is not step or state.client_id != client.client_id:
        raise invalid_session()
    return state


def consume_step(rt: Runtime, state: SessionState) -> None:
    key = f"{state.txn}:{state.step.value}".encode()
    if not rt.store.consume_once(_STEP_SCOPE, key, expires_at=float(state.expires_at + 1)):
        raise invalid_session()


def same_user(rt: Runtime, pool: PoolSettings, name: str | None, sub: str) -> UserRecord:
    user = find_user(rt, pool, name)
    if user is None or user.sub != sub or not user.enabled:
        raise incorrect_credentials()
    return user


def respond_mfa(rt: Runtime, request: RespondRequest, step: Step) -> AuthOutcome:
    """SMS_MFA / SOFTWARE_TOKEN_MFA: the code, up to 3 tries per Session, then tokens or device."""
    client, pool = rt.client(request.client_id)
    state = open_step(rt, request, step, client)
    values = request.responses
    typed = param(values, "USERNAME")
    user = same_user(rt, pool, typed, state.user_sub)
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
    consume_step(rt, state)
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


def respond_new_password(rt: Runtime, request: RespondRequest) -> AuthOutcome:
    """NEW_PASSWORD_REQUIRED: the user's own password replaces the temporary one."""
    client, pool = rt.client(request.client_id)
    state = open_step(rt, request, Step.NEW_PASSWORD_REQUIRED, client)
    values = request.responses
    typed = param(values, "USERNAME")
    user = same_user(rt, pool, typed, state.user_sub)
    check_secret_hash(client, param(values, "SECRET_HASH", required=False), user_names(user, typed))
    new_password = check_password(
        pool, param(values, "NEW_PASSWORD")
    )  # before the Session is spent
    consume_step(rt, state)
    user = set_password(rt, pool, user, new_password)
    return _next(rt, pool, client, user, state, request)


def respond_select_mfa(rt: Runtime, request: RespondRequest) -> AuthOutcome:
    """SELECT_MFA_TYPE: ANSWER names the factor; its challenge follows under a new Session."""
    client, pool = rt.client(request.client_id)
    state = open_step(rt, request, Step.SELECT_MFA_TYPE, client)
    values = request.responses
    typed = param(values, "USERNAME")
    user = same_user(rt, pool, typed, state.user_sub)
    check_secret_hash(client, param(values, "SECRET_HASH", required=False), user_names(user, typed))
    answer = param(values, "ANSWER")
    if answer not in (Step.SMS_MFA.value, Step.SOFTWARE_TOKEN_MFA.value):
        raise InvalidParameterDomainError("ANSWER must be SMS_MFA or SOFTWARE_TOKEN_MFA")
    consume_step(rt, state)
    chosen = dataclasses.replace(
        state, step=Step(answer), expires_at=rt.now_int() + pool.challenge_seconds
    )
    return advance(rt, pool, client, user, chosen, source_ip=request.source_ip)


def respond_mfa_setup(rt: Runtime, request: RespondRequest) -> AuthOutcome:
    """MFA_SETUP: answered once the user verified a software token with this Session."""
    client, pool = rt.client(request.client_id)
    state = open_step(rt, request, Step.MFA_SETUP, client)
    user = same_user(rt, pool, param(request.responses, "USERNAME"), state.user_sub)
    if not user_mfa(user).has_software_token:
        raise invalid_session()
    consume_step(rt, state)
    return _next(rt, pool, client, user, state, request)
