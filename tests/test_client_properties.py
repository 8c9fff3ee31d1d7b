"""Properties of the client's pure parts (hypothesis): the file store keeps any valid values
exactly, and the response checks turn ANY server answer into a typed value or a
RemoteProtocolError, never another exception."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counts import count
from devicesrp.client import DeviceSecrets, FileDeviceStore, StoreKey
from devicesrp.client.responses import (
    parse_auth_step,
    parse_device,
    parse_device_challenge,
    parse_password_challenge,
    parse_server_proof,
    parse_tokens,
)
from devicesrp.errors import RemoteProtocolError

EXAMPLES = count(ci=60, soak=2000)
printable = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")), min_size=1
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    user=printable.filter(lambda s: len(s) <= 128 and s.isprintable()),
    group=printable.filter(lambda s: len(s) <= 1024 and s.isprintable()),
    password=printable.filter(lambda s: len(s) <= 1024 and s.isprintable()),
    key_tail=st.text("0123456789abcdef-", min_size=1, max_size=40),
)
def test_file_store_round_trips_any_valid_values(
    user: str, group: str, password: str, key_tail: str
) -> None:
    key = StoreKey("eu-west-1_Prop", "client", user)
    secrets = DeviceSecrets(f"eu-west-1_{key_tail}", group, password)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "devices.json"
        FileDeviceStore(path).save(key, secrets)
        assert FileDeviceStore(path).load(key) == secrets  # a fresh reader of the file
        assert FileDeviceStore(path).entries() == [(key, secrets)]


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["", "0", "1", "ff" * 400, "a.b.c", "Bearer", "PASSWORD_VERIFIER"]),
    st.datetimes(timezones=st.just(dt.UTC)),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=5)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "ChallengeName",
        "ChallengeParameters",
        "Session",
        "AuthenticationResult",
        "SALT",
        "SRP_B",
        "SECRET_BLOCK",
        "USER_ID_FOR_SRP",
        "USERNAME",
        "DEVICE_KEY",
        "AccessToken",
        "IdToken",
        "RefreshToken",
        "ExpiresIn",
        "TokenType",
        "NewDeviceMetadata",
        "DeviceKey",
        "DeviceGroupKey",
        "DeviceAttributes",
        "DeviceCreateDate",
        "ResponseMetadata",
        "HTTPHeaders",
        "x-devicesrp-server-proof",
    ]
)
answers = st.dictionaries(keys | st.text(max_size=10), json_values, max_size=8)


def only_typed_failures(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except RemoteProtocolError:
        pass


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(answer=answers, nested=answers)
def test_any_answer_is_parsed_or_refused_with_a_typed_error(
    answer: dict[str, Any], nested: dict[str, Any]
) -> None:
    only_typed_failures(parse_auth_step, answer)
    only_typed_failures(parse_auth_step, {**answer, "ChallengeParameters": nested})
    only_typed_failures(parse_auth_step, {**answer, "AuthenticationResult": nested})
    strings = {k: v for k, v in nested.items() if isinstance(v, str)}
    only_typed_failures(parse_password_challenge, strings)
    only_typed_failures(parse_device_challenge, strings, "eu-west-1_abc")
    only_typed_failures(parse_tokens, nested)
    only_typed_failures(parse_device, nested)
    only_typed_failures(parse_server_proof, {"ResponseMetadata": {"HTTPHeaders": nested}})
    only_typed_failures(parse_server_proof, {"ResponseMetadata": answer})
