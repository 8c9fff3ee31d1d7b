"""The benchmark report: bench-results/*.json -> REPORT.md and PNG charts (matplotlib, Agg).

Inputs are the files the benchmarks write (benchmarks/conftest.py ``save``): ``modexp_<bits>.json``
(or ``modexp.json`` from ``devicesrp bench modexp --json``), ``handshake_full.json``,
``handshake_client_half.json``, ``handshake_server_half.json`` and ``service.json``. Every figure
is the benchmark's own same-run ratio (round-robin, ``time.thread_time``, medians); this module
only formats them, and says which file each table came from and when it was written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidParameterError

__all__ = ["Machine", "Results", "load_results", "machine", "write_report"]

MAX_JSON_BYTES = 4 * 1024 * 1024
MODEXP_BITS = ("256", "512", "1024", "3072")


@dataclass(frozen=True)
class Machine:
    """Where the figures were taken."""

    cpu: str
    cores: int
    os: str
    python: str
    openssl: str
    date: str

    def line(self) -> str:
        return (
            f"{self.cpu}, {self.cores} cores; {self.os}; Python {self.python}; {self.openssl}; "
            f"{self.date}"
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"') + f" (Linux {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def machine(now: dt.datetime, openssl: str | None = None) -> Machine:
    """This machine; ``openssl``: the library the benchmarks measured, when they said."""
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        os=_os_name(),
        python=platform.python_version(),
        openssl=openssl or ssl.OPENSSL_VERSION,
        date=now.strftime("%Y-%m-%d %H:%M UTC"),
    )


@dataclass
class Results:
    """The parsed result files, by name, with when each was written."""

    data: dict[str, Any] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.data.get(name)


def _read(path: Path) -> Any:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise InvalidParameterError(str(path), f"larger than {MAX_JSON_BYTES} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidParameterError(str(path), f"not JSON ({exc})") from None


def load_results(directory: Path) -> Results:
    """Every known result file present in ``directory``; an empty directory is an error."""
    if not directory.is_dir():
        raise InvalidParameterError("results", f"{directory} is not a directory")
    found = Results()
    names = [f"modexp_{b}" for b in MODEXP_BITS] + ["modexp"]
    names += ["handshake_full", "handshake_client_half", "handshake_server_half", "service"]
    for name in names:
        path = directory / f"{name}.json"
        if path.is_file():
            found.data[name] = _read(path)
            when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            found.written[name] = when.strftime("%Y-%m-%d %H:%M UTC")
    if not found.data:
        raise InvalidParameterError("results", f"no benchmark results in {directory}")
    return found


def modexp_rows(results: Results) -> dict[str, dict[str, Any]]:
    """{exponent bits: {candidate: row}} from whichever modexp files exist."""
    rows: dict[str, dict[str, Any]] = {}
    for name in ("modexp", *(f"modexp_{b}" for b in MODEXP_BITS)):
        data = results.get(name)
        if isinstance(data, dict):
            rows.update(data.get("by_exp_bits", {}))
    return rows


def _ratio_table(rows: dict[str, Any], baseline: str) -> list[str]:
    lines = [f"| candidate | median µs | × {baseline} |", "|---|---:|---:|"]
    for name, row in sorted(rows.items(), key=lambda kv: kv[1]["median_us"]):
        ratio = row.get("ratio_to_baseline")
        shown = "-" if ratio is None else f"{ratio:.2f}"
        lines.append(f"| {name} | {row['median_us']:,.0f} | {shown} |")
    return lines


def main_table(results: Results) -> list[str]:
    """The README table: the full device handshake against its peers (same run)."""
    full = results.get("handshake_full")
    if not isinstance(full, dict):
        return ["(no handshake results)"]
    return _ratio_table(full["rows"], full.get("baseline", "baseline"))


def _service_lines(service: dict[str, Any]) -> list[str]:
    lines = [
        "| configuration | devicesrp sign-ins/s | p50 ms | p99 ms | server CPU ms/sign-in "
        "| floor sign-ins/s | non-engine CPU ÷ floor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in service.items():
        if not isinstance(entry, dict) or "devicesrp" not in entry:
            continue
        d, f = entry["devicesrp"], entry.get("floor", {})
        ratio = entry.get("non_engine_over_floor")
        lines.append(
            f"| {name} | {d['per_second']:.1f} | {d['p50_ms']:.0f} | {d['p99_ms']:.0f} "
            f"| {d['server_cpu_ms']:.1f} | {f.get('per_second', 0):.1f} "
            f"| {'-' if ratio is None else f'{ratio:.1f}'} |"
        )
    return lines


def markdown(results: Results, where: Machine, charts: list[str]) -> str:
    out = [
        "# devicesrp benchmark report",
        "",
        f"Machine: {where.line()}.",
        "",
        "Every figure is a same-run comparison: candidates measured round-robin in one loop, CPU "
        "time per call (`time.thread_time`), medians; a ratio below 1 means faster than the "
        "baseline. Absolute times on a shared machine mean little; the ratios carry over.",
        "",
    ]
    full = results.get("handshake_full")
    if isinstance(full, dict):
        out += [
            f"## Full device handshake (client + server, 3072-bit group; "
            f"{full.get('rounds')} rounds; {results.written['handshake_full']})",
            "",
            *main_table(results),
            "",
        ]
    for part, title in (
        ("handshake_client_half", "Client half"),
        ("handshake_server_half", "Server half"),
    ):
        data = results.get(part)
        if isinstance(data, dict):
            base = next(iter(data["rows"]))
            out += [f"## {title} ({results.written[part]})", ""]
            out += [*_ratio_table(data["rows"], base), ""]
            if "device_proofs_per_core_second" in data:
                per_s = data["device_proofs_per_core_second"]
                out += [f"Device proofs verified per core-second: {per_s:,.0f}.", ""]
    rows = modexp_rows(results)
    for bits in MODEXP_BITS:
        if bits in rows:
            out += [f"## modexp, 3072-bit modulus, {bits}-bit exponent", ""]
            out += [*_ratio_table(rows[bits], "openssl consttime"), ""]
    service = results.get("service")
    if isinstance(service, dict):
        out += [
            "## Service: complete remembered-device sign-ins over HTTP "
            f"({results.written['service']})",
            "",
            "The floor is a bare ASGI app answering the same four requests with canned bodies "
            "plus the two RS256 signatures, measured in the same run.",
            "",
            *_service_lines(service),
            "",
        ]
    if charts:
        out += ["## Charts", ""] + [f"![{c}]({c})" for c in charts] + [""]
    return "\n".join(out)


def _bar_chart(
    path: Path, title: str, rows: dict[str, Any], xlabel: str, *, ratio: bool = True
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(rows.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(ordered) + 1.2))
    colors = ["#1f77b4" if "devicesrp" in n else "#999999" for n, _ in ordered]
    ax.barh([n for n, _ in ordered], [v for _, v in ordered], color=colors)
    if ratio:
        ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def charts(results: Results, out: Path) -> list[str]:
    """Write the PNGs; returns their file names."""
    made: list[str] = []
    full = results.get("handshake_full")
    if isinstance(full, dict):
        ratios = {n: r["ratio_to_baseline"] for n, r in full["rows"].items()}
        _bar_chart(out / "handshake.png", "Full device handshake", ratios, "× OpenSSL (log)")
        made.append("handshake.png")
    rows = modexp_rows(results).get("256")
    if rows:
        ratios = {n: r["ratio_to_baseline"] for n, r in rows.items() if r.get("ratio_to_baseline")}
        title = "modexp, 3072-bit modulus, 256-bit exponent"
        _bar_chart(out / "modexp_256.png", title, ratios, "× OpenSSL consttime (log)")
        made.append("modexp_256.png")
    service = results.get("service")
    if isinstance(service, dict):
        per_s: dict[str, float] = {}
        for name, entry in service.items():
            if isinstance(entry, dict) and "devicesrp" in entry:
                per_s[f"{name} devicesrp"] = entry["devicesrp"]["per_second"]
                if "floor" in entry:
                    per_s[f"{name} floor"] = entry["floor"]["per_second"]
        if per_s:
            title = "Sign-ins per second (floor: bare ASGI, same run)"
            _bar_chart(out / "service.png", title, per_s, "sign-ins/s (log)", ratio=False)
            made.append("service.png")
    return made


def write_report(results_dir: Path, out_dir: Path, now: dt.datetime) -> Path:
    """REPORT.md and the charts in ``out_dir``; returns the report's path."""
    results = load_results(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    made = charts(results, out_dir)
    path = out_dir / "REPORT.md"
    full = results.get("handshake_full")
    measured = full.get("openssl") if isinstance(full, dict) else None
    where = machine(now, measured if isinstance(measured, str) else None)
    path.write_text(markdown(results, where, made), encoding="utf-8")
    return path
