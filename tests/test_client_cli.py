"""``devicesrp client login`` and ``devicesrp client devices list | forget`` as a person runs
them (a subprocess, password on standard input), against MiniCognito on 127.0.0.1."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_client_minicognito import CLIENT_ID, POOL_ID, MiniCognito, serving

PASSWORD = "Cli pa55word!"


@pytest.fixture
def service() -> MiniCognito:
    svc = MiniCognito()
    svc.add_user("bob", PASSWORD)
    return svc


@pytest.fixture
def url(service: MiniCognito) -> Iterator[str]:
    with serving(service) as endpoint:
        yield endpoint


def run(
    url: str, store: Path, *args: str, stdin: str = PASSWORD + "\n"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "DEVICESRP_POOL_ID": POOL_ID,
        "DEVICESRP_CLIENT_ID": CLIENT_ID,
    }
    command = [sys.executable, "-m", "devicesrp", "client", *args]
    return subprocess.run(
        [*command, "--endpoint-url", url, "--store", str(store)],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_login_list_forget(service: MiniCognito, url: str, tmp_path: Path) -> None:
    store = tmp_path / "devices.json"
    tokens_file = tmp_path / "tokens.json"
    first = run(
        url,
        store,
        "login",
        "--username",
        "bob",
        "--password-stdin",
        "--remember",
        "always",
        "--device-name",
        "cli-box",
        "--json",
        "--tokens-file",
        str(tokens_file),
    )
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["new_device"] is True and summary["remembered"] is True
    assert "access_token" not in summary  # tokens only where asked
    assert PASSWORD not in first.stdout + first.stderr
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    assert json.loads(tokens_file.read_text())["refresh_token"]
    device_key = summary["device_key"]
    assert service.devices[device_key].name == "cli-box"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600

    second = run(url, store, "login", "--username", "bob", "--password-stdin")
    assert second.returncode == 0, second.stderr
    assert "with this device" in second.stdout

    listed = run(url, store, "devices", "list", "--json", stdin="")
    assert listed.returncode == 0, listed.stderr
    assert [row["device_key"] for row in json.loads(listed.stdout)["stored"]] == [device_key]

    remote = run(url, store, "devices", "list", "--remote", "--username", "bob", "--password-stdin")
    assert remote.returncode == 0, remote.stderr
    assert f"* {device_key}  cli-box  remembered" in remote.stdout

    forget = run(url, store, "devices", "forget", "--username", "bob", "--password-stdin")
    assert forget.returncode == 0, forget.stderr
    assert device_key not in service.devices
    after = run(url, store, "devices", "list", "--json", stdin="")
    assert json.loads(after.stdout)["stored"] == []


def test_login_prompts_for_totp_from_stdin(service: MiniCognito, url: str, tmp_path: Path) -> None:
    service.users["bob"].totp = True
    ok = run(
        url,
        tmp_path / "d.json",
        "login",
        "--username",
        "bob",
        "--password-stdin",
        "--remember",
        "never",
        stdin=f"{PASSWORD}\n123456\n",
    )
    assert ok.returncode == 0, ok.stderr
    assert "not remembered" in ok.stdout


def test_errors_are_one_clear_line(service: MiniCognito, url: str, tmp_path: Path) -> None:
    wrong = run(
        url, tmp_path / "d.json", "login", "--username", "bob", "--password-stdin", stdin="no\n"
    )
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == (
        "devicesrp client login: ServiceError: respond_to_auth_challenge: "
        "NotAuthorizedException: Incorrect username or password."
    )
    assert "Traceback" not in wrong.stderr
    loose = tmp_path / "loose.json"
    loose.write_text('{"version": 1, "devices": []}')
    loose.chmod(0o644)
    refused = run(url, loose, "devices", "list", stdin="")
    assert refused.returncode == 1
    assert refused.stderr.startswith("devicesrp client devices list: CredentialStoreError: ")
    assert "Traceback" not in refused.stderr
    # Bad usage (no pool id anywhere) is exit 2, like every devicesrp command.
    env_less = subprocess.run(
        [
            sys.executable,
            "-m",
            "devicesrp",
            "client",
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--store",
            str(tmp_path / "d.json"),
        ],
        input="x\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("DEVICESRP_")},
    )
    assert env_less.returncode == 2, env_less.stderr
    assert "DEVICESRP_POOL_ID" in env_less.stderr and "Traceback" not in env_less.stderr
