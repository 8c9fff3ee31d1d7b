"""Benchmarks: run with `make bench`; results also land in bench-results/ as JSON."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from devicesrp import modexp

RESULTS = Path(__file__).resolve().parent.parent / "bench-results"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

# Benchmark inputs are not secrets: allow measuring variable-time backends too.
os.environ.setdefault(modexp.ALLOW_ENV, "1")


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
