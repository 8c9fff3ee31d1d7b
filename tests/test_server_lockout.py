"""Lockout policy: 5 failures, then 1 s doubling to 15 minutes (security matrix row 19)."""

from __future__ import annotations

import pytest

from devicesrp.server.lockout import LockoutPolicy, LockoutState, name_key, user_key


def test_schedule_is_five_free_failures_then_doubling_to_the_cap() -> None:
    policy = LockoutPolicy()
    delays = [policy.delay_after(n) for n in range(1, 18)]
    assert delays[:4] == [0.0] * 4
    assert delays[4:14] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert delays[14:] == [900.0] * 3
    assert policy.delay_after(10_000) == 900.0


def test_sixth_attempt_is_locked_and_waiting_unlocks() -> None:
    policy = LockoutPolicy()
    state, now = LockoutState(), 1000.0
    for _ in range(5):
        assert not policy.is_locked(state, now)
        state = policy.after_failure(state, now)
    assert policy.is_locked(state, now)
    assert policy.is_locked(state, now + 0.999)
    assert not policy.is_locked(state, now + 1.0)
    state = policy.after_failure(state, now + 1.0)
    assert policy.is_locked(state, now + 2.999)
    assert not policy.is_locked(state, now + 3.0)
    assert policy.after_success(state) == LockoutState()


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        LockoutPolicy(threshold=0)
    with pytest.raises(ValueError):
        LockoutPolicy(base_seconds=10, cap_seconds=1)


def test_name_keys_hide_names_and_depend_on_pool_and_key() -> None:
    k1, k2 = b"\x01" * 32, b"\x02" * 32
    a = name_key(k1, "us-east-1_A", "alice")
    assert "alice" not in a
    assert a == name_key(k1, "us-east-1_A", "alice")
    assert a != name_key(k2, "us-east-1_A", "alice")
    assert a != name_key(k1, "us-east-1_B", "alice")
    assert a != user_key("us-east-1_A", "alice")
