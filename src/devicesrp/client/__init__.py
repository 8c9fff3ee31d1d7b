"""The Python client SDK: remembered-device sign-in over boto3, against any Cognito-compatible
endpoint (here proven against ``devicesrp serve`` and the official clients' vectors).

``Client(user_pool_id, client_id, *, client_secret=None, store=None, cognito=None, region=None,
endpoint_url=None, require_server_proof=False, remember="always", device_name=None,
callbacks=None)``:

- ``sign_in(username, password, *, callbacks=None, remember=None, device_name=None)`` ->
  ``SignInResult``: USER_SRP_AUTH (SECRET_HASH when the app client has a secret), MFA (SMS, TOTP,
  selection, TOTP setup) and NEW_PASSWORD_REQUIRED through ``Callbacks``; with a stored device,
  the device step (fresh ``a``, Session echoed); after NewDeviceMetadata, ConfirmDevice with the
  project's verifier and remembering per UserConfirmationNecessary and ``RememberPolicy``.
  ``Device does not exist.`` clears the stored device and answers the password step again
  without it.
- ``refresh(username, refresh_token)``, ``sign_out(tokens, everywhere=False)`` (RevokeToken,
  GlobalSignOut), ``list_devices``, ``get_device``, ``set_remembered``, ``forget_device``,
  ``stored_device``, ``drop_device``.
- Server proof: devicesrp's ``x-devicesrp-server-proof`` header is verified whenever sent; with
  ``require_server_proof=True`` the last SRP step (the one vouching for the tokens) must carry a
  valid one or no tokens are returned (details in ``signin``).

Device credential stores (``store``): ``DeviceStore`` (the interface), ``FileDeviceStore``
(default; JSON, 0600, atomic, two-process safe), ``MemoryDeviceStore``; values are
``DeviceSecrets(device_key, device_group_key, device_password)`` keyed by ``StoreKey(pool, client,
username)``.

Errors (``devicesrp.errors``): ``ServiceError`` / ``DeviceNotFoundError`` (the service said no),
``AuthenticationError`` (a server proof failed), ``RemoteProtocolError`` (malformed answer),
``ChallengeNotHandledError``, ``CredentialStoreError``, ``InvalidParameterError`` /
``InvalidTypeError`` (bad arguments).
"""

from __future__ import annotations

from .callbacks import Callbacks, NewPassword, RememberPolicy
from .client import DEVICE_NOT_FOUND_MESSAGE, Client, SignInResult, cognito_client
from .responses import SERVER_PROOF_HEADER, Device, NewDevice, Tokens
from .store import (
    DeviceSecrets,
    DeviceStore,
    FileDeviceStore,
    MemoryDeviceStore,
    StoreKey,
    default_store_path,
)

__all__ = [
    "DEVICE_NOT_FOUND_MESSAGE",
    "SERVER_PROOF_HEADER",
    "Callbacks",
    "Client",
    "Device",
    "DeviceSecrets",
    "DeviceStore",
    "FileDeviceStore",
    "MemoryDeviceStore",
    "NewDevice",
    "NewPassword",
    "RememberPolicy",
    "SignInResult",
    "StoreKey",
    "Tokens",
    "cognito_client",
    "default_store_path",
]
