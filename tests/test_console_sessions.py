"""The console's Gatekeeper on a real SQLite store with a driven clock: session expiry, sign-out,
tampering, key rotation, the session bound, the sign-in form's token, the rate limit's backoff."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from devicesrp.http.console.sessions import (
    MAX_SESSIONS,
    PRESESSION_SECONDS,
    SESSION_SECONDS,
    Gatekeeper,
)
from devicesrp.http.sigv4 import AdminKey
from devicesrp.store import SqlStore, open_store

KEYS = [AdminKey("AKIDONE", "first-secret"), AdminKey("AKIDTWO", "second-secret")]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    yield s
    s.close()


def test_sessions_live_until_expiry_or_sign_out(store: SqlStore) -> None:
    clock = Clock()
    gate = Gatekeeper(store, KEYS, clock=clock)
    signed = gate.sign_in("10.0.0.1", "AKIDTWO", "second-secret")
    assert signed is not None
    cookie, session = signed
    assert "second-secret" not in cookie and "second-secret" not in repr(session)
    again = gate.session(cookie)
    assert again is not None and again.csrf == session.csrf and again.sid == session.sid
    assert again.operator == session.operator == "AKIDTWO"
    assert Gatekeeper.csrf_ok(again, session.csrf)
    assert not Gatekeeper.csrf_ok(again, session.csrf[:-1]) and not Gatekeeper.csrf_ok(again, None)
    # another worker process (another Gatekeeper over the same store and keys) accepts it too
    assert Gatekeeper(store, KEYS, clock=clock).session(cookie) is not None

    clock.now += SESSION_SECONDS - 1
    assert gate.session(cookie) is not None
    clock.now += 1
    assert gate.session(cookie) is None

    clock.now += 10
    cookie2, session2 = gate.sign_in("10.0.0.1", "AKIDONE", "first-secret") or ("", None)
    assert session2 is not None and session2.csrf != session.csrf
    gate.sign_out(session2)
    assert gate.session(cookie2) is None


def test_tampered_cookies_and_rotated_keys_open_nothing(store: SqlStore) -> None:
    clock = Clock()
    gate = Gatekeeper(store, KEYS, clock=clock)
    signed = gate.sign_in("10.0.0.1", "AKIDONE", "first-secret")
    assert signed is not None
    cookie = signed[0]
    sid, expiry, who, mac = cookie.split(".")
    later = str(int(expiry) + 3600)
    other = base64.urlsafe_b64encode(b"AKIDTWO").rstrip(b"=").decode()
    # a session id differing in its last character (never the same one: sid is random)
    altered_sid = sid[:-1] + ("B" if sid[-1] == "A" else "A")
    for bad in [
        "",
        "x",
        f"{sid}.{later}.{who}.{mac}",  # extended expiry
        f"{sid}.{expiry}.{other}.{mac}",  # another operator's name
        f"{altered_sid}.{expiry}.{who}.{mac}",
        f"{sid}.{expiry}.{who}.{mac[:-1]}",
        f"{sid}.{expiry}.{mac}",
        f"{sid}.{expiry}.{who}.{mac}.x",
        f"{sid}.-1.{who}.{mac}",
        cookie + "A" * 1000,
    ]:
        assert gate.session(bad) is None, bad
    # new admin keys: every earlier session ends (its MAC key changed)
    rotated = Gatekeeper(store, [AdminKey("AKIDONE", "new-secret")], clock=clock)
    assert rotated.session(cookie) is None
    # no admin keys: nobody signs in, nothing opens
    closed = Gatekeeper(store, [], clock=clock)
    assert not closed.enabled
    assert closed.sign_in("10.0.0.1", "", "") is None
    assert closed.session(cookie) is None


def test_credentials_and_rate_limit(store: SqlStore) -> None:
    clock = Clock()
    gate = Gatekeeper(store, KEYS, clock=clock)
    assert gate.credentials_match("AKIDONE", "first-secret")
    assert gate.credentials_match("AKIDTWO", "second-secret")
    for key_id, secret in [
        ("AKIDONE", "second-secret"),  # another key's secret
        ("AKIDTWO", "first-secret"),
        ("akidone", "first-secret"),
        ("AKIDONE", "first-secret\x00"),
        ("", ""),
        ("AKIDONE" * 200, "first-secret"),
    ]:
        assert not gate.credentials_match(key_id, secret), key_id
    for _ in range(4):
        assert gate.sign_in("10.0.0.2", "AKIDONE", "wrong") is None
        assert gate.locked_for("10.0.0.2") == 0
    assert gate.sign_in("10.0.0.2", "AKIDONE", "wrong") is None
    assert gate.locked_for("10.0.0.2") == pytest.approx(1.0)  # 5th failure: 1 s, then doubling
    assert gate.locked_for("10.0.0.3") == 0  # other addresses are not affected
    clock.now += 1
    assert gate.sign_in("10.0.0.2", "AKIDONE", "wrong") is None
    assert gate.locked_for("10.0.0.2") == pytest.approx(2.0)
    clock.now += 2
    assert gate.sign_in("10.0.0.2", "AKIDONE", "first-secret") is not None
    assert gate.locked_for("10.0.0.2") == 0
    # an odd peer name (not an address) still gets its own bounded counter
    assert gate.sign_in("weird peer\u00e9", "AKIDONE", "wrong") is None


def test_sessions_are_bounded(store: SqlStore) -> None:
    clock = Clock()
    assert MAX_SESSIONS == 1000  # the service's bound; a small one here keeps the test short
    gate = Gatekeeper(store, KEYS, clock=clock, max_sessions=5)
    first = gate.sign_in("10.0.0.1", "AKIDONE", "first-secret")
    assert first is not None
    for _ in range(4):
        clock.now += 0.001
        assert gate.sign_in("10.0.0.1", "AKIDONE", "first-secret") is not None
    assert gate.session(first[0]) is not None  # five sessions fit
    for _ in range(1):
        clock.now += 0.001
        assert gate.sign_in("10.0.0.1", "AKIDONE", "first-secret") is not None
    assert gate.session(first[0]) is None  # the oldest session made room


def test_sign_in_form_token(store: SqlStore) -> None:
    clock = Clock()
    gate = Gatekeeper(store, KEYS, clock=clock)
    cookie, token = gate.new_presession()
    other_cookie, other_token = gate.new_presession()
    assert token != other_token
    assert gate.presession_token(cookie) == token
    assert gate.presession_token(other_cookie) == other_token
    nonce, expires, mac = cookie.split(".")
    assert gate.presession_token(f"{nonce}.{int(expires) + 60}.{mac}") is None
    assert gate.presession_token(None) is None and gate.presession_token("a.b.c") is None
    clock.now += PRESESSION_SECONDS
    assert gate.presession_token(cookie) is None
