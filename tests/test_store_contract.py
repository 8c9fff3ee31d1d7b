"""The storage contract, one suite run on SQLite (a real file) and PostgreSQL (a real server)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

import pgutil
from devicesrp.errors import (
    DeviceKeyConflictError,
    InvalidParameterError,
    InvalidTypeError,
    RecordExistsError,
    RecordNotFoundError,
)
from devicesrp.store import (
    ConfirmOutcome,
    OutboxRecord,
    SqlStore,
    TicketRecord,
    WrappedKeyRecord,
    open_store,
)
from devicesrp.store import testing as t

POOL = t.POOL


def open_backend(kind: str, tmp_path: Path) -> SqlStore:
    if kind == "sqlite":
        return open_store(f"sqlite:///{tmp_path}/store.db", pool_size=4)
    store: SqlStore = pgutil.shared_store()
    return store


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    s = open_backend(request.param, tmp_path)
    yield s
    if request.param == "sqlite":
        s.close()  # the PostgreSQL store is shared by the run (pgutil.shared_store)


@pytest.fixture
def seeded(store: SqlStore) -> SqlStore:
    """A pool, a client and two users."""
    store.create_pool(t.pool())
    store.create_client(t.client())
    store.create_user(t.user(1))
    store.create_user(t.user(2))
    return store


SUB1 = t.user(1).sub
SUB2 = t.user(2).sub


# -- lifecycle and migrations ---------------------------------------------------------------------
def test_migrations_applied_once_and_reopen_is_idempotent(store: SqlStore) -> None:
    assert store.schema_version() == 1
    assert store.migrate(2_000_000_000.0) == 1  # nothing pending: no error, same version


def test_open_store_rejects_bad_urls(tmp_path: Path) -> None:
    for url in [
        "mysql://x/y",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///a.db?x=1",
        "",
        "postgresql://[::1",
        "postgresql://postgres@127.0.0.1:5432/test?no_such_option=1",
    ]:
        with pytest.raises(InvalidParameterError):
            open_store(url)
    with pytest.raises(InvalidTypeError):
        open_store(b"sqlite:///x.db")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        open_store(f"sqlite:///{tmp_path}/x.db", pool_size=0)


# -- pools and clients ----------------------------------------------------------------------------
def test_pool_create_get_update_list(store: SqlStore) -> None:
    p = t.pool()
    store.create_pool(p)
    assert store.get_pool(POOL) == p
    assert store.get_pool("us-east-1_Nope") is None
    with pytest.raises(RecordExistsError):
        store.create_pool(p)
    changed = dataclasses.replace(
        p, name="renamed", settings={"a": [1, 2]}, modified_at=p.created_at + 5
    )
    store.update_pool(changed)
    assert store.get_pool(POOL) == changed
    with pytest.raises(RecordNotFoundError):
        store.update_pool(t.pool("eu-west-1_Other"))
    store.create_pool(t.pool("eu-west-1_Other"))
    assert [x.pool_id for x in store.list_pools()] == ["eu-west-1_Other", POOL]


def test_client_crud(store: SqlStore) -> None:
    with pytest.raises(RecordNotFoundError):
        store.create_client(t.client())  # no pool yet
    store.create_pool(t.pool())
    c = t.client()
    store.create_client(c)
    assert store.get_client(c.client_id) == c
    assert "s3cret" not in repr(c)
    with pytest.raises(RecordExistsError):
        store.create_client(c)
    changed = dataclasses.replace(c, secret=None, name="n2", modified_at=c.modified_at + 1)
    store.update_client(changed)
    assert store.get_client(c.client_id) == changed
    store.create_client(t.client("client2"))
    assert [x.client_id for x in store.list_clients(POOL)] == ["client1", "client2"]
    assert store.delete_client("client2") is True
    assert store.delete_client("client2") is False
    assert store.get_client("client2") is None
    with pytest.raises(RecordNotFoundError):
        store.update_client(t.client("client2"))


def test_client_with_pool_is_one_read(store: SqlStore) -> None:
    store.create_pool(t.pool())
    store.create_pool(t.pool("eu-west-1_Other"))
    store.create_client(t.client())
    store.create_client(t.client("client2", "eu-west-1_Other"))
    for client_id in ("client1", "client2"):
        client = store.get_client(client_id)
        assert client is not None
        pool = store.get_pool(client.pool_id)
        with store.statement_hook() as hook, store.transaction():
            assert store.get_client_with_pool(client_id) == (client, pool)
        assert hook.log == ["SELECT"]  # one statement for both
    assert store.get_client_with_pool("nope") is None
    changed = dataclasses.replace(t.pool(), settings={"x": 1}, modified_at=1_700_000_009.0)
    store.update_pool(changed)
    found = store.get_client_with_pool("client1")
    assert found is not None and found[1] == changed
    for bad in ("", "x" * 10_000, "a b", None):
        with pytest.raises((InvalidParameterError, InvalidTypeError)):
            store.get_client_with_pool(bad)  # type: ignore[arg-type]


# -- users ----------------------------------------------------------------------------------------
def test_user_by_name_or_sub_is_both_lookups_in_one_statement(seeded: SqlStore) -> None:
    u1, u2 = t.user(1), t.user(2)
    # A user whose name is another user's sub: the two lookups then hit two rows.
    u3 = dataclasses.replace(t.user(3), username_norm=u1.sub)
    seeded.create_user(u3)
    seeded.create_pool(t.pool("eu-west-1_Other"))
    cases = [
        ((POOL, u1.username_norm, "no-such-sub"), (u1, None)),
        ((POOL, "nobody", u2.sub), (None, u2)),
        ((POOL, u1.username_norm, u1.sub), (u1, u1)),
        ((POOL, u1.username_norm, u2.sub), (u1, u2)),
        ((POOL, u1.sub, u1.sub), (u3, u1)),
        ((POOL, "nobody", "no-such-sub"), (None, None)),
        (("eu-west-1_Other", u1.username_norm, u1.sub), (None, None)),
    ]
    for (pool_id, name, sub), expected in cases:
        assert (seeded.get_user(pool_id, name), seeded.get_user_by_sub(pool_id, sub)) == expected
        with seeded.statement_hook() as hook, seeded.transaction():
            assert seeded.get_user_by_name_or_sub(pool_id, name, sub) == expected, (name, sub)
        assert hook.log == ["SELECT"]
    for args in [("bad pool", "a", "b"), (POOL, "a b", "b"), (POOL, "a", "é"), (POOL, "a", "")]:
        with pytest.raises(InvalidParameterError):
            seeded.get_user_by_name_or_sub(*args)


def test_user_create_get_update_delete(seeded: SqlStore) -> None:
    u = t.user(1)
    assert seeded.get_user(POOL, u.username_norm) == u
    assert seeded.get_user_by_sub(POOL, u.sub) == u
    assert seeded.get_user(POOL, "nobody") is None
    with pytest.raises(RecordExistsError):
        seeded.create_user(dataclasses.replace(t.user(3), username_norm=u.username_norm))
    with pytest.raises(RecordExistsError):
        seeded.create_user(dataclasses.replace(t.user(3), sub=u.sub))
    with pytest.raises(RecordNotFoundError):
        seeded.create_user(t.user(3, pool_id="eu-west-1_NoPool"))
    changed = dataclasses.replace(
        u, status="RESET_REQUIRED", enabled=False, totp_secret=b"\x01wrapped", email=None
    )
    seeded.update_user(changed)
    assert seeded.get_user_by_sub(POOL, u.sub) == changed
    assert "wrapped" not in repr(changed) and "verifier" not in repr(changed).replace(
        "srp_verifier", ""
    )
    with pytest.raises(RecordNotFoundError):
        seeded.update_user(t.user(9))
    # Deleting a user removes its devices and refresh tokens in the same unit.
    seeded.confirm_device(t.confirmation(1, u.sub))
    seeded.insert_refresh_token(t.refresh_token(1, u.sub, device=t.device_key(1)))
    assert seeded.delete_user(POOL, u.sub) is True
    assert seeded.delete_user(POOL, u.sub) is False
    assert seeded.get_device(POOL, t.device_key(1)) is None
    assert seeded.get_refresh_token(t.refresh_token(1, u.sub).token_hash) is None
    assert seeded.get_user_by_sub(POOL, SUB2) is not None


def test_list_users_pages_and_filters(seeded: SqlStore) -> None:
    for n in range(3, 8):
        seeded.create_user(t.user(n))
    seen, token, pages = [], None, 0
    while True:
        page = seeded.list_users(POOL, limit=3, pagination_token=token)
        seen += [u.username_norm for u in page.items]
        pages += 1
        token = page.next_token
        if token is None:
            break
    assert pages == 3 and seen == [f"user{n:04d}" for n in range(1, 8)]
    # Prefix of the normalised name; e-mail prefix case-insensitively.
    assert [u.sub for u in seeded.list_users(POOL, username_prefix="user0003").items] == [
        t.user(3).sub
    ]
    assert len(seeded.list_users(POOL, email_prefix="USER000").items) == 7
    assert len(seeded.list_users(POOL, email_prefix="user0005@example").items) == 1
    assert seeded.list_users(POOL, email_prefix="zzz").items == ()
    seeded.update_user(dataclasses.replace(t.user(4), status="FORCE_CHANGE_PASSWORD"))
    assert [u.username for u in seeded.list_users(POOL, status="FORCE_CHANGE_PASSWORD").items] == [
        "User0004"
    ]
    assert seeded.list_users("eu-west-1_Empty").items == ()


@pytest.mark.parametrize(
    "token", ["", "!!!", "a" * 2000, "bm90IGpzb24", "WyJkZXZpY2VzIiwxLCJ4Il0", "WzFd", "e30"]
)
def test_list_users_rejects_malformed_tokens(seeded: SqlStore, token: str) -> None:
    with pytest.raises(InvalidParameterError):
        seeded.list_users(POOL, pagination_token=token)


# -- devices --------------------------------------------------------------------------------------
def test_confirm_device_issue_confirm_retry_conflict(seeded: SqlStore) -> None:
    seeded.issue_device(t.issued_device(1, SUB1))
    with pytest.raises(RecordExistsError):
        seeded.issue_device(t.issued_device(1, SUB1))
    issued = seeded.get_device(POOL, t.device_key(1))
    assert issued is not None and not issued.confirmed and issued.verifier is None
    # Unconfirmed devices are not listed.
    assert seeded.list_devices(POOL, SUB1, remembered_only=False).items == ()
    conf = t.confirmation(1, SUB1)
    assert seeded.confirm_device(conf) is ConfirmOutcome.CONFIRMED
    assert seeded.confirm_device(conf) is ConfirmOutcome.ALREADY_CONFIRMED
    stored = seeded.get_device(POOL, conf.device_key)
    assert stored is not None and stored.confirmed
    assert (stored.salt, stored.verifier) == (conf.salt, conf.verifier)
    assert stored.first_tracked_at == issued.first_tracked_at
    # Another verifier, another salt, another user, another group key: refused, never overwritten.
    for bad in [
        t.confirmation(1, SUB1, variant=1),
        dataclasses.replace(conf, salt=b"\x00" + conf.salt[1:]),
        dataclasses.replace(conf, user_sub=SUB2),
        dataclasses.replace(conf, group_key="-other"),
    ]:
        with pytest.raises(DeviceKeyConflictError):
            seeded.confirm_device(bad)
    assert seeded.get_device(POOL, conf.device_key) == stored
    # A key never issued is confirmed directly (the domain decides whether to allow that).
    assert seeded.confirm_device(t.confirmation(2, SUB1)) is ConfirmOutcome.CONFIRMED
    with pytest.raises(RecordNotFoundError):
        seeded.confirm_device(t.confirmation(3, "no-such-user"))


def test_confirm_device_different_user_on_issued_key_is_refused(seeded: SqlStore) -> None:
    seeded.issue_device(t.issued_device(1, SUB1))
    with pytest.raises(DeviceKeyConflictError):
        seeded.confirm_device(t.confirmation(1, SUB2))
    assert seeded.get_device(POOL, t.device_key(1)).confirmed is False  # type: ignore[union-attr]


def test_list_devices_pagination_and_filters(seeded: SqlStore) -> None:
    for n in range(1, 8):
        conf = t.confirmation(n, SUB1, remembered=n % 2 == 1, now=1_700_000_000.0 + n // 2)
        seeded.confirm_device(conf)
    seeded.confirm_device(t.confirmation(50, SUB2))
    everything = seeded.list_devices(POOL, SUB1, remembered_only=False, limit=0)
    assert len(everything.items) == 7 and everything.next_token is None
    order = [(d.first_tracked_at, d.device_key) for d in everything.items]
    assert order == sorted(order)
    keys, token = [], None
    while True:
        page = seeded.list_devices(
            POOL, SUB1, remembered_only=False, limit=2, pagination_token=token
        )
        assert len(page.items) <= 2
        keys += [d.device_key for d in page.items]
        token = page.next_token
        if token is None:
            break
    assert keys == [d.device_key for d in everything.items]
    remembered = seeded.list_devices(POOL, SUB1, remembered_only=True)
    assert sorted(d.device_key for d in remembered.items) == sorted(
        t.device_key(n) for n in (1, 3, 5, 7)
    )
    assert seeded.count_remembered_devices(POOL, SUB1) == 4
    for limit in (-1, 61, 10**9):
        with pytest.raises(InvalidParameterError):
            seeded.list_devices(POOL, SUB1, remembered_only=False, limit=limit)
    with pytest.raises(InvalidTypeError):
        seeded.list_devices(POOL, SUB1, remembered_only=False, limit=1.5)  # type: ignore[arg-type]
    users_token = seeded.list_users(POOL, limit=1).next_token
    with pytest.raises(InvalidParameterError):  # a users cursor is not a devices cursor
        seeded.list_devices(POOL, SUB1, remembered_only=False, pagination_token=users_token)


def test_device_status_touch_forget(seeded: SqlStore) -> None:
    conf = t.confirmation(1, SUB1, remembered=False)
    seeded.confirm_device(conf)
    key = conf.device_key
    assert seeded.update_device_status(POOL, key, remembered=True, now=conf.now + 10) is True
    d = seeded.get_device(POOL, key)
    assert d is not None and d.remembered and d.last_modified_at == conf.now + 10
    assert seeded.touch_device(POOL, key, now=conf.now + 20, ip="2001:db8::1") is True
    assert seeded.touch_device(POOL, key, now=conf.now + 30, ip=None) is True
    d = seeded.get_device(POOL, key)
    assert d is not None and d.last_authenticated_at == conf.now + 30 and d.last_ip == "2001:db8::1"
    with pytest.raises(InvalidParameterError):
        seeded.touch_device(POOL, key, now=conf.now, ip="not-an-ip")
    unknown = t.device_key(99)
    assert seeded.update_device_status(POOL, unknown, remembered=True, now=1.0) is False
    assert seeded.touch_device(POOL, unknown, now=1.0, ip=None) is False
    seeded.insert_refresh_token(t.refresh_token(1, SUB1, device=key))
    seeded.insert_refresh_token(t.refresh_token(2, SUB1))
    assert seeded.forget_device(POOL, key) is True
    assert seeded.forget_device(POOL, key) is False
    assert seeded.get_device(POOL, key) is None
    assert seeded.get_refresh_token(t.refresh_token(1, SUB1).token_hash).revoked is True  # type: ignore[union-attr]
    assert seeded.get_refresh_token(t.refresh_token(2, SUB1).token_hash).revoked is False  # type: ignore[union-attr]
    # A forgotten key can be confirmed again only as a new device (the domain issues new keys).
    assert seeded.confirm_device(t.confirmation(1, SUB1, variant=2)) is ConfirmOutcome.CONFIRMED


def test_evict_least_recently_authenticated(seeded: SqlStore) -> None:
    for n in range(1, 6):
        seeded.confirm_device(t.confirmation(n, SUB1, now=1_700_000_000.0 + n))
    # Device 1 was used most recently; device 2 never authenticated (its first-tracked time counts).
    seeded.touch_device(POOL, t.device_key(1), now=1_700_001_000.0, ip=None)
    seeded.touch_device(POOL, t.device_key(3), now=1_700_000_500.0, ip=None)
    seeded.update_device_status(POOL, t.device_key(4), remembered=False, now=1_700_000_010.0)
    evicted = seeded.evict_remembered_devices(
        POOL, SUB1, keep=2, protect=t.device_key(2), now=1_700_002_000.0
    )
    # Remembered: 1 (t=1000), 2 (t=2, protected), 3 (t=500), 5 (t=5) -> drop 5, then 3.
    assert evicted == [t.device_key(5), t.device_key(3)]
    assert seeded.count_remembered_devices(POOL, SUB1) == 2
    assert seeded.get_device(POOL, t.device_key(4)) is not None  # not remembered: untouched
    assert seeded.evict_remembered_devices(POOL, SUB1, keep=2, protect=None, now=1.0) == []


# -- refresh tokens -------------------------------------------------------------------------------
def test_refresh_tokens(seeded: SqlStore) -> None:
    tok = t.refresh_token(1, SUB1, device=t.device_key(1))
    seeded.insert_refresh_token(tok)
    assert seeded.get_refresh_token(tok.token_hash) == tok
    with pytest.raises(RecordExistsError):
        seeded.insert_refresh_token(tok)
    with pytest.raises(RecordNotFoundError):
        seeded.insert_refresh_token(t.refresh_token(5, SUB1, client_id="noclient"))
    assert seeded.revoke_refresh_token(tok.token_hash) is True
    assert seeded.revoke_refresh_token(tok.token_hash) is False
    assert seeded.get_refresh_token(b"\x00" * 32) is None
    for n in (2, 3, 4):
        seeded.insert_refresh_token(t.refresh_token(n, SUB1))
    seeded.insert_refresh_token(t.refresh_token(9, SUB2))
    assert seeded.revoke_refresh_tokens(POOL, SUB1, origin_jti="jti-3") == 1
    assert seeded.revoke_refresh_tokens(POOL, SUB1) == 2
    assert seeded.get_refresh_token(t.refresh_token(9, SUB2).token_hash).revoked is False  # type: ignore[union-attr]
    # Expired tokens are purged a day after they expire.
    assert seeded.purge_expired(now=tok.expires_at + 86400 - 1) == 0
    assert seeded.purge_expired(now=tok.expires_at + 86400) == 5


# -- single use and tickets -----------------------------------------------------------------------
def test_consume_once_and_purge(store: SqlStore) -> None:
    assert store.consume_once("challenge", b"id-1", expires_at=100.0) is True
    assert store.consume_once("challenge", b"id-1", expires_at=100.0) is False
    assert store.consume_once("challenge", b"id-1", expires_at=999.0) is False
    assert store.consume_once("sigv4", b"id-1", expires_at=100.0) is True  # scopes are separate
    assert store.purge_expired(now=99.0) == 0
    assert store.consume_once("challenge", b"id-1", expires_at=100.0) is False
    assert store.purge_expired(now=100.0) == 2
    assert store.consume_once("challenge", b"id-1", expires_at=200.0) is True


def test_tickets_are_taken_once_and_expire(store: SqlStore) -> None:
    ticket = TicketRecord("dev:pool:user:device", "device", {"client": "c1", "n": 1}, 160.0)
    store.put_ticket(ticket)
    assert store.take_ticket(ticket.ticket_id, kind="other", now=100.0) is None
    assert store.take_ticket(ticket.ticket_id, kind="device", now=100.0) == ticket
    assert store.take_ticket(ticket.ticket_id, kind="device", now=100.0) is None
    store.put_ticket(ticket)
    store.put_ticket(dataclasses.replace(ticket, payload={"n": 2}))  # replaces
    assert store.take_ticket(ticket.ticket_id, kind="device", now=160.0) is None  # expired
    store.put_ticket(ticket)
    assert store.purge_expired(now=160.0) == 1


# -- lockout --------------------------------------------------------------------------------------
def test_lockout_counts_locks_and_resets(store: SqlStore) -> None:
    def backoff(n: int) -> float:
        return 0.0 if n < 5 else float(2 ** (n - 5))

    assert store.get_lockout("user", "u1") is None
    for n in range(1, 5):
        rec = store.record_failure("user", "u1", now=1000.0 + n, lock_for=backoff)
        assert (rec.failures, rec.locked_until) == (n, 0.0)
    rec = store.record_failure("user", "u1", now=2000.0, lock_for=backoff)
    assert (rec.failures, rec.locked_until, rec.updated_at) == (5, 2001.0, 2000.0)
    rec = store.record_failure("user", "u1", now=3000.0, lock_for=backoff)
    assert (rec.failures, rec.locked_until) == (6, 3002.0)
    assert store.get_lockout("user", "u1") == rec
    assert store.get_lockout("unknown", "u1") is None
    store.reset_lockout("user", "u1")
    assert store.get_lockout("user", "u1") is None
    for bad in (lambda n: -1.0, lambda n: float("nan"), lambda n: True, lambda n: "1"):
        with pytest.raises(InvalidParameterError):
            store.record_failure("user", "u2", now=1.0, lock_for=bad)
    with pytest.raises(InvalidTypeError):
        store.record_failure("user", "u2", now=1.0, lock_for=5)  # type: ignore[arg-type]
    assert store.get_lockout("user", "u2") is None  # the failed calls left nothing behind


def test_reset_after_finding_no_counter_in_the_unit_runs_nothing(store: SqlStore) -> None:
    """A unit that read a counter and found none has nothing to delete; once it counts a failure
    (or a savepoint that may have removed the row rolls back) the reset deletes again. The
    capped scope's running count stays exact throughout."""

    def fail(key: str) -> None:
        store.record_failure("unknown", key, now=100.0, lock_for=lambda n: 0.0, max_keys=10)

    def census() -> int:
        with store.transaction():
            tx = store._current()
            assert tx is not None
            row = tx.one(
                "SELECT failures FROM lockouts WHERE scope = 'unknown' AND lock_key = '# rows'"
            )
        return -1 if row is None else int(row[0])

    fail("k0")
    assert census() == 1
    with store.statement_hook() as hook, store.transaction():
        assert store.get_lockout("unknown", "k1") is None
        store.reset_lockout("unknown", "k1")
    assert hook.log == ["SELECT"]  # no DELETE
    with store.statement_hook() as hook, store.transaction():
        assert store.get_lockout("unknown", "k1") is None
        fail("k1")  # counted after the read: the reset must delete it
        store.reset_lockout("unknown", "k1")
    assert "DELETE" in hook.log
    assert store.get_lockout("unknown", "k1") is None and census() == 1
    with store.transaction():
        assert store.get_lockout("unknown", "k0") is not None
        with pytest.raises(RuntimeError), store.transaction():
            store.reset_lockout("unknown", "k0")
            assert store.get_lockout("unknown", "k0") is None  # true only inside the savepoint
            raise RuntimeError("undo")
        assert store.get_lockout("unknown", "k0") is not None
        store.reset_lockout("unknown", "k0")
    assert store.get_lockout("unknown", "k0") is None and census() == 0
    with store.statement_hook() as hook:  # outside a unit nothing is known: the reset deletes
        assert store.get_lockout("unknown", "k2") is None
        store.reset_lockout("unknown", "k2")
    assert hook.log == ["DELETE"]


