"""The docs stay true: links resolve, every ``devicesrp ...`` command they show exists, the
compatibility table lists exactly the operations the service answers, Python snippets compile, and
the README keeps its two commands (``make demo`` runs the demo)."""

from __future__ import annotations

import argparse
import ast
import base64
import os
import re
from pathlib import Path

import pytest

from devicesrp.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), REPO / "README.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def command_paths() -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        found.add(path)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*path, name))

    walk(build_parser(), ())
    return found


def code_of(text: str) -> str:
    """What the page shows as code: fenced blocks and inline code spans."""
    fenced = [body for _, body in FENCE.findall(text)]
    inline = re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
    return "\n".join(fenced + inline)


def shown_commands(text: str) -> list[tuple[str, ...]]:
    """Every ``devicesrp a b c`` shown as code, its words up to the first option or placeholder;
    ``a|b`` alternatives (tables) expand to one command each."""
    commands = []
    text = code_of(text)
    for match in re.finditer(r"(?:\.venv/bin/)?devicesrp((?: [a-z][\w|\\-]*)+)", text):
        words = match.group(1).split()
        heads: list[tuple[str, ...]] = [()]
        for word in words:
            options = word.replace("\\|", "|").split("|")
            heads = [(*h, o) for h in heads for o in options]
        commands += heads
    return commands


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name}: {target}"


def check_command(command: tuple[str, ...], where: str) -> None:
    """The longest prefix that is a command exists, and words after it are arguments, not an
    unknown subcommand."""
    paths = command_paths()
    prefix = max((command[:n] for n in range(len(command) + 1) if command[:n] in paths), key=len)
    assert prefix, f"{where}: devicesrp {' '.join(command)}"
    children = [p for p in paths if len(p) == len(prefix) + 1 and p[: len(prefix)] == prefix]
    assert not (command[len(prefix) :] and children), f"{where}: devicesrp {' '.join(command)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_shown_exists(page: Path) -> None:
    for command in shown_commands(page.read_text()):
        check_command(command, page.name)


def test_the_command_check_can_fail() -> None:
    for wrong in ("`devicesrp admin pool delete x`", "`devicesrp keyz rotate`"):
        (command,) = shown_commands(wrong)
        with pytest.raises(AssertionError):
            check_command(command, "example")


def test_command_extraction_sees_the_documented_commands() -> None:
    cli = shown_commands((DOCS / "cli.md").read_text())
    assert ("admin", "user", "set-password") in cli and ("keys", "retire") in cli
    assert ("vectors", "check") in cli and ("client", "devices", "forget") in cli
    documented = {c[:2] for c in cli} | {c[:3] for c in cli}
    leaves = {
        p
        for p in command_paths()
        if p and not any(q[: len(p)] == p and q != p for q in command_paths())
    }
    missing = [p for p in leaves if p not in documented and p[:1] != ("bench",)]
    assert missing == [], f"commands cli.md does not mention: {missing}"


def test_docs_index_lists_every_page() -> None:
    index = (DOCS / "README.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


def test_python_snippets_compile() -> None:
    for page in PAGES:
        for lang, body in FENCE.findall(page.read_text()):
            if lang == "python":
                ast.parse(body, filename=str(page))


def test_compatibility_table_is_the_operation_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devicesrp.http.operations import build_operations
    from devicesrp.server.kek import load_kek
    from devicesrp.server.provider import IdentityProvider
    from devicesrp.server.runtime import live_runtime
    from devicesrp.store import open_store

    monkeypatch.setenv("DEVICESRP_KEK", base64.b64encode(os.urandom(32)).decode())
    store = open_store(f"sqlite:///{tmp_path / 'ops.sqlite3'}")
    try:
        runtime = live_runtime(store, load_kek(), issuer_base="http://127.0.0.1")
        operations = set(build_operations(IdentityProvider(runtime), "us-east-1"))
    finally:
        store.close()
    rows = re.findall(
        r"^\| (\w+) \| (supported|not supported) \|", (DOCS / "compatibility.md").read_text(), re.M
    )
    listed = {name for name, status in rows if status == "supported"}
    assert listed == operations


def test_readme_keeps_its_two_commands_and_make_demo_runs_the_demo() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = [body for lang, body in FENCE.findall(readme.split("## Two commands")[1])]
    commands = [line.split("#")[0].strip() for line in blocks[0].splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    demo = makefile.split("\ndemo:")[1].split("\n\n")[0]
    assert "$(BIN)/devicesrp demo" in demo and "$(BIN)/devicesrp doctor" in demo
    assert "docs/quickstart.md" in readme and "docs/benchmarks/REPORT.md" in readme
