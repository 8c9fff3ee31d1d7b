"""Requests through an ASGI app's interface, no socket: what the in-process HTTP tests send."""

from __future__ import annotations

import asyncio
import json
from typing import Any


def asgi_exchange(
    app: Any, headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, response headers, body) of one POST / from 127.0.0.1 whose request body arrives as
    ``messages`` (then the client disconnects)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 9229),
        "headers": headers,
    }
    pending = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], list(start["headers"]), body


def asgi_post(app: Any, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, Any]:
    """(status, parsed JSON body or {}) of one request with ``body`` in a single message."""
    message = {"type": "http.request", "body": body, "more_body": False}
    status, _, payload = asgi_exchange(app, headers, [message])
    return status, json.loads(payload) if payload else {}
