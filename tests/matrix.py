"""Security-matrix bookkeeping: which tests cover which row of docs' security matrix, with counts.

A test declares its rows with ``@pytest.mark.matrix(8, 9)``; each test item counts as one case
unless the test reports the real number through the ``matrix_cases`` fixture
(``matrix_cases(1000)`` after trying 1,000 wrong secrets). At the end of a run the totals go to
``artifacts/security-matrix.json``; ``python tools/security_report.py`` turns them into
SECURITY.md's table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "artifacts" / "security-matrix.json"
PARTIAL_OUTPUT = ROOT / "artifacts" / "security-matrix-partial.json"  # runs of part of the suite
KEY = "matrix_cases"

ROWS: dict[int, str] = {
    1: "A = 0 mod N bypass",
    2: "A out of range / malformed",
    3: "rogue server B",
    4: "u = 0",
    5: "encoding edges (leading zero, top bit) vs an independent client",
    6: "wrong secret",
    7: "stolen verifier",
    8: "replay (and the one deviceless resend)",
    9: "concurrent replay",
    10: "cross binding of a secret block",
    11: "state order",
    12: "TIMESTAMP format",
    13: "TIMESTAMP skew",
    14: "challenge expiry",
    15: "secret-block tamper",
    16: "sealing-key rotation",
    17: "user enumeration",
    18: "unknown vs forgotten device",
    19: "lockout",
    20: "input bounds",
    21: "constant time (dudect, valgrind)",
    22: "fixed sizes",
    23: "proof comparison timing",
    24: "server proof",
    25: "group pinning",
    26: "secret hygiene in logs",
    27: "crash consistency (SIGKILL)",
    28: "fault injection",
    29: "ConfirmDevice races",
    30: "forget mid-login",
    31: "backend parity (SQLite / PostgreSQL)",
    32: "differential bignum",
    33: "admin authentication (SigV4)",
    34: "throttling",
    35: "ConfirmDevice bounds",
}


def rows_of(item: pytest.Item) -> list[int]:
    rows: list[int] = []
    for mark in item.iter_markers("matrix"):
        rows += [int(r) for r in mark.args]
    return sorted(set(rows))


class MatrixRecorder:
    """Collects per-row results while the suite runs."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def note(self, row: int, text: str) -> None:
        """A line of detail for ``row`` (shown in the JSON, e.g. what the hygiene scan saw)."""
        self.rows.setdefault(
            row, {"cases": 0, "passed": 0, "failed": 0, "skipped": 0, "tests": []}
        ).setdefault("notes", []).append(text)

    def add(self, item_rows: dict[int, int], outcome: str, nodeid: str) -> None:
        """Record one test item: ``item_rows`` maps each of its rows to the cases it tried."""
        for row, cases in sorted(item_rows.items()):
            entry = self.rows.setdefault(
                row, {"cases": 0, "passed": 0, "failed": 0, "skipped": 0, "tests": []}
            )
            entry[outcome] += 1
            if outcome == "passed":
                entry["cases"] += cases
                entry.setdefault("passed_tests", []).append(nodeid)
            entry["tests"].append(nodeid)

    def write(self, path: Path = OUTPUT) -> None:
        if not self.rows:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "date": dt.date.today().isoformat(),
            "soak": os.environ.get("DEVICESRP_SOAK") == "1",
            "rows": {str(k): v for k, v in sorted(self.rows.items())},
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def cases_fixture(request: pytest.FixtureRequest) -> Callable[[int], None]:
    def record(cases: int) -> None:
        request.node.user_properties.append((KEY, cases))

    return record


def cases_reported(report: pytest.TestReport) -> int | None:
    """The cases a test reported through ``matrix_cases``, or None if it reported none."""
    counted = [int(v) for k, v in report.user_properties if k == KEY]
    return sum(counted) if counted else None
