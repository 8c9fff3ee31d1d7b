"""The core install needs only ``cryptography``: the lower layers import with every extra hidden."""

from __future__ import annotations

import subprocess
import sys

EXTRAS = [
    "gmpy2", "boto3", "botocore", "psycopg", "psycopg_pool", "starlette", "uvicorn", "jwt",
    "pyotp", "httpx", "srptools", "pycognito", "matplotlib", "pytest", "hypothesis",
]  # fmt: skip
CORE_MODULES = ["devicesrp", "devicesrp.errors", "devicesrp.modexp"]
OPTIONAL_CORE = ["devicesrp.srp", "devicesrp.protocol", "devicesrp.live"]

BLOCKER = """
import importlib.abc, importlib.util, sys
HIDDEN = set({hidden!r})
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in HIDDEN:
            raise ImportError(f'{{name}} is not part of the core install')
        return None
sys.meta_path.insert(0, Hide())
import os
os.environ['DEVICESRP_ALLOW_VARIABLE_TIME'] = '1'
for mod in {modules!r}:
    if mod in {optional!r} and importlib.util.find_spec(mod) is None:
        continue
    __import__(mod)
from devicesrp import modexp
info = modexp.backend_info()
assert modexp.powmod_secret(3, 5, 7, 8) == 5
print(info['backend'])
"""


def test_core_imports_with_no_extras() -> None:
    code = BLOCKER.format(
        hidden=EXTRAS, modules=CORE_MODULES + OPTIONAL_CORE, optional=OPTIONAL_CORE
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"native", "python"}  # gmpy2 hidden: never picked
