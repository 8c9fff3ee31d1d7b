"""Suite-wide settings, the security-matrix bookkeeping (tests/matrix.py, tests/matrix_map.py)
and the suite-wide secret-hygiene scan (tests/secret_scan.py, matrix row 26)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import matrix
import matrix_map
import secret_scan
from devicesrp import modexp

# While no constant-time backend is built, the suite opts in to variable-time arithmetic so the
# layers above can be tested; on a constant-time backend nothing is relaxed.
if not modexp.backend_info()["constant_time"]:
    os.environ.setdefault(modexp.ALLOW_ENV, "1")

_recorder = matrix.MatrixRecorder()
_items: dict[str, dict[int, int]] = {}  # nodeid -> {row: cases per passing item}
_captured: list[tuple[str, str]] = []  # (source, text) of every test's captured output
HYGIENE_ROW = 26


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "matrix(*rows): security-matrix rows this test covers")
    secret_scan.install()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        rows = matrix_map.lookup(item.nodeid)
        for row in matrix.rows_of(item):
            rows.setdefault(row, 1)
        if rows:
            _items[item.nodeid] = rows


@pytest.fixture
def matrix_cases(request: pytest.FixtureRequest) -> Callable[[int], None]:
    """Report how many cases this test really tried, for its security-matrix rows."""
    return matrix.cases_fixture(request)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, text in (("stdout", report.capstdout), ("stderr", report.capstderr)):
        if text:
            _captured.append((f"{name}:{report.nodeid}:{report.when}", text))
    rows = _items.get(report.nodeid)
    if not rows:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = report.outcome if report.outcome in {"passed", "failed", "skipped"} else "failed"
        reported = matrix.cases_reported(report)
        if reported is not None:
            rows = dict.fromkeys(rows, reported)
        _recorder.add(rows, outcome, report.nodeid)


def _hygiene(session: pytest.Session) -> secret_scan.Summary:
    """Row 26: search every log line of the run for every registered secret."""
    import itertools

    chunks = itertools.chain(
        secret_scan.COLLECTOR.chunks,
        _captured,
        secret_scan.log_files(session.config._tmp_path_factory.getbasetemp()),  # type: ignore[attr-defined]
    )
    return secret_scan.check(chunks)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return
    if session.testscollected and not session.config.option.collectonly:
        summary = _hygiene(session)
        outcome = "failed" if summary.findings else "passed"
        _recorder.add({HYGIENE_ROW: summary.lines}, outcome, "<session>: secret scan of every log")
        _recorder.note(
            HYGIENE_ROW,
            f"{summary.lines:,} lines from {summary.sources:,} sources searched for "
            f"{summary.secrets:,} registered secrets ({summary.dropped:,} past the cap not kept); "
            f"{len(summary.findings)} matches",
        )
        if summary.findings:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            lines = [f"  {f.label} ({f.encoding}) in {f.source}" for f in summary.findings[:50]]
            message = "secret hygiene (matrix row 26): secrets found in logs:\n" + "\n".join(lines)
            if reporter is not None:
                reporter.write_line(message, red=True)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    _recorder.write(matrix.OUTPUT if _whole_suite(session.config) else matrix.PARTIAL_OUTPUT)


def _whole_suite(config: pytest.Config) -> bool:
    """Only a run of the whole suite (no paths, no -k / -m selection) may replace the figures
    that SECURITY.md is generated from; partial runs (engineers iterating) go to the side file."""
    chosen = [a for a in config.args if not a.startswith("-")]
    default = [str(Path(config.rootpath, p)) for p in config.getini("testpaths")]
    whole = not chosen or sorted(str(Path(config.rootpath, a)) for a in chosen) == sorted(default)
    return (
        whole and not config.option.keyword and config.option.markexpr in ("", "soak or not soak")
    )
