"""Values built from another object, built again only when that object is replaced.

The key vault's views are built from its loaded key set, the runtime's engines, sealers, issuers and
app-client views from a key view or a fetched record pair: while the source is the very same object
the built value is too (identity, not equality: no comparison of key material or documents).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["BuiltFrom"]

T = TypeVar("T")


class BuiltFrom:
    """``build()``'s value per key, kept while the key maps to the same source object; at most
    ``limit`` keys (all forgotten at once when full)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._values: dict[Hashable, tuple[object, Any]] = {}

    def get(self, key: Hashable, source: object, build: Callable[[], T]) -> T:
        cached = self._values.get(key)
        if cached is not None and cached[0] is source:
            value: T = cached[1]
            return value
        value = build()
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[key] = (source, value)
        return value
