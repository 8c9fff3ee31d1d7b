"""The one exception root of devicesrp, importable from every layer.

Subclasses that signal a caller's bad argument are also ``ValueError`` or ``TypeError`` so that
ordinary Python code can catch them the usual way (the pynacl pattern). Messages name the field
at fault, never a secret value.
"""

from __future__ import annotations


class DeviceSrpError(Exception):
    """Root of every error devicesrp raises on purpose."""


class InvalidParameterError(DeviceSrpError, ValueError):
    """An argument or a peer-sent value has the right type but an unacceptable value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidTypeError(DeviceSrpError, TypeError):
    """An argument has the wrong type."""

    def __init__(self, field: str, expected: str, got: object) -> None:
        super().__init__(f"{field}: expected {expected}, got {type(got).__name__}")
        self.field = field


class BackendError(DeviceSrpError, RuntimeError):
    """The arithmetic backend cannot do what was asked."""


class VariableTimeBackendError(BackendError):
    """A secret operation was asked of a backend that is not constant time.

    Set ``DEVICESRP_ALLOW_VARIABLE_TIME=1`` to accept the risk (tests, benchmarks, development).
    """


class AuthenticationError(DeviceSrpError):
    """An authentication proof failed. Always the same message: it never says which check failed."""

    def __init__(self) -> None:
        super().__init__("authentication failed")


class UnsafePublicValueError(InvalidParameterError):
    """A peer's SRP public value (A, B) or the derived u is unsafe (out of range, ≡ 0 mod N, u = 0).

    Raised by the math before any secret exponentiation; protocol layers turn it into their
    uniform authentication failure.
    """


class InvalidTimestampError(InvalidParameterError):
    """A TIMESTAMP that cannot be parsed as ``EEE MMM d HH:mm:ss z yyyy`` (English)."""

    def __init__(self, reason: str) -> None:
        super().__init__("TIMESTAMP", reason)


class GroupNotApprovedError(InvalidParameterError):
    """An SRP group, generator or multiplier that is not one of the pinned, approved values."""


class LocalProtocolError(DeviceSrpError, RuntimeError):
    """This side misused a protocol engine (a call out of order, or after an error).

    The engine is then in its terminal ERROR state; start a new handshake.
    """


class RemoteProtocolError(InvalidParameterError):
    """The peer sent a value the protocol forbids (e.g. a server public B outside 1 < B < N - 1)."""


# -- storage (devicesrp.store) --------------------------------------------------------------------


class StoreError(DeviceSrpError):
    """The store could not do what was asked (root of the storage errors)."""


class RecordExistsError(StoreError):
    """A create found its key taken (pool, client, user name or sub, device key, token, key id)."""


class RecordNotFoundError(StoreError, LookupError):
    """An update or a reference named a record that does not exist."""


class DeviceKeyConflictError(RecordExistsError):
    """ConfirmDevice for a key already confirmed with another verifier (or held by another user).

    The stored verifier is left as it was; the domain reports DeviceKeyExistsException.
    """


class StoreUnavailableError(StoreError):
    """The database cannot be reached, or stayed locked/busy past the timeout; safe to retry."""


class StoreCollisionError(StoreUnavailableError):
    """A unit of work collided with another (a deadlock or serialisation failure) and was rolled
    back; running it again from the start is safe (``store.run_unit`` does)."""


class SchemaVersionError(StoreError):
    """The database schema is newer than this code understands."""


class InjectedFaultError(StoreError):
    """Raised by the store's statement hook in tests, to prove a multi-step write is atomic."""


# -- client SDK (devicesrp.client) ----------------------------------------------------------------


class ServiceError(DeviceSrpError):
    """The Cognito-compatible service answered an error (``code`` is its ``__type``).

    ``message`` is the service's own text (never a secret of ours). ``DeviceNotFoundError`` is the
    ``ResourceNotFoundException`` "Device does not exist." that clients recover from.
    """

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation}: {code}: {message}")
        self.operation = operation
        self.code = code
        self.message = message


class DeviceNotFoundError(ServiceError):
    """``ResourceNotFoundException`` "Device does not exist.": the stored device is stale."""


class ChallengeNotHandledError(DeviceSrpError):
    """The service asked for a challenge (MFA, new password ...) that no callback answers."""

    def __init__(self, challenge: str, reason: str) -> None:
        super().__init__(f"{challenge}: {reason}")
        self.challenge = challenge
        self.reason = reason


class CredentialStoreError(DeviceSrpError):
    """The device credentials store cannot be read or written (corrupt, too open, locked ...)."""