def test_lockout_bounded_table_drops_oldest(store: SqlStore) -> None:
    for n in range(10):
        store.record_failure("unknown", f"h{n}", now=100.0 + n, lock_for=lambda n: 0.0, max_keys=4)
    kept = [k for k in (f"h{n}" for n in range(10)) if store.get_lockout("unknown", k)]
    assert kept == ["h6", "h7", "h8", "h9"]
    store.record_failure("user", "other", now=1.0, lock_for=lambda n: 0.0)
    store.record_failure("unknown", "h6", now=200.0, lock_for=lambda n: 0.0, max_keys=4)
    store.record_failure("unknown", "new", now=201.0, lock_for=lambda n: 0.0, max_keys=4)
    kept = [k for k in ("h6", "h7", "h8", "h9", "new") if store.get_lockout("unknown", k)]
    assert kept == ["h6", "h8", "h9", "new"]  # h7 was least recently updated
    assert store.get_lockout("user", "other") is not None  # other scopes untouched


def test_lockout_cap_keeps_a_running_count(store: SqlStore) -> None:
    """The cap is kept with a running count of the scope (no COUNT(*) per new name): a reset
    frees a place; a table from before the count is counted once, on its next new name."""

    def fail(key: str, now: float) -> None:
        store.record_failure("unknown", key, now=now, lock_for=lambda n: 0.0, max_keys=3)

    def kept(keys: list[str]) -> list[str]:
        return [k for k in keys if store.get_lockout("unknown", k) is not None]

    for n in range(3):
        fail(f"a{n}", 100.0 + n)
    store.reset_lockout("unknown", "a1")  # a place freed
    fail("b0", 110.0)
    assert kept(["a0", "a1", "a2", "b0"]) == ["a0", "a2", "b0"]  # nothing evicted
    fail("b1", 111.0)
    assert kept(["a0", "a2", "b0", "b1"]) == ["a2", "b0", "b1"]  # a0, the oldest, made room
    with store.transaction():  # as a table written before the running count existed
        tx = store._current()
        assert tx is not None
        tx.run("DELETE FROM lockouts WHERE scope = 'unknown' AND lock_key = '# rows'")
    fail("b2", 112.0)
    assert kept(["a2", "b0", "b1", "b2"]) == ["b0", "b1", "b2"]


