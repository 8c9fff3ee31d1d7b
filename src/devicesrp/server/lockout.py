"""Sign-in lockout as pure functions of (state, now): 5 failures, then 1 s doubling to 15 min.

delay(n) = 0 for n < threshold, else min(cap, base * 2**(n - threshold)) seconds after the n-th
failure — the backoff Cognito documents ("Password attempts exceeded" from the 6th attempt).
Password and device-proof failures share one counter; a success resets it. While locked, every
proof gets the same refusal whatever its value, and does not move the counter (waiting helps).

Unknown names are counted exactly like known ones, under a key derived by HMAC from the name, so the
lockout answer reveals nothing about who exists (security matrix row 17).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

__all__ = ["LockoutPolicy", "LockoutState", "name_key", "user_key"]


@dataclass(frozen=True)
class LockoutPolicy:
    """Thresholds; the defaults are Cognito's."""

    threshold: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 900.0

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("lockout policy: threshold >= 1 and 0 < base <= cap required")

    def delay_after(self, failures: int) -> float:
        """Seconds locked after the ``failures``-th consecutive failure."""
        if failures < self.threshold:
            return 0.0
        exponent = failures - self.threshold
        # 2**60 s is far beyond any cap: stop doubling before the float grows without bound.
        if exponent >= 60:
            return self.cap_seconds
        return float(min(self.cap_seconds, self.base_seconds * float(2**exponent)))

    def is_locked(self, state: LockoutState, now: float) -> bool:
        return now < state.locked_until

    def after_failure(self, state: LockoutState, now: float) -> LockoutState:
        """The state after a failed proof that was evaluated (i.e. made while not locked)."""
        failures = state.failures + 1
        delay = self.delay_after(failures)
        return LockoutState(failures=failures, locked_until=now + delay if delay else 0.0)

    def after_success(self, state: LockoutState) -> LockoutState:
        return LockoutState()


@dataclass(frozen=True)
class LockoutState:
    """Consecutive failures and the instant (epoch seconds) before which every proof is refused."""

    failures: int = 0
    locked_until: float = 0.0


def user_key(pool_id: str, user_sub: str) -> str:
    """The counter key of a known user (stable across the user's names)."""
    return f"u:{pool_id}:{user_sub}"


def name_key(hmac_key: bytes, pool_id: str, normalized_name: str) -> str:
    """The counter key of an unknown name: an HMAC, so the table never holds the names."""
    digest = hmac.digest(hmac_key, f"{pool_id}\x00{normalized_name}".encode(), "sha256")
    return f"n:{pool_id}:{digest.hex()[:40]}"
