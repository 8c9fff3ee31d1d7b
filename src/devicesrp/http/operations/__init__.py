"""The Cognito operations the service answers, each a thin adapter: wire members in (checked by
:class:`~devicesrp.http.codec.Params`), one call into :mod:`devicesrp.server`, wire members out."""

from __future__ import annotations

from ...server.runtime import Runtime
from ..dispatch import Operation


def build_operations(runtime: Runtime) -> dict[str, Operation]:
    """Every supported operation by its ``X-Amz-Target`` name."""
    table: dict[str, Operation] = {}
    return table
