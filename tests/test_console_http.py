"""The admin console over plain HTTP against a real ``devicesrp serve`` (SQLite and PostgreSQL):
every page and action refused without a session, sign-in refusals and rate limit, forged posts,
hostile input, search and pagination, no secret in any page, the Secure cookie over TLS."""

from __future__ import annotations

import base64
import datetime
import http.cookiejar
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clients.harness import (
    ADMIN_KEY_ID,
    ADMIN_SECRET,
    HERMETIC_ENV,
    Service,
    free_port,
    postgres_reachable,
    serve_process,
    shared_service,
    thread_server,
)
from clients.raw import confirm_new_device, sign_in
from counts import count
from devicesrp.http.app import Service as AppService
from devicesrp.http.app import build_app
from devicesrp.http.config import ServiceConfig
from devicesrp.http.console import console_app
from devicesrp.server.kek import Kek
from devicesrp.server.provider import IdentityProvider
from devicesrp.server.runtime import Runtime
from devicesrp.store import open_store
from test_http_service import PASSWORD, make_pool, make_user

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "cache-control")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def any_svc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Service:
    if request.param == "postgres":
        reason = postgres_reachable()
        if reason is not None:
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
    base = tmp_path_factory.getbasetemp() / f"http-{request.param}"
    return shared_service(request.param, Path(base))


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return shared_service("sqlite", Path(tmp_path_factory.getbasetemp() / "http-sqlite"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: Any
    body: str

    def form_token(self) -> str:
        m = re.search(r'name="csrf" value="([^"]+)"', self.body)
        assert m is not None, "no form token on the page"
        return m.group(1)

    @property
    def heading(self) -> str:
        m = re.search(r"<h1>(.*?)</h1>", self.body, re.S)
        return m.group(1).strip() if m else ""


class Operator:
    """A cookie-keeping HTTP client that does not follow redirects (to see them)."""

    def __init__(self, url: str, context: ssl.SSLContext | None = None) -> None:
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(*handlers)

    def send(self, req: urllib.request.Request) -> Reply:
        try:
            with self.opener.open(req, timeout=20) as resp:
                return Reply(resp.status, resp.headers, resp.read().decode())
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.headers, err.read().decode())

    def get(self, path: str) -> Reply:
        return self.send(urllib.request.Request(self.url + path))

    def post(
        self,
        path: str,
        fields: dict[str, str] | None = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        body = raw if raw is not None else urllib.parse.urlencode(fields or {}).encode()
        req = urllib.request.Request(self.url + path, data=body, method="POST")
        req.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        return self.send(req)

    def sign_in(self, key_id: str = ADMIN_KEY_ID, secret: str = ADMIN_SECRET) -> Reply:
        token = self.get("/console/sign-in").form_token()
        return self.post(
            "/console/sign-in",
            {"csrf": token, "next": "/console/", "key_id": key_id, "secret": secret},
        )

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def signed_in(svc: Service) -> Operator:
    op = Operator(svc.url)
    reply = op.sign_in()
    assert reply.status == 303, reply.body
    return op


def sub_of(svc: Service, pool_id: str, username: str) -> str:
    user = svc.admin().admin_get_user(UserPoolId=pool_id, Username=username)
    return str({a["Name"]: a["Value"] for a in user["UserAttributes"]}["sub"])


def user_with_device(svc: Service, name: str = "alice") -> tuple[str, str, str, Any, Any]:
    """(pool id, sub, device key, device, tokens) for a user with one remembered device."""
    pool_id, client_id = make_pool(svc, "always")
    make_user(svc, pool_id, name)
    tokens = sign_in(svc.public(), pool_id, client_id, name, PASSWORD).tokens
    device, _ = confirm_new_device(svc.public(), tokens, "work-phone")
    return pool_id, sub_of(svc, pool_id, name), device.key, device, tokens


def device_keys(svc: Service, pool_id: str, username: str) -> list[str]:
    listed = svc.admin().admin_list_devices(UserPoolId=pool_id, Username=username)["Devices"]
    return [d["DeviceKey"] for d in listed]


def test_nothing_is_reachable_without_a_session(any_svc: Service) -> None:
    svc = any_svc
    pool_id, sub, key, _, _ = user_with_device(svc)
    user = f"/console/pools/{pool_id}/users/{sub}"
    pages = ["/console/", f"/console/pools/{pool_id}", user, user + "?devices=x"]
    actions = [
        "/console/sign-out",
        f"/console/pools/{pool_id}",
        user + "/lockout/reset",
        f"{user}/devices/{key}/forget",
        f"{user}/devices/{key}/status",
    ]
    settings = {
        "device_policy": "off",
        "mfa_mode": "OFF",
        "cap_mode": "refuse",
        "remembered": "no",
    }
    stranger = Operator(svc.url)
    # made-up cookies: junk, and well-formed ones whose MAC is wrong
    forged = ["x", "a.1.b", f"{'A' * 43}.{int(time.time()) + 999}.{'B' * 43}", "A.1.B" * 80]
    for cookie in [None, *forged]:
        headers = {"Cookie": f"devicesrp_console={cookie}"} if cookie else {}
        for page in pages:
            reply = stranger.send(urllib.request.Request(svc.url + page, headers=headers))
            assert reply.status == 303, page
            location = reply.headers["location"]
            assert location == "/console/sign-in?" + urllib.parse.urlencode({"next": page})
        for action in actions:
            token = {"csrf": "anything", **settings}
            reply = stranger.post(action, token, headers=headers)
            assert (reply.status, reply.heading) == (401, "Sign in to use the console."), action
    assert device_keys(svc, pool_id, "alice") == [key]
    described = svc.admin().describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert "DeviceConfiguration" in described  # the settings post changed nothing

    # signed in, the same pages open; signed out, the same cookie opens nothing again
    op = signed_in(svc)
    cookie = op.cookie("devicesrp_console")
    assert cookie is not None
    for page in pages[:3]:
        reply = op.get(page)
        assert reply.status == 200 and all(h in reply.headers for h in SECURITY_HEADERS)
        policy = reply.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy  # no script runs
    assert key in op.get(user).body
    reply = op.post("/console/sign-out", {"csrf": op.get("/console/").form_token()})
    assert (reply.status, reply.headers["location"]) == (303, "/console/sign-in?done=signed-out")
    replay = Operator(svc.url)
    reply = replay.send(
        urllib.request.Request(svc.url + user, headers={"Cookie": f"devicesrp_console={cookie}"})
    )
    assert reply.status == 303 and reply.headers["location"].startswith("/console/sign-in")


def test_sign_in_refusals_rate_limit_and_cookie(svc: Service) -> None:
    op = Operator(svc.url)
    page = op.get("/console/sign-in")
    assert page.status == 200 and 'type="password"' in page.body
    pre = op.cookie("devicesrp_console_signin")
    assert pre is not None
    # no form token, a wrong one, or a token without its cookie: refused before any check
    assert op.post("/console/sign-in", {"key_id": ADMIN_KEY_ID, "secret": ADMIN_SECRET}).status == (
        403
    )
    for wrong in ("nope", "\u00e9" * 43, ""):
        bad = {"csrf": wrong, "key_id": ADMIN_KEY_ID, "secret": ADMIN_SECRET}
        assert op.post("/console/sign-in", bad).status == 403
    cookieless = Operator(svc.url)
    stolen = {"csrf": page.form_token(), "key_id": ADMIN_KEY_ID, "secret": ADMIN_SECRET}
    assert cookieless.post("/console/sign-in", stolen).status == 403
    assert cookieless.cookie("devicesrp_console") is None

    # wrong secret, wrong key id, empty: the same answer
    answers = set()
    for key_id, secret in [
        (ADMIN_KEY_ID, "wrong-secret"),
        ("AKIDNOBODY", ADMIN_SECRET),
        ("", ""),
        (ADMIN_KEY_ID, ADMIN_SECRET + "x"),
    ]:
        reply = op.sign_in(key_id, secret)
        answers.add((reply.status, "The key id or the secret is not right." in reply.body))
        assert ADMIN_SECRET not in reply.body
    assert answers == {(401, True)}
    # the 5th failure locks the address for 1 s: even the right secret is not evaluated
    op.sign_in(ADMIN_KEY_ID, "wrong-again")
    locked = op.sign_in()
    assert locked.status == 429 and int(locked.headers["retry-after"]) >= 1
    assert op.cookie("devicesrp_console") is None
    time.sleep(1.1)
    reply = op.sign_in()
    assert reply.status == 303 and reply.headers["location"] == "/console/"
    set_cookie = [v for k, v in reply.headers.items() if k.lower() == "set-cookie"]
    session = next(v for v in set_cookie if v.startswith("devicesrp_console="))
    flags = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert "secure" not in flags  # plain HTTP here; see the TLS test
    assert ADMIN_SECRET not in session and ADMIN_KEY_ID not in session
    # success reset the counter: one more failure does not lock
    assert Operator(svc.url).sign_in(ADMIN_KEY_ID, "wrong").status == 401
    assert Operator(svc.url).sign_in().status == 303
    # after sign-in the browser goes only to a console page, never elsewhere
    for target, lands in [
        ("/console/pools/x?q=1", "/console/pools/x?q=1"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("/console//evil.example", "/console/"),
        ("/console/\\evil.example", "/console/"),
        ("/elsewhere", "/console/"),
    ]:
        fresh = Operator(svc.url)
        token = fresh.get("/console/sign-in").form_token()
        fields = {"csrf": token, "next": target, "key_id": ADMIN_KEY_ID, "secret": ADMIN_SECRET}
        reply = fresh.post("/console/sign-in", fields)
        assert (reply.status, reply.headers["location"]) == (303, lands), target


def test_forged_posts_change_nothing(svc: Service) -> None:
    pool_id, sub, key, _, _ = user_with_device(svc)
    forget = f"/console/pools/{pool_id}/users/{sub}/devices/{key}/forget"
    op, other = signed_in(svc), signed_in(svc)
    mine, theirs = op.get("/console/").form_token(), other.get("/console/").form_token()
    assert mine != theirs
    refusals = [
        op.post(forget, {}),
        op.post(forget, {"csrf": ""}),
        op.post(forget, {"csrf": "\u00e9" * len(mine)}),
        op.post(forget, {"csrf": mine[:-1] + ("A" if mine[-1] != "A" else "B")}),
        op.post(forget, {"csrf": theirs}),  # another session's token
        op.post(forget, {"csrf": mine}, headers={"Origin": "http://evil.example"}),
        op.post(forget, {"csrf": mine}, headers={"Origin": "null"}),
    ]
    assert [r.status for r in refusals] == [403] * 7
    assert device_keys(svc, pool_id, "alice") == [key]
    done = op.post(forget, {"csrf": mine}, headers={"Origin": svc.url})
    assert done.status == 303 and done.headers["location"].endswith("?done=forgotten")
    assert device_keys(svc, pool_id, "alice") == []
    # the audit log names the operator once, for the one change made
    audit = [line for line in svc.log_path.read_text().splitlines() if key in line]
    assert len(audit) == 1
    assert f"console: {ADMIN_KEY_ID} forgot device {key} of user {sub} in {pool_id}" in audit[0]


def test_hostile_input_gets_clear_refusals(svc: Service) -> None:
    pool_id, sub, key, _, _ = user_with_device(svc)
    op = signed_in(svc)
    token = op.get("/console/").form_token()
    user = f"/console/pools/{pool_id}/users/{sub}"
    status = f"{user}/devices/{key}/status"
    cases: list[tuple[Reply, int]] = [
        (op.post(status, raw=b"csrf=" + b"x" * 20_000), 413),
        (op.post(status, {"csrf": token, "remembered": "no"}, content_type="text/plain"), 415),
        (op.post(status, raw=f"csrf={token}&remembered=no&remembered=yes".encode()), 400),
        (op.post(status, raw=f"csrf={token}&remembered=\xff".encode("latin-1")), 400),
        (op.post(status, raw=f"csrf={token}&remembered=%00".encode()), 400),
        (op.post(status, {"csrf": token, "remembered": "maybe"}), 400),
        (op.get("/console/pools/us-east-1_NoSuchPool"), 404),
        (op.get("/console/pools/not%20a%20pool"), 404),
        (op.get("/console/pools/" + "x" * 300), 404),
        (op.get(f"/console/pools/{pool_id}/users/{'s' * 200}"), 404),
        (op.get(f"/console/pools/{pool_id}/users/{sub}x"), 404),
        (op.post(f"{user}/devices/us-east-1_{'0' * 36}/forget", {"csrf": token}), 404),
        (op.get(f"/console/pools/{pool_id}?token=garbage"), 400),
        (op.get(f"{user}?devices=garbage"), 400),
        (op.get("/console/nowhere"), 404),
        (op.get(f"{user}/lockout/reset"), 405),
    ]
    for reply, expected in cases:
        assert reply.status == expected, (reply.status, reply.heading)
        assert all(h in reply.headers for h in SECURITY_HEADERS)
    missing = op.post(f"{user}/devices/us-east-1_{'0' * 36}/forget", {"csrf": token})
    assert missing.heading == "Device does not exist."
    # a refused pool form says why and changes nothing
    before = svc.admin().describe_user_pool(UserPoolId=pool_id)["UserPool"]
    fields = {"csrf": token, "device_policy": "opt_in", "mfa_mode": "OFF", "cap_mode": "refuse"}
    for bad in ({"device_cap": "abc"}, {"device_cap": "1001"}, {"device_policy": "sometimes"}):
        reply = op.post(f"/console/pools/{pool_id}", {**fields, **bad})
        assert reply.status == 400 and '<p class="error" role="alert">' in reply.body
    assert svc.admin().describe_user_pool(UserPoolId=pool_id)["UserPool"] == before
    assert device_keys(svc, pool_id, "alice") == [key]
    log = svc.log_path.read_text()
    assert "Traceback" not in log and ADMIN_SECRET not in log
    assert (op.cookie("devicesrp_console") or "-").split(".")[0] not in log  # no session id


def test_search_by_name_or_email_paginated(svc: Service) -> None:
    pool_id, _ = make_pool(svc, "always")
    admin = svc.admin()
    for i in range(23):
        admin.admin_create_user(
            UserPoolId=pool_id,
            Username=f"user{i:02d}",
            TemporaryPassword=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": f"User{i:02d}@Example.COM"}],
        )
    op = signed_in(svc)

    def names(reply: Reply) -> list[str]:
        return re.findall(r'<th scope="row"><a href="[^"]+/users/[^"]+">([^<]+)</a>', reply.body)

    first = op.get(f"/console/pools/{pool_id}")
    assert names(first) == [f"user{i:02d}" for i in range(20)]
    link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first.body)
    assert link is not None
    second = op.get(link.group(1).replace("&amp;", "&"))
    assert names(second) == ["user20", "user21", "user22"]
    assert 'rel="next"' not in second.body and "First page" in second.body
    assert names(op.get(f"/console/pools/{pool_id}?by=username&q=user1")) == [
        f"user1{i}" for i in range(10)
    ]
    by_mail = op.get(f"/console/pools/{pool_id}?by=email&q=user07%40example.c")
    assert names(by_mail) == ["user07"]
    assert names(op.get(f"/console/pools/{pool_id}?q=nobody")) == []


def test_no_secret_is_ever_rendered(svc: Service) -> None:
    pool_id, sub, key, device, tokens = user_with_device(svc, "henry")
    # The running service owns the schema: open its database without migrating (which would
    # take SQLite's write lock while the service works).
    store = open_store(svc.db_url, migrate=False)
    try:
        user = store.get_user_by_sub(pool_id, sub)
        stored = store.get_device(pool_id, key)
    finally:
        store.close()
    assert user is not None and stored is not None and stored.verifier and stored.salt
    op = signed_in(svc)
    body = "".join(
        op.get(page).body
        for page in (
            "/console/",
            f"/console/pools/{pool_id}",
            f"/console/pools/{pool_id}/users/{sub}",
        )
    )
    assert key in body and "work-phone" in body
    assert "<script" not in body.lower()  # plain forms and links: nothing needs JavaScript
    secrets_ = [device.password, ADMIN_SECRET, op.cookie("devicesrp_console") or "-"]
    secrets_ += [tokens["AccessToken"], tokens["IdToken"], tokens["RefreshToken"]]
    for blob in (user.srp_salt, user.srp_verifier, stored.salt, stored.verifier):
        secrets_ += [blob.hex(), blob.hex().upper(), base64.b64encode(blob).decode()[:40]]
    for secret in secrets_:
        assert secret not in body


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_cookies_are_secure_over_tls(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    config = tmp_path / "tls.toml"
    config.write_text(
        f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
        f'[[admin_keys]]\nkey_id = "{ADMIN_KEY_ID}"\nsecret = "{ADMIN_SECRET}"\n'
    )
    env = {
        **os.environ,
        **HERMETIC_ENV,
        "DEVICESRP_KEK": base64.b64encode(os.urandom(32)).decode(),
    }
    port = free_port()
    launcher = "import sys; from devicesrp.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", launcher, "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--db", f"sqlite:///{tmp_path / 'tls.sqlite3'}", "--config", str(config)]
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False  # the certificate names 127.0.0.1 as CN only
    op = Operator(f"https://127.0.0.1:{port}", context)
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:  # the harness's health wait speaks plain HTTP; this one speaks TLS
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                page = op.get("/console/sign-in")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "devicesrp serve (TLS) did not start"
                time.sleep(0.2)
        reply = op.post(
            "/console/sign-in",
            {"csrf": page.form_token(), "key_id": ADMIN_KEY_ID, "secret": ADMIN_SECRET},
        )
        assert reply.status == 303
        cookies = [v for k, v in reply.headers.items() if k.lower() == "set-cookie"]
        cookies += [v for k, v in page.headers.items() if k.lower() == "set-cookie"]
        assert len(cookies) == 3  # the sign-in form's, the session's, the form's cleared
        for value in cookies:
            flags = {part.strip().lower() for part in value.split(";")[1:]}
            assert {"secure", "httponly", "samesite=strict"} <= flags, value
        assert op.get("/console/").status == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_without_admin_keys_nobody_signs_in(tmp_path: Path) -> None:
    """The console of a service with no admin key: the form says so, and nothing opens."""
    store = open_store(f"sqlite:///{tmp_path / 'closed.sqlite3'}")
    try:
        idp = IdentityProvider(Runtime(store=store, kek=Kek(os.urandom(32))))
        config = ServiceConfig()
        assert config.admin_keys == ()
        app = build_app(AppService(config, {}, console=console_app(idp, config)))
        with thread_server(app) as url:
            op = Operator(url)
            page = op.get("/console/sign-in")
            assert page.status == 200 and "No admin key is configured" in page.body
            assert 'type="password"' not in page.body
            # no form is offered, so no post carries its token
            reply = op.post("/console/sign-in", {"csrf": "x", "key_id": "", "secret": ""})
            assert reply.status == 403 and op.cookie("devicesrp_console") is None
            assert op.get("/console/").status == 303
            assert op.get("/health").status == 200  # the rest of the service is unaffected
    finally:
        store.close()


NASTY = [
    "",
    "x",
    "\u00e9",
    "\U0001f600",
    "%",
    "&=&",
    "a" * 1100,
    "..",
    "../..",
    "<script>alert(1)</script>",
    "'\"",
    "\u202e",
    "0",
    "-1",
    "99999999999999999999",
    "on",
    "yes",
    "ON",
    "email",
    "//evil.example",
]


def test_random_input_never_breaks_the_console(svc: Service) -> None:
    """Random fields, queries and path pieces on every route: always an answer below 500."""
    import random

    rng = random.Random(11)
    pool_id, sub, key, _, _ = user_with_device(svc, "ivan")
    op = signed_in(svc)
    token = op.get("/console/").form_token()
    user = f"/console/pools/{pool_id}/users/{sub}"
    names = ["csrf", "next", "key_id", "secret", "device_policy", "replaces_mfa", "mfa_mode"]
    names += ["sms", "totp", "device_cap", "cap_mode", "remembered", "q", "by", "token"]
    posts = ["/console/sign-in", f"/console/pools/{pool_id}", f"{user}/lockout/reset"]
    posts += [f"{user}/devices/{key}/status"]
    gets = ["/console/", "/console/sign-in", f"/console/pools/{pool_id}", user]
    for _ in range(count(ci=40, soak=800)):
        fields = {rng.choice(names): rng.choice(NASTY) for _ in range(rng.randint(0, 6))}
        if rng.random() < 0.7:
            fields["csrf"] = token
        reply = op.post(rng.choice(posts), fields)
        assert reply.status < 500, (fields, reply.status)
        query = urllib.parse.urlencode(
            {rng.choice([*names, "devices", "done"]): rng.choice(NASTY) for _ in range(3)}
        )
        reply = op.get(f"{rng.choice(gets)}?{query}")
        assert reply.status < 500, (query, reply.status)
        piece = urllib.parse.quote(rng.choice(NASTY[1:]), safe="")
        path = rng.choice(
            [
                f"/console/pools/{piece}",
                f"/console/pools/{pool_id}/users/{piece}",
                f"{user}/devices/{piece}/forget",
            ]
        )
        reply = op.post(path, {"csrf": token}) if path.endswith("forget") else op.get(path)
        assert reply.status < 500, (path, reply.status)
    assert "<script>alert(1)</script>" not in op.get(user + "?done=%3Cscript%3E").body
    assert device_keys(svc, pool_id, "ivan") == [key]


def test_sessions_hold_across_worker_processes(tmp_path: Path) -> None:
    """With --workers 2 requests land on both processes; a session and its sign-out hold on
    both (they live in the database, keyed by what every worker derives from the admin keys)."""
    config = tmp_path / "workers.toml"
    config.write_text(f'[[admin_keys]]\nkey_id = "{ADMIN_KEY_ID}"\nsecret = "{ADMIN_SECRET}"\n')
    env = {"DEVICESRP_KEK": base64.b64encode(os.urandom(32)).decode()}
    args = ["--db", f"sqlite:///{tmp_path / 'w.sqlite3'}", "--config", str(config)]
    with serve_process([*args, "--workers", "2"], env, tmp_path / "serve.log") as (url, proc):
        workers = [c.pid for c in _children(proc.pid)]
        assert len(workers) == 2
        op = Operator(url)
        assert op.sign_in().status == 303
        cookie = op.cookie("devicesrp_console")
        # pages until both workers have visibly worked (CPU time beyond idle ticks): the session
        # then opened on both processes
        before = [_cpu_ticks(pid) for pid in workers]
        pages: list[Reply] = []
        while len(pages) < 400:
            pages += [op.get("/console/") for _ in range(10)]
            busy = [_cpu_ticks(pid) - was for pid, was in zip(workers, before, strict=True)]
            if min(busy) >= 3:
                break
        assert min(busy) >= 3, f"one worker served nothing: {busy} ticks"
        assert {p.status for p in pages} == {200}
        assert op.post("/console/sign-out", {"csrf": pages[0].form_token()}).status == 303
        stale = Operator(url)
        for _ in range(count(ci=10, soak=100)):
            reply = stale.send(
                urllib.request.Request(
                    url + "/console/", headers={"Cookie": f"devicesrp_console={cookie}"}
                )
            )
            assert reply.status == 303


def _cpu_ticks(pid: int) -> int:
    """User + system CPU time of the process so far, in clock ticks (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[Any]:
    """uvicorn's worker processes under ``pid``, from /proc."""

    @dataclass
    class Child:
        pid: int

    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            cmdline = (entry / "cmdline").read_bytes() if entry.exists() else b""
            # uvicorn's workers are spawned processes (not multiprocessing's resource tracker)
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline:
                found.append(Child(int(entry.name)))
    return found


def test_email_as_username_pool_shows_emails(svc: Service) -> None:
    """In an email-as-username pool the stored user name is the sub; the console shows the
    e-mail instead, finds users by it, and opens them by sub."""
    admin = svc.admin()
    pool_id = admin.create_user_pool(PoolName="emailpool", UsernameAttributes=["email"])[
        "UserPool"
    ]["Id"]
    admin.admin_create_user(
        UserPoolId=pool_id, Username="Jane@Example.org", TemporaryPassword=PASSWORD
    )
    op = signed_in(svc)
    listing = op.get(f"/console/pools/{pool_id}?by=email&q=jane")
    m = re.search(r'<a href="(/console/pools/[^"]+/users/([^"]+))">([^<]+)</a>', listing.body)
    assert m is not None and m.group(3) == "Jane@Example.org"
    user = op.get(m.group(1))
    assert user.status == 200 and user.heading == "User Jane@Example.org"
    assert f"<td>{m.group(2)}</td>" in user.body  # the sub, among the attributes
