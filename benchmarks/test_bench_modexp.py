"""modexp against built-in pow, gmpy2 and OpenSSL: same-run ratios (performance.md's method).

Each comparison is one round-robin loop over its candidates (>= 200 rounds, CPU time via
time.thread_time); medians and ratios go to extra_info and bench-results/modexp.json.
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import save
from devicesrp.bench import modexp as bench

ROUNDS = 200


@pytest.mark.parametrize("exp_bits", [256, 512, 1024, 3072])
def test_modexp_3072(benchmark: Any, exp_bits: int) -> None:
    results: dict[str, Any] = {}

    def measure() -> None:
        results.update(bench.run(ROUNDS, [exp_bits]))

    benchmark.pedantic(measure, rounds=1, iterations=1)
    rows = results["by_exp_bits"][str(exp_bits)]
    benchmark.extra_info.update({"rounds": ROUNDS, "baseline": bench.BASELINE, "rows": rows})
    save(f"modexp_{exp_bits}", results)
    print("\n" + bench.format_table(results))
    assert bench.BASELINE in rows


def test_thread_scaling(benchmark: Any) -> None:
    results: dict[str, Any] = {}

    def measure() -> None:
        results.update(bench.run_scaling(seconds=5.0))

    benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(results)
    save("modexp_thread_scaling", results)
    print(f"\nthread scaling: {results}")
