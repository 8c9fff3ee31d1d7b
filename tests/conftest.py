"""Suite-wide settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from devicesrp import modexp

# While no constant-time backend is built, the suite opts in to variable-time arithmetic so the
# layers above can be tested; on a constant-time backend nothing is relaxed.
if not modexp.backend_info()["constant_time"]:
    os.environ.setdefault(modexp.ALLOW_ENV, "1")
