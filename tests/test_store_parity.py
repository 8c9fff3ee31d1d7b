"""Backend parity as a state machine: random sequences of device, single-use and lockout operations
run on SQLite and PostgreSQL side by side and against a plain model; every answer must agree."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import pgutil
from counts import count
from devicesrp.errors import DeviceKeyConflictError, RecordExistsError
from devicesrp.store import ConfirmOutcome, SqlStore, open_store
from devicesrp.store import testing as t

USERS = {1: t.user(1).sub, 2: t.user(2).sub}
devices = st.integers(min_value=0, max_value=3)
users = st.sampled_from([1, 2])


@dataclass
class ModelDevice:
    user: int
    variant: int | None  # None: issued, not confirmed
    remembered: bool
    first_tracked: float
    last_auth: float | None = None


def outcome(call: object) -> object:
    """A call's result, or the class of the store error it raised (compared across backends)."""
    try:
        return call()  # type: ignore[operator]
    except (DeviceKeyConflictError, RecordExistsError) as exc:
        return type(exc)


class Parity(RuleBasedStateMachine):
    lite: SqlStore
    pg: SqlStore

    @initialize()
    def open(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.lite = open_store(f"sqlite:///{Path(self.dir.name)}/parity.db", pool_size=2)
        self.pg = pgutil.shared_store()
        for s in (self.lite, self.pg):
            s.create_pool(t.pool())
            for n in USERS:
                s.create_user(t.user(n))
        self.model: dict[int, ModelDevice] = {}
        self.consumed: set[int] = set()
        self.failures: dict[int, int] = {}
        self.clock = 1_700_000_000.0

    def teardown(self) -> None:
        if hasattr(self, "lite"):
            self.lite.close()
            self.dir.cleanup()

    def both(self, op: str, *args: object, **kwargs: object) -> object:
        a = outcome(lambda: getattr(self.lite, op)(*args, **kwargs))
        b = outcome(lambda: getattr(self.pg, op)(*args, **kwargs))
        assert a == b, (op, a, b)
        return a

    def tick(self) -> float:
        self.clock += 1.0
        return self.clock

    @rule(n=devices, user=users)
    def issue(self, n: int, user: int) -> None:
        got = self.both("issue_device", t.issued_device(n, USERS[user], now=self.tick()))
        if n in self.model:
            assert got is RecordExistsError
        else:
            assert got is None
            self.model[n] = ModelDevice(user, None, False, self.clock)

    @rule(n=devices, user=users, variant=st.sampled_from([0, 1]), remembered=st.booleans())
    def confirm(self, n: int, user: int, variant: int, remembered: bool) -> None:
        conf = t.confirmation(n, USERS[user], variant=variant, remembered=remembered)
        got = self.both("confirm_device", dataclasses.replace(conf, now=self.tick()))
        known = self.model.get(n)
        if known is None:
            assert got is ConfirmOutcome.CONFIRMED
            self.model[n] = ModelDevice(user, variant, remembered, self.clock)
        elif known.user != user:
            assert got is DeviceKeyConflictError
        elif known.variant is None:
            assert got is ConfirmOutcome.CONFIRMED
            known.variant, known.remembered = variant, remembered
        elif known.variant == variant:
            assert got is ConfirmOutcome.ALREADY_CONFIRMED
        else:
            assert got is DeviceKeyConflictError

    @rule(n=devices)
    def forget(self, n: int) -> None:
        assert self.both("forget_device", t.POOL, t.device_key(n)) == (n in self.model)
        self.model.pop(n, None)

    @rule(n=devices, remembered=st.booleans())
    def update_status(self, n: int, remembered: bool) -> None:
        got = self.both(
            "update_device_status", t.POOL, t.device_key(n), remembered=remembered, now=self.tick()
        )
        known = self.model.get(n)
        assert got == (known is not None and known.variant is not None)
        if got and known is not None:
            known.remembered = remembered

    @rule(n=devices)
    def touch(self, n: int) -> None:
        got = self.both("touch_device", t.POOL, t.device_key(n), now=self.tick(), ip="192.0.2.9")
        known = self.model.get(n)
        assert got == (known is not None and known.variant is not None)
        if got and known is not None:
            known.last_auth = self.clock

    @rule(user=users, keep=st.integers(min_value=0, max_value=3), protect=st.none() | devices)
    def evict(self, user: int, keep: int, protect: int | None) -> None:
        key = None if protect is None else t.device_key(protect)
        got = self.both(
            "evict_remembered_devices", t.POOL, USERS[user], keep=keep, protect=key, now=1.0
        )
        live = sorted(
            ((d.last_auth or d.first_tracked, t.device_key(n)), n)
            for n, d in self.model.items()
            if d.user == user and d.variant is not None and d.remembered
        )
        victims = [n for _, n in live if t.device_key(n) != key][: max(0, len(live) - keep)]
        assert got == [t.device_key(n) for n in victims]
        for n in victims:
            del self.model[n]

    @rule(k=st.integers(min_value=0, max_value=3))
    def consume(self, k: int) -> None:
        got = self.both("consume_once", "parity", b"%d" % k, expires_at=9e9)
        assert got == (k not in self.consumed)
        self.consumed.add(k)

    @rule(k=st.integers(min_value=0, max_value=2))
    def fail(self, k: int) -> None:
        rec = self.both("record_failure", "user", f"k{k}", now=5.0, lock_for=lambda n: n * 0.5)
        self.failures[k] = self.failures.get(k, 0) + 1
        assert rec.failures == self.failures[k]  # type: ignore[attr-defined]

    @invariant()
    def listings_agree(self) -> None:
        if not hasattr(self, "lite"):
            return
        for n, sub in USERS.items():
            for remembered_only in (False, True):
                page = self.both("list_devices", t.POOL, sub, remembered_only=remembered_only)
                listed = [d.device_key for d in page.items]  # type: ignore[attr-defined]
                expected = sorted(
                    (d.first_tracked, t.device_key(k))
                    for k, d in self.model.items()
                    if d.user == n
                    and d.variant is not None
                    and (d.remembered or not remembered_only)
                )
                assert listed == [key for _, key in expected]


@pytest.mark.postgres
def test_backends_agree_on_random_operation_sequences() -> None:
    pgutil.require_postgres()
    runner = Parity.TestCase
    runner.settings = settings(
        max_examples=count(ci=25, soak=300), stateful_step_count=25, deadline=None
    )
    runner("runTest").runTest()
