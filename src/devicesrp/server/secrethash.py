"""SECRET_HASH checks for app clients with a secret.

SECRET_HASH = base64(HMAC-SHA256(key = client secret, msg = name + client id)) — docs §5. Clients
compute it over the name they typed or over USER_ID_FOR_SRP (possibly the ``sub``), so any of the
user's names is accepted.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from ..srp.cognito import secret_hash
from ..store.records import UserRecord
from .config import AppClient
from .errors import NotAuthorizedError

__all__ = ["check_secret_hash", "user_names"]


def check_secret_hash(client: AppClient, given: str | None, names: Iterable[str]) -> None:
    """Accept a SECRET_HASH over any of ``names``; every candidate is compared (no early exit)."""
    if client.secret is None:
        return
    ok = False
    if given is not None:
        for name in names:
            expected = secret_hash(client.secret, name, client.client_id)
            ok |= hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
    if not ok:
        raise NotAuthorizedError(f"Unable to verify secret hash for client {client.client_id}")


def user_names(user: UserRecord, typed: str | None = None) -> list[str]:
    """Every name a SECRET_HASH may be computed over (the typed one first)."""
    names = [user.username, user.username_norm, user.sub]
    if user.email:
        names.append(user.email)
    if typed is not None and typed not in names:
        names.insert(0, typed)
    return names
