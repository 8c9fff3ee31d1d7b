"""The Cognito operations the service answers, each a thin adapter: wire members in (checked by
:class:`~devicesrp.http.codec.Params`), one call into :class:`~devicesrp.server.IdentityProvider`,
wire members out (:mod:`.shapes`)."""

from __future__ import annotations

from ...server.provider import IdentityProvider
from ..dispatch import Operation
from . import admin, devices, signin, users


def build_operations(idp: IdentityProvider, region: str) -> dict[str, Operation]:
    """Every supported operation by its ``X-Amz-Target`` name."""
    ops = [
        *signin.operations(idp),
        *devices.operations(idp),
        *users.operations(idp),
        *admin.operations(idp, region),
    ]
    return {op.name: op for op in ops}
