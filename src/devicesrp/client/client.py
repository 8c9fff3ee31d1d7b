"""``Client``: remembered-device sign-in for Python over boto3's ``cognito-idp`` client.

It works against any Cognito-compatible endpoint: the boto3 client is either given, or built the
usual way (region, endpoint, credentials, retries from boto3's configuration chain, including
``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``; the region defaults to the pool id's prefix).

After a sign-in that returns NewDeviceMetadata it makes the device's verifier with the project's
engine (``devicesrp.live.new_device_secret``: 40 random password bytes, a 16-byte salt), sends
ConfirmDevice with a device name, stores the three device values, then remembers the device
according to UserConfirmationNecessary and the ``RememberPolicy``. The next sign-in presents the
device. A stale one (``Device does not exist.``) is cleared from the store (only while it still
holds that device) and the password step is answered once more without it: the identical claim,
as amazon-cognito-identity-js resends it (the signature does not cover DEVICE_KEY); if the service
says so at InitiateAuth or in the device step, the sign-in starts again without the device.
"""

from __future__ import annotations

import base64
import dataclasses
import platform
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

try:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
except ImportError as exc:  # the SDK is an extra: say which one
    raise ImportError(
        "devicesrp.client needs boto3: pip install 'devicesrp[client]'", name=exc.name
    ) from exc

from ..errors import (
    DeviceNotFoundError,
    InvalidParameterError,
    InvalidTypeError,
    RemoteProtocolError,
    ServiceError,
)
from ..srp.cognito import pool_name, secret_hash
from .callbacks import Callbacks, RememberPolicy
from .responses import MAX_TOKEN_CHARS, Device, NewDevice, Tokens, parse_device, parse_tokens
from .signin import SignInOutcome, Sources, run_sign_in
from .store import (
    DeviceSecrets,
    DeviceStore,
    FileDeviceStore,
    StoreKey,
    check_device_key,
)

__all__ = ["DEVICE_NOT_FOUND_MESSAGE", "Client", "SignInResult", "cognito_client"]

DEVICE_NOT_FOUND_MESSAGE = "Device does not exist."
_MAX_DEVICE_NAME = 1024
_MAX_PAGES = 100


def cognito_client(
    user_pool_id: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    session: boto3.session.Session | None = None,
    config: Any = None,
) -> Any:
    """A boto3 ``cognito-idp`` client; region: argument, then boto3's chain, then the pool id."""
    session = session or boto3.session.Session()
    region = region or session.region_name or user_pool_id.partition("_")[0]
    return session.client(
        "cognito-idp", region_name=region, endpoint_url=endpoint_url, config=config
    )


@dataclass(frozen=True)
class SignInResult:
    """A finished sign-in.

    ``device_key``: the device this session is bound to (the stored one, or the new one).
    ``device_authenticated``: the device SRP step ran. ``new_device``: NewDeviceMetadata came
    and was confirmed. ``remembered``: the device's remembered status after this sign-in when
    it was set here (None if untouched). ``server_proofs``: SRP steps whose server proof
    verified. ``device_error``: why a new device could not be confirmed (tokens still valid).
    """

    tokens: Tokens
    username: str
    device_key: str | None
    device_authenticated: bool
    new_device: bool
    remembered: bool | None
    server_proofs: int
    device_error: ServiceError | None = None


def _text(name: str, value: object, cap: int = 1024) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(name, "str", value)
    if not value or len(value) > cap:
        raise InvalidParameterError(name, f"must be 1..{cap} characters")
    return value


def _access(tokens: Tokens | str) -> str:
    if isinstance(tokens, Tokens):
        return tokens.access_token
    return _text("access_token", tokens, MAX_TOKEN_CHARS)