# -- keys and outbox ------------------------------------------------------------------------------
def test_wrapped_keys(store: SqlStore) -> None:
    k1 = WrappedKeyRecord("sealing", "k1", b"\x01" * 60, 100.0)
    k2 = WrappedKeyRecord("sealing", "k2", b"\x02" * 60, 200.0)
    store.put_key(k1)
    store.put_key(k2)
    with pytest.raises(RecordExistsError):
        store.put_key(dataclasses.replace(k1, wrapped=b"\x03" * 60))
    assert store.get_key("sealing", "k1") == k1
    assert "\\x01" not in repr(k1)
    assert [k.key_id for k in store.list_keys("sealing")] == ["k2", "k1"]
    assert store.retire_key("sealing", "k1", now=300.0) is True
    assert store.retire_key("sealing", "k1", now=400.0) is False
    assert [k.key_id for k in store.list_keys("sealing")] == ["k2"]
    retired = store.list_keys("sealing", include_retired=True)
    assert [(k.key_id, k.retired_at) for k in retired] == [("k2", None), ("k1", 300.0)]
    assert store.list_keys("other") == []


def test_outbox(store: SqlStore) -> None:
    ids = [
        store.append_outbox(OutboxRecord(POOL, sub, ch, "+15550100", f"code {n}", float(n)))
        for n, (sub, ch) in enumerate([("a", "sms"), ("b", "email"), ("a", "email")])
    ]
    assert ids == sorted(ids) and len(set(ids)) == 3
    got = store.read_outbox(POOL)
    assert [(m.user_sub, m.channel, m.body) for m in got] == [
        ("a", "sms", "code 0"),
        ("b", "email", "code 1"),
        ("a", "email", "code 2"),
    ]
    assert [m.body for m in store.read_outbox(POOL, user_sub="a", after_id=ids[0])] == ["code 2"]
    assert store.read_outbox("eu-west-1_X") == []
    assert "code" not in repr(got[0])
    with pytest.raises(InvalidParameterError):
        OutboxRecord(POOL, "a", "fax", "1", "x", 1.0)


