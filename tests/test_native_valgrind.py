"""ctgrind-style check of the portable native core under valgrind memcheck (security-matrix row 21).

tests/ct/ctgrind.c marks the secret inputs undefined; memcheck then reports every conditional
branch, conditional move or memory address computed from them. Every secret operation must run
clean (and produce the right answer, checked against ``pow``), with the portable kernel in C and
on MULX/ADX; the public-exponent ladder fed a secret exponent is the positive control and must be
reported.
"""

from __future__ import annotations

import importlib
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from vectors import group_modulus

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "src" / "devicesrp" / "modexp" / "native"
HARNESS = ROOT / "tests" / "ct" / "ctgrind.c"
# The flags the extension is built with (Python's -fwrapv -DNDEBUG, then setup.py's -O2 -std=c11)
# so the checked code is the shipped code.
CFLAGS = ["-O2", "-std=c11", "-fwrapv", "-DNDEBUG", "-g"]
N = group_modulus(3072)
NBYTES = 384
LEAK = "depends on uninitialised value"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required under CI (.ci/services.sh installs valgrind)")
        pytest.skip(f"{name} not installed (apt-get install -y {name}); CI installs it")
    return found


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = _tool("gcc")
    _tool("valgrind")
    if not (Path("/usr/include/valgrind/memcheck.h")).exists():
        pytest.skip("valgrind headers (memcheck.h) not installed")
    exe = tmp_path_factory.mktemp("ct") / "ctgrind"
    sources = [str(p) for p in sorted(NATIVE.glob("*.c")) if p.name != "module.c"]
    subprocess.run(
        [gcc, *CFLAGS, f"-I{NATIVE}", str(HARNESS), *sources, "-o", str(exe)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return exe


def has_adx() -> bool:
    try:
        core = importlib.import_module("devicesrp.modexp._core")
    except ImportError:
        return False
    return bool(core.cpu_has_adx())


def run(
    harness: Path, mode: str, s1: bytes, s2: bytes, kernel: str = "generic"
) -> subprocess.CompletedProcess[str]:
    cmd = ["valgrind", "-q", "--error-exitcode=99", str(harness), mode]
    cmd += [format(N, "x"), s1.hex(), s2.hex(), kernel]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def expected(mode: str, s1: bytes, s2: bytes) -> int:
    i1, i2 = int.from_bytes(s1, "big"), int.from_bytes(s2, "big")
    u, pub, g, k = 0x1234, 0x5678, 2, 3
    if mode == "secret":
        return pow(i1, i2, N)
    if mode == "fixed":
        return pow(g, i2, N)
    if mode == "server_public":
        return (k * i1 + pow(g, i2, N)) % N
    if mode == "client_premaster":
        return pow((pub - k * pow(g, i1, N)) % N, i2 + u * i1, N)
    if mode == "server_premaster":
        return pow(pub * pow(i1, u, N) % N, i2, N)
    raise AssertionError(mode)


@pytest.mark.parametrize("kernel", ["generic", "adx"])
@pytest.mark.parametrize(
    "mode", ["secret", "fixed", "server_public", "client_premaster", "server_premaster"]
)
def test_secret_operations_have_no_secret_dependent_branch_or_address(
    harness: Path, mode: str, kernel: str
) -> None:
    rng = random.Random(mode)
    wide = mode in {"secret", "server_public", "server_premaster"}  # s1 is a base or v: len(N)
    s1 = rng.randbytes(NBYTES if wide else 32)
    s2 = rng.randbytes(32)
    if kernel == "adx" and not has_adx():
        pytest.skip("no BMI2/ADX on this CPU: the portable path runs the C kernel only")
    done = run(harness, mode, s1, s2, kernel)
    assert LEAK not in done.stderr, done.stderr[:2000]
    assert done.returncode == 0, done.stderr[:2000]
    assert int(done.stdout.strip(), 16) == expected(mode, s1, s2)


def test_positive_control_is_reported(harness: Path) -> None:
    """The sliding-window ladder branches on exponent bits: memcheck must say so."""
    done = run(harness, "leaky", b"", bytes(range(1, 33)))
    assert done.returncode == 99
    assert LEAK in done.stderr
    assert "exp_public" in done.stderr
