"""Device operations (access token) and their Admin* twins (SigV4)."""

from __future__ import annotations

import re

from ...server.provider import IdentityProvider
from ..awserror import invalid_parameter
from ..codec import Params
from ..dispatch import Call, Operation, Reply
from .shapes import device_page, device_type

MAX_TOKEN = 8192
DEVICE_KEY = r"[\w-]+_[0-9a-f-]+"
POOL_ID = r"[\w-]+_[0-9a-zA-Z]+"


def sdk_of(user_agent: str) -> str | None:
    """``dev:device_sdk`` from the User-Agent's first product (``aws-amplify/6.22.1 ...``)."""
    m = re.match(r"([A-Za-z0-9._-]{1,40})/", user_agent)
    return m.group(1) if m else None


def _key(p: Params) -> str:
    return p.req_str("DeviceKey", max_len=55, pattern=DEVICE_KEY)


def _token(p: Params) -> str:
    return p.req_str("AccessToken", max_len=MAX_TOKEN)


def _pool(p: Params) -> str:
    return p.req_str("UserPoolId", max_len=55, pattern=POOL_ID)


def _user(p: Params) -> str:
    return p.req_str("Username", max_len=128)


def _status(p: Params) -> str:
    status = p.req_str("DeviceRememberedStatus", max_len=32)
    if status not in ("remembered", "not_remembered"):
        raise invalid_parameter("DeviceRememberedStatus must be remembered or not_remembered")
    return status


def operations(idp: IdentityProvider) -> list[Operation]:
    def confirm(call: Call) -> Reply:
        p = call.params
        config = p.opt_object("DeviceSecretVerifierConfig")
        if config is None:
            raise invalid_parameter("Missing required parameter DeviceSecretVerifierConfig")
        necessary = idp.confirm_device(
            _token(p),
            _key(p),
            config.req_str("Salt", max_len=1024),
            config.req_str("PasswordVerifier", max_len=1024),
            p.opt_str("DeviceName", max_len=1024),
            sdk=sdk_of(call.user_agent),
        )
        return Reply({"UserConfirmationNecessary": necessary})

    def update_status(call: Call) -> Reply:
        p = call.params
        idp.update_device_status(_token(p), _key(p), _status(p))
        return Reply({})

    def get(call: Call) -> Reply:
        p = call.params
        return Reply({"Device": device_type(idp.get_device(_token(p), _key(p)))})

    def list_(call: Call) -> Reply:
        p = call.params
        page = idp.list_devices(
            _token(p), p.opt_int("Limit", lo=0, hi=60), p.opt_str("PaginationToken", max_len=1024)
        )
        return Reply(device_page(page))

    def forget(call: Call) -> Reply:
        p = call.params
        key = p.opt_str("DeviceKey", max_len=55, pattern=DEVICE_KEY)
        idp.forget_device(_token(p), key)
        return Reply({})

    def admin_get(call: Call) -> Reply:
        p = call.params
        return Reply({"Device": device_type(idp.admin_get_device(_pool(p), _user(p), _key(p)))})

    def admin_list(call: Call) -> Reply:
        p = call.params
        page = idp.admin_list_devices(
            _pool(p),
            _user(p),
            p.opt_int("Limit", lo=0, hi=60),
            p.opt_str("PaginationToken", max_len=1024),
        )
        return Reply(device_page(page))

    def admin_forget(call: Call) -> Reply:
        p = call.params
        idp.admin_forget_device(_pool(p), _user(p), _key(p))
        return Reply({})

    def admin_update(call: Call) -> Reply:
        p = call.params
        idp.admin_update_device_status(_pool(p), _user(p), _key(p), _status(p))
        return Reply({})

    return [
        Operation("ConfirmDevice", confirm),
        Operation("UpdateDeviceStatus", update_status),
        Operation("GetDevice", get),
        Operation("ListDevices", list_),
        Operation("ForgetDevice", forget),
        Operation("AdminGetDevice", admin_get, admin=True),
        Operation("AdminListDevices", admin_list, admin=True),
        Operation("AdminForgetDevice", admin_forget, admin=True, mutating=True),
        Operation("AdminUpdateDeviceStatus", admin_update, admin=True, mutating=True),
    ]
