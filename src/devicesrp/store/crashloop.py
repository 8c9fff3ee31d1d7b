"""A SIGKILL-and-restart harness: start a writer, kill it at a random moment, check, repeat.

The writer reports each write it has committed as one line (``ack ...``) on a pipe, *after* the
commit returned; a line counts only once it has arrived whole. After every kill the caller's
``verify`` gets all acknowledged lines so far and checks the durable state (integrity, no
half-written unit, no acknowledged write lost). The harness knows nothing about stores: a writer is
any process that writes lines, so the same loop drives the HTTP server process later.

Writers are started with ``fork_writer`` (a forked child running a function: no interpreter
start-up, so hundreds of cycles take seconds) or ``exec_writer`` (any command, reading its stdout).
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["CrashReport", "Writer", "exec_writer", "fork_writer", "run_crash_cycles"]


@dataclass
class Writer:
    """A running writer: its pid and the read end of its ack pipe."""

    pid: int
    fd: int
    process: subprocess.Popen[bytes] | None = None


@dataclass(frozen=True)
class CrashReport:
    cycles: int
    acks: int  # acknowledged writes over all cycles
    killed_running: int  # kills that hit a writer still running (not already finished)
    mean_cycle_seconds: float


def fork_writer(body: Callable[[Callable[[str], None], int], None], cycle: int) -> Writer:
    """Fork a child that runs ``body(ack, cycle)``; ``ack(line)`` writes one line to the pipe.

    The child leaves with ``os._exit`` (no finalisers run, like a real crash): it must open its own
    connections, never use the parent's.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        code = 0
        try:

            def ack(line: str) -> None:
                os.write(write_fd, (line + "\n").encode())

            body(ack, cycle)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return Writer(pid, read_fd)


def exec_writer(argv: Sequence[str], env: dict[str, str] | None = None) -> Writer:
    """Start ``argv`` with its stdout as the ack pipe."""
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, env=env)  # noqa: S603
    assert proc.stdout is not None
    return Writer(proc.pid, proc.stdout.fileno(), proc)


def _drain(fd: int, buffer: bytearray, deadline: float) -> None:
    """Read everything the dead writer left in the pipe (until EOF or the deadline)."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer += chunk


def _await_line(fd: int, buffer: bytearray, line: bytes, deadline: float) -> None:
    """Read into ``buffer`` until ``line`` has arrived whole (or EOF, or the deadline)."""
    while b"\n" + line + b"\n" not in b"\n" + bytes(buffer):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer += chunk


def run_crash_cycles(
    start: Callable[[int], Writer],
    verify: Callable[[list[str]], None],
    *,
    cycles: int,
    max_delay: float,
    rng: random.Random,
    ready_line: str | None = None,
    early_kill_every: int = 10,
) -> CrashReport:
    """Run ``cycles`` rounds of start, random delay, SIGKILL, verify (which raises on a fault).

    With ``ready_line``, the random delay starts once the writer has printed that line (so that,
    however loaded the machine, kills land while it writes), except every ``early_kill_every``-th
    cycle, whose delay starts at spawn (kills during start-up). The ready line is not an ack.
    """
    acked: list[str] = []
    killed_running = 0
    began = time.monotonic()
    for cycle in range(cycles):
        writer = start(cycle)
        buffer = bytearray()
        try:
            if ready_line is not None and cycle % early_kill_every != 0:
                _await_line(writer.fd, buffer, ready_line.encode(), time.monotonic() + 30.0)
            time.sleep(rng.uniform(0.0, max_delay))
            try:
                os.kill(writer.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status = os.waitpid(writer.pid, 0)
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                killed_running += 1
            if writer.process is not None:
                writer.process.returncode = -signal.SIGKILL
            _drain(writer.fd, buffer, time.monotonic() + 5.0)
        finally:
            if writer.process is not None and writer.process.stdout is not None:
                writer.process.stdout.close()
            else:
                os.close(writer.fd)
        # A line is acknowledged only if it arrived whole.
        complete = bytes(buffer).rsplit(b"\n", 1)[0] if b"\n" in buffer else b""
        lines = [line.decode() for line in complete.split(b"\n") if line]
        acked += [line for line in lines if line != ready_line]
        verify(list(acked))
    elapsed = time.monotonic() - began
    return CrashReport(cycles, len(acked), killed_running, elapsed / max(1, cycles))
