"""``devicesrp demo`` end to end, as a newcomer runs it: a subprocess, its narration, exit code 0,
and nothing left behind (no ``devicesrp serve`` process, a free port, no temporary directory)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from clients.harness import HERMETIC_ENV


def _pids_with(text: str) -> list[int]:
    """Processes whose command line mentions ``text`` (/proc; this machine is Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def test_demo_tells_the_story_and_leaves_nothing_running(tmp_path: Path) -> None:
    env = {**os.environ, **HERMETIC_ENV, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "devicesrp", "demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    # The narration: seven numbered steps, in order, each with its time.
    titles = re.findall(r"^\[(\d)/7\] (.+) \.\.\.$", out, flags=re.M)
    assert [int(n) for n, _ in titles] == list(range(1, 8))
    assert len(re.findall(r"^      done in \d+\.\d\d s$", out, flags=re.M)) == 7
    first = out.split("[4/7]")[1].split("[5/7]")[0]
    second = out.split("[5/7]")[1].split("[6/7]")[0]
    devices = out.split("[6/7]")[1].split("[7/7]")[0]
    third = out.split("[7/7]")[1]

    def challenges(part: str) -> list[str]:
        return re.findall(r"-> challenge ([A-Z_]+) +\d+\.\d ms", part)

    assert challenges(first) == ["PASSWORD_VERIFIER", "SMS_MFA"]
    assert "ConfirmDevice" in first and "UpdateDeviceStatus" in first
    assert "came from the store's outbox" in first
    assert challenges(second) == [
        "PASSWORD_VERIFIER",
        "DEVICE_SRP_AUTH",
        "DEVICE_PASSWORD_VERIFIER",
    ]
    assert "SMS_MFA" not in second and "no SMS sent" in second
    device_key = re.search(r"new device (us-east-1_[0-9a-f-]+) confirmed", first)
    assert device_key is not None and device_key.group(1) in devices
    assert re.search(r"name +demo-laptop", devices) and re.search(r"remembered +True", devices)
    assert re.search(r"last IP +127\.0\.0\.1", devices)
    assert "ForgetDevice" in third and challenges(third) == ["PASSWORD_VERIFIER", "SMS_MFA"]
    # Nothing left: the service's process, its port, its directory.
    url = re.search(r"http://127\.0\.0\.1:(\d+)/ \(pid (\d+)\)", out)
    assert url is not None
    port, pid = int(url.group(1)), int(url.group(2))
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert _pids_with(f"--port {port}") == []
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    workdir = re.search(r"embedded SQLite in (\S+)\)", out)
    assert workdir is not None and not Path(workdir.group(1)).exists()
    assert list(tmp_path.glob("devicesrp-demo-*")) == []


def test_demo_stops_the_service_when_interrupted(tmp_path: Path) -> None:
    """SIGTERM in the middle of the story: exit 130, the child stopped, the directory gone."""
    import signal
    import time

    env = {**os.environ, **HERMETIC_ENV, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devicesrp", "demo"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 120
    while "[2/7]" not in seen and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
    assert "[2/7]" in seen, seen
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + rest
    pid = int(re.search(r"\(pid (\d+)\)", seen).group(1))  # type: ignore[union-attr]
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert list(tmp_path.glob("devicesrp-demo-*")) == []


def test_a_port_taken_between_choosing_and_binding_gets_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The free-port race: the first port is occupied by a real listener when serve binds it."""
    from devicesrp.cli import demoservice

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    taken = busy.getsockname()[1]
    ports = iter([taken])
    real = demoservice._free_port
    monkeypatch.setattr(demoservice, "_free_port", lambda: next(ports, None) or real())
    for name, value in HERMETIC_ENV.items():
        monkeypatch.setenv(name, value)
    try:
        with demoservice.running_service(tmp_path) as svc:
            assert not svc.url.endswith(f":{taken}")
            pid = svc.proc.pid
            with urllib.request.urlopen(f"{svc.url}/health", timeout=10) as resp:
                assert resp.status == 200
        assert svc.proc.returncode is not None and not Path(f"/proc/{pid}/cmdline").exists()
    finally:
        busy.close()
