"""docs/quickstart.md's "Your own service", command by command, as a newcomer types them in one
directory: ``serve`` with no options (SQLite and KEK file in .devicesrp/), ``admin pool create``,
``admin user create``, ``client login`` (password, then the SMS code it asks for, read with
``admin outbox``), and a second login that the remembered device completes without a code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from clients.harness import HERMETIC_ENV, free_port, wait_healthy

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Corr3ct-Horse!"


def quickstart_commands() -> list[str]:
    text = (REPO / "docs" / "quickstart.md").read_text()
    block = text.split("## Your own service")[1].split("```")[1]
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def devicesrp(cwd: Path, env: dict[str, str], *argv: str, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "devicesrp", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_quickstart_commands_work(tmp_path: Path) -> None:
    commands = quickstart_commands()
    assert [c.split()[1:3] for c in commands] == [
        ["serve"],
        ["admin", "pool"],
        ["admin", "user"],
        ["client", "login"],
        ["admin", "outbox"],
    ]
    env = {**os.environ, **HERMETIC_ENV, "DEVICESRP_DEVICE_STORE": str(tmp_path / "devices.json")}
    for name in ("DEVICESRP_KEK", "DEVICESRP_KEK_FILE", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "serve.log", "wb") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "devicesrp", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(url, serve)
        assert (tmp_path / ".devicesrp" / "devicesrp.sqlite3").exists()
        assert (tmp_path / ".devicesrp" / "devicesrp.kek").stat().st_mode & 0o777 == 0o600
        made = json.loads(devicesrp(tmp_path, env, *commands[1].split()[1:], "--json"))
        pool, client = made["pool_id"], made["client_id"]
        user = [a.replace("<pool_id>", pool) for a in commands[2].split()[1:]]
        devicesrp(tmp_path, env, *user, "--password-stdin", stdin=PASSWORD + "\n")
        login = [
            a.replace("<pool_id>", pool).replace("<client_id>", client).replace("9229", str(port))
            for a in commands[3].split()[1:]
        ]
        first = subprocess.Popen(
            [sys.executable, "-m", "devicesrp", *login, "--password-stdin", "--remember", "always"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env,
        )
        assert first.stdin is not None
        first.stdin.write(PASSWORD + "\n")
        first.stdin.flush()
        deadline = time.monotonic() + 60
        body = ""
        while not body and time.monotonic() < deadline and first.poll() is None:
            outbox = [a.replace("<pool_id>", pool) for a in commands[4].split()[1:]]
            messages = json.loads(devicesrp(tmp_path, env, *outbox, "--json"))
            body = messages[-1]["body"] if messages else ""
            time.sleep(0.2)
        code = re.search(r"\b(\d{6})\b", body)
        assert code is not None, f"no SMS code in the outbox: {first.communicate(timeout=30)}"
        out, err = first.communicate(code.group(1) + "\n", timeout=60)
        assert first.returncode == 0, err
        assert "signed in as alice with password" in out and "(remembered)" in out
        second = devicesrp(
            tmp_path, env, *login, "--password-stdin", stdin=PASSWORD + "\n"
        )  # no code on stdin: the device replaces MFA
        assert "signed in as alice with this device" in second
        sent = json.loads(devicesrp(tmp_path, env, "admin", "outbox", pool, "--json"))
        assert len(sent) == 1
    finally:
        serve.terminate()
        serve.wait(timeout=30)
