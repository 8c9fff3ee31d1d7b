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


def render(data: dict[str, object]) -> str:
    rows = data["rows"]
    assert isinstance(rows, dict)
    kind = "soak (`make soak`)" if data.get("soak") else "CI counts (`make test`)"
    lines = [
        BEGIN,
        f"Last run: {data['date']}, {kind}.",
        "",
        "| # | row | cases | tests passed / failed / skipped | outcome | date |",
        "|---:|---|---:|---|---|---|",
    ]
    for number, title in ROWS.items():
        entry = rows.get(str(number))
        if entry is None:
            lines.append(f"| {number} | {title} | 0 | - | NOT COVERED | {data['date']} |")
            continue
        outcome = "holds" if entry["failed"] == 0 and entry["passed"] > 0 else "FAILS"
        if entry["failed"] == 0 and entry["passed"] == 0:
            outcome = "skipped"
        counts = f"{entry['passed']} / {entry['failed']} / {entry['skipped']}"
        lines.append(
            f"| {number} | {title} | {entry['cases']:,} | {counts} | {outcome} | {data['date']} |"
        )
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
