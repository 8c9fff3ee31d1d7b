"""Open the domain for the service: store from the URL, key-encryption key, runtime, operations.

The KEK comes from ``DEVICESRP_KEK`` / ``DEVICESRP_KEK_FILE``. With neither set and an SQLite
database, a KEK file is created beside the database (mode 0600) so that ``devicesrp serve`` with
no options just works; the banner says so, because a copy of that directory then opens every key.
A PostgreSQL deployment must set the KEK explicitly.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidParameterError
from ..server.errors import DomainError
from ..server.kek import KEK_ENV, KEK_FILE_ENV, Kek, load_kek
from ..server.provider import IdentityProvider
from ..server.runtime import Runtime, live_runtime
from ..server.vault import KIND_FAKE_SALT, KIND_TOTP
from ..store import open_store, sqlite_path
from . import profiling
from .app import PublicDocs, Service
from .config import ServiceConfig
from .console import console_app
from .operations import build_operations

KEK_FILE_NAME = "devicesrp.kek"


def resolve_kek(config: ServiceConfig, env: Mapping[str, str]) -> tuple[Kek, str]:
    """The KEK and a note on where it came from."""
    if env.get(KEK_ENV) or env.get(KEK_FILE_ENV):
        return load_kek(env), "from the environment"
    if not config.db_url.startswith("sqlite:"):
        raise InvalidParameterError(
            "kek", f"a PostgreSQL deployment needs {KEK_ENV} or {KEK_FILE_ENV} (base64 of 32 bytes)"
        )
    path = sqlite_path(config.db_url).resolve().parent / KEK_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return load_kek({KEK_FILE_ENV: str(path)}), f"from {path} (beside the database)"


def jwks_of(runtime: Runtime) -> Callable[[str], Mapping[str, Any] | None]:
    def jwks(pool_id: str) -> Mapping[str, Any] | None:
        try:
            runtime.pool(pool_id)
            return runtime.issuer(pool_id).jwks()
        except (DomainError, ValueError):
            return None

    return jwks


def prepare_database(config: ServiceConfig) -> None:
    """Create the directory of an SQLite database (the embedded default lives in .devicesrp/)."""
    if config.db_url.startswith("sqlite:"):
        sqlite_path(config.db_url).resolve().parent.mkdir(parents=True, exist_ok=True)


def open_domain(config: ServiceConfig) -> tuple[Service, Callable[[], None]]:
    """The service over a freshly opened store; the callable closes the store."""
    prepare_database(config)
    kek, _ = resolve_kek(config, os.environ)
    store = open_store(config.db_url)
    try:
        runtime = live_runtime(store, kek, issuer_base=config.issuer_base)
        idp = IdentityProvider(runtime)
        service = Service(
            config,
            build_operations(idp, config.region),
            PublicDocs(jwks_of(runtime), ready=store.schema_version),
            consume_once=lambda key, expires: store.consume_once("sigv4", key, expires_at=expires),
            console=console_app(idp, config),
        )
    except BaseException:
        store.close()
        raise
    profiling.install(service, store)  # a no-op unless DEVICESRP_PROFILE_DIR is set
    return service, store.close


def check_keys(config: ServiceConfig) -> None:
    """Open the store and unwrap every key kind once, so that a wrong KEK stops the start-up
    (with ``KekError``) instead of failing each request later; creates missing keys."""
    kek, _ = resolve_kek(config, os.environ)
    store = open_store(config.db_url)
    try:
        runtime = live_runtime(store, kek, issuer_base=config.issuer_base)
        runtime.vault.seal_ring()
        runtime.vault.session_keys()
        runtime.vault.signing_keys()
        for kind in (KIND_FAKE_SALT, KIND_TOTP):
            runtime.vault.secret(kind)
    finally:
        store.close()


def kek_note(config: ServiceConfig) -> str:
    """Where the KEK will come from, for the start-up banner (no key material)."""
    if os.environ.get(KEK_ENV) or os.environ.get(KEK_FILE_ENV):
        return "KEK from the environment"
    if not config.db_url.startswith("sqlite:"):
        return "no KEK"
    path = Path(sqlite_path(config.db_url)).resolve().parent / KEK_FILE_NAME
    return f"KEK file {path} (set {KEK_ENV} in production)"
