"""The architecture's arrows, enforced by an AST scan of src/devicesrp (architecture.md).

- A module imports only its own layer or lower ones; http, client and bench never import each other.
- modexp, srp and protocol never import time, secrets, random or socket, never read the clock and
  never draw randomness (those are arguments; ``devicesrp.live`` fills them).
- Three-argument ``pow`` and ``gmpy2.powmod*`` appear only inside devicesrp.modexp.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "devicesrp"

RANK = {
    "errors": 0,
    "modexp": 1,
    "srp": 2,
    "protocol": 3,
    "live": 4,
    "store": 5,
    "server": 6,
    "http": 7,
    "client": 7,
    "bench": 7,
    "cli": 8,
    "__main__": 9,
}
PURE = {"modexp", "srp", "protocol"}
BANNED_IMPORTS = {"time", "secrets", "random", "socket"}
CLOCK_CALLS = {
    "now",
    "utcnow",
    "today",
    "time",
    "monotonic",
    "perf_counter",
    "urandom",
    "getrandom",
}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def layer_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if rel.parts[0] != "__init__.py" else "errors"


def imported_names(path: Path) -> list[tuple[int, str]]:
    """Absolute dotted names of everything the module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def devicesrp_layer(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "devicesrp":
        return None
    if len(parts) == 1:
        return "errors"
    return parts[1] if parts[1] in RANK else None


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_downward(path: Path) -> None:
    mine = layer_of(path)
    assert mine in RANK, f"{path}: unknown layer {mine!r}; add it to the layer table"
    for line, name in imported_names(path):
        other = devicesrp_layer(name)
        if other is None or other == mine:
            continue
        assert RANK[other] < RANK[mine], f"{path}:{line}: layer {mine} imports {name}"


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if layer_of(p) in PURE],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_pure_layers_have_no_clock_or_randomness(path: Path) -> None:
    for line, name in imported_names(path):
        root = name.split(".")[0]
        assert root not in BANNED_IMPORTS, f"{path}:{line}: imports {name}"
        assert name not in {"os.urandom", "os.getrandom", "datetime.datetime.now"}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, (
                f"{path}:{node.lineno}: calls .{node.func.attr}() (clock or randomness)"
            )


def pow_offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    gmpy2_names = {"gmpy2"} | {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "gmpy2"
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "pow" and len(node.args) >= 3:
                found.append(f"{path}:{node.lineno}: 3-argument pow")
            if (
                isinstance(func, ast.Attribute)
                and func.attr.startswith("powmod")
                and isinstance(func.value, ast.Name)
                and func.value.id in gmpy2_names
            ):
                found.append(f"{path}:{node.lineno}: gmpy2.{func.attr}()")
        if isinstance(node, ast.ImportFrom) and node.module == "gmpy2":
            found.append(f"{path}:{node.lineno}: from gmpy2 import ...")
    return found


def test_modexp_is_the_only_place_for_modular_exponentiation() -> None:
    offences = [o for p in modules() if layer_of(p) != "modexp" for o in pow_offences(p)]
    assert offences == []


def test_the_scan_catches_what_it_bans(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import gmpy2 as g\nfrom gmpy2 import powmod\nx = pow(2, 3, 5)\ny = g.powmod_sec(2, 3, 5)\n"
        "z = modexp.powmod_secret(2, 3, 5, 8)\n"
    )
    assert len(pow_offences(bad)) == 3
    assert pow_offences(PACKAGE / "modexp" / "_pyint.py")  # the real ones are found where allowed
