"""AWS JSON 1.1 error replies: ``{"__type": Name, "message": ...}`` with ``x-amzn-ErrorType``.

botocore reads the error code from the body's ``__type``; the JS SDKs read ``__type`` or the header,
so both always agree. Client mistakes are 4xx, never 5xx (cognito-device-srp.md §5).
"""

from __future__ import annotations

import json

from ..errors import DeviceSrpError

#: The one message for a failed password or device proof (Cognito's wording; clients match on it).
WRONG_SECRET = "Incorrect username or password."  # noqa: S105 - a message
#: The one message for an unknown or forgotten device (Amplify retries only on this exact text).
NO_DEVICE = "Device does not exist."


class AwsServiceError(DeviceSrpError):
    """A refusal sent to the client in the AWS error shape; ``message`` never holds a secret."""

    def __init__(self, type_name: str, message: str, status: int = 400) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.status = status


def invalid_parameter(message: str) -> AwsServiceError:
    return AwsServiceError("InvalidParameterException", message)


def serialization(message: str) -> AwsServiceError:
    return AwsServiceError("SerializationException", message)


def not_authorized(message: str = WRONG_SECRET) -> AwsServiceError:
    return AwsServiceError("NotAuthorizedException", message)


def error_body(err: AwsServiceError) -> bytes:
    return json.dumps({"__type": err.type_name, "message": err.message}).encode()


def error_headers(err: AwsServiceError) -> dict[str, str]:
    return {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-errortype": f"{err.type_name}:",
    }
