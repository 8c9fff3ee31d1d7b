"""The project's differential suite (tests/test_modexp_differential.py) on every native CPU path.

In-process, ``devicesrp.modexp`` runs the best path this CPU has; the suite's ``native`` cases are
run again here in a subprocess for each other path, forced by ``DEVICESRP_MODEXP_PATH``, so one
test run checks both the IFMA and the portable kernels against the oracle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devicesrp import modexp
from devicesrp.modexp import _native_backend as nb

SUITE = Path(__file__).resolve().parent / "test_modexp_differential.py"
DEFAULT = modexp.backend_info()["cpu_path"]
OTHER_PATHS = [p for p in nb.cpu_paths() if p != DEFAULT]


@pytest.mark.skipif(not SUITE.exists(), reason="tests/test_modexp_differential.py not present")
@pytest.mark.skipif(not OTHER_PATHS, reason="this CPU has a single native path: run in-process")
@pytest.mark.parametrize("path", OTHER_PATHS)
def test_differential_suite_on_forced_path(path: str) -> None:
    env = dict(os.environ, DEVICESRP_MODEXP_PATH=path)
    probe = subprocess.run(
        [sys.executable, "-c", "from devicesrp import modexp; print(modexp.backend_info())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"'cpu_path': '{path}'" in probe.stdout, probe.stderr
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(SUITE),
            "-q",
            "-k",
            "native",
            "-p",
            "no:cacheprovider",
        ],
        env=env,
        cwd=SUITE.parent.parent,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    tail = done.stdout[-3000:]
    assert done.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail, tail
