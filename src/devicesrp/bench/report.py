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

__all__ = [
    "README_END",
    "README_START",
    "Machine",
    "Results",
    "load_results",
    "machine",
    "summary",
    "update_readme",
    "write_report",
]

MAX_JSON_BYTES = 4 * 1024 * 1024
MODEXP_BITS = ("256", "512", "1024", "3072")
README_START = "<!-- bench-table:start (devicesrp bench report --readme README.md) -->"
README_END = "<!-- bench-table:end -->"


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


def machine(taken: str, openssl: str | None = None) -> Machine:
    """This machine, the figures ``taken`` then; ``openssl``: the library measured."""
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        os=_os_name(),
        python=platform.python_version(),
        openssl=openssl or ssl.OPENSSL_VERSION,
        date=taken,
    )


@dataclass
class Results:
    """The parsed result files, by name, with when each was written."""

    data: dict[str, Any] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)
    newest: dt.datetime | None = None
    oldest: dt.datetime | None = None

    def taken(self) -> str:
        """When the result files were written: one time, or the span."""
        if self.newest is None or self.oldest is None:
            return "unknown"
        first = self.oldest.strftime("%Y-%m-%d %H:%M")
        if self.newest - self.oldest < dt.timedelta(minutes=1):
            return f"{first} UTC"
        same_day = self.newest.date() == self.oldest.date()
        last = self.newest.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
        return f"{first} to {last} UTC"

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
            found.newest = when if found.newest is None else max(found.newest, when)
            found.oldest = when if found.oldest is None else min(found.oldest, when)
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
        "| floor sign-ins/s | non-engine CPU ÷ floor | HTTP + JWT + SQL alone ÷ floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in service.items():
        if not isinstance(entry, dict) or "devicesrp" not in entry:
            continue
        d, f = entry["devicesrp"], entry.get("floor", {})
        ratios = [entry.get("non_engine_over_floor"), entry.get("http_jwt_sql_over_floor")]
        cells = " | ".join("-" if r is None else f"{r:.1f}" for r in ratios)
        lines.append(
            f"| {name} | {d['per_second']:.1f} | {d['p50_ms']:.0f} | {d['p99_ms']:.0f} "
            f"| {d['server_cpu_ms']:.1f} | {f.get('per_second', 0):.1f} | {cells} |"
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
            "plus the two RS256 signatures, measured in the same run. The last column is what "
            "devicesrp's non-engine CPU would be if the store's and the operations' own Python "
            "cost nothing (HTTP, JWT and the SQL statements through the driver only).",
            "",
            *_service_lines(service),
            "",
        ]
    if charts:
        out += ["## Charts", ""] + [f"![{c}]({c})" for c in charts] + [""]
    return "\n".join(out)


def summary(results: Results, where: Machine, link: str) -> str:
    """The README's block: the machine, the main table, the headline figures, the link."""
    out = [
        f"Latest run: {where.line()}. It is a shared virtual machine (noisy neighbours):",
        "every figure is a same-run ratio (round-robin, CPU time, medians), lower is faster.",
        "",
        "Full device handshake (client + server math, 3072-bit group), against its peers:",
        "",
        *main_table(results),
        "",
    ]
    server = results.get("handshake_server_half")
    if isinstance(server, dict) and "device_proofs_per_core_second" in server:
        out.append(
            f"Server side: {server['device_proofs_per_core_second']:,.0f} device proofs verified "
            "per core-second."
        )
    service = results.get("service")
    if isinstance(service, dict):
        best = [
            (name, e["devicesrp"]["per_second"])
            for name, e in service.items()
            if isinstance(e, dict) and "devicesrp" in e
        ]
        if best:
            name, per_s = max(best, key=lambda kv: kv[1])
            out.append(f"Service: up to {per_s:.1f} complete sign-ins/s over HTTP ({name}).")
    out += ["", f"Everything else (modexp, client and server halves, service, charts): {link}."]
    return "\n".join(out)


def update_readme(readme: Path, block: str) -> None:
    """Replace the text between the README's bench-table markers (which must exist)."""
    text = readme.read_text(encoding="utf-8")
    if text.count(README_START) != 1 or text.count(README_END) != 1:
        raise InvalidParameterError("readme", f"{readme} needs one pair of bench-table markers")
    head, rest = text.split(README_START)
    _, tail = rest.split(README_END)
    readme.write_text(f"{head}{README_START}\n{block}\n{README_END}{tail}", encoding="utf-8")


def _bar_chart(path: Path, title: str, rows: dict[str, Any], xlabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(rows.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(ordered) + 1.2))
    colors = ["#1f77b4" if "devicesrp" in n else "#999999" for n, _ in ordered]
    ax.barh([n for n, _ in ordered], [v for _, v in ordered], color=colors)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _service_chart(path: Path, pairs: list[tuple[str, float, float]]) -> None:
    """Per configuration, in the benchmark's order: devicesrp beside the floor of the same run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.55 * len(pairs) + 1.4))
    rows = list(range(len(pairs)))[::-1]
    ax.barh([r + 0.2 for r in rows], [p[1] for p in pairs], 0.4, color="#1f77b4", label="devicesrp")
    ax.barh([r - 0.2 for r in rows], [p[2] for p in pairs], 0.4, color="#999999", label="floor")
    ax.set_yticks(rows, [p[0] for p in pairs])
    ax.set_xscale("log")
    ax.set_xlabel("complete sign-ins per second (log)")
    ax.set_title("Service: devicesrp and the bare-ASGI floor, same run")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)
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
        pairs = [
            (name, e["devicesrp"]["per_second"], e.get("floor", {}).get("per_second", 0.0))
            for name, e in service.items()
            if isinstance(e, dict) and "devicesrp" in e
        ]
        if pairs:
            _service_chart(out / "service.png", pairs)
            made.append("service.png")
    return made


def write_report(results_dir: Path, out_dir: Path, readme: Path | None = None) -> Path:
    """REPORT.md and the charts in ``out_dir`` (and the summary into ``readme``, if given);
    returns the report's path. The date shown is when the result files were written."""
    results = load_results(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    made = charts(results, out_dir)
    path = out_dir / "REPORT.md"
    full = results.get("handshake_full")
    measured = full.get("openssl") if isinstance(full, dict) else None
    where = machine(results.taken(), measured if isinstance(measured, str) else None)
    path.write_text(markdown(results, where, made), encoding="utf-8")
    if readme is not None:
        link = os.path.relpath(path, readme.resolve().parent)
        update_readme(readme, summary(results, where, f"[{link}]({link})"))
    return path
