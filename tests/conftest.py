"""Suite-wide settings and the security-matrix bookkeeping (tests/matrix.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import matrix
from devicesrp import modexp

# While no constant-time backend is built, the suite opts in to variable-time arithmetic so the
# layers above can be tested; on a constant-time backend nothing is relaxed.
if not modexp.backend_info()["constant_time"]:
    os.environ.setdefault(modexp.ALLOW_ENV, "1")

_recorder = matrix.MatrixRecorder()
_items: dict[str, list[int]] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "matrix(*rows): security-matrix rows this test covers")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        rows = matrix.rows_of(item)
        if rows:
            _items[item.nodeid] = rows


@pytest.fixture
def matrix_cases(request: pytest.FixtureRequest) -> Callable[[int], None]:
    """Report how many cases this test really tried, for its security-matrix rows."""
    return matrix.cases_fixture(request)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    rows = _items.get(report.nodeid)
    if not rows:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = report.outcome if report.outcome in {"passed", "failed", "skipped"} else "failed"
        _recorder.add(rows, matrix.cases_reported(report), outcome, report.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        _recorder.write()
