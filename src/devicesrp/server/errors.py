"""Domain errors of the identity provider, one class per Cognito error name.

Each class carries ``cognito_type`` (the ``__type`` the HTTP layer sends) and a message that is safe
to show a caller: it never holds a secret, and authentication failures never say which check failed.
"""

from __future__ import annotations

from typing import ClassVar

from ..errors import DeviceSrpError

__all__ = [
    "CodeDeliveryFailureError",
    "CodeMismatchError",
    "DeviceKeyExistsError",
    "DomainError",
    "EnableSoftwareTokenMfaError",
    "ExpiredCodeError",
    "InvalidParameterDomainError",
    "InvalidPasswordError",
    "InvalidUserPoolConfigurationError",
    "LimitExceededError",
    "NotAuthorizedError",
    "PasswordResetRequiredError",
    "ResourceNotFoundError",
    "TooManyFailedAttemptsError",
    "TooManyRequestsError",
    "UserNotConfirmedError",
    "UserNotFoundError",
    "UsernameExistsError",
    "device_does_not_exist",
    "incorrect_credentials",
    "invalid_session",
    "password_attempts_exceeded",
]


class DomainError(DeviceSrpError):
    """A refusal the service reports to its caller as a Cognito error."""

    cognito_type: ClassVar[str] = "InternalErrorException"
    default_message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class NotAuthorizedError(DomainError):
    cognito_type = "NotAuthorizedException"
    default_message = "Incorrect username or password."


class ResourceNotFoundError(DomainError):
    cognito_type = "ResourceNotFoundException"
    default_message = "Resource not found."


class InvalidParameterDomainError(DomainError):
    """Named apart from :class:`devicesrp.errors.InvalidParameterError` (argument-level)."""

    cognito_type = "InvalidParameterException"
    default_message = "Invalid parameter."


class DeviceKeyExistsError(DomainError):
    cognito_type = "DeviceKeyExistsException"
    default_message = "Device key already exists."


class UserNotFoundError(DomainError):
    cognito_type = "UserNotFoundException"
    default_message = "User does not exist."


class CodeMismatchError(DomainError):
    cognito_type = "CodeMismatchException"
    default_message = "Invalid code received for user"


class ExpiredCodeError(DomainError):
    cognito_type = "ExpiredCodeException"
    default_message = "Invalid code provided, please request a code again."


class TooManyRequestsError(DomainError):
    cognito_type = "TooManyRequestsException"
    default_message = "Too many requests"


class TooManyFailedAttemptsError(DomainError):
    cognito_type = "TooManyFailedAttemptsException"
    default_message = "Too many failed attempts."


class LimitExceededError(DomainError):
    cognito_type = "LimitExceededException"
    default_message = "Limit exceeded."


class UsernameExistsError(DomainError):
    cognito_type = "UsernameExistsException"
    default_message = "User already exists"


class InvalidPasswordError(DomainError):
    cognito_type = "InvalidPasswordException"
    default_message = "Password does not conform to policy."


class PasswordResetRequiredError(DomainError):
    cognito_type = "PasswordResetRequiredException"
    default_message = "Password reset required for the user"


class UserNotConfirmedError(DomainError):
    cognito_type = "UserNotConfirmedException"
    default_message = "User is not confirmed."


class EnableSoftwareTokenMfaError(DomainError):
    cognito_type = "EnableSoftwareTokenMFAException"
    default_message = "Code mismatch and fail enable Software Token MFA"


class CodeDeliveryFailureError(DomainError):
    cognito_type = "CodeDeliveryFailureException"
    default_message = "Unable to deliver the code."


class InvalidUserPoolConfigurationError(DomainError):
    cognito_type = "InvalidUserPoolConfigurationException"
    default_message = "The user pool configuration does not allow this operation."


# The exact messages real clients react to (see docs/cognito-device-srp.md §5 and real-clients.md).
def incorrect_credentials() -> NotAuthorizedError:
    """The one uniform sign-in failure: wrong password or device secret, unknown user, replay."""
    return NotAuthorizedError("Incorrect username or password.")


def password_attempts_exceeded() -> NotAuthorizedError:
    return NotAuthorizedError("Password attempts exceeded")


def invalid_session() -> NotAuthorizedError:
    return NotAuthorizedError("Invalid session for the user, session is expired.")


def device_does_not_exist() -> ResourceNotFoundError:
    """Amplify v6 retries without the device only on this exact message."""
    return ResourceNotFoundError("Device does not exist.")
