"""dudect-style leakage detection (Reparaz, Balasch, Verbauwhede, "Dude, is my code constant time?",
DATE 2017): time one operation on a fixed input class and a random input class, interleaved in a
random order, then compare the two timing distributions with Welch's t-test. |t| above 10 means
a leak beyond doubt; above 4.5 is worth a look. The slowest samples (preemption, page faults)
are cropped at a shared percentile before the test, as dudect does.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

FAIL_T = 10.0
WARN_T = 4.5
CROP_PERCENTILE = 90


@dataclass(frozen=True)
class Result:
    t: float
    samples_per_class: int
    kept_per_class: tuple[int, int]
    means_ns: tuple[float, float]

    def describe(self) -> str:
        return (
            f"t={self.t:+.2f} ({self.samples_per_class} samples/class, kept {self.kept_per_class}, "
            f"means {self.means_ns[0]:.0f} / {self.means_ns[1]:.0f} ns)"
        )


def welch_t(a: Sequence[float], b: Sequence[float]) -> float:
    """t = (mean_a - mean_b) / sqrt(var_a / n_a + var_b / n_b)."""
    va, vb = statistics.variance(a), statistics.variance(b)
    denom = math.sqrt(va / len(a) + vb / len(b))
    if denom == 0:
        return 0.0 if statistics.fmean(a) == statistics.fmean(b) else math.inf
    return (statistics.fmean(a) - statistics.fmean(b)) / denom


def fresh(args: Sequence[Any]) -> tuple[Any, ...]:
    """A new copy of every bytes argument: reusing one object would keep the fixed class's input
    hot in cache while each random input is cold, a difference of its own (measured: |t| ~ 7)."""
    return tuple(bytes(bytearray(a)) if isinstance(a, bytes) else a for a in args)


def measure(
    op: Callable[..., Any],
    fixed: Sequence[Any] | None,
    make_random: Callable[[random.Random], Sequence[Any]],
    samples: int,
    seed: int,
) -> Result:
    """Welch's t between ``op(*fixed)`` and ``op(*make_random(rng))``, ``samples`` of each.

    ``fixed=None`` is the A/A control: both classes draw random inputs.
    """
    rng = random.Random(seed)
    order = [0] * samples + [1] * samples
    rng.shuffle(order)
    inputs = [fresh(fixed) if cls == 0 and fixed is not None else make_random(rng) for cls in order]
    warm = fixed if fixed is not None else make_random(rng)
    clock = time.thread_time_ns
    times: list[list[int]] = [[], []]
    for _ in range(min(200, samples)):  # warm caches and branch predictors
        op(*warm)
    for cls, args in zip(order, inputs, strict=True):
        start = clock()
        op(*args)
        times[cls].append(clock() - start)
    cut = sorted(times[0] + times[1])[len(order) * CROP_PERCENTILE // 100]
    kept = [[x for x in ts if x <= cut] for ts in times]
    return Result(
        t=welch_t(kept[0], kept[1]),
        samples_per_class=samples,
        kept_per_class=(len(kept[0]), len(kept[1])),
        means_ns=(statistics.fmean(kept[0]), statistics.fmean(kept[1])),
    )
