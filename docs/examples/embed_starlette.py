"""Embedding devicesrp in an existing Starlette app (docs/embedding.md; run by
tests/test_docs_embedding.py).

One domain object (``IdentityProvider``) serves two purposes in the same process:

- the Cognito-compatible endpoint, mounted at ``/cognito``, which the official SDKs and
  ``devicesrp.client`` use for sign-in and remembered devices (``endpoint_url=<app>/cognito``);
- the app's own routes, which check the access token with ``idp.get_user`` (no HTTP round trip).

Run it: ``DEVICESRP_KEK=$(head -c32 /dev/urandom | base64) uvicorn --factory embed_starlette:main``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

from devicesrp.errors import DeviceSrpError
from devicesrp.http.app import PublicDocs, Service, build_app
from devicesrp.http.config import ServiceConfig
from devicesrp.http.operations import build_operations
from devicesrp.server.kek import load_kek
from devicesrp.server.provider import IdentityProvider
from devicesrp.server.runtime import live_runtime
from devicesrp.store import open_store


def create_app(db_url: str, issuer_base: str = "http://127.0.0.1:8000/cognito") -> Starlette:
    """Your app, with devicesrp inside it. ``app.state.idp`` is the domain, for admin tasks."""
    store = open_store(db_url)  # sqlite:///file or postgresql://...
    runtime = live_runtime(store, load_kek(), issuer_base=issuer_base)  # KEK from the environment
    idp = IdentityProvider(runtime)
    config = ServiceConfig(db=db_url, issuer=issuer_base)
    cognito = Service(config, build_operations(idp, config.region), PublicDocs(idp.jwks))

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("my existing app\n")

    async def me(request: Request) -> JSONResponse:
        """A route of your own: who is calling, from the Cognito access token."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        try:
            user = idp.get_user(token)
        except DeviceSrpError:  # expired, revoked, forged: all the same to the caller
            return JSONResponse({"error": "sign in first"}, status_code=401)
        return JSONResponse({"username": user.username, "sub": user.sub})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/api/me", me),
            Mount("/cognito", app=build_app(cognito)),
        ],
        lifespan=lifespan,
    )
    app.state.idp = idp
    return app


def main() -> Starlette:
    """``uvicorn --factory embed_starlette:main``: the database from ``DATABASE_URL``."""
    return create_app(os.environ.get("DATABASE_URL", "sqlite:///embedded.sqlite3"))
