"""Domain values -> Cognito wire shapes (AuthenticationResult, DeviceType, UserType, ...).

Dates are epoch seconds as JSON numbers (what boto3 turns into datetimes and the JS SDKs keep).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from ...server.devices import DevicePage, DeviceView
from ...server.flow import AuthOutcome
from ...server.grants import AuthenticationResult
from ...server.provider import UserView
from ...server.users import CodeDelivery
from ...store.records import UserRecord
from ..dispatch import Reply

#: The response header carrying devicesrp's server proof (base64); Cognito clients ignore it.
SERVER_PROOF_HEADER = "x-devicesrp-server-proof"


def authentication_result(result: AuthenticationResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AccessToken": result.access_token,
        "IdToken": result.id_token,
        "ExpiresIn": result.expires_in,
        "TokenType": result.token_type,
    }
    if result.refresh_token is not None:
        out["RefreshToken"] = result.refresh_token
    if result.new_device is not None:
        out["NewDeviceMetadata"] = {
            "DeviceKey": result.new_device.device_key,
            "DeviceGroupKey": result.new_device.device_group_key,
        }
    return out


def proof_headers(result: AuthenticationResult | None) -> dict[str, str]:
    if result is None or result.server_proof is None:
        return {}
    return {SERVER_PROOF_HEADER: base64.b64encode(result.server_proof).decode()}


def auth_outcome(outcome: AuthOutcome) -> Reply:
    """InitiateAuth / RespondToAuthChallenge output: a challenge or the tokens."""
    if outcome.challenge is not None:
        body: dict[str, Any] = {
            "ChallengeName": outcome.challenge.name.value,
            "ChallengeParameters": dict(outcome.challenge.parameters),
        }
        if outcome.challenge.session is not None:
            body["Session"] = outcome.challenge.session
        return Reply(body)
    assert outcome.result is not None
    return Reply(
        {
            "ChallengeParameters": {},
            "AuthenticationResult": authentication_result(outcome.result),
        },
        proof_headers(outcome.result),
    )


def device_type(device: DeviceView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "DeviceKey": device.device_key,
        "DeviceAttributes": [{"Name": a.name, "Value": a.value} for a in device.attributes],
        "DeviceCreateDate": device.create_date,
        "DeviceLastModifiedDate": device.last_modified_date,
    }
    if device.last_authenticated_date is not None:
        out["DeviceLastAuthenticatedDate"] = device.last_authenticated_date
    return out


def device_page(page: DevicePage) -> dict[str, Any]:
    out: dict[str, Any] = {"Devices": [device_type(d) for d in page.devices]}
    if page.pagination_token:
        out["PaginationToken"] = page.pagination_token
    return out


def attribute_list(attributes: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in sorted(attributes.items())]


def user_view(view: UserView, *, admin: bool) -> dict[str, Any]:
    """GetUser (``admin=False``) or AdminGetUser (``admin=True``) output."""
    out: dict[str, Any] = {"Username": view.username, "MFAOptions": []}
    out["UserMFASettingList"] = list(view.mfa_options)
    if view.preferred_mfa:
        out["PreferredMfaSetting"] = view.preferred_mfa
    if admin:
        out.update(
            UserAttributes=attribute_list(view.attributes),
            UserCreateDate=view.created,
            UserLastModifiedDate=view.modified,
            Enabled=view.enabled,
            UserStatus=view.status,
        )
    else:
        out["UserAttributes"] = attribute_list(view.attributes)
    return out


def user_type(user: UserRecord | UserView) -> dict[str, Any]:
    """UserType (ListUsers, AdminCreateUser)."""
    if isinstance(user, UserView):
        attrs, created, modified = dict(user.attributes), user.created, user.modified
    else:
        attrs = {str(k): str(v) for k, v in user.attributes.items()}
        attrs["sub"] = user.sub
        created, modified = user.created_at, user.modified_at
    return {
        "Username": user.username,
        "Attributes": attribute_list(attrs),
        "UserCreateDate": created,
        "UserLastModifiedDate": modified,
        "Enabled": user.enabled,
        "UserStatus": user.status,
    }


def code_delivery(delivery: CodeDelivery) -> dict[str, str]:
    return {
        "Destination": delivery.destination,
        "DeliveryMedium": delivery.delivery_medium,
        "AttributeName": delivery.attribute_name,
    }
