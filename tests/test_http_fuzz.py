"""Security matrix row 20 at the HTTP layer: generated bad values for every member of the sign-in
and device operations, driven straight into the real ASGI app over a real SQLite domain.

Must hold: never a 5xx, every refusal in the AWS error shape, and cheap refusals (median CPU per
rejected request well under 1 ms for the transport's own rejections). Counts: ``count(ci, soak)``
per field (the soak run does 10,000 per field)."""

from __future__ import annotations

import base64
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asgi_request import asgi_post
from counts import count
from devicesrp.http.app import build_app
from devicesrp.http.config import ServiceConfig
from devicesrp.http.wiring import open_domain

TARGET = "AWSCognitoIdentityProviderService."
N = count(ci=150, soak=10_000)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    old = os.environ.get("DEVICESRP_KEK")
    os.environ["DEVICESRP_KEK"] = base64.b64encode(os.urandom(32)).decode()
    try:
        config = ServiceConfig(
            db=f"sqlite:///{path}", address_per_second=0, client_per_second=0, access_log=False
        )
        service, close = open_domain(config)
    finally:
        if old is None:
            os.environ.pop("DEVICESRP_KEK")
        else:
            os.environ["DEVICESRP_KEK"] = old
    setup(service)
    SERVICES.append(service)
    yield build_app(service)
    close()


SERVICES: list[Any] = []


def setup(service: Any) -> None:
    """A real pool, client, user and a live PASSWORD_VERIFIER challenge, made with the real
    operation handlers (SigV4 is the transport's, tested elsewhere), so that the generated values
    reach the domain's own checks instead of stopping at "no such client"."""
    from devicesrp import live
    from devicesrp.http.codec import Params
    from devicesrp.http.dispatch import Call
    from devicesrp.protocol.client import ClientHandshake
    from devicesrp.protocol.values import UserCredentials

    def run(op: str, body: dict[str, Any]) -> Any:
        return service.operations[op].handler(Call(op, Params(body), "127.0.0.1", time.time())).body

    pool = run("CreateUserPool", {"PoolName": "fuzz", "DeviceConfiguration": {}})["UserPool"]["Id"]
    client = run("CreateUserPoolClient", {"UserPoolId": pool, "ClientName": "f"})
    client_id = client["UserPoolClient"]["ClientId"]
    run(
        "AdminCreateUser",
        {"UserPoolId": pool, "Username": "alice", "TemporaryPassword": "Pa55w0rd!x"},
    )
    hs = ClientHandshake(UserCredentials(pool, "Pa55w0rd!x"))
    a_hex = format(live.start(hs), "x")
    challenge = run(
        "InitiateAuth",
        {
            "ClientId": client_id,
            "AuthFlow": "USER_SRP_AUTH",
            "AuthParameters": {"USERNAME": "alice", "SRP_A": a_hex},
        },
    )["ChallengeParameters"]
    for doc in REQUESTS.values():
        if "ClientId" in doc:
            doc["ClientId"] = client_id
    REQUESTS["InitiateAuth"]["AuthParameters"]["SRP_A"] = a_hex
    REQUESTS["RespondToAuthChallenge"]["ChallengeResponses"]["PASSWORD_CLAIM_SECRET_BLOCK"] = (
        challenge["SECRET_BLOCK"]
    )


