"""Interleaved timing: candidates run A B C, B C A, ... and each sample is CPU time of one call.

Interleaving spreads the machine's drift over every candidate alike; ``time.thread_time`` leaves out
time the thread was not running; medians ignore the odd preempted sample.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    name: str
    call: Callable[[], object]


@dataclass(frozen=True)
class Comparison:
    rounds: int
    samples: dict[str, list[float]] = field(repr=False)

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def ratio(self, name: str, baseline: str) -> float:
        """median(name) / median(baseline): below 1 means faster than the baseline."""
        return self.median(name) / self.median(baseline)

    def as_dict(self, baseline: str | None = None) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for name in self.samples:
            row = {"median_us": self.median(name) * 1e6}
            if baseline is not None and baseline in self.samples:
                row["ratio_to_baseline"] = self.ratio(name, baseline)
            out[name] = row
        return out


def compare(candidates: Sequence[Candidate], rounds: int, warmup: int = 2) -> Comparison:
    """Run every candidate once per round, rotating the order each round; CPU time per call."""
    samples: dict[str, list[float]] = {c.name: [] for c in candidates}
    for c in candidates:
        for _ in range(warmup):
            c.call()
    clock = time.thread_time
    n = len(candidates)
    for r in range(rounds):
        for i in range(n):
            c = candidates[(r + i) % n]
            start = clock()
            c.call()
            samples[c.name].append(clock() - start)
    return Comparison(rounds=rounds, samples=samples)


@dataclass(frozen=True)
class Scaling:
    one_thread_ops_per_s: float
    two_thread_ops_per_s: float
    seconds_each: float

    @property
    def ratio(self) -> float:
        return self.two_thread_ops_per_s / self.one_thread_ops_per_s


def thread_scaling(
    call: Callable[[], object], seconds: float = 5.0, slice_s: float = 0.5
) -> Scaling:
    """Wall-time throughput with 1 and 2 threads, alternating slices until each had ``seconds``."""
    totals = {1: [0, 0.0], 2: [0, 0.0]}

    def run_slice(threads: int) -> None:
        stop = time.perf_counter() + slice_s
        counts = [0] * threads

        def worker(slot: int) -> None:
            while time.perf_counter() < stop:
                call()
                counts[slot] += 1

        begin = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        totals[threads][0] += sum(counts)
        totals[threads][1] += time.perf_counter() - begin

    while min(totals[1][1], totals[2][1]) < seconds:
        run_slice(1)
        run_slice(2)
    one = totals[1][0] / totals[1][1]
    two = totals[2][0] / totals[2][1]
    return Scaling(one, two, min(totals[1][1], totals[2][1]))
