"""``devicesrp bench``: run the modexp, handshake and service benchmarks, then the report.

The benchmarks live in the repository's ``benchmarks/`` directory (pytest files, run here in a
child process) and write JSON to ``bench-results/``; ``devicesrp bench report`` turns those into
``bench-results/REPORT.md`` and PNG charts (``devicesrp.bench.report``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidParameterError

if TYPE_CHECKING:
    Sub = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["SUITES", "add_bench_commands", "run_all"]

SUITES = {
    "modexp": "test_bench_modexp.py",
    "handshake": "test_bench_handshake.py",
    "service": "test_bench_service.py",
}


def benchmarks_dir() -> Path:
    """./benchmarks when present, else the source tree's (an editable install)."""
    for candidate in (Path("benchmarks"), Path(__file__).resolve().parents[3] / "benchmarks"):
        if (candidate / "conftest.py").is_file():
            return candidate
    raise InvalidParameterError(
        "benchmarks", "no benchmarks/ directory here: run from a checkout of devicesrp"
    )


def run_suites(names: list[str]) -> int:
    """Each suite in its own pytest child process; the first failure stops the run."""
    where = benchmarks_dir()
    for name in names:
        print(f"== bench {name}: {where / SUITES[name]}", flush=True)
        cmd = [sys.executable, "-m", "pytest", str(where / SUITES[name]), "-q", "-s"]
        cmd += ["--benchmark-only", "-p", "no:cacheprovider"]
        code = subprocess.call(cmd)  # noqa: S603 - our own interpreter and files
        if code != 0:
            print(f"devicesrp bench: the {name} benchmarks failed (exit {code})", file=sys.stderr)
            return 1
    return 0


def report(results: Path, out: Path, readme: Path | None = None) -> int:
    from ..bench.report import write_report

    path = write_report(results, out, readme)
    print(f"report written to {path} (charts beside it)")
    if readme is not None:
        print(f"summary written into {readme}")
    return 0


def run_all(args: argparse.Namespace) -> int:
    names = args.only or list(SUITES)
    code = run_suites(names)
    if code != 0:
        return code
    results = benchmarks_dir().resolve().parent / "bench-results"
    return report(results, Path(args.out) if args.out else results)


def _cmd_report(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path(args.results)
    return report(Path(args.results), out, Path(args.readme) if args.readme else None)


def add_bench_commands(bench: argparse.ArgumentParser, sub: Sub) -> None:
    bench.add_argument("--only", choices=list(SUITES), action="append", help="run only these")
    bench.add_argument("--out", default=None, help="report directory (default bench-results)")
    bench.set_defaults(func=run_all)
    rep = sub.add_parser("report", help="REPORT.md and PNG charts from bench-results/*.json")
    rep.add_argument("--results", default="bench-results", help="where the JSON results are")
    rep.add_argument("--out", default=None, help="report directory (default: --results)")
    rep.add_argument("--readme", default=None, help="also update this file's bench-table block")
    rep.set_defaults(func=_cmd_report)
