"""Opaque pagination tokens: a keyset cursor (the last row's sort key), base64url of JSON.

Tokens carry no secret and grant nothing: every listing still filters by pool and user, so a forged
token can only move the cursor within what the caller may see. Parsing is strict and size-capped.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from ..errors import InvalidParameterError

MAX_TOKEN = 1024
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


def encode(kind: str, cursor: list[str | float]) -> str:
    doc = json.dumps([kind, *cursor], separators=(",", ":"), allow_nan=False)
    return base64.urlsafe_b64encode(doc.encode()).decode().rstrip("=")


def decode(field: str, kind: str, token: object, shape: tuple[type, ...]) -> list[str | float]:
    """The cursor inside ``token``, checked against the listing ``kind`` and the value types."""
    if not isinstance(token, str):
        raise InvalidParameterError(field, "must be a string")
    if not 0 < len(token) <= MAX_TOKEN or not _ALPHABET.fullmatch(token):
        raise InvalidParameterError(field, "malformed pagination token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value = json.loads(raw.decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidParameterError(field, "malformed pagination token") from None
    if (
        not isinstance(value, list)
        or len(value) != len(shape) + 1
        or value[0] != kind
        or not all(_fits(v, t) for v, t in zip(value[1:], shape, strict=True))
    ):
        raise InvalidParameterError(field, "malformed pagination token")
    cursor: list[str | float] = [
        float(v) if t is float else v for v, t in zip(value[1:], shape, strict=True)
    ]
    return cursor


def _fits(value: object, kind: type) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind) and len(str(value)) <= 512