def call(
    app: Any, op: str, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, dict[str, Any]]:
    """One request through the ASGI interface (no socket): (status, parsed body)."""
    default = [
        (b"content-type", b"application/x-amz-json-1.1"),
        (b"x-amz-target", (TARGET + op).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return asgi_post(app, headers or default, body)


def junk(rng: random.Random) -> Any:
    """A value of a wrong type, size or alphabet."""
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind == 1:
        return rng.randrange(-(2**70), 2**70)
    if kind == 2:
        return rng.random() * 1e300
    if kind == 3:
        return [rng.randrange(10)] * rng.randrange(5)
    if kind == 4:
        return {"x": "y"}
    if kind == 5:
        return rng.choice([True, False])
    if kind == 6:
        return "".join(chr(rng.randrange(0x20, 0x2FFFF)) for _ in range(rng.randrange(1, 40)))
    if kind == 7:
        return "f" * rng.choice([769, 770, 771, 4096, 40_000])
    if kind == 8:
        return rng.choice(["", " ", "\x00", "0x1f", "-1", "٣٤", "+AB", "null", "A" * 19])
    if kind == 9:
        return base64.b64encode(os.urandom(rng.randrange(1, 600))).decode()
    if kind == 10:
        return "".join(rng.choice("0123456789abcdef") for _ in range(rng.randrange(1, 800)))
    return "Tue Jan " + str(rng.randrange(-5, 40)) + " 25:61:00 UTC 2019"


REQUESTS: dict[str, dict[str, Any]] = {
    "InitiateAuth": {
        "ClientId": "abc",
        "AuthFlow": "USER_SRP_AUTH",
        "AuthParameters": {"USERNAME": "alice", "SRP_A": "ab" * 10, "DEVICE_KEY": "us_1"},
    },
    "RespondToAuthChallenge": {
        "ClientId": "abc",
        "ChallengeName": "PASSWORD_VERIFIER",
        "Session": "s" * 40,
        "ChallengeResponses": {
            "USERNAME": "alice",
            "PASSWORD_CLAIM_SECRET_BLOCK": "AAAA",
            "TIMESTAMP": "Tue Jan 1 06:06:09 UTC 2019",
            "PASSWORD_CLAIM_SIGNATURE": "AAAA",
        },
    },
    "ConfirmDevice": {
        "AccessToken": "a.b.c",
        "DeviceKey": "us-east-1_0f",
        "DeviceSecretVerifierConfig": {"Salt": "AAAA", "PasswordVerifier": "AAAA"},
        "DeviceName": "x",
    },
    "ListDevices": {"AccessToken": "a.b.c", "Limit": 10, "PaginationToken": "p"},
    "GetTokensFromRefreshToken": {"ClientId": "abc", "RefreshToken": "rt1.x", "DeviceKey": "k"},
}


def fields(doc: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, value in doc.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out.extend(fields(value, (*prefix, key)))
    return out


def with_value(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(doc))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


CASES = [(op, path) for op, doc in REQUESTS.items() for path in fields(doc)]


@pytest.mark.parametrize(("op", "path"), CASES, ids=[f"{o}:{'.'.join(p)}" for o, p in CASES])
def test_generated_bad_values_never_5xx(app: Any, op: str, path: tuple[str, ...]) -> None:
    rng = random.Random(f"{op}:{path}")
    for _ in range(N):
        body = json.dumps(with_value(REQUESTS[op], path, junk(rng))).encode()
        status, doc = call(app, op, body)
        assert status < 500, (op, path, status, doc)
        if status != 200:
            assert status in (400, 413) and isinstance(doc.get("__type"), str), doc
            assert doc["__type"].endswith("Exception")


def test_transport_rejections_are_cheap(app: Any) -> None:
    """Junk the transport itself refuses (bad JSON, unknown operation, wrong types, oversize
    declared bodies) costs well under 1 ms of CPU each (median)."""
    rng = random.Random(20)
    cases: list[tuple[str, bytes, list[tuple[bytes, bytes]] | None]] = []
    for _ in range(N):
        cases.append(("InitiateAuth", b"{" * rng.randrange(1, 2000), None))
        cases.append(("NoSuchOp", b"{}", None))
        cases.append(("InitiateAuth", json.dumps({"ClientId": junk(rng) or 5}).encode(), None))
        big = [
            (b"content-type", b"application/x-amz-json-1.1"),
            (b"x-amz-target", (TARGET + "InitiateAuth").encode()),
            (b"content-length", b"99999999"),
        ]
        cases.append(("InitiateAuth", b"", big))
    times = []
    for op, body, headers in cases:
        t0 = time.thread_time()
        status, _ = call(app, op, body, headers)
        times.append(time.thread_time() - t0)
        assert status in (400, 413)
    # asyncio.run's own event-loop set-up is part of each sample, so the real cost is lower still
    assert statistics.median(times) < 1e-3, statistics.median(times)


def test_readme_lists_exactly_the_operations_served(app: Any) -> None:
    import re

    readme = (Path(__file__).parents[1] / "src" / "devicesrp" / "http" / "README.md").read_text()
    section = readme.split("## Supported operations")[1].split("\n## ")[0]
    section = section.split("- Anything else")[0]
    listed = {
        name
        for name in re.findall(r"`([A-Z][A-Za-z]+)`", section)
        if not name.isupper() and name not in ("Permanent",)
    }
    listed -= {"True"}
    served = set(SERVICES[0].operations)
    assert listed == served, (listed - served, served - listed)
