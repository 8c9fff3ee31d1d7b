"""``IdentityProvider``: the domain's operations, one method per Cognito operation.

The HTTP service (and a server plugin) calls these with plain values and maps the results to the
wire; every refusal is a :class:`~devicesrp.server.errors.DomainError` whose ``cognito_type`` is
the Cognito error name. User-facing device and user calls authorize with an access token; the
``admin_*`` twins take a pool id and user name (their caller authenticates the administrator).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import RecordExistsError
from ..store.records import ClientRecord, UserRecord
from . import devices, grants, mfa, users
from .config import AppClient, PoolSettings
from .decision import Step
from .devices import DevicePage, DeviceView
from .devicesteps import device_password_verifier, device_srp_auth
from .errors import (
    CodeMismatchError,
    InvalidParameterDomainError,
    NotAuthorizedError,
    ResourceNotFoundError,
)
from .flow import (
    AuthOutcome,
    InitiateAuthRequest,
    RespondRequest,
    check_secret_hash,
    user_names,
)
from .grants import AuthenticationResult
from .identity import find_user
from .runtime import Runtime
from .session import SessionState
from .signin import initiate_auth, password_verifier, require_flow
from .steps import (
    respond_mfa,
    respond_mfa_setup,
    respond_new_password,
    respond_select_mfa,
)
from .unit import one_unit
from .users import CodeDelivery, UserView, user_view

__all__ = ["IdentityProvider", "UserView"]

_RESET_CODE_SECONDS = 3600
_SIGNUP_CODE_SECONDS = 24 * 3600


class IdentityProvider:
    """The operations of the identity-provider domain over one :class:`Runtime`.

    Each public method is one unit of work in the store (see :mod:`.unit`)."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    # -- pools and clients ------------------------------------------------------------------------
    def create_pool(self, settings: PoolSettings, name: str = "") -> None:
        try:
            self.rt.save_pool(settings, name, create=True)
        except RecordExistsError:
            raise InvalidParameterDomainError(f"User pool {settings.pool_id} exists.") from None

    def update_pool(self, settings: PoolSettings, name: str = "") -> None:
        self.rt.pool(settings.pool_id)
        self.rt.save_pool(settings, name, create=False)

    def pool_settings(self, pool_id: str) -> PoolSettings:
        return self.rt.pool(pool_id)

    def create_client(
        self,
        pool_id: str,
        client_id: str,
        *,
        name: str = "",
        generate_secret: bool = False,
        tokens: Mapping[str, int] | None = None,
        auth_flows: Sequence[str] | None = None,
    ) -> AppClient:
        """``tokens``: the client's own lifetimes in seconds (``access``, ``id``, ``refresh``;
        any omitted one stays the pool's). ``auth_flows``: ExplicitAuthFlows (None or empty:
        Cognito's default, SRP, refresh and custom authentication)."""
        pool = self.rt.pool(pool_id)
        secret = None
        if generate_secret:
            secret = base64.b32encode(self.rt.random_bytes(30)).decode().lower()
        own = dict(tokens or {})
        lifetimes = dataclasses.replace(pool.tokens, **own) if own else None  # validated here
        flows = tuple(auth_flows) if auth_flows else None
        client = AppClient(client_id, pool_id, secret, name, lifetimes, flows)  # validated here
        settings: dict[str, Any] = {"tokens": own} if own else {}
        if flows is not None:
            settings["auth_flows"] = list(flows)
        now = self.rt.now()
        try:
            self.rt.store.create_client(
                ClientRecord(client_id, pool_id, name, secret, settings, now, now)
            )
        except RecordExistsError:
            raise InvalidParameterDomainError(f"Client {client_id} exists.") from None
        return client

    def jwks(self, pool_id: str) -> dict[str, list[dict[str, str]]] | None:
        """The pool's JWKS (``/<pool>/.well-known/jwks.json``), None for an unknown pool."""
        try:
            self.rt.pool(pool_id)
        except (ResourceNotFoundError, ValueError):
            return None
        return self.rt.issuer(pool_id).jwks()

    def issuer(self, pool_id: str) -> str:
        return self.rt.issuer(pool_id).issuer

    # -- sign-in ----------------------------------------------------------------------------------
    def initiate_auth(self, request: InitiateAuthRequest) -> AuthOutcome:
        return initiate_auth(self.rt, request)

    def respond_to_auth_challenge(self, request: RespondRequest) -> AuthOutcome:
        name = request.challenge_name
        if name == Step.PASSWORD_VERIFIER.value:
            return password_verifier(self.rt, request)
        if name == Step.DEVICE_SRP_AUTH.value:
            return device_srp_auth(self.rt, request)
        if name == Step.DEVICE_PASSWORD_VERIFIER.value:
            return device_password_verifier(self.rt, request)
        if name in (Step.SMS_MFA.value, Step.SOFTWARE_TOKEN_MFA.value):
            return respond_mfa(self.rt, request, Step(name))
        if name == Step.SELECT_MFA_TYPE.value:
            return respond_select_mfa(self.rt, request)
        if name == Step.MFA_SETUP.value:
            return respond_mfa_setup(self.rt, request)
        if name == Step.NEW_PASSWORD_REQUIRED.value:
            return respond_new_password(self.rt, request)
        raise InvalidParameterDomainError(f"Unsupported ChallengeName {name!s:.40}")

    def get_tokens_from_refresh_token(
        self,
        client_id: str,
        refresh_token: object,
        *,
        client_secret: str | None = None,
        device_key: str | None = None,
    ) -> AuthenticationResult:
        client, pool = self.rt.client(client_id)
        require_flow(client, "REFRESH_TOKEN_AUTH")
        self._check_client_secret(client, client_secret)
        return grants.refresh(self.rt, pool, client, refresh_token, device_key=device_key)

    # -- keys and housekeeping --------------------------------------------------------------------
    def rotate_keys(self) -> dict[str, str]:
        """Add a new current key of every kind (sign-ins and tokens in flight keep working);
        returns {kind: new key id}. Retire old sealing/signing keys later with retire_keys."""
        return self.rt.vault.rotate_all()

    def retire_keys(self, kind: str, *, keep: int = 1) -> list[str]:
        """Retire all but the ``keep`` newest keys of ``kind`` (``seal`` after a challenge
        lifetime, ``jwt`` after the longest access/id token lifetime)."""
        return self.rt.vault.retire_older(kind, keep=keep)

    def purge_expired(self) -> int:
        """Drop used challenge ids, spent tickets and long-expired refresh tokens."""
        return self.rt.store.purge_expired(now=self.rt.now())

    def revoke_token(
        self, client_id: str, token: object, *, client_secret: str | None = None
    ) -> None:
        client, pool = self.rt.client(client_id)
        self._check_client_secret(client, client_secret)
        grants.revoke(self.rt, pool, client, token)

    def global_sign_out(self, access_token: object) -> None:
        pool, _, user = grants.verify_access(self.rt, access_token)
        grants.global_sign_out(self.rt, pool, user)

    def admin_user_global_sign_out(self, pool_id: str, username: object) -> None:
        pool = self.rt.pool(pool_id)
        grants.global_sign_out(self.rt, pool, users.require_user(self.rt, pool, username))

    @staticmethod
    def _check_client_secret(client: AppClient, given: str | None) -> None:
        if client.secret is not None and (given is None or given != client.secret):
            raise NotAuthorizedError(f"Client {client.client_id} is configured with secret")

    # -- devices (access token) ------------------------------------------------------------------
    def confirm_device(
        self,
        access_token: object,
        device_key: object,
        salt_b64: object,
        verifier_b64: object,
        device_name: object = None,
        *,
        sdk: str | None = None,
    ) -> bool:
        """Returns UserConfirmationNecessary."""
        pool, _, user = grants.verify_access(self.rt, access_token)
        return devices.confirm_device(
            self.rt,
            pool,
            user,
            device_key=device_key,
            salt_b64=salt_b64,
            verifier_b64=verifier_b64,
            device_name=device_name,
            sdk=sdk,
        )

    def update_device_status(
        self, access_token: object, device_key: object, status: object
    ) -> None:
        pool, _, user = grants.verify_access(self.rt, access_token)
        devices.update_device_status(self.rt, pool, user, device_key=device_key, remembered=status)

    def get_device(self, access_token: object, device_key: object) -> DeviceView:
        pool, _, user = grants.verify_access(self.rt, access_token)
        return devices.get_device(self.rt, pool, user, device_key=device_key)

    def list_devices(
        self, access_token: object, limit: object = None, pagination_token: object = None
    ) -> DevicePage:
        pool, _, user = grants.verify_access(self.rt, access_token)
        return devices.list_devices(
            self.rt, pool, user, limit=limit, pagination_token=pagination_token
        )

    def forget_device(self, access_token: object, device_key: object | None = None) -> None:
        pool, claims, user = grants.verify_access(self.rt, access_token)
        # Cognito: without DeviceKey, ForgetDevice forgets the device of the current session.
        key = device_key if device_key is not None else claims.device_key
        devices.forget_device(self.rt, pool, user, device_key=key)

    # -- devices (admin) --------------------------------------------------------------------------
    def admin_get_device(self, pool_id: str, username: object, device_key: object) -> DeviceView:
        pool = self.rt.pool(pool_id)
        user = users.require_user(self.rt, pool, username)
        return devices.get_device(self.rt, pool, user, device_key=device_key, admin=True)

    def admin_list_devices(
        self, pool_id: str, username: object, limit: object = None, pagination_token: object = None
    ) -> DevicePage:
        pool = self.rt.pool(pool_id)
        user = users.require_user(self.rt, pool, username)
        return devices.list_devices(
            self.rt, pool, user, limit=limit, pagination_token=pagination_token, admin=True
        )

    def admin_forget_device(self, pool_id: str, username: object, device_key: object) -> None:
        pool = self.rt.pool(pool_id)
        user = users.require_user(self.rt, pool, username)
        devices.forget_device(self.rt, pool, user, device_key=device_key)

    def admin_update_device_status(
        self, pool_id: str, username: object, device_key: object, status: object
    ) -> None:
        pool = self.rt.pool(pool_id)
        user = users.require_user(self.rt, pool, username)
        devices.update_device_status(self.rt, pool, user, device_key=device_key, remembered=status)

    # -- users ------------------------------------------------------------------------------------
    def admin_create_user(
        self,
        pool_id: str,
        username: object,
        password: object,
        attributes: Mapping[str, object] | None = None,
        *,
        temporary: bool = False,
    ) -> UserView:
        """AdminCreateUser: with ``temporary`` the user must choose a new password at the first
        sign-in (FORCE_CHANGE_PASSWORD, NEW_PASSWORD_REQUIRED); else a CONFIRMED user."""
        pool = self.rt.pool(pool_id)
        status = "FORCE_CHANGE_PASSWORD" if temporary else "CONFIRMED"
        user = users.create_user(
            self.rt,
            pool,
            username=username,
            password=password,
            attributes=attributes,
            status=status,
        )
        return user_view(user)

    def admin_set_user_password(
        self, pool_id: str, username: object, password: object, *, permanent: bool = True
    ) -> None:
        """AdminSetUserPassword; ``permanent=False`` makes it temporary (NEW_PASSWORD_REQUIRED)."""
        pool = self.rt.pool(pool_id)
        user = users.require_user(self.rt, pool, username)
        status = None if permanent else "FORCE_CHANGE_PASSWORD"
        users.set_password(self.rt, pool, user, password, status=status)

    def admin_reset_user_password(self, pool_id: str, username: object) -> CodeDelivery:
        """AdminResetUserPassword: sign-in refuses with PasswordResetRequiredException until
        ConfirmForgotPassword with the code sent now."""
        pool = self.rt.pool(pool_id)
        user = users.require_user(self.rt, pool, username)
        self.rt.store.update_user(
            dataclasses.replace(user, status="RESET_REQUIRED", modified_at=self.rt.now())
        )
        return users.send_code(self.rt, pool, user, purpose="reset", lifetime=_RESET_CODE_SECONDS)

    def admin_get_user(self, pool_id: str, username: object) -> UserView:
        pool = self.rt.pool(pool_id)
        return user_view(users.require_user(self.rt, pool, username))

    def admin_delete_user(self, pool_id: str, username: object) -> None:
        pool = self.rt.pool(pool_id)
        user = users.require_user(self.rt, pool, username)
        self.rt.store.delete_user(pool.pool_id, user.sub)

    def admin_set_user_enabled(self, pool_id: str, username: object, enabled: bool) -> None:
        pool = self.rt.pool(pool_id)
        user = users.require_user(self.rt, pool, username)
        self.rt.store.update_user(
            dataclasses.replace(user, enabled=enabled, modified_at=self.rt.now())
        )

    def get_user(self, access_token: object) -> UserView:
        _, _, user = grants.verify_access(self.rt, access_token)
        return user_view(user)

    def sign_up(
        self,
        client_id: str,
        username: object,
        password: object,
        attributes: Mapping[str, object] | None = None,
        *,
        secret_hash: str | None = None,
    ) -> tuple[str, CodeDelivery]:
        """SignUp -> (UserSub, CodeDeliveryDetails); the user stays UNCONFIRMED until the code."""
        client, pool = self.rt.client(client_id)
        check_secret_hash(client, secret_hash, [username] if isinstance(username, str) else [])
        user = users.create_user(
            self.rt,
            pool,
            username=username,
            password=password,
            attributes=attributes,
            status="UNCONFIRMED",
        )
        delivery = users.send_code(
            self.rt, pool, user, purpose="signup", lifetime=_SIGNUP_CODE_SECONDS
        )
        return user.sub, delivery

    def confirm_sign_up(
        self, client_id: str, username: object, code: object, *, secret_hash: str | None = None
    ) -> None:
        client, pool = self.rt.client(client_id)
        user = find_user(self.rt, pool, username)
        if user is None:
            raise CodeMismatchError("Invalid verification code provided, please try again.")
        check_secret_hash(client, secret_hash, user_names(user))
        users.confirm_code(self.rt, pool, user, purpose="signup", code=code)
        if user.status == "UNCONFIRMED":
            self.rt.store.update_user(
                dataclasses.replace(user, status="CONFIRMED", modified_at=self.rt.now())
            )

    def forgot_password(
        self, client_id: str, username: object, *, secret_hash: str | None = None
    ) -> CodeDelivery:
        """ForgotPassword; unknown names get a plausible answer (user-existence errors off)."""
        client, pool = self.rt.client(client_id)
        user = find_user(self.rt, pool, username)
        names = user_names(user) if user else ([username] if isinstance(username, str) else [])
        check_secret_hash(client, secret_hash, names)
        if user is None:
            return CodeDelivery("u***@e***", "EMAIL", "email")
        return users.send_code(self.rt, pool, user, purpose="reset", lifetime=_RESET_CODE_SECONDS)

    def confirm_forgot_password(
        self,
        client_id: str,
        username: object,
        code: object,
        password: object,
        *,
        secret_hash: str | None = None,
    ) -> None:
        client, pool = self.rt.client(client_id)
        user = find_user(self.rt, pool, username)
        if user is None:
            raise CodeMismatchError("Invalid verification code provided, please try again.")
        check_secret_hash(client, secret_hash, user_names(user))
        pool.password_policy.check(password) is None or users.set_password(
            self.rt, pool, user, password
        )
        users.confirm_code(self.rt, pool, user, purpose="reset", code=code)
        users.set_password(self.rt, pool, user, password)

    def change_password(self, access_token: object, previous: object, proposed: object) -> None:
        pool, _, user = grants.verify_access(self.rt, access_token)
        users.change_password(self.rt, pool, user, previous=previous, proposed=proposed)

    # -- MFA --------------------------------------------------------------------------------------
    def associate_software_token(
        self, *, access_token: object = None, session: object = None
    ) -> tuple[str, str | None]:
        """(SecretCode, Session): with an access token, or with an MFA_SETUP Session."""
        _, user, state = self._token_or_session(access_token, session)
        secret = mfa.associate_software_token(self.rt, user)
        return secret, self._reseal(state)

    def verify_software_token(
        self, code: object, *, access_token: object = None, session: object = None
    ) -> str | None:
        """VerifySoftwareToken; returns the Session to answer MFA_SETUP with (session flow)."""
        pool, user, state = self._token_or_session(access_token, session)
        mfa.verify_software_token(self.rt, pool, user, code)
        return self._reseal(state)

    def set_user_mfa_preference(
        self,
        access_token: object,
        *,
        sms: tuple[bool, bool] | None = None,
        software_token: tuple[bool, bool] | None = None,
    ) -> None:
        pool, _, user = grants.verify_access(self.rt, access_token)
        mfa.set_mfa_preference(self.rt, pool, user, sms=sms, software_token=software_token)

    def admin_set_user_mfa_preference(
        self,
        pool_id: str,
        username: object,
        *,
        sms: tuple[bool, bool] | None = None,
        software_token: tuple[bool, bool] | None = None,
    ) -> None:
        pool = self.rt.pool(pool_id)
        user = users.require_user(self.rt, pool, username)
        mfa.set_mfa_preference(self.rt, pool, user, sms=sms, software_token=software_token)

    def _token_or_session(
        self, access_token: object, session: object
    ) -> tuple[PoolSettings, UserRecord, SessionState | None]:
        if access_token is not None:
            pool, _, user = grants.verify_access(self.rt, access_token)
            return pool, user, None
        state = self.rt.sealer().open(session, self.rt.now_int())
        if state.step is not Step.MFA_SETUP:
            raise NotAuthorizedError("Invalid session for the user.")
        pool = self.rt.pool(state.pool_id)
        found = self.rt.store.get_user_by_sub(pool.pool_id, state.user_sub)
        if found is None:
            raise NotAuthorizedError("Invalid session for the user.")
        return pool, found, state

    def _reseal(self, state: SessionState | None) -> str | None:
        if state is None:
            return None
        return self.rt.sealer().seal(state, self.rt.random_bytes(12))


# Every public operation is one unit of work (one transaction, one durable commit).
for _name, _method in list(vars(IdentityProvider).items()):
    if not _name.startswith("_") and callable(_method):
        setattr(IdentityProvider, _name, one_unit(_method))
