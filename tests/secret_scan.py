"""Secret hygiene for the whole suite (security-matrix row 26): every secret the engines draw or
derive is registered, every log line the suite produces is collected, and at the end of the run
the lines are searched for the secrets in hex, base64 (standard and URL-safe) and decimal.

What is registered (test-only wrappers installed by ``install()`` from tests/conftest.py):
the SRP secrets crossing ``devicesrp.modexp`` (x, a, b, v, S), a as it enters
``srp.cognito.client_public``, K from ``srp.cognito.derive_key``, x from ``compute_x`` and each
device password from ``live.new_device_secret``; tests may add their own (user passwords) with
``REGISTRY.add_text``. Server subprocesses (``devicesrp serve``) draw their own b, which the
test process never sees; S, K, v, x and a are the same on both sides and are registered here.

What is scanned: every log record of the test process (a root handler; the ``devicesrp`` loggers
are opened to DEBUG), the captured stdout/stderr of every test, and every ``*.log`` file under
the run's temporary directory (the ``devicesrp serve`` fixtures write their output there).

Search: candidate runs of hex (case-folded), base64 and decimal digits are cut out with one
regular expression each, then every 16-character window of a run is looked up among the first 16
characters of each registered encoding; a hit is confirmed on the full encoding. A secret
embedded at a non-aligned offset inside a longer base64 blob is not found (limit of the method).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WINDOW = 16
MAX_SECRETS = 200_000  # memory bound; registrations past it are counted, not kept
_HEX_RUN = re.compile(r"[0-9a-f]{16,}")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{16,}")
_DEC_RUN = re.compile(r"[0-9]{16,}")


@dataclass(frozen=True)
class Finding:
    source: str
    label: str
    encoding: str


@dataclass
class SecretRegistry:
    """Known secrets, indexed by the first 16 characters of each of their encodings."""

    # fingerprint -> encodings; tuples of str, which the garbage collector does not track (a
    # suite registers ~10^5 secrets: sets here would slow every full collection of the run)
    hex_index: dict[str, tuple[str, ...]] = field(default_factory=dict)
    b64_index: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dec_index: dict[str, tuple[str, ...]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    short_texts: dict[str, str] = field(default_factory=dict)
    registered: int = 0
    dropped: int = 0
    paused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _index(self, index: dict[str, tuple[str, ...]], form: str, label: str) -> None:
        if len(form) < WINDOW:
            return
        forms = index.get(form[:WINDOW], ())
        if form not in forms:
            index[form[:WINDOW]] = (*forms, form)
        self.labels.setdefault(form, label)

    def add_bytes(self, value: bytes, label: str) -> None:
        """A binary secret: indexed as minimal hex, base64, URL-safe base64 and decimal."""
        number = int.from_bytes(value, "big")
        if self.paused or number < 2**64:  # too short to tell from noise; not an SRP secret
            return
        with self.lock:
            if self.registered >= MAX_SECRETS:
                self.dropped += 1
                return
            self.registered += 1
            self._index(self.hex_index, format(number, "x"), label)
            std = base64.b64encode(value).decode()
            self._index(self.b64_index, std.rstrip("="), label)
            self._index(self.b64_index, base64.urlsafe_b64encode(value).decode().rstrip("="), label)
            self._index(self.dec_index, str(number), label)

    def add_int(self, value: int, label: str) -> None:
        if value > 0:
            self.add_bytes(value.to_bytes((value.bit_length() + 7) // 8, "big"), label)

    def add_text(self, value: str, label: str) -> None:
        """A secret string (a password): searched for literally."""
        if self.paused or len(value) < 8:
            return
        with self.lock:
            self.registered += 1
            if len(value) >= WINDOW:
                self._index(self.b64_index, value, label)
                self.short_texts.setdefault(value, label)  # also literally, any alphabet
            else:
                self.short_texts.setdefault(value, label)

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        """Stop registering (timing loops draw thousands of throw-away secrets)."""
        self.paused += 1
        try:
            yield
        finally:
            self.paused -= 1

    def scan(self, text: str, source: str) -> list[Finding]:
        found: list[Finding] = []
        folded = text.lower()
        for kind, regex, haystack, index in (
            ("hex", _HEX_RUN, folded, self.hex_index),
            ("base64", _B64_RUN, text, self.b64_index),
            ("decimal", _DEC_RUN, text, self.dec_index),
        ):
            if not index:
                continue
            for match in regex.finditer(haystack):
                run = match.group()
                for i in range(len(run) - WINDOW + 1):
                    forms = index.get(run[i : i + WINDOW])
                    if not forms:
                        continue
                    for form in forms:
                        if run.startswith(form, i):
                            found.append(Finding(source, self.labels[form], kind))
        for secret, label in self.short_texts.items():
            if secret in text:
                found.append(Finding(source, label, "text"))
        return found


@dataclass
class LogCollector(logging.Handler):
    """Keeps every formatted log record (message, arguments, exception text)."""

    chunks: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, logging.NOTSET)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is still scanned by its parts
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.chunks.append((f"log:{record.name}", text))

    def __hash__(self) -> int:
        return id(self)


REGISTRY = SecretRegistry()
COLLECTOR = LogCollector()


def _wrap(
    owner: Any, name: str, register: Callable[[tuple[Any, ...], dict[str, Any], Any], None]
) -> None:
    original = getattr(owner, name)
    if getattr(original, "__secret_scan__", False):
        return

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        with contextlib.suppress(Exception):  # registration never changes what the code does
            register(args, kwargs, result)
        return result

    wrapper.__secret_scan__ = True  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return kwargs[name] if name in kwargs else args[index]


def install() -> None:
    """Wrap the secret-producing entry points and attach the log collector (idempotent)."""
    from devicesrp import live, modexp
    from devicesrp.srp import cognito

    add = REGISTRY.add_bytes

    def verifier(a: tuple[Any, ...], k: dict[str, Any], out: Any) -> None:
        add(_arg(a, k, 1, "x"), "x")
        add(out, "v")

    def server_public(a: tuple[Any, ...], k: dict[str, Any], out: Any) -> None:
        add(_arg(a, k, 2, "v"), "v")
        add(_arg(a, k, 3, "b"), "b")

    def client_premaster(a: tuple[Any, ...], k: dict[str, Any], out: Any) -> None:
        add(_arg(a, k, 2, "x"), "x")
        add(_arg(a, k, 3, "a"), "a")
        add(out, "S")

    def server_premaster(a: tuple[Any, ...], k: dict[str, Any], out: Any) -> None:
        add(_arg(a, k, 1, "v"), "v")
        add(_arg(a, k, 3, "b"), "b")
        add(out, "S")

    _wrap(modexp, "srp_verifier", verifier)
    _wrap(modexp, "srp_server_public", server_public)
    _wrap(modexp, "srp_client_premaster", client_premaster)
    _wrap(modexp, "srp_server_premaster", server_premaster)
    _wrap(cognito, "client_public", lambda a, k, out: add(_arg(a, k, 0, "a"), "a"))
    _wrap(cognito, "compute_x", lambda a, k, out: add(out, "x"))
    _wrap(cognito, "derive_key", lambda a, k, out: add(out, "K"))
    _wrap(
        live,
        "new_device_secret",
        lambda a, k, out: REGISTRY.add_text(out[0], "device password"),
    )
    root = logging.getLogger()
    if COLLECTOR not in root.handlers:
        root.addHandler(COLLECTOR)
    logging.getLogger("devicesrp").setLevel(logging.DEBUG)


def log_files(directory: Path) -> Iterable[tuple[str, str]]:
    """(name, text) of every ``*.log`` file under ``directory``."""
    if not directory.is_dir():
        return
    for path in sorted(directory.rglob("*.log")):
        with contextlib.suppress(OSError):
            yield f"file:{path}", path.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class Summary:
    sources: int
    lines: int
    secrets: int
    dropped: int
    findings: tuple[Finding, ...]


def check(chunks: Iterable[tuple[str, str]], registry: SecretRegistry = REGISTRY) -> Summary:
    """Scan every chunk; the line count is what the report calls the cases."""
    findings: list[Finding] = []
    sources = lines = 0
    for source, text in chunks:
        sources += 1
        lines += text.count("\n") + 1
        findings += registry.scan(text, source)
    return Summary(sources, lines, registry.registered, registry.dropped, tuple(findings))
