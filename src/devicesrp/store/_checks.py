"""Strict validation of the values the store accepts: types, patterns and size caps.

Every failure is an ``InvalidParameterError`` (a ``ValueError``) or ``InvalidTypeError`` (a
``TypeError``) naming the field, never echoing the value (it may be a secret).
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..errors import InvalidParameterError, InvalidTypeError

MAX_SALT = 64  # security matrix row 35: salt > 64 bytes is refused
MAX_VERIFIER = 384  # a 3072-bit verifier; larger is refused
MAX_WRAPPED = 16384
MAX_JSON = 65536  # bytes of one JSON document
MAX_TIME = 1e11  # epoch seconds: year 5138; anything later is a unit mistake

_POOL_ID = re.compile(r"[\w-]+_[0-9A-Za-z]+", re.ASCII)
_CLIENT_ID = re.compile(r"[\w+]+", re.ASCII)
_DEVICE_KEY = re.compile(r"[\w-]+_[0-9a-f-]+", re.ASCII)
_GROUP_KEY = re.compile(r"[\w-]+", re.ASCII)
_SCOPE = re.compile(r"[a-z0-9_.:-]{1,32}", re.ASCII)
_STATUS = re.compile(r"[A-Z_]{1,32}", re.ASCII)


def bad(field: str, reason: str) -> InvalidParameterError:
    return InvalidParameterError(field, reason)


def set_frozen(obj: object, name: str, value: object) -> None:
    """Normalise a field of a frozen dataclass during ``__post_init__``."""
    object.__setattr__(obj, name, value)


def _string(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(field, "str", value)
    return value


def text(field: str, value: object, max_len: int, *, allow_empty: bool = False) -> str:
    """Printable text of at most ``max_len`` characters (no control characters, no NUL)."""
    s = _string(field, value)
    if len(s) > max_len:
        raise bad(field, f"at most {max_len} characters")
    if not s and not allow_empty:
        raise bad(field, "must not be empty")
    if not s.isprintable():
        raise bad(field, "must not contain control characters")
    return s


def name(field: str, value: object, max_len: int = 128) -> str:
    """A user name or e-mail: printable, no whitespace, 1..max_len characters."""
    s = text(field, value, max_len)
    # printable text holds no whitespace but the ASCII space (a test checks every code point)
    if " " in s:
        raise bad(field, "must not contain whitespace")
    return s


def ident(field: str, value: object, max_len: int) -> str:
    """An identifier: printable ASCII without spaces."""
    s = text(field, value, max_len)
    if not s.isascii() or " " in s:
        raise bad(field, "must be printable ASCII without spaces")
    return s


def _pattern(field: str, value: object, pattern: re.Pattern[str], max_len: int, what: str) -> str:
    s = _string(field, value)
    if len(s) > max_len or not pattern.fullmatch(s):
        raise bad(field, f"must look like {what} (at most {max_len} characters)")
    return s


def pool_id(field: str, value: object) -> str:
    s = _pattern(field, value, _POOL_ID, 55, "<region>_<alphanumerics>")
    if "_" in s.rsplit("_", 1)[1]:
        raise bad(field, "must look like <region>_<alphanumerics>")
    return s


def client_id(field: str, value: object) -> str:
    return _pattern(field, value, _CLIENT_ID, 128, "[\\w+]+")


def device_key(field: str, value: object) -> str:
    return _pattern(field, value, _DEVICE_KEY, 55, "<region>_<uuid>")


def group_key(field: str, value: object) -> str:
    return _pattern(field, value, _GROUP_KEY, 55, "[\\w-]+")


def scope(field: str, value: object) -> str:
    return _pattern(field, value, _SCOPE, 32, "[a-z0-9_.:-]+")


def status(field: str, value: object) -> str:
    return _pattern(field, value, _STATUS, 32, "[A-Z_]+")


def boolean(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidTypeError(field, "bool", value)
    return value


def count(field: str, value: object, max_value: int = 2**62) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(field, "int", value)
    if not 0 <= value <= max_value:
        raise bad(field, f"must be 0..{max_value}")
    return value


def when(field: str, value: object) -> float:
    """Epoch seconds: a finite, non-negative int or float (stored as float)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTypeError(field, "float (epoch seconds)", value)
    f = float(value)
    if not math.isfinite(f) or not 0.0 <= f <= MAX_TIME:
        raise bad(field, "must be finite epoch seconds in 0..1e11")
    return f


def blob(field: str, value: object, min_len: int, max_len: int) -> bytes:
    if not isinstance(value, bytes):
        raise InvalidTypeError(field, "bytes", value)
    if not min_len <= len(value) <= max_len:
        raise bad(field, f"must be {min_len}..{max_len} bytes")
    return value


def ip(field: str, value: object) -> str:
    s = _string(field, value)
    try:
        ipaddress.ip_address(s)
    except ValueError:
        raise bad(field, "must be an IPv4 or IPv6 address") from None
    return s


def json_object(field: str, value: object) -> Mapping[str, Any]:
    """A JSON object that round-trips, at most MAX_JSON bytes; returned read-only.

    A read-only view is passed through: the store's own (``load_json``, or this function)
    are checked documents already, and every write checks its document again (``dump_json``)."""
    if type(value) is MappingProxyType:
        return value
    return MappingProxyType(json.loads(dump_json(field, value)))


def dump_json(field: str, value: object) -> str:
    if not isinstance(value, Mapping):
        raise InvalidTypeError(field, "a JSON object (mapping)", value)
    if not all(isinstance(k, str) for k in value):
        raise bad(field, "keys must be strings")
    try:
        doc = json.dumps(
            dict(value), sort_keys=True, separators=(",", ":"), allow_nan=False, default=_plain
        )
    except (TypeError, ValueError, RecursionError):
        raise bad(field, "must be a JSON object with string keys and finite numbers") from None
    if len(doc.encode()) > MAX_JSON:
        raise bad(field, f"at most {MAX_JSON} bytes of JSON")
    return doc


def _plain(value: object) -> object:
    """Read-only mappings (our own records' documents) serialise like dicts; nothing else."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError("not JSON")


def load_json(field: str, doc: str) -> Mapping[str, Any]:
    """A JSON object read back from the database."""
    value = json.loads(doc)
    if not isinstance(value, dict):
        raise bad(field, "stored document is not a JSON object")
    return MappingProxyType(value)


def limit(field: str, value: object, max_value: int) -> int:
    """A page size: 0..max_value, 0 meaning the maximum (Cognito's Limit 0..60)."""
    n = count(field, value, max_value)
    return n or max_value
