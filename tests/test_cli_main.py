"""The command line as a whole: every command has help, ``doctor``, ``vectors check`` against the
real vectors/ (and a tampered copy), ``bench report`` from result files, and the exit codes."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devicesrp.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent
TOP = ["serve", "demo", "doctor", "bench", "vectors", "admin", "client", "keys"]


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += leaves(sub, (*path, name))
    return found


def test_top_level_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devicesrp", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for name in TOP:
        assert f"    {name}" in done.stdout, name


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    paths = leaves(build_parser())
    assert ("admin", "device", "forget") in paths and ("keys", "rotate") in paths
    assert ("client", "devices", "list") in paths and ("vectors", "check") in paths
    for path in paths:
        with pytest.raises(SystemExit) as done:
            main([*path, "--help"])
        assert done.value.code == 0, path
        assert "usage: devicesrp" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["nope"], ["admin"], ["keys", "retire"], ["vectors"], []):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2, argv


def test_doctor_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"backend", "cpu_path", "constant_time"} <= set(info["modexp"])
    from importlib.metadata import version

    assert info["packages"]["boto3"] == version("boto3")  # installed in the test environment
    assert set(info["packages"]) >= {"uvicorn", "psycopg", "matplotlib"}
    assert main(["doctor"]) == 0
    text = capsys.readouterr().out
    assert f"boto3          : {version('boto3')} (devicesrp client, demo)" in text


def test_vectors_check_recomputes_every_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vectors", "check", "--dir", str(REPO / "vectors")]) == 0
    lines = capsys.readouterr().out.splitlines()
    files = sorted(p.name for p in (REPO / "vectors").glob("*.json"))
    assert [line.split()[1] for line in lines[:-1]] == files
    assert all(line.startswith("PASS ") for line in lines[:-1])
    assert all(int(line.split()[2]) > 0 for line in lines[:-1])
    assert lines[-1] == f"{len(files)} of {len(files)} files pass, 0 fail"


def test_vectors_check_catches_a_changed_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("rfc5054_appendix_b.json", "cognito_kat_alexrudd_cognito-srp.json"):
        shutil.copy(REPO / "vectors" / name, tmp_path / name)
    data = json.loads((tmp_path / "rfc5054_appendix_b.json").read_text())
    last = data["S"][-1]
    data["S"] = data["S"][:-1] + ("0" if last != "0" else "1")
    (tmp_path / "rfc5054_appendix_b.json").write_text(json.dumps(data))
    (tmp_path / "someone_elses.json").write_text("{}")
    (tmp_path / "rfc6238_totp.json").write_text("[1, 2")
    assert main(["vectors", "check", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "PASS  cognito_kat_alexrudd_cognito-srp.json" in out
    assert "FAIL  rfc5054_appendix_b.json" in out and "appendix B S:" in out
    assert "FAIL  rfc6238_totp.json" in out and "unreadable" in out
    assert "SKIP  someone_elses.json" in out
    assert main(["vectors", "check", "--dir", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def _results(directory: Path) -> None:
    rows = {
        "openssl consttime": {"median_us": 4000.0, "ratio_to_baseline": 1.0},
        "devicesrp engines [native/ifma]": {"median_us": 2000.0, "ratio_to_baseline": 0.5},
        "srptools 2.0 (1024-bit secrets)": {"median_us": 80000.0, "ratio_to_baseline": 20.0},
    }
    full = {"rounds": 40, "baseline": "openssl consttime", "openssl": "OpenSSL 9.9", "rows": rows}
    (directory / "handshake_full.json").write_text(json.dumps(full))
    modexp = {
        "by_exp_bits": {
            "256": {
                "openssl consttime": {"median_us": 600.0, "ratio_to_baseline": 1.0},
                "devicesrp[native/ifma] powmod_secret": {
                    "median_us": 300.0,
                    "ratio_to_baseline": 0.5,
                },
            }
        }
    }
    (directory / "modexp_256.json").write_text(json.dumps(modexp))
    entry = {
        "devicesrp": {"per_second": 40.0, "p50_ms": 20.0, "p99_ms": 50.0, "server_cpu_ms": 9.0},
        "floor": {"per_second": 80.0},
        "non_engine_over_floor": 1.4,
    }
    (directory / "service.json").write_text(json.dumps({"rounds": 2, "sqlite/w=1/c=1": entry}))


def test_bench_report_writes_markdown_and_charts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _results(tmp_path)
    out = tmp_path / "report"
    assert main(["bench", "report", "--results", str(tmp_path), "--out", str(out)]) == 0
    report = (out / "REPORT.md").read_text()
    assert "| devicesrp engines [native/ifma] | 2,000 | 0.50 |" in report
    assert "| srptools 2.0 (1024-bit secrets) | 80,000 | 20.00 |" in report
    assert "| devicesrp[native/ifma] powmod_secret | 300 | 0.50 |" in report
    assert "| sqlite/w=1/c=1 | 40.0 | 20 | 50 | 9.0 | 80.0 | 1.4 |" in report
    assert "OpenSSL 9.9" in report and "cores" in report
    for chart in ("handshake.png", "modexp_256.png", "service.png"):
        assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"![{chart}]({chart})" in report
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["bench", "report", "--results", str(empty)]) == 2
    assert "no benchmark results" in capsys.readouterr().err
    (empty / "service.json").write_text("not json")
    assert main(["bench", "report", "--results", str(empty)]) == 2


def test_bench_report_updates_the_readme_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from devicesrp.bench.report import README_END, README_START

    _results(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Benchmarks\n\n{README_START}\nold table\n{README_END}\n\nafter\n")
    out = tmp_path / "docs" / "benchmarks"
    argv = [
        "bench",
        "report",
        "--results",
        str(tmp_path),
        "--out",
        str(out),
        "--readme",
        str(readme),
    ]
    assert main(argv) == 0
    text = readme.read_text()
    assert "old table" not in text and text.startswith("# x\n") and text.endswith("after\n")
    assert "| devicesrp engines [native/ifma] | 2,000 | 0.50 |" in text
    assert "[docs/benchmarks/REPORT.md](docs/benchmarks/REPORT.md)" in text
    assert "cores" in text and "same-run" in text
    assert main(argv) == 0 and readme.read_text() == text  # idempotent
    readme.write_text("# no markers\n")
    assert main(argv) == 2
    assert "bench-table markers" in capsys.readouterr().err


def test_bench_runs_each_suite_then_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner itself (the real suites take minutes): stand-in suite files in a checkout-like
    directory, each writing a result file as benchmarks/conftest.py's ``save`` does."""
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "conftest.py").write_text("")
    results = tmp_path / "bench-results"
    _results(tmp_path)
    for suite, result in (("modexp", "modexp_256"), ("handshake", "handshake_full")):
        source = (tmp_path / f"{result}.json").read_text()
        (bench / f"test_bench_{suite}.py").write_text(
            "from pathlib import Path\n\n\ndef save():\n"
            f"    out = Path({str(results)!r})\n    out.mkdir(exist_ok=True)\n"
            f"    (out / '{result}.json').write_text({source!r})\n\n\n"
            "def test_it(benchmark):\n    benchmark.pedantic(save, rounds=1, iterations=1)\n"
        )
    (bench / "test_bench_service.py").write_text("def test_it(benchmark):\n    assert False\n")
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--only", "modexp", "--only", "handshake"]) == 0
    report = (results / "REPORT.md").read_text()
    assert "| devicesrp engines [native/ifma] | 2,000 | 0.50 |" in report
    assert "Service" not in report
    assert main(["bench", "--only", "service"]) == 1
    assert "the service benchmarks failed" in capsys.readouterr().err
