"""Case counts: small in the normal run (CI's 30-minute budget), full under DEVICESRP_SOAK=1."""

from __future__ import annotations

import os

SOAK = os.environ.get("DEVICESRP_SOAK") == "1"


def count(ci: int, soak: int) -> int:
    """How many cases to run: ``soak`` under ``make soak``, else ``ci``."""
    return soak if SOAK else ci
