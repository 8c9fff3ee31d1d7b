"""Run tests/js/cognito_helper.js (the unmodified amazon-cognito-identity-js helper) on a batch.

Node and node_modules come from the Makefile's setup (`npm ci`). When they are missing the tests
that need them skip with the reason, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "js" / "cognito_helper.js"
PACKAGE = ROOT / "node_modules" / "amazon-cognito-identity-js" / "package.json"
PINNED_VERSION = "6.3.21"


def require_node() -> str:
    """Path of node, or skip (fail under CI=true) with the reason."""
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed"
    elif not PACKAGE.exists():
        reason = "node_modules missing: run `npm ci` (make setup)"
    else:
        version = json.loads(PACKAGE.read_text())["version"]
        if version != PINNED_VERSION:
            reason = f"amazon-cognito-identity-js {version} installed, {PINNED_VERSION} pinned"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Node interop unavailable under CI: {reason}")
        pytest.skip(reason)
    assert node is not None
    return node


def run_cases(cases: list[dict[str, Any]], timeout: float = 600) -> list[dict[str, Any]]:
    """One Node process for the whole batch; results in the order of ``cases``."""
    node = require_node()
    proc = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(results) == len(cases)
    return results
