"""``devicesrp serve``: resolve the settings, build the service, run it under uvicorn.

Worker processes (``--workers N``) each build their own service from the same settings, handed
over in the environment as the config path plus the command-line overrides (never the admin
secrets themselves: each worker reads them again from the file or environment).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.applications import Starlette

from .app import Service, build_app
from .config import ServiceConfig, load_config

ARGS_ENV = "DEVICESRP_SERVE_ARGS"
log = logging.getLogger("devicesrp.http")


def redact_url(url: str) -> str:
    """The database URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def create_service(config: ServiceConfig) -> tuple[Service, Any]:
    """The service over the domain at ``config.db_url``, and a callable that closes it."""
    from .wiring import open_domain

    return open_domain(config)


def create_app(config: ServiceConfig) -> Starlette:
    """The ASGI app for ``config``; the domain opens at start-up and closes at shutdown."""
    service, close = create_service(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            close()

    return build_app(service, lifespan=lifespan)


def app_factory() -> Starlette:
    """Entry point for uvicorn worker processes (``factory=True``)."""
    args = json.loads(os.environ.get(ARGS_ENV, "{}"))
    if ARGS_ENV in os.environ:
        setup_logging()
    return create_app(load_config(args.get("config"), os.environ, args.get("overrides")))


def banner(config: ServiceConfig) -> str:
    keys = len(config.admin_keys)
    return (
        f"devicesrp serve: {config.scheme}://{config.host}:{config.port}/ "
        f"(Cognito JSON 1.1; region {config.region}; db {redact_url(config.db_url)}; "
        f"workers {config.workers}; issuer {config.issuer_base}/<poolId>; "
        f"admin keys {keys}{'' if keys else ' - Admin* operations are refused'})"
    )


def setup_logging() -> None:
    """Log devicesrp's lines to stderr, once per process (worker processes call it too)."""
    root = logging.getLogger("devicesrp")
    if any(getattr(h, "devicesrp_serve", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.devicesrp_serve = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def serve(config_path: str | None, overrides: Mapping[str, Any]) -> int:
    """Run the service in the foreground until interrupted."""
    import uvicorn

    from ..errors import DeviceSrpError
    from .wiring import check_keys, kek_note, prepare_database, resolve_kek

    try:
        config = load_config(config_path, os.environ, overrides)
        prepare_database(config)
        resolve_kek(config, os.environ)
        # migrations and first keys once here, not racing in each worker; a wrong KEK stops here
        check_keys(config)
    except DeviceSrpError as exc:
        print(f"devicesrp serve: {exc}", file=sys.stderr)
        return 2
    setup_logging()
    print(banner(config) + f"; {kek_note(config)}", flush=True)
    os.environ[ARGS_ENV] = json.dumps({"config": config_path, "overrides": dict(overrides)})
    uvicorn.run(
        "devicesrp.http.serve:app_factory",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        ssl_certfile=config.tls_cert or None,
        ssl_keyfile=config.tls_key or None,
        access_log=False,  # ours is in devicesrp.http.access, without bodies or headers
        proxy_headers=False,  # X-Forwarded-For is judged by the trusted_proxies setting
        server_header=False,
        http="devicesrp.http.nodelay:NoDelayH11Protocol",  # no 40 ms stalls with --workers > 1
        # Browser and Node SDKs keep connections open while they do their SRP math in-line (a
        # 1024-bit `a` can block a busy Node for seconds): uvicorn's 5 s default closed sockets
        # they were about to reuse (UND_ERR_SOCKET). 75 s is what common load balancers use.
        timeout_keep_alive=75,
        log_level="warning",
    )
    return 0
