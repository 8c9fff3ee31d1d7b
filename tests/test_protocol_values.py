"""Typed values and contexts: strict construction, clear typed errors, no secrets in messages."""

from __future__ import annotations

import pytest

from devicesrp.errors import DeviceSrpError, InvalidParameterError, InvalidTypeError
from devicesrp.protocol import (
    Challenge,
    ChallengeContext,
    ClientResponse,
    DeviceCredentials,
    Flow,
    UserCredentials,
    VerifierRecord,
)
from devicesrp.protocol.context import MAX_CONTEXT_FIELD_BYTES
from devicesrp.srp.groups import COGNITO_GROUP
from test_protocol_support import (
    DEVICE_KEY,
    DEVICE_PASSWORD,
    GROUP_KEY,
    POOL_ID,
    det,
    device_context,
    device_record,
)

N = COGNITO_GROUP.N


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"flow": 1}, InvalidTypeError),
        ({"flow": "USER_PASSWORD"}, InvalidTypeError),
        ({"pool_id": ""}, InvalidParameterError),
        ({"client_id": None}, InvalidTypeError),
        ({"user": b"user"}, InvalidTypeError),
        ({"device": ""}, InvalidParameterError),
        ({"device": 5}, InvalidTypeError),
        ({"user": "x" * (MAX_CONTEXT_FIELD_BYTES + 1)}, InvalidParameterError),
        ({"user": "é" * (MAX_CONTEXT_FIELD_BYTES // 2 + 1)}, InvalidParameterError),  # bytes count
        ({"user": "\ud800"}, InvalidParameterError),  # a lone surrogate cannot be UTF-8
    ],
)
def test_context_is_validated(changes: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        device_context(**changes)


def test_context_accepts_any_unicode_within_caps() -> None:
    ctx = ChallengeContext(Flow.USER_PASSWORD, "eu-west-1_Pool", "client", "ユーザー\x00名", None)
    assert ctx.encode() != device_context().encode()


def test_verifier_record_normalises_and_checks_the_verifier() -> None:
    rec = device_record()
    assert len(rec.verifier) == 384
    padded = b"\x00" + rec.verifier  # PAD form with a sign byte, as ConfirmDevice may send it
    assert VerifierRecord(GROUP_KEY, DEVICE_KEY, rec.salt, padded).verifier == rec.verifier
    for bad in (b"", b"\x01", (N - 1).to_bytes(384, "big"), N.to_bytes(384, "big"), b"\x01" * 386):
        with pytest.raises(InvalidParameterError) as info:
            VerifierRecord(GROUP_KEY, DEVICE_KEY, rec.salt, bad)
        if len(bad) > 8:  # the message names the field, never the value
            assert bad.hex()[-16:] not in str(info.value)
    with pytest.raises(InvalidTypeError):
        VerifierRecord(GROUP_KEY, DEVICE_KEY, rec.salt, rec.verifier.hex())  # type: ignore[arg-type]


@pytest.mark.parametrize("salt", [b"", b"\x01" * 66, "00ff"])
def test_verifier_record_salt_bounds(salt: object) -> None:
    with pytest.raises(DeviceSrpError):
        VerifierRecord(GROUP_KEY, DEVICE_KEY, salt, device_record().verifier)  # type: ignore[arg-type]


def test_user_record_takes_p_from_the_pool_id() -> None:
    rec = VerifierRecord.for_user(POOL_ID, "someone", b"\x01" * 16, device_record().verifier)
    assert rec.realm == "TestPool1"
    with pytest.raises(InvalidParameterError):
        VerifierRecord.for_user("no-underscore", "someone", b"\x01", device_record().verifier)


def test_credentials_are_validated_and_hidden() -> None:
    with pytest.raises(InvalidParameterError):
        UserCredentials(POOL_ID, "")
    with pytest.raises(InvalidParameterError):
        UserCredentials("nopool", "pw")
    with pytest.raises(InvalidParameterError):
        DeviceCredentials(GROUP_KEY, DEVICE_KEY, "")
    with pytest.raises(InvalidTypeError):
        DeviceCredentials(GROUP_KEY, DEVICE_KEY, b"pw")  # type: ignore[arg-type]
    creds = DeviceCredentials(GROUP_KEY, DEVICE_KEY, DEVICE_PASSWORD)
    assert DEVICE_PASSWORD not in repr(creds) and creds.realm == GROUP_KEY


def test_messages_are_typed() -> None:
    with pytest.raises(InvalidTypeError):
        Challenge(DEVICE_KEY, det("s", 16), "ff", "QUJD")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        Challenge(DEVICE_KEY, det("s", 16), True, "QUJD")
    with pytest.raises(InvalidParameterError):
        Challenge("", det("s", 16), 5, "QUJD")
    with pytest.raises(InvalidTypeError):
        ClientResponse(None, "ts", "sig")  # type: ignore[arg-type]
