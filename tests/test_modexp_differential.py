"""Differential test of every modexp backend against an independent oracle (security-matrix row 32).

Oracle: built-in ``pow`` for moduli up to 1024 bits, ``gmpy2.powmod`` above (and always gmpy2 for
the ``python`` backend, whose own arithmetic is ``pow``). Cases: random and edge inputs — exponents
0, 1, 2^k - 1 and exactly ``exp_bits`` long; bases 0, 1, N-1, N, >= N, negative — for moduli of
64 to 8192 bits. ``count(ci=10_000, soak=100_000)`` cases per backend, 0 mismatches.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import gmpy2
import pytest

from counts import count
from devicesrp.modexp import available_backends
from devicesrp.modexp._backend import Backend

BACKENDS = available_backends()
MODULUS_BITS = (64, 65, 127, 128, 255, 256, 511, 512, 1024, 1536, 2048, 3072, 4096, 6144, 8192)
# Small sizes are cheap, large ones expensive under the slowest backend: weight accordingly.
MODULUS_WEIGHTS = (6, 3, 3, 6, 3, 6, 3, 6, 6, 3, 4, 5, 3, 2, 2)


def oracle_for(backend: Backend) -> Callable[[int, int, int], int]:
    def oracle(base: int, exp: int, modulus: int) -> int:
        if backend.name != "python" and modulus.bit_length() <= 1024:
            return pow(base, exp, modulus)
        return int(gmpy2.powmod(base, exp, modulus))

    return oracle


def random_odd_modulus(rng: random.Random, bits: int) -> int:
    return rng.getrandbits(bits) | (1 << (bits - 1)) | 1


def edge_exponents(exp_bits: int) -> list[int]:
    top = (1 << exp_bits) - 1
    return [0, 1, 2, top, 1 << (exp_bits - 1), top >> 1 if exp_bits > 1 else 0]


def edge_bases(modulus: int, rng: random.Random) -> list[int]:
    return [
        0,
        1,
        2,
        modulus - 1,
        modulus,
        modulus + 1,
        2 * modulus + 3,
        -1,
        -modulus,
        -rng.getrandbits(modulus.bit_length() + 17),
        rng.getrandbits(modulus.bit_length() + 64),
    ]


def exp_bits_for(rng: random.Random, modulus_bits: int) -> int:
    roll = rng.random()
    if roll < 0.6:
        return rng.randint(1, 64)
    if roll < 0.9:
        return rng.randint(65, 512)
    # Full-length exponents, capped where the slowest backend would blow the CI budget.
    return rng.randint(513, max(513, min(modulus_bits, 2048 if modulus_bits <= 4096 else 1024)))


def cases(seed: int, total: int) -> Iterator[tuple[int, int, int, int]]:
    """(base, exp, modulus, exp_bits) tuples: a third edge cases, the rest random."""
    rng = random.Random(seed)
    produced = 0
    while produced < total:
        bits = rng.choices(MODULUS_BITS, MODULUS_WEIGHTS)[0]
        modulus = random_odd_modulus(rng, bits)
        exp_bits = exp_bits_for(rng, bits)
        if produced % 3 == 0:
            for exp in edge_exponents(exp_bits):
                for base in [*edge_bases(modulus, rng)[:3], rng.randrange(modulus)]:
                    yield base, exp, modulus, exp_bits
                    produced += 1
            for base in edge_bases(modulus, rng):
                yield base, rng.getrandbits(exp_bits), modulus, exp_bits
                produced += 1
        else:
            exp = rng.getrandbits(exp_bits) | (1 << (exp_bits - 1))  # exactly exp_bits long
            yield rng.getrandbits(bits + 8) - (1 << (bits + 7)), exp, modulus, exp_bits
            produced += 1


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_powmod_secret_and_public_match_oracle(name: str) -> None:
    backend = BACKENDS[name]
    oracle = oracle_for(backend)
    total = count(ci=10_000, soak=100_000)
    mismatches: list[tuple[int, int, int]] = []
    done = 0
    for base, exp, modulus, exp_bits in cases(seed=0xD1FF + len(name), total=total):
        want = oracle(base, exp, modulus)
        if backend.powmod_secret(base, exp, modulus, exp_bits) != want:
            mismatches.append((modulus.bit_length(), exp_bits, 0))
        if done % 4 == 0 and backend.powmod_public(base, exp, modulus) != want:
            mismatches.append((modulus.bit_length(), exp_bits, 1))
        done += 1
    assert done >= total
    assert mismatches == [], f"{len(mismatches)} mismatches of {done}: {mismatches[:5]}"


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_fixed_base_matches_oracle(name: str) -> None:
    backend = BACKENDS[name]
    oracle = oracle_for(backend)
    rng = random.Random(0xF1BA5E)
    checked = 0
    for _ in range(count(ci=40, soak=400)):
        bits = rng.choice((64, 256, 1024, 2048, 3072, 4096, 8192))
        modulus = random_odd_modulus(rng, bits)
        exp_bits = rng.choice((1, 8, 255, 256, 512, 1024))
        base = rng.choice((2, 5, modulus - 1, rng.randrange(modulus), -3, modulus + 2))
        table = backend.fixed_base(base, modulus, exp_bits)
        for exp in [*edge_exponents(exp_bits), *(rng.getrandbits(exp_bits) for _ in range(8))]:
            assert table.pow(exp) == oracle(base, exp, modulus)
            checked += 1
    assert checked >= 40 * 14


def to_bytes(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_fused_srp_operations_match_formulas(name: str) -> None:
    """v = g^x; B = k*v + g^b; S_client = (B - k*g^x)^(a+u*x); S_server = (A*v^u)^b (mod N)."""
    backend = BACKENDS[name]
    oracle = oracle_for(backend)
    rng = random.Random(0x5A5A)
    for i in range(count(ci=300, soak=3_000)):
        bits = rng.choice((256, 1024, 2048, 3072, 4096))
        modulus = random_odd_modulus(rng, bits)
        n_len = (bits + 7) // 8
        g = rng.choice((2, 5, rng.randrange(2, modulus)))
        k = rng.randrange(modulus)
        x = rng.randbytes(rng.choice((1, 20, 32, 64)))
        a = rng.randbytes(rng.choice((1, 32, 128)))
        b = rng.randbytes(rng.choice((1, 32, 64)))
        if i % 7 == 0:  # leading zero bytes must not change the value
            x, a, b = b"\x00" + x, b"\x00\x00" + a, b"\x00" + b
        u = rng.getrandbits(rng.choice((8, 160, 256)))
        x_i, a_i, b_i = (int.from_bytes(s, "big") for s in (x, a, b))

        v_i = oracle(g, x_i, modulus)
        v = backend.srp_verifier(g, x, modulus)
        assert v == to_bytes(v_i, n_len)

        big_b = (k * v_i + oracle(g, b_i, modulus)) % modulus
        assert backend.srp_server_public(g, k, v, b, modulus) == big_b

        big_a = rng.randrange(2, modulus - 1)
        s_client = oracle((big_b - k * v_i) % modulus, a_i + u * x_i, modulus)
        got_client = backend.srp_client_premaster(g, k, x, a, u, big_b, modulus)
        assert got_client == to_bytes(s_client, n_len)

        s_server = oracle(big_a * oracle(v_i, u, modulus) % modulus, b_i, modulus)
        assert backend.srp_server_premaster(big_a, v, u, b, modulus) == to_bytes(s_server, n_len)
