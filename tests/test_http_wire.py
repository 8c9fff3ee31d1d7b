"""The exact wire of ``POST /`` as the ASGI app emits it, and the request-reading details the hot
path does by hand (raw headers, the body loop, the access-log record, the request id, the JSON
and member checks): each pinned to what Starlette's and the standard library's own helpers gave.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from asgi_request import asgi_exchange as exchange
from devicesrp.http import app as app_module
from devicesrp.http.app import Service, build_app, request_id
from devicesrp.http.awserror import AwsServiceError
from devicesrp.http.clientaddr import ClientAddress
from devicesrp.http.codec import Params, parse_body
from devicesrp.http.config import ServiceConfig
from devicesrp.http.dispatch import Call, Operation, Reply

TARGET = b"AWSCognitoIdentityProviderService."
JSON = (b"content-type", b"application/x-amz-json-1.1")


def echo(call: Call) -> Reply:
    proof = {"x-devicesrp-server-proof": "cHJvb2Y="} if call.params.has("Proof") else {}
    return Reply({"Op": call.operation, "Agent": call.user_agent, "Ip": call.source_ip}, proof)


def service(**config: Any) -> Service:
    config = {"address_per_second": 0.0, "client_per_second": 0.0, **config}
    ops = {name: Operation(name, echo, signin=True) for name in ("InitiateAuth", "GetUser")}
    return Service(ServiceConfig(**config), ops)


def whole(body: bytes) -> list[dict[str, Any]]:
    return [{"type": "http.request", "body": body, "more_body": False}]


def test_a_200_carries_id_proof_length_and_type_in_that_order() -> None:
    body = b'{"Proof": true}'
    status, headers, payload = exchange(
        build_app(service()), [(b"x-amz-target", TARGET + b"GetUser"), JSON], whole(body)
    )
    assert status == 200
    assert [name for name, _ in headers] == [
        b"x-amzn-requestid",
        b"x-devicesrp-server-proof",
        b"content-length",
        b"content-type",
    ]
    values = dict(headers)
    rid = values[b"x-amzn-requestid"].decode()
    assert str(uuid.UUID(rid)) == rid and uuid.UUID(rid).version == 4
    assert values[b"x-devicesrp-server-proof"] == b"cHJvb2Y="
    assert values[b"content-length"] == str(len(payload)).encode()
    assert values[b"content-type"] == b"application/x-amz-json-1.1"
    assert json.loads(payload) == {"Op": "GetUser", "Agent": "", "Ip": "127.0.0.1"}


def test_request_ids_are_random_version_4_uuids() -> None:
    ids = {request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for rid in ids:
        parsed = uuid.UUID(rid)
        assert str(parsed) == rid and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_repeated_header_counts_by_its_first_value() -> None:
    headers = [
        (b"x-amz-target", TARGET + b"GetUser"),
        (b"x-amz-target", TARGET + b"InitiateAuth"),
        JSON,
        (b"content-type", b"text/plain"),
        (b"user-agent", b"first"),
        (b"user-agent", b"second"),
    ]
    status, _, payload = exchange(build_app(service()), headers, whole(b"{}"))
    assert status == 200
    assert json.loads(payload) == {"Op": "GetUser", "Agent": "first", "Ip": "127.0.0.1"}


def test_a_body_in_pieces_is_joined_and_capped() -> None:
    app = build_app(service(max_body_bytes=1024))
    headers = [(b"x-amz-target", TARGET + b"GetUser"), JSON]
    pieces = [
        {"type": "http.request", "body": b'{"Us', "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b'ername": "x"}', "more_body": False},
    ]
    assert exchange(app, headers, pieces)[0] == 200
    over = [{"type": "http.request", "body": b" " * 600, "more_body": True}] * 2
    status, _, payload = exchange(app, headers, over)
    assert status == 413 and json.loads(payload)["__type"] == "RequestEntityTooLargeException"


def test_a_client_gone_before_its_body_is_a_bare_500() -> None:
    headers = [(b"x-amz-target", TARGET + b"GetUser"), JSON]
    status, _, payload = exchange(build_app(service()), headers, [])
    assert status == 500 and json.loads(payload)["__type"] == "InternalErrorException"


def test_the_access_log_record_is_the_line_from_service_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="devicesrp.http.access")
    exchange(build_app(service()), [(b"x-amz-target", TARGET + b"GetUser"), JSON], whole(b"{}"))
    (record,) = [r for r in caplog.records if r.name == "devicesrp.http.access"]
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.msg == "%s %s %d %s %.1fms"
    assert record.args is not None and record.args[:4] == ("127.0.0.1", "GetUser", 200, "-")
    assert record.pathname == app_module.__file__ and record.funcName == "log"


def test_no_access_log_record_below_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="devicesrp.http.access")
    exchange(build_app(service()), [(b"x-amz-target", TARGET + b"GetUser"), JSON], whole(b"{}"))
    assert not [r for r in caplog.records if r.name == "devicesrp.http.access"]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "198.51.100.1, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        ("10.0.0.5", "10.0.0.8, 10.0.0.7", "10.0.0.8"),
        ("10.0.0.5", "203.0.113.9, not-an-ip", "10.0.0.5"),
        ("10.0.0.5", None, "10.0.0.5"),
        ("192.0.2.1", "203.0.113.9", "192.0.2.1"),
        ("unknown", "203.0.113.9", "unknown"),
        ("::1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address_answers_the_same_the_second_time(
    peer: str, forwarded: str | None, expected: str
) -> None:
    addresses = ClientAddress(["10.0.0.0/8", "::1"])
    assert addresses.resolve(peer, forwarded) == expected
    assert addresses.resolve(peer, forwarded) == expected


def error_of(fn: Any) -> str:
    with pytest.raises(AwsServiceError) as info:
        fn()
    return f"{info.value.type_name}: {info.value.message}"


def test_json_refusals_keep_their_messages() -> None:
    assert parse_body(b'{"a": {"b": 1, "c": 2}}') == {"a": {"b": 1, "c": 2}}
    assert parse_body(b"  \n") == {}
    duplicate = error_of(lambda: parse_body(b'{"a": 1, "b": 2, "b": 3, "a": 4}'))
    assert duplicate == "SerializationException: duplicate member 'b'"
    nested = error_of(lambda: parse_body(b'{"x": {"k": 1, "k": 1}}'))
    assert nested == "SerializationException: duplicate member 'k'"
    not_json = "SerializationException: the request body is not valid JSON"
    for bad in (b"\xef\xbb\xbf{}", b"{} {}", b"\xff{}", b"{"):
        assert error_of(lambda bad=bad: parse_body(bad)) == not_json
    assert error_of(lambda: parse_body(b'{"x": NaN}')).endswith("NaN is not valid JSON")


def test_map_members_are_refused_by_name_and_in_order() -> None:
    def refusal(value: object) -> str:
        return error_of(lambda: Params({"M": value}).nullable_map("M", max_value=4))

    assert Params({"M": {"A": "abcd", "B": None}}).nullable_map("M", max_value=4) == {
        "A": "abcd",
        "B": None,
    }
    prefix = "InvalidParameterException: "
    assert refusal({"": "x"}) == prefix + "M key length must be between 1 and 128"
    assert refusal({"k" * 129: "x"}) == prefix + "M key length must be between 1 and 128"
    assert refusal({"A\x00": "x"}) == prefix + "M key must not contain NUL"
    assert refusal({"A": "abcde"}) == prefix + "M.A length must be between 0 and 4"
    assert refusal({"A": "a\x00"}) == prefix + "M.A must not contain NUL"
    assert refusal({"A": 1}) == prefix + "M.A must be a string"
    assert refusal({"A": "ok", "B": 1, "": "x"}) == prefix + "M.B must be a string"


def test_patterns_still_decide() -> None:
    params = Params({"C": "abc+1", "D": "a-b"})
    assert params.req_str("C", pattern=r"[\w+]+") == "abc+1"
    refused = error_of(lambda: params.req_str("D", pattern=r"[\w+]+"))
    assert refused == "InvalidParameterException: D has an invalid format"
