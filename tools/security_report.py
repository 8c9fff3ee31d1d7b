"""Regenerate SECURITY.md's figures table from the last test run (artifacts/security-matrix.json).

    python tools/security_report.py [--input artifacts/security-matrix.json]

Only the block between the BEGIN/END markers in SECURITY.md is rewritten.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from matrix import OUTPUT, ROWS  # noqa: E402

BEGIN = "<!-- BEGIN security-matrix table (tools/security_report.py) -->"
END = "<!-- END security-matrix table -->"


ENGINE = ("test_srp_", "test_protocol_", "test_modexp_", "test_native_", "test_vectors_")
ENGINE += ("test_layering", "test_security_timing", "test_security_hygiene")
DOMAIN = ("test_server_", "test_store_")
HTTP_APP = (
    "test_http_fuzz",
    "test_http_transport",
    "test_security_fuzz.py::test_generated_requests_in",
)
SERVE = ("test_http_", "test_client_service", "test_security_service", "test_security_fuzz")
SERVE += ("test_security_crash", "test_security_soak", "test_security_serve_")


def _backend(nodeid: str) -> str:
    lowered = nodeid.lower()
    if "postgres" in lowered:
        return "PG"
    return "SQLite"


def where(passed: list[str]) -> str:
    """Where a row's passing tests ran: the engines, the domain over a store, the in-process HTTP
    app, a running ``devicesrp serve`` (with the database of each)."""
    engine = whole = False
    domain: set[str] = set()
    app = False
    serve: set[str] = set()
    for nodeid in passed:
        name = nodeid.split("/")[-1]
        if name.startswith("<session>"):
            whole = True
        elif name.startswith(ENGINE):
            engine = True
        elif name.startswith(DOMAIN):
            domain.add(_backend(nodeid))
        elif name.startswith(HTTP_APP):
            app = True
        elif name.startswith(SERVE):
            serve.add(_backend(nodeid))
    parts = (["whole run"] if whole else []) + (["engine"] if engine else [])
    if domain:
        parts.append(f"domain ({', '.join(sorted(domain, reverse=True))})")
    if app:
        parts.append("HTTP app")
    if serve:
        parts.append(f"serve ({', '.join(sorted(serve, reverse=True))})")
    return "; ".join(parts) or "-"


def render(data: dict[str, object]) -> str:
    rows = data["rows"]
    assert isinstance(rows, dict)
    kind = "soak (`make soak`)" if data.get("soak") else "CI counts (`make test`)"
    lines = [
        BEGIN,
        f"Last run: {data['date']}, {kind}.",
        "",
        "| # | row | cases | tests passed / failed / skipped | where | outcome | date |",
        "|---:|---|---:|---|---|---|---|",
    ]
    notes: list[str] = []
    for number, title in ROWS.items():
        entry = rows.get(str(number))
        if entry is None:
            lines.append(f"| {number} | {title} | 0 | - | - | NOT COVERED | {data['date']} |")
            continue
        outcome = "holds" if entry["failed"] == 0 and entry["passed"] > 0 else "FAILS"
        if entry["failed"] == 0 and entry["passed"] == 0:
            outcome = "skipped"
        counts = f"{entry['passed']} / {entry['failed']} / {entry['skipped']}"
        place = where(entry.get("passed_tests", []))
        lines.append(
            f"| {number} | {title} | {entry['cases']:,} | {counts} | {place} | {outcome} "
            f"| {data['date']} |"
        )
        notes += [f"- Row {number}: {note}" for note in entry.get("notes", [])]
    lines += ["", *notes] if notes else []
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", default=str(OUTPUT))
    parser.add_argument("--security-md", default=str(ROOT / "SECURITY.md"))
    args = parser.parse_args()
    data = json.loads(Path(args.input).read_text(encoding="utf-8"))
    target = Path(args.security_md)
    text = target.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"{target}: markers not found", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    target.write_text(head + render(data) + tail, encoding="utf-8")
    print(f"{target}: table rewritten from {args.input}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
