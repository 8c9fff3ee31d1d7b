"""Strict reading of AWS JSON 1.1 request bodies into typed values.

The body must be one JSON object (no duplicate keys, no NaN/Infinity). Each operation then pulls
its members through :class:`Params`, which checks type, length and pattern and raises
``InvalidParameterException`` naming the member (never echoing its value: it may be a secret).
Members an operation does not know are ignored, as AWS does.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .awserror import AwsServiceError, invalid_parameter, serialization

#: Caps on any string member and on map sizes; operations tighten them.
MAX_STRING = 16_384
MAX_MAP_ENTRIES = 64
JSON_CONTENT_TYPES = (
    "application/x-amz-json-1.1",
    "application/x-amz-json-1.0",
    "application/json",
)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # in C; a key sent twice leaves it shorter than the pairs
    if len(out) < len(pairs):
        raise serialization(f"duplicate member {_first_repeat(k for k, _ in pairs)!r}"[:200])
    return out


def _first_repeat(keys: Iterable[str]) -> str:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return ""


def _no_constants(name: str) -> Any:
    raise serialization(f"{name} is not valid JSON")


# one decoder for every body: json.loads with hooks would build a new one (and its scanner) per call
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The body as a dict (empty means ``{}``); malformed input is ``SerializationException``."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):  # json.loads refuses a BOM; so do we
            raise ValueError("unexpected UTF-8 BOM")
        value = _DECODER.decode(text)
    except AwsServiceError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise serialization("the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise serialization("the request body must be a JSON object")
    return value


def content_type_ok(header: str | None) -> bool:
    if header is None:
        return False
    base = header.split(";", 1)[0].strip().lower()
    return base in JSON_CONTENT_TYPES


class Params:
    """Typed, capped access to the members of one request body."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self._body = body

    def raw(self) -> Mapping[str, Any]:
        return self._body

    def has(self, name: str) -> bool:
        return self._body.get(name) is not None

    def opt_str(
        self, name: str, *, max_len: int = 2048, min_len: int = 0, pattern: str | None = None
    ) -> str | None:
        value = self._body.get(name)
        if value is None:
            return None
        return check_str(name, value, max_len=max_len, min_len=min_len, pattern=pattern)

    def req_str(
        self, name: str, *, max_len: int = 2048, min_len: int = 1, pattern: str | None = None
    ) -> str:
        value = self._body.get(name)
        if value is None:
            raise invalid_parameter(f"Missing required parameter {name}")
        return check_str(name, value, max_len=max_len, min_len=min_len, pattern=pattern)

    def opt_int(self, name: str, *, lo: int, hi: int) -> int | None:
        value = self._body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid_parameter(f"{name} must be an integer")
        if not lo <= value <= hi:
            raise invalid_parameter(f"{name} must be between {lo} and {hi}")
        return value

    def opt_bool(self, name: str) -> bool | None:
        value = self._body.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise invalid_parameter(f"{name} must be a boolean")
        return value

    def str_map(
        self, name: str, *, max_value: int = 4096, max_entries: int = MAX_MAP_ENTRIES
    ) -> dict[str, str]:
        """A map of strings; JS clients send ``null`` for absent members, which are dropped."""
        return {
            k: v
            for k, v in self.nullable_map(
                name, max_value=max_value, max_entries=max_entries
            ).items()
            if v is not None
        }

    def nullable_map(
        self, name: str, *, max_value: int = 4096, max_entries: int = MAX_MAP_ENTRIES
    ) -> dict[str, str | None]:
        """A map of strings keeping JSON ``null`` as None (``"DEVICE_KEY": null`` means none)."""
        value = self._body.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise invalid_parameter(f"{name} must be a map of strings")
        if len(value) > max_entries:
            raise invalid_parameter(f"{name} has too many entries")
        out: dict[str, str | None] = {}
        for key, item in value.items():
            check_str(f"{name} key", key, max_len=128, min_len=1)
            if item is None:
                out[key] = None
                continue
            out[key] = check_str(f"{name}.{key}"[:200], item, max_len=max_value, min_len=0)
        return out

    def opt_object(self, name: str) -> Params | None:
        value = self._body.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid_parameter(f"{name} must be an object")
        return Params(value)

    def attributes(self, name: str, *, max_entries: int = 64) -> list[tuple[str, str]]:
        """``[{"Name": ..., "Value": ...}]`` as pairs (the AttributeType list)."""
        value = self._body.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > max_entries:
            raise invalid_parameter(f"{name} must be a list of at most {max_entries} attributes")
        pairs: list[tuple[str, str]] = []
        for item in value:
            if not isinstance(item, dict):
                raise invalid_parameter(f"{name} entries must be objects")
            entry = Params(item)
            pairs.append(
                (entry.req_str("Name", max_len=32), entry.opt_str("Value", max_len=2048) or "")
            )
        return pairs

    def str_list(self, name: str, *, max_entries: int = 16, max_len: int = 128) -> list[str]:
        value = self._body.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > max_entries:
            raise invalid_parameter(f"{name} must be a list of at most {max_entries} strings")
        return [check_str(name, item, max_len=max_len, min_len=1) for item in value]


#: patterns come from the operations' code, a few dozen at most
_compiled = functools.lru_cache(maxsize=256)(re.compile)


def check_str(
    name: str, value: object, *, max_len: int, min_len: int = 0, pattern: str | None = None
) -> str:
    if not isinstance(value, str):
        raise invalid_parameter(f"{name} must be a string")
    if not min_len <= len(value) <= max_len:
        raise invalid_parameter(f"{name} length must be between {min_len} and {max_len}")
    if "\x00" in value:
        raise invalid_parameter(f"{name} must not contain NUL")
    if pattern is not None and _compiled(pattern).fullmatch(value) is None:
        raise invalid_parameter(f"{name} has an invalid format")
    return value
