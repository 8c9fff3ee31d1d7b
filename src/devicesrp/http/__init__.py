"""The Cognito-compatible HTTP service (AWS JSON 1.1 over ASGI), run by ``devicesrp serve``.

Modules: ``app`` (the ASGI transport: body caps, dispatch, throttling, SigV4, error shape,
access log), ``codec`` (strict request parsing), ``sigv4``, ``throttle``, ``clientaddr``
(trusted proxies), ``config`` (TOML + environment), ``wiring`` (operations over the domain in
:mod:`devicesrp.server`), ``serve`` (uvicorn).
"""

from __future__ import annotations

from .config import ServiceConfig, load_config

__all__ = ["ServiceConfig", "load_config"]