class Client:
    """A user pool app client, seen from a device. Thread-safe if its store is."""

    def __init__(
        self,
        user_pool_id: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        store: DeviceStore | None = None,
        cognito: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        boto_config: Any = None,
        require_server_proof: bool = False,
        remember: RememberPolicy | str = RememberPolicy.ALWAYS,
        device_name: str | None = None,
        callbacks: Callbacks | None = None,
        entropy: Callable[[int], bytes] | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        """``cognito``: a ready boto3 ``cognito-idp`` client; else one is built from ``region``,
        ``endpoint_url`` and ``boto_config`` (a ``botocore.config.Config``: retries, timeouts),
        with boto3's environment and config files filling the rest. ``entropy`` and ``clock``
        replace ``secrets`` and the system clock (the deterministic twin, for known-answer
        tests; see ``signin.Sources``)."""
        pool_name(_text("user_pool_id", user_pool_id, 55))
        self.user_pool_id = user_pool_id
        self.client_id = _text("client_id", client_id, 128)
        self._client_secret = (
            None if client_secret is None else _text("client_secret", client_secret)
        )
        if not isinstance(require_server_proof, bool):
            raise InvalidTypeError("require_server_proof", "bool", require_server_proof)
        self.require_server_proof = require_server_proof
        self.remember = RememberPolicy.parse(remember)
        self.device_name = _text(
            "device_name", device_name or platform.node() or "devicesrp", _MAX_DEVICE_NAME
        )
        self.callbacks = callbacks if callbacks is not None else Callbacks()
        self._sources = Sources(entropy, clock)
        if store is not None and not isinstance(store, DeviceStore):
            raise InvalidTypeError("store", "a DeviceStore", store)
        self.store: DeviceStore = store if store is not None else FileDeviceStore()
        self.cognito = cognito or cognito_client(
            user_pool_id, region=region, endpoint_url=endpoint_url, config=boto_config
        )

    def __repr__(self) -> str:
        return f"Client({self.user_pool_id!r}, {self.client_id!r}, store={self.store!r})"

    # -- transport ---------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> Mapping[str, Any]:
        """One boto3 call; service errors become ServiceError (DeviceNotFoundError)."""
        try:
            response = getattr(self.cognito, operation)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = _printable(str(error.get("Code") or "UnknownError"), 128)
            message = _printable(str(error.get("Message") or ""), 512)
            kind = ServiceError
            if code == "ResourceNotFoundException" and message == DEVICE_NOT_FOUND_MESSAGE:
                kind = DeviceNotFoundError
            raise kind(operation, code, message) from None
        except HTTPClientError as exc:  # connection refused, timeouts: the text names the URL
            raise ServiceError(operation, type(exc).__name__, str(exc)[:512]) from None
        except BotoCoreError as exc:  # other local boto3 failures; their text may echo values
            raise ServiceError(operation, type(exc).__name__, "the request failed") from None
        if not isinstance(response, Mapping):
            raise RemoteProtocolError(operation, "the response is not an object")
        return response

    def _key(self, username: str) -> StoreKey:
        return StoreKey(self.user_pool_id, self.client_id, username)

    def _secret_hash(self, username: str) -> dict[str, str]:
        if self._client_secret is None:
            return {}
        return {"SECRET_HASH": secret_hash(self._client_secret, username, self.client_id)}

    # -- sign-in -----------------------------------------------------------------------------

    def sign_in(
        self,
        username: str,
        password: str,
        *,
        callbacks: Callbacks | None = None,
        remember: RememberPolicy | str | None = None,
        device_name: str | None = None,
    ) -> SignInResult:
        """USER_SRP_AUTH with the stored device (if any), MFA and new-password by callbacks,
        then device confirmation. Raises ServiceError (NotAuthorizedException for a wrong
        password), AuthenticationError (a server proof failed), RemoteProtocolError (the server
        sent something malformed) or ChallengeNotHandledError."""
        _text("username", username, 128)
        if not isinstance(password, str):
            raise InvalidTypeError("password", "str", password)
        callbacks = callbacks if callbacks is not None else self.callbacks
        policy = self.remember if remember is None else RememberPolicy.parse(remember)
        if policy is RememberPolicy.ASK and callbacks.remember_device is None:
            # Caught before any request: a sign-in must not end with nobody to ask.
            raise InvalidParameterError("remember", "'ask' needs Callbacks.remember_device")
        name = self.device_name if device_name is None else _text("device_name", device_name)
        key = self._key(username)
        device = self.store.load(key)

        def drop(stale: DeviceSecrets) -> None:
            # Only while the store still holds that device: never a newer one.
            self.store.delete(key, device_key=stale.device_key)

        try:
            outcome = self._run(username, password, device, callbacks, name, drop)
        except DeviceNotFoundError:
            if device is None:
                raise
            # Forgotten between steps (at InitiateAuth or in the device step): drop it and sign
            # in again from the start without it.
            drop(device)
            outcome = self._run(username, password, None, callbacks, name, drop)
        result = SignInResult(
            tokens=outcome.tokens,
            username=outcome.user_id_for_srp,
            device_key=outcome.device_key,
            device_authenticated=outcome.device_authenticated,
            new_device=False,
            remembered=None,
            server_proofs=outcome.server_proofs,
        )
        if outcome.new_device is None:
            return result
        return self._adopt(result, key, outcome.new_device, policy, callbacks, name)

    def _run(
        self,
        username: str,
        password: str,
        device: DeviceSecrets | None,
        callbacks: Callbacks,
        device_name: str,
        on_stale_device: Callable[[DeviceSecrets], None],
    ) -> SignInOutcome:
        return run_sign_in(
            self._call,
            user_pool_id=self.user_pool_id,
            client_id=self.client_id,
            client_secret=self._client_secret,
            username=username,
            password=password,
            device=device,
            require_server_proof=self.require_server_proof,
            device_name=device_name,
            callbacks=callbacks,
            sources=self._sources,
            on_stale_device=on_stale_device,
        )

    def _adopt(
        self,
        result: SignInResult,
        key: StoreKey,
        new: NewDevice,
        policy: RememberPolicy,
        callbacks: Callbacks,
        device_name: str,
    ) -> SignInResult:
        """ConfirmDevice with our verifier, store the three values, then remember (or not)."""
        password, verifier = self._sources.device_secret(new.device_group_key, new.device_key)
        access = result.tokens.access_token
        try:
            confirmed = self._call(
                "confirm_device",
                AccessToken=access,
                DeviceKey=new.device_key,
                DeviceSecretVerifierConfig={
                    "Salt": base64.b64encode(verifier.salt).decode("ascii"),
                    "PasswordVerifier": base64.b64encode(verifier.password_verifier).decode(
                        "ascii"
                    ),
                },
                DeviceName=device_name,
            )
        except ServiceError as exc:
            return _replace(result, device_error=exc)
        necessary = confirmed.get("UserConfirmationNecessary", False)
        if not isinstance(necessary, bool):
            raise RemoteProtocolError("UserConfirmationNecessary", "must be a boolean")
        self.store.save(key, DeviceSecrets(new.device_key, new.device_group_key, password))
        if necessary:
            ask = callbacks.remember_device
            want = policy is RememberPolicy.ALWAYS or (
                policy is RememberPolicy.ASK and ask is not None and ask(new.device_key) is True
            )
        else:
            want = policy is not RememberPolicy.NEVER
        remembered: bool | None = want
        try:
            if want and necessary:
                self.set_remembered(access, new.device_key, True)
            elif not want and not necessary:
                self.set_remembered(access, new.device_key, False)
            elif not want:
                remembered = False  # tracked, left not remembered as the pool made it
        except ServiceError as exc:
            return _replace(result, device_key=new.device_key, new_device=True, device_error=exc)
        return _replace(result, device_key=new.device_key, new_device=True, remembered=remembered)

    # -- tokens ------------------------------------------------------------------------------

    def refresh(self, username: str, refresh_token: str) -> Tokens:
        """REFRESH_TOKEN_AUTH with the stored device key; keeps the old refresh token when the
        service does not rotate it."""
        _text("username", username, 128)
        _text("refresh_token", refresh_token, 16384)
        key = self._key(username)
        device = self.store.load(key)
        params = {"REFRESH_TOKEN": refresh_token, **self._secret_hash(username)}
        if device is not None:
            params["DEVICE_KEY"] = device.device_key
        response = self._call(
            "initiate_auth",
            AuthFlow="REFRESH_TOKEN_AUTH",
            ClientId=self.client_id,
            AuthParameters=params,
        )
        if response.get("ChallengeName") is not None:
            raise RemoteProtocolError("ChallengeName", "a refresh must not ask a challenge")
        tokens, _ = parse_tokens(response.get("AuthenticationResult"), refresh=True)
        if tokens.refresh_token is None:
            tokens = Tokens(tokens.access_token, tokens.id_token, refresh_token, tokens.expires_in)
        return tokens

    def sign_out(self, tokens: Tokens, *, everywhere: bool = False) -> None:
        """RevokeToken on the refresh token (its access tokens die with it); ``everywhere``
        also calls GlobalSignOut for every session of the user."""
        if not isinstance(tokens, Tokens):
            raise InvalidTypeError("tokens", "Tokens", tokens)
        if everywhere:
            self._call("global_sign_out", AccessToken=tokens.access_token)
        if tokens.refresh_token is not None:
            extra = {} if self._client_secret is None else {"ClientSecret": self._client_secret}
            self._call("revoke_token", Token=tokens.refresh_token, ClientId=self.client_id, **extra)

    # -- devices -----------------------------------------------------------------------------

    def stored_device(self, username: str) -> DeviceSecrets | None:
        """The device this machine holds for ``username`` (None if none)."""
        return self.store.load(self._key(_text("username", username, 128)))

    def list_devices(self, tokens: Tokens | str, *, page_size: int = 60) -> list[Device]:
        """Every device of the signed-in user, following PaginationToken."""
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise InvalidTypeError("page_size", "int", page_size)
        if not 1 <= page_size <= 60:
            raise InvalidParameterError("page_size", "must be 1..60")
        return list(self._pages(_access(tokens), page_size))

    def _pages(self, access: str, page_size: int) -> Iterator[Device]:
        seen: set[str] = set()
        kwargs: dict[str, Any] = {"AccessToken": access, "Limit": page_size}
        for _ in range(_MAX_PAGES):
            response = self._call("list_devices", **kwargs)
            devices = response.get("Devices", [])
            if not isinstance(devices, list) or len(devices) > 60:
                raise RemoteProtocolError("Devices", "must be a list of at most 60 devices")
            yield from (parse_device(d) for d in devices)
            token = response.get("PaginationToken")
            if token is None:
                return
            if not isinstance(token, str) or not token or token in seen:
                raise RemoteProtocolError("PaginationToken", "repeated or not a string")
            seen.add(token)
            kwargs["PaginationToken"] = token
        raise RemoteProtocolError("PaginationToken", f"more than {_MAX_PAGES} pages")

    def get_device(self, tokens: Tokens | str, device_key: str) -> Device:
        response = self._call(
            "get_device", AccessToken=_access(tokens), DeviceKey=check_device_key(device_key)
        )
        device = parse_device(response.get("Device"))
        if device.device_key != device_key:
            raise RemoteProtocolError("DeviceKey", "the service returned another device")
        return device

    def set_remembered(self, tokens: Tokens | str, device_key: str, remembered: bool) -> None:
        """UpdateDeviceStatus: remembered or not_remembered."""
        if not isinstance(remembered, bool):
            raise InvalidTypeError("remembered", "bool", remembered)
        self._call(
            "update_device_status",
            AccessToken=_access(tokens),
            DeviceKey=check_device_key(device_key),
            DeviceRememberedStatus="remembered" if remembered else "not_remembered",
        )

    def forget_device(self, tokens: Tokens | str, device_key: str | None = None) -> str:
        """ForgetDevice (default: the device the access token was issued to, else error) and
        drop it from the store; returns the key forgotten."""
        access = _access(tokens)
        if device_key is None:
            claim = _claims(tokens).get("device_key")
            if not isinstance(claim, str):
                raise InvalidParameterError("device_key", "none given and the token names none")
            device_key = claim
        device_key = check_device_key(device_key)
        self._call("forget_device", AccessToken=access, DeviceKey=device_key)
        self.drop_device(device_key)
        return device_key

    def drop_device(self, device_key: str) -> int:
        """Remove every stored entry of this pool and client that holds ``device_key``."""
        dropped = 0
        for key, secrets in self.store.entries():
            if (key.user_pool_id, key.client_id) != (self.user_pool_id, self.client_id):
                continue
            if secrets.device_key == device_key and self.store.delete(key, device_key=device_key):
                dropped += 1
        return dropped


def _printable(text: str, cap: int) -> str:
    """The service's own words, capped and with control characters escaped (terminal safety)."""
    text = text[:cap]
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _claims(tokens: Tokens | str) -> dict[str, Any]:
    if isinstance(tokens, Tokens):
        return tokens.claims("access")
    return Tokens(tokens, tokens, None, 1).claims("access")


def _replace(result: SignInResult, **changes: Any) -> SignInResult:
    return dataclasses.replace(result, **changes)
