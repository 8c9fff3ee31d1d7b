"""Loading the project's known-answer files from vectors/ (provenance: vectors/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def group_modulus(bits: int) -> int:
    """N of the RFC 5054 group of that size (Cognito uses the 3072-bit one with g = 2)."""
    for group in load("rfc5054_groups.json")["groups"]:
        if group["bits"] == bits:
            return int(group["N"], 16)
    raise KeyError(bits)