# -- units of work --------------------------------------------------------------------------------
def test_transaction_is_all_or_nothing(seeded: SqlStore) -> None:
    before = t.dump(seeded)
    with pytest.raises(RuntimeError), seeded.transaction():
        seeded.confirm_device(t.confirmation(1, SUB1))
        seeded.insert_refresh_token(t.refresh_token(1, SUB1))
        assert seeded.get_device(POOL, t.device_key(1)) is not None  # visible inside the unit
        raise RuntimeError("boom")
    assert t.dump(seeded) == before
    with seeded.transaction():
        seeded.confirm_device(t.confirmation(1, SUB1))
        with seeded.transaction():  # nested: joins the outer unit
            seeded.insert_refresh_token(t.refresh_token(1, SUB1))
    assert seeded.get_device(POOL, t.device_key(1)) is not None
    assert seeded.get_refresh_token(t.refresh_token(1, SUB1).token_hash) is not None


def test_nested_transactions_are_savepoints(seeded: SqlStore) -> None:
    with seeded.transaction():
        seeded.confirm_device(t.confirmation(1, SUB1))
        with pytest.raises(RuntimeError), seeded.transaction():
            seeded.confirm_device(t.confirmation(2, SUB1))
            with seeded.transaction():
                seeded.confirm_device(t.confirmation(3, SUB1))
            raise RuntimeError("inner fails")
        with seeded.transaction():
            seeded.confirm_device(t.confirmation(4, SUB1))
    keys = {d.device_key for d in seeded.list_devices(POOL, SUB1, remembered_only=False).items}
    assert keys == {t.device_key(1), t.device_key(4)}


