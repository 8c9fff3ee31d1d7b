"""``devicesrp bench modexp``: devicesrp's modexp against built-in pow, GMP and OpenSSL.

3072-bit RFC 3526 prime (Cognito's group), exponents of 256 / 512 / 1024 / 3072 bits, round-robin
CPU-time medians, ratios to OpenSSL's constant-time exponentiation measured in the same run.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import modexp
from ..modexp._backend import Backend
from ..srp.groups import COGNITO_GROUP
from . import openssl
from .roundrobin import Candidate, compare, thread_scaling

BASELINE = "openssl consttime"
N3072 = COGNITO_GROUP.N  # RFC 3526 / RFC 5054 3072-bit prime (Cognito pairs it with g = 2)


def _backend_candidates(
    name: str, backend: Backend, base: int, exp: int, exp_bits: int
) -> list[Candidate]:
    table = backend.fixed_base(2, N3072, exp_bits)
    label = f"devicesrp[{name}]"  # native backends are named by CPU path: native/ifma
    return [
        Candidate(
            f"{label} powmod_secret", lambda: backend.powmod_secret(base, exp, N3072, exp_bits)
        ),
        Candidate(f"{label} powmod_public", lambda: backend.powmod_public(base, exp, N3072)),
        Candidate(f"{label} FixedBase(g).pow", lambda: table.pow(exp)),
    ]


def candidates_for(exp_bits: int, rng: random.Random) -> list[Candidate]:
    base = rng.randrange(2, N3072 - 1)
    exp = rng.getrandbits(exp_bits) | (1 << (exp_bits - 1))
    found: list[Candidate] = []
    try:
        ossl = openssl.OpenSSLModexp(N3072)
        found += [
            Candidate(BASELINE, lambda: ossl.consttime(base, exp)),
            Candidate("openssl mont", lambda: ossl.mont(base, exp)),
        ]
    except OSError:
        pass
    # The peers run through devicesrp's own thin adapters (python = built-in pow, gmpy2 =
    # powmod / powmod_sec), which keeps every modular exponentiation inside devicesrp.modexp.
    peers = modexp.available_backends()
    found.append(Candidate("built-in pow", lambda: peers["python"].powmod_public(base, exp, N3072)))
    if "gmpy2" in peers:
        gmp = peers["gmpy2"]
        found += [
            Candidate("gmpy2.powmod", lambda: gmp.powmod_public(base, exp, N3072)),
            Candidate("gmpy2.powmod_sec", lambda: gmp.powmod_secret(base, exp, N3072, exp_bits)),
        ]
    for name, backend in backends_to_measure().items():
        found += _backend_candidates(name, backend, base, exp, exp_bits)
    return found


def backends_to_measure() -> dict[str, Backend]:
    """devicesrp's own backends (python and gmpy2 are already rows, as the peers they wrap)."""
    return {n: b for n, b in modexp.available_backends().items() if n not in {"python", "gmpy2"}}


def run(rounds: int, exp_bits_list: list[int], seed: int = 3072) -> dict[str, Any]:
    rng = random.Random(seed)
    results: dict[str, Any] = {
        "modulus_bits": 3072,
        "rounds": rounds,
        "baseline": BASELINE,
        "backend_info": modexp.backend_info(),
        "by_exp_bits": {},
    }
    try:
        results["openssl"] = openssl.version()
    except OSError as exc:
        results["openssl"] = f"unavailable: {exc}"
    for bits in exp_bits_list:
        cands = candidates_for(bits, rng)
        _progress(f"exp {bits} bits: {len(cands)} candidates x {rounds} rounds")
        comp = compare(cands, rounds)
        results["by_exp_bits"][str(bits)] = comp.as_dict(BASELINE)
    return results


def run_scaling(seconds: float) -> dict[str, Any]:
    """Two threads vs one on the default backend's powmod_secret (3072-bit modulus, 256-bit exp)."""
    rng = random.Random(2)
    base, exp = rng.randrange(2, N3072), rng.getrandbits(256)
    backend: Callable[[], object] = lambda: modexp.powmod_secret(base, exp, N3072, 256)  # noqa: E731
    scaling = thread_scaling(backend, seconds=seconds)
    return {
        "operation": "powmod_secret 3072-bit modulus, 256-bit exponent",
        "one_thread_ops_per_s": scaling.one_thread_ops_per_s,
        "two_thread_ops_per_s": scaling.two_thread_ops_per_s,
        "ratio": scaling.ratio,
        "seconds_each": scaling.seconds_each,
    }


def format_table(results: dict[str, Any]) -> str:
    lines = [
        f"modexp, {results['modulus_bits']}-bit modulus, {results['rounds']} round-robin rounds, "
        f"CPU-time medians; ratio = median / median({results['baseline']}) in the same run",
        f"OpenSSL: {results['openssl']}",
    ]
    for bits, rows in results["by_exp_bits"].items():
        lines.append("")
        lines.append(f"exponent {bits} bits")
        lines.append(f"  {'candidate':58} {'median us':>12} {'ratio':>8}")
        for name, row in sorted(rows.items(), key=lambda kv: kv[1]["median_us"]):
            ratio = row.get("ratio_to_baseline")
            shown = f"{ratio:8.3f}" if ratio is not None else f"{'-':>8}"
            lines.append(f"  {name:58} {row['median_us']:12.1f} {shown}")
    if "thread_scaling" in results:
        s = results["thread_scaling"]
        lines.append("")
        lines.append(
            f"thread scaling ({s['operation']}): 1 thread {s['one_thread_ops_per_s']:.0f}/s, "
            f"2 threads {s['two_thread_ops_per_s']:.0f}/s, ratio {s['ratio']:.2f}"
        )
    return "\n".join(lines)


def _progress(text: str) -> None:
    print(f"  ... {text}", file=sys.stderr, flush=True)


def main(rounds: int, json_path: str | None, exp_bits: list[int], scaling_s: float = 5.0) -> int:
    if not modexp.backend_info()["constant_time"]:
        # Measuring a variable-time backend is harmless: these inputs are not secrets.
        os.environ.setdefault(modexp.ALLOW_ENV, "1")
    results = run(rounds, exp_bits)
    if scaling_s > 0:
        _progress(f"thread scaling: {scaling_s:.0f} s each for 1 and 2 threads")
        results["thread_scaling"] = run_scaling(scaling_s)
    print(format_table(results))
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nJSON written to {json_path}")
    return 0
