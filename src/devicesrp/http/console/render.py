"""Rendering: the Jinja2 environment (autoescaped, strict), date filters, the fixed notices,
the security headers every console response carries, and the ``next`` check after sign-in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/console"
HERE = Path(__file__).resolve().parent

NOTICES = {
    "forgotten": "The device was forgotten. Its next sign-in starts without it.",
    "remembered": "The device is now remembered.",
    "not-remembered": "The device is now tracked but not remembered.",
    "lockout-reset": "The user's sign-in lockout was reset.",
    "pool-saved": "The pool settings were saved.",
    "signed-out": "You are signed out.",
}
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # "no-referrer" makes Chrome send Origin: null
    (b"cache-control", b"no-store"),
]


def iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def utc(ts: float | None) -> str:
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def safe_next(target: str | None) -> str:
    """Only a path inside the console (never another site: ``//host`` or a scheme)."""
    default = PREFIX + "/"
    if not target or len(target) > 512 or not target.startswith(PREFIX + "/"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or "//" in target:
        return default
    return target


class SecurityHeaders:
    """Adds the console's security headers to every response it sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def template_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = iso
    env.filters["utc"] = utc
    env.globals["prefix"] = PREFIX
    return env
