"""The IFMA kernel, checked on the compiled object (issue 4): valgrind cannot run AVX-512, so the
shipped machine code of every amm_<vectors> instance is disassembled and must contain IFMA
multiply-adds, no division, and no conditional branch except loop back edges (whose trip counts
are the public digit and vector counts).
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess

import pytest

FUNC = re.compile(r"^[0-9a-f]+ <(amm_\d+)[^>]*>:$")
INSN = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")


def kernel_listing() -> dict[str, list[tuple[int, str, str]]]:
    try:
        core = importlib.import_module("devicesrp.modexp._core")
    except ImportError:
        pytest.skip("the native core is not built in this environment")
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) not installed")
    text = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", str(core.__file__)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    funcs: dict[str, list[tuple[int, str, str]]] = {}
    current: list[tuple[int, str, str]] | None = None
    for line in text.splitlines():
        head = FUNC.match(line)
        if head:
            current = funcs.setdefault(head.group(1), [])
            continue
        if not line.strip():
            current = None
            continue
        insn = INSN.match(line)
        if current is not None and insn:
            current.append((int(insn.group(1), 16), insn.group(2), insn.group(3)))
    return funcs


def test_ifma_kernel_has_no_data_dependent_branch() -> None:
    funcs = kernel_listing()
    # one instance per 8-digit vector count: 2048-, 3072- and 4096-bit moduli use 5, 8 and 10
    for needed in ("amm_5", "amm_8", "amm_10"):
        assert needed in funcs, f"{needed} missing from the compiled core"
    for name, insns in funcs.items():
        mnemonics = [m for _, m, _ in insns]
        assert any(m.startswith("vpmadd52l") for m in mnemonics), name
        assert any(m.startswith("vpmadd52h") for m in mnemonics), name
        assert not any(m in {"div", "idiv", "divq", "idivq"} for m in mnemonics), name
        for addr, mnemonic, operands in insns:
            if not mnemonic.startswith("j") or mnemonic == "jmp":
                continue
            target = int(operands.split()[0], 16)
            assert target < addr, f"{name}: forward conditional branch {mnemonic} at {addr:x}"
        assert not any(m.startswith("cmov") for m in mnemonics), name
