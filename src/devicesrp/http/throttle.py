"""Token buckets keyed by source address and by app client, checked before any modexp.

tokens(t) = min(burst, tokens(t0) + rate * (t - t0)); a request takes one token or is refused
with ``TooManyRequestsException`` (which boto3 and the JS SDKs retry with backoff). Tables are
bounded (least recently used keys are dropped) so a spray of addresses cannot exhaust memory; a
dropped key starts again with a full bucket, which only makes the limit looser, never stricter.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from .awserror import AwsServiceError


@dataclass(frozen=True)
class Rate:
    """``per_second`` refill and ``burst`` capacity; ``per_second <= 0`` disables the limit."""

    per_second: float
    burst: float


class TokenBuckets:
    """One bucket per key, refilled lazily from the caller's clock."""

    def __init__(self, rate: Rate, capacity: int = 65_536) -> None:
        self._rate = rate
        self._capacity = capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float) -> bool:
        """Take one token for ``key`` at time ``now``; False when the bucket is empty."""
        if self._rate.per_second <= 0:
            return True
        with self._lock:
            tokens, last = self._buckets.pop(key, (self._rate.burst, now))
            tokens = min(self._rate.burst, tokens + max(0.0, now - last) * self._rate.per_second)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self._capacity:
                self._buckets.popitem(last=False)
            return allowed


def too_many() -> AwsServiceError:
    return AwsServiceError("TooManyRequestsException", "Too many requests; slow down.")


class Throttle:
    """The address limit applies to every operation; the client limit to sign-in operations."""

    def __init__(self, per_address: Rate, per_client: Rate) -> None:
        self.addresses = TokenBuckets(per_address)
        self.clients = TokenBuckets(per_client)

    def check_address(self, address: str, now: float) -> None:
        if not self.addresses.take(address, now):
            raise too_many()

    def check_client(self, client_id: str, now: float) -> None:
        if not self.clients.take(client_id, now):
            raise too_many()
