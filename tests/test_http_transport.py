"""The HTTP transport on a real uvicorn (127.0.0.1): error shape, body caps, dispatch, SigV4,
replay cache, throttling, trusted proxies, health and the access log.

The operations here are small recording handlers, so that each guard is seen to stop a request
before any operation runs; the real operations are exercised in test_http_service.py.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from clients.harness import HERMETIC_ENV, thread_server
from devicesrp.http.app import Service, build_app
from devicesrp.http.config import ServiceConfig
from devicesrp.http.dispatch import Call, Operation, Reply
from devicesrp.http.sigv4 import AdminKey
from devicesrp.server.errors import UserNotFoundError

KEY = AdminKey("AKIDTRANSPORTTEST", "transport-test-secret-0123456789")
TARGET = "AWSCognitoIdentityProviderService."
SECRETISH = "terce5"  # reversed at use, so a traceback's source line never shows it


@dataclass
class Recorder:
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, call: Call) -> Reply:
        with self.lock:
            self.calls.append((call.operation, call.source_ip))
        if call.params.opt_str("Username") == "missing":
            raise UserNotFoundError()
        if call.params.opt_str("Username") == "crash":
            raise RuntimeError("unexpected failure carrying a value: " + SECRETISH[::-1])
        return Reply({"Username": call.params.opt_str("Username") or "", "Seen": call.source_ip})

    def count(self, name: str) -> int:
        with self.lock:
            return sum(1 for op, _ in self.calls if op == name)


def operations(rec: Recorder) -> dict[str, Operation]:
    return {
        "AdminGetUser": Operation("AdminGetUser", rec.handler, admin=True),
        "AdminDeleteUser": Operation("AdminDeleteUser", rec.handler, admin=True, mutating=True),
        "InitiateAuth": Operation("InitiateAuth", rec.handler, signin=True),
        "GetUser": Operation("GetUser", rec.handler),
    }


@dataclass
class Server:
    url: str
    rec: Recorder
    service: Service


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    rec = Recorder()
    config = ServiceConfig(
        admin_keys=(KEY,),
        max_body_bytes=4096,
        trusted_proxies=("127.0.0.1/32",),
        address_per_second=0.0,  # the throttle test builds its own server
        client_per_second=0.0,
    )
    service = Service(config, operations(rec))
    with thread_server(build_app(service)) as url:
        yield Server(url, rec, service)


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in HERMETIC_ENV.items():
        monkeypatch.setenv(name, value)


def client(url: str, key: AdminKey | None = KEY, signed: bool = True, **cfg: Any) -> Any:
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, **cfg)
    if not signed:
        config = config.merge(Config(signature_version=UNSIGNED))
    return boto3.client(
        "cognito-idp",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key.key_id if key else "AKIDNONE",
        aws_secret_access_key=key.secret if key else "none",
        config=config,
    )


def raw(
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    method: str = "POST",
    path: str = "/",
    chunks: list[bytes] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        if chunks is not None:
            conn.putrequest(method, path)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            try:
                for chunk in chunks:
                    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                conn.send(b"0\r\n\r\n")
            except OSError:
                pass  # the server may answer and close before the whole body is sent
        else:
            conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def json_headers(op: str) -> dict[str, str]:
    return {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + op}


def assert_aws_error(status: int, headers: dict[str, str], body: bytes, name: str) -> str:
    assert 400 <= status < 500, (status, body)
    doc = json.loads(body)
    assert doc["__type"] == name
    assert headers["x-amzn-errortype"] == f"{name}:"
    message: str = doc["message"]
    return message


def test_unknown_and_missing_operations_get_the_aws_error(server: Server) -> None:
    for headers in (
        json_headers("NoSuchOperation"),
        json_headers("CreateUserPoolDomain"),
        {"Content-Type": "application/x-amz-json-1.1"},
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Other.GetUser"},
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + "Get User"},
    ):
        status, hdrs, body = raw(server.url, b"{}", headers)
        assert status == 400
        assert_aws_error(status, hdrs, body, "UnknownOperationException")


@pytest.mark.parametrize(
    "payload",
    [
        b"{",
        b"[]",
        b'"x"',
        b'{"Username": "a", "Username": "b"}',
        b'{"Limit": NaN}',
        b"\xff\xfe{}",
        b"[" * 2000 + b"]" * 2000,
    ],
)
def test_malformed_json_is_a_serialization_error(server: Server, payload: bytes) -> None:
    before = server.rec.count("GetUser")
    status, hdrs, body = raw(server.url, payload, json_headers("GetUser"))
    assert_aws_error(status, hdrs, body, "SerializationException")
    assert server.rec.count("GetUser") == before


def test_wrong_content_type_is_refused(server: Server) -> None:
    headers = {"Content-Type": "text/plain", "X-Amz-Target": TARGET + "GetUser"}
    status, hdrs, body = raw(server.url, b"{}", headers)
    assert_aws_error(status, hdrs, body, "SerializationException")


def test_wrongly_typed_members_are_invalid_parameters(server: Server) -> None:
    for payload in ({"Username": 5}, {"Username": "x" * 3000}, {"Username": "a\x00b"}):
        status, hdrs, body = raw(server.url, json.dumps(payload).encode(), json_headers("GetUser"))
        assert_aws_error(status, hdrs, body, "InvalidParameterException")


def test_body_over_the_cap_is_refused_from_content_length(server: Server) -> None:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    conn.putrequest("POST", "/")
    for name, value in json_headers("GetUser").items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(10**9))
    conn.endheaders()  # no body is ever sent: the answer must come from the header alone
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 413
    assert json.loads(body)["__type"] == "RequestEntityTooLargeException"


def test_chunked_body_is_cut_at_the_cap(server: Server) -> None:
    before = server.rec.count("GetUser")
    status, _, body = raw(server.url, None, json_headers("GetUser"), chunks=[b" " * 1000] * 50)
    assert status == 413
    assert json.loads(body)["__type"] == "RequestEntityTooLargeException"
    ok_status, _, _ = raw(server.url, None, json_headers("GetUser"), chunks=[b"{", b"}"])
    assert ok_status == 200
    assert server.rec.count("GetUser") == before + 1


def test_signed_admin_call_succeeds(server: Server) -> None:
    before = server.rec.count("AdminGetUser")
    out = client(server.url).admin_get_user(UserPoolId="us-east-1_Transport", Username="alice")
    assert out["Username"] == "alice"
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert server.rec.count("AdminGetUser") == before + 1


@pytest.mark.parametrize(
    ("key", "signed", "error"),
    [
        (None, False, "MissingAuthenticationTokenException"),
        (AdminKey(KEY.key_id, "the-wrong-secret"), True, "InvalidSignatureException"),
        (AdminKey("AKIDUNKNOWN", KEY.secret), True, "UnrecognizedClientException"),
    ],
)
def test_admin_refusals_change_nothing(
    server: Server, key: AdminKey | None, signed: bool, error: str
) -> None:
    before = server.rec.count("AdminDeleteUser")
    with pytest.raises(ClientError) as info:
        client(server.url, key, signed).admin_delete_user(
            UserPoolId="us-east-1_Transport", Username="alice"
        )
    assert info.value.response["Error"]["Code"] == error
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert server.rec.count("AdminDeleteUser") == before


def test_admin_signature_outside_five_minutes_is_refused() -> None:
    rec = Recorder()
    for skew in (-301.0, 301.0):
        service = Service(
            ServiceConfig(admin_keys=(KEY,)), operations(rec), clock=lambda s=skew: time.time() + s
        )
        with thread_server(build_app(service)) as url, pytest.raises(ClientError) as info:
            client(url).admin_get_user(UserPoolId="us-east-1_Transport", Username="alice")
        assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert rec.calls == []


def capture_signed(url: str, op: str, **kwargs: Any) -> tuple[bytes, dict[str, str]]:
    """Make one signed boto3 call and return the exact body and headers it sent."""
    seen: dict[str, Any] = {}

    def grab(request: Any, **_: Any) -> None:
        seen["body"] = request.body
        seen["headers"] = {
            k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()
        }

    c = client(url)
    c.meta.events.register("before-send.cognito-idp.*", grab)
    getattr(c, op)(**kwargs)
    body = seen["body"]
    return (body if isinstance(body, bytes) else body.encode()), seen["headers"]


def test_mutating_admin_request_replayed_is_refused(server: Server) -> None:
    before = server.rec.count("AdminDeleteUser")
    body, headers = capture_signed(
        server.url, "admin_delete_user", UserPoolId="us-east-1_Transport", Username="bob"
    )
    assert server.rec.count("AdminDeleteUser") == before + 1
    status, hdrs, resp = raw(server.url, body, headers)
    message = assert_aws_error(status, hdrs, resp, "InvalidSignatureException")
    assert "already been used" in message
    assert server.rec.count("AdminDeleteUser") == before + 1


def test_read_only_admin_request_may_repeat(server: Server) -> None:
    before = server.rec.count("AdminGetUser")
    body, headers = capture_signed(
        server.url, "admin_get_user", UserPoolId="us-east-1_Transport", Username="bob"
    )
    status, _, _ = raw(server.url, body, headers)
    assert status == 200
    assert server.rec.count("AdminGetUser") == before + 2


def test_tampered_signed_body_is_refused(server: Server) -> None:
    body, headers = capture_signed(
        server.url, "admin_get_user", UserPoolId="us-east-1_Transport", Username="carol"
    )
    forged = body.replace(b"carol", b"carl0")
    status, hdrs, resp = raw(server.url, forged, headers)
    assert_aws_error(status, hdrs, resp, "InvalidSignatureException")
    swapped = dict(headers, **{"X-Amz-Target": TARGET + "AdminDeleteUser"})
    status, hdrs, resp = raw(server.url, body, swapped)
    assert_aws_error(status, hdrs, resp, "InvalidSignatureException")


def test_domain_errors_keep_their_cognito_name(server: Server) -> None:
    with pytest.raises(ClientError) as info:
        client(server.url).admin_get_user(UserPoolId="us-east-1_Transport", Username="missing")
    assert info.value.response["Error"]["Code"] == "UserNotFoundException"
    assert info.value.response["Error"]["Message"] == "User does not exist."


def test_unexpected_failure_is_a_bare_500(server: Server) -> None:
    status, hdrs, body = raw(server.url, b'{"Username": "crash"}', json_headers("GetUser"))
    assert status == 500
    doc = json.loads(body)
    assert doc == {"__type": "InternalErrorException", "message": "Internal error"}
    assert hdrs["x-amzn-errortype"] == "InternalErrorException:"


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(server: Server) -> None:
    headers = dict(json_headers("GetUser"), **{"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    _, _, body = raw(server.url, b"{}", headers)
    assert json.loads(body)["Seen"] == "203.0.113.9"  # right-most untrusted hop
    untrusting = Service(ServiceConfig(), operations(Recorder()))
    with thread_server(build_app(untrusting)) as url:
        _, _, body = raw(url, b"{}", headers)
    assert json.loads(body)["Seen"] == "127.0.0.1"


def test_throttling_refuses_before_the_operation_and_spares_others() -> None:
    rec = Recorder()
    config = ServiceConfig(
        trusted_proxies=("127.0.0.1/32",),
        address_per_second=0.001,
        address_burst=5,
        client_per_second=0.001,
        client_burst=8,
    )
    service = Service(config, operations(rec))
    flood = dict(json_headers("InitiateAuth"), **{"X-Forwarded-For": "192.0.2.1"})
    with thread_server(build_app(service)) as url:
        statuses = []
        for _ in range(20):
            status, hdrs, body = raw(url, b'{"ClientId": "c1"}', flood)
            statuses.append(status)
            if status != 200:
                assert_aws_error(status, hdrs, body, "TooManyRequestsException")
        assert statuses.count(200) == 5
        assert rec.count("InitiateAuth") == 5
        # another address is still served; the per-client bucket (8) then caps the spray
        spray = [
            raw(url, b'{"ClientId": "c1"}', dict(flood, **{"X-Forwarded-For": f"192.0.2.{i}"}))[0]
            for i in range(2, 12)
        ]
        assert spray.count(200) == 3
        other_client = dict(flood, **{"X-Forwarded-For": "192.0.2.99"})
        assert raw(url, b'{"ClientId": "c2"}', other_client)[0] == 200
        # boto3 sees the Cognito error name (and would retry it)
        with pytest.raises(ClientError) as info:
            client(url, signed=False).initiate_auth(
                ClientId="c1", AuthFlow="USER_SRP_AUTH", AuthParameters={"USERNAME": "u"}
            )
        assert info.value.response["Error"]["Code"] == "TooManyRequestsException"


def test_health_and_unknown_routes(server: Server) -> None:
    status, _, body = raw(server.url, None, {}, method="GET", path="/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, _, body = raw(server.url, None, {}, method="GET", path="/nowhere/else")
    assert status == 404 and json.loads(body)["__type"] == "UnknownOperationException"
    status, _, body = raw(server.url, None, {}, method="GET", path="/")
    assert status == 405


def test_access_log_has_one_line_per_request_and_no_secrets(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="devicesrp.http")
    secret_value = "hunter2-Sup3rSecretPassword"
    payload = json.dumps({"Username": "dave", "Password": secret_value}).encode()
    raw(server.url, payload, json_headers("GetUser"))
    raw(server.url, b'{"Username": "crash"}', json_headers("GetUser"))
    lines = [r.getMessage() for r in caplog.records if r.name == "devicesrp.http.access"]
    assert any(" GetUser 200 - " in line for line in lines)
    assert any(" GetUser 500 InternalErrorException " in line for line in lines)
    text = caplog.text
    assert secret_value not in text and "5ecret" not in text and KEY.secret not in text


def test_cors_only_for_configured_origins() -> None:
    config = ServiceConfig(cors_origins=("https://app.example.com",))
    headers = {
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-amz-target,x-amz-user-agent",
    }
    with thread_server(build_app(Service(config, operations(Recorder())))) as url:
        status, hdrs, _ = raw(url, None, headers, method="OPTIONS")
        assert status == 200
        assert hdrs["access-control-allow-origin"] == "https://app.example.com"
        assert "x-amz-target" in hdrs["access-control-allow-headers"].lower()
        evil = dict(headers, Origin="https://evil.example")
        status, hdrs, _ = raw(url, None, evil, method="OPTIONS")
        assert status == 400 and "access-control-allow-origin" not in hdrs
        status, hdrs, _ = raw(
            url, b"{}", dict(json_headers("GetUser"), Origin="https://app.example.com")
        )
        assert status == 200 and "x-devicesrp-server-proof" in hdrs["access-control-expose-headers"]
    with thread_server(build_app(Service(ServiceConfig(), operations(Recorder())))) as url:
        _, hdrs, _ = raw(
            url, b"{}", dict(json_headers("GetUser"), Origin="https://app.example.com")
        )
        assert "access-control-allow-origin" not in hdrs


def test_handlers_on_the_event_loop_behave_the_same() -> None:
    rec = Recorder()
    config = ServiceConfig(admin_keys=(KEY,), threaded_handlers=False)
    with thread_server(build_app(Service(config, operations(rec)))) as url:
        out = client(url).admin_get_user(UserPoolId="us-east-1_Transport", Username="erin")
        assert out["Username"] == "erin"
        status, _, body = raw(url, b'{"Username": "crash"}', json_headers("GetUser"))
        assert status == 500 and json.loads(body)["__type"] == "InternalErrorException"
    assert rec.count("AdminGetUser") == 1