def test_a_refused_write_inside_a_unit_does_not_poison_it(seeded: SqlStore) -> None:
    """Refusals are decided without a failing statement (which would abort a PostgreSQL unit)."""
    refusals = [
        (RecordExistsError, lambda: seeded.create_user(t.user(1))),
        (RecordNotFoundError, lambda: seeded.create_user(t.user(4, pool_id="eu-west-1_None"))),
        (RecordNotFoundError, lambda: seeded.create_client(t.client("c9", "eu-west-1_None"))),
        (RecordNotFoundError, lambda: seeded.confirm_device(t.confirmation(5, "ghost"))),
        (RecordNotFoundError, lambda: seeded.issue_device(t.issued_device(6, "ghost"))),
        (RecordNotFoundError, lambda: seeded.insert_refresh_token(t.refresh_token(7, "ghost"))),
        (
            RecordNotFoundError,
            lambda: seeded.insert_refresh_token(t.refresh_token(8, SUB1, client_id="nope")),
        ),
        (DeviceKeyConflictError, lambda: seeded.confirm_device(t.confirmation(1, SUB2))),
        (RecordExistsError, lambda: seeded.insert_refresh_token(t.refresh_token(1, SUB1))),
    ]
    with seeded.transaction():
        seeded.confirm_device(t.confirmation(1, SUB1))
        seeded.insert_refresh_token(t.refresh_token(1, SUB1))
        for error, call in refusals:
            with pytest.raises(error):
                call()
        seeded.create_user(t.user(3))  # the unit is still usable
    assert seeded.get_user_by_sub(POOL, t.user(3).sub) is not None
    assert seeded.get_device(POOL, t.device_key(1)) is not None


