"""Strict parsing of the console's form posts (``application/x-www-form-urlencoded`` only).

A body is refused before parsing when it is too large or of another type; a field may appear once;
values are UTF-8 and capped. The pool form maps to :class:`~.views.PoolUpdate` with every choice
checked against its list, so nothing unexpected reaches the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from .views import DEVICE_POLICIES, PoolUpdate

__all__ = ["FormError", "parse_form", "pool_update"]

MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 32
MAX_VALUE = 1024
FORM_TYPE = "application/x-www-form-urlencoded"


class FormError(Exception):
    """A refused form: the HTTP status and a message safe to show (it never echoes values)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_form(content_type: str | None, body: bytes) -> dict[str, str]:
    if (content_type or "").split(";")[0].strip().lower() != FORM_TYPE:
        raise FormError(415, f"Forms must be sent as {FORM_TYPE}.")
    if len(body) > MAX_FORM_BYTES:
        raise FormError(413, "The form is too large.")
    try:
        text = body.decode("ascii")  # percent-encoded: non-ASCII bytes mean a malformed body
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "The form could not be read.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise FormError(400, "A form field was sent twice.")
        if len(value) > MAX_VALUE or not value.isprintable():
            raise FormError(400, "A form field is too long or holds control characters.")
        fields[name] = value
    return fields


def _choice(fields: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = fields.get(name, "")
    if value not in allowed:
        raise FormError(400, f"Choose one of: {', '.join(allowed)} for {name}.")
    return value


def _flag(fields: Mapping[str, str], name: str) -> bool:
    value = fields.get(name)
    if value not in (None, "on"):
        raise FormError(400, f"{name} is a checkbox.")
    return value == "on"


def pool_update(fields: Mapping[str, str]) -> PoolUpdate:
    cap_text = fields.get("device_cap", "").strip()
    cap: int | None = None
    if cap_text:
        if not cap_text.isdigit() or len(cap_text) > 4 or not 1 <= int(cap_text) <= 1000:
            raise FormError(400, "The device cap must be a whole number from 1 to 1000, or empty.")
        cap = int(cap_text)
    return PoolUpdate(
        device_policy=_choice(fields, "device_policy", DEVICE_POLICIES),
        replaces_mfa=_flag(fields, "replaces_mfa"),
        mfa_mode=_choice(fields, "mfa_mode", ("OFF", "OPTIONAL", "ON")),
        sms=_flag(fields, "sms"),
        totp=_flag(fields, "totp"),
        cap=cap,
        cap_mode=_choice(fields, "cap_mode", ("refuse", "evict")),
    )