def test_token_insert_checks_its_parents_in_the_same_statement(seeded: SqlStore) -> None:
    seeded.confirm_device(t.confirmation(1, SUB1))
    with seeded.statement_hook() as hook, seeded.transaction():
        seeded.insert_refresh_token(t.refresh_token(1, SUB1))
    assert hook.log == ["INSERT"]
    with seeded.statement_hook() as hook, seeded.transaction():
        seeded.insert_refresh_token(t.refresh_token(2, SUB1, device=t.device_key(1)))
    # PostgreSQL also holds the device (a concurrent forget waits, then revokes the token).
    assert hook.log == (["INSERT", "SELECT"] if seeded.dialect == "postgresql" else ["INSERT"])
    assert seeded.get_refresh_token(t.refresh_token(2, SUB1).token_hash) == t.refresh_token(
        2, SUB1, device=t.device_key(1)
    )


def test_tokens_bind_a_client_of_the_users_pool(seeded: SqlStore) -> None:
    seeded.create_pool(t.pool("eu-west-1_Other"))
    seeded.create_client(t.client("foreign", "eu-west-1_Other"))
    with pytest.raises(RecordNotFoundError):
        seeded.insert_refresh_token(t.refresh_token(1, SUB1, client_id="foreign"))


# -- hostile input --------------------------------------------------------------------------------
HOSTILE_IDS = ["", "x" * 10_000, "us-east-1_a b", "us-east-1_a\x00", "NOUNDERSCORE", "é_1", 7, None]


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_hostile_identifiers_are_typed_errors(seeded: SqlStore, value: object) -> None:
    calls = [
        lambda: seeded.get_pool(value),  # type: ignore[arg-type]
        lambda: seeded.get_device(value, t.device_key(1)),  # type: ignore[arg-type]
        lambda: seeded.get_device(POOL, value),  # type: ignore[arg-type]
        lambda: seeded.list_users(value),  # type: ignore[arg-type]
        lambda: seeded.forget_device(POOL, value),  # type: ignore[arg-type]
        lambda: seeded.consume_once(value, b"k", expires_at=1.0),  # type: ignore[arg-type]
    ]
    before = t.dump(seeded)
    for call in calls:
        with pytest.raises((InvalidParameterError, InvalidTypeError)):
            call()
    assert t.dump(seeded) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("salt", b"\x01" * 65),
        ("salt", b""),
        ("verifier", b"\x01" * 385),
        ("verifier", "not bytes"),
        ("now", float("nan")),
        ("now", float("inf")),
        ("now", -1.0),
        ("now", True),
        ("name", "x" * 1025),
        ("name", "tab\tname"),
        ("remembered", 1),
        ("sdk", "\x00"),
    ],
)
def test_bad_confirmations_are_refused_before_storage(field: str, value: object) -> None:
    with pytest.raises((InvalidParameterError, InvalidTypeError)):
        dataclasses.replace(t.confirmation(1, SUB1), **{field: value})


@pytest.mark.parametrize(
    "settings",
    [{"x": float("nan")}, {"x": object()}, {1: "int key"}, {"big": "x" * 70_000}, ["list"]],
)
def test_bad_json_documents_are_refused(settings: object) -> None:
    with pytest.raises((InvalidParameterError, InvalidTypeError)):
        dataclasses.replace(t.pool(), settings=settings)


def test_wrong_record_types_are_refused(store: SqlStore) -> None:
    with pytest.raises(InvalidTypeError):
        store.create_pool(t.client())  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        store.confirm_device(t.issued_device(1, SUB1))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        store.consume_once("s", "str not bytes", expires_at=1.0)  # type: ignore[arg-type]


def test_printable_text_holds_no_whitespace_but_the_ascii_space() -> None:
    """Why the name checks (store and identity lookup) look for " " only after isprintable():
    every other whitespace code point is a control or separator character."""
    from devicesrp.server.identity import valid_name
    from devicesrp.store import _checks as ck

    spaces = [chr(i) for i in range(0x110000) if chr(i).isspace()]
    assert [c for c in spaces if c.isprintable()] == [" "]
    for c in spaces:
        assert not valid_name(f"a{c}b")
        with pytest.raises(ValueError):
            ck.name("username", f"a{c}b")
