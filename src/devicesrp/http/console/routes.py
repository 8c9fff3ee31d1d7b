"""The console's routes (mounted at ``/console``): sign-in, pools, users, one user's devices.

Every page but the sign-in form (and the style sheet) needs a session: a GET without one is
redirected to the sign-in form, anything else gets 401. Every POST must come from a form of this
console: same origin when the browser says (``Origin``), and the session's CSRF token, compared in
constant time. Changes are made by the domain calls the wire API's Admin* operations make, then the
browser is sent back to the page (post/redirect/get) with a fixed notice.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ...errors import InvalidParameterError
from ...server.errors import DomainError
from ...server.provider import IdentityProvider
from ..clientaddr import ClientAddress
from ..config import ServiceConfig
from . import views
from .forms import MAX_FORM_BYTES, FormError, parse_form, pool_update
from .render import HERE, NOTICES, PREFIX, SecurityHeaders, safe_next, template_env
from .sessions import SESSION_SECONDS, ConsoleSession, Gatekeeper

SESSION_COOKIE = "devicesrp_console"
SIGNIN_COOKIE = "devicesrp_console_signin"
log = logging.getLogger("devicesrp.http.console")

_NOT_FOUND_TYPES = ("ResourceNotFoundException", "UserNotFoundException")

Handler = Callable[[Request, ConsoleSession, dict[str, str]], Awaitable[Response]]


class Console:
    """The console over one identity provider and the service's settings."""

    def __init__(
        self,
        idp: IdentityProvider,
        config: ServiceConfig,
        *,
        clock: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.idp = idp
        self.gate = Gatekeeper(
            idp.rt.store, config.admin_keys, clock=clock, random_bytes=random_bytes
        )
        self.secure = bool(config.tls_cert)
        self.addresses = ClientAddress(config.trusted_proxies)
        self.env = template_env()

    # -- responses --------------------------------------------------------------------------------
    def page(
        self,
        request: Request,
        template: str,
        status: int = 200,
        *,
        session: ConsoleSession | None = None,
        **context: Any,
    ) -> HTMLResponse:
        context.setdefault("error", None)
        context.setdefault("done", NOTICES.get(request.query_params.get("done", "")))
        html = self.env.get_template(template).render(
            session=session is not None,
            operator=session.operator if session else "",
            csrf=session.csrf if session else "",
            **context,
        )
        return HTMLResponse(html, status)

    def refusal(
        self, request: Request, status: int, message: str, session: ConsoleSession | None = None
    ) -> HTMLResponse:
        return self.page(request, "error.html", status, session=session, message=message)

    def set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=PREFIX,
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )

    def clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name, path=PREFIX, secure=self.secure, httponly=True, samesite="strict"
        )

    def source(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        return self.addresses.resolve(peer, request.headers.get("x-forwarded-for"))

    @staticmethod
    def same_origin(request: Request) -> bool:
        """A browser's ``Origin`` must name this host (absent: older clients; CSRF still holds)."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

    @staticmethod
    async def read_form(request: Request) -> dict[str, str]:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
            raise FormError(413, "The form is too large.")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise FormError(413, "The form is too large.")
        return parse_form(request.headers.get("content-type"), bytes(body))

    def guarded(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Session check, then (for POST) origin, form and CSRF checks, then ``handler``."""

        async def endpoint(request: Request) -> Response:
            cookie = request.cookies.get(SESSION_COOKIE)
            session = await run_in_threadpool(self.gate.session, cookie)
            if session is None:
                if request.method == "GET":
                    target = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    query = urlencode({"next": target})
                    return RedirectResponse(f"{PREFIX}/sign-in?{query}", 303)
                return self.refusal(request, 401, "Sign in to use the console.")
            fields: dict[str, str] = {}
            if request.method == "POST":
                if not self.same_origin(request):
                    return self.refusal(request, 403, "The form came from another site.", session)
                try:
                    fields = await self.read_form(request)
                except FormError as exc:
                    return self.refusal(request, exc.status, exc.message, session)
                if not Gatekeeper.csrf_ok(session, fields.pop("csrf", None)):
                    log.warning("console: refused a form without a valid CSRF token")
                    return self.refusal(
                        request,
                        403,
                        "The form was forged or has expired; reload the page.",
                        session,
                    )
            try:
                return await handler(request, session, fields)
            except FormError as exc:
                return self.refusal(request, exc.status, exc.message, session)
            except DomainError as exc:
                status = 404 if exc.cognito_type in _NOT_FOUND_TYPES else 400
                return self.refusal(request, status, exc.message, session)
            except InvalidParameterError as exc:
                return self.refusal(request, 400, f"Invalid {exc.field}.", session)

        return endpoint

    # -- sign-in and sign-out ---------------------------------------------------------------------
    def sign_in_form(
        self, request: Request, status: int = 200, error: str | None = None
    ) -> HTMLResponse:
        cookie, token = self.gate.new_presession()
        response = self.page(
            request,
            "sign_in.html",
            status,
            token=token,
            next=safe_next(request.query_params.get("next")),
            enabled=self.gate.enabled,
            error=error,
        )
        self.set_cookie(response, SIGNIN_COOKIE, cookie, 3600)
        return response

    async def sign_in_page(self, request: Request) -> Response:
        session = await run_in_threadpool(self.gate.session, request.cookies.get(SESSION_COOKIE))
        if session is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), 303)
        return self.sign_in_form(request)

    async def sign_in(self, request: Request) -> Response:
        if not self.same_origin(request):
            return self.refusal(request, 403, "The form came from another site.")
        try:
            fields = await self.read_form(request)
        except FormError as exc:
            return self.refusal(request, exc.status, exc.message)
        expected = self.gate.presession_token(request.cookies.get(SIGNIN_COOKIE))
        given = fields.get("csrf")
        if (
            expected is None
            or given is None
            or not secrets.compare_digest(given.encode("utf-8", "replace"), expected.encode())
        ):
            return self.sign_in_form(request, 403, "The sign-in form expired; please try again.")
        address = self.source(request)
        wait = await run_in_threadpool(self.gate.locked_for, address)
        response: Response
        if wait > 0:
            response = self.sign_in_form(
                request, 429, f"Too many failed sign-ins; try again in {int(wait) + 1} seconds."
            )
            response.headers["retry-after"] = str(int(wait) + 1)
            return response
        key_id, secret = fields.get("key_id", ""), fields.get("secret", "")
        result = await run_in_threadpool(self.gate.sign_in, address, key_id, secret)
        if result is None:
            log.warning("console: failed sign-in from %s", address)
            return self.sign_in_form(request, 401, "The key id or the secret is not right.")
        cookie, _ = result
        log.info("console: %s signed in from %s", key_id, address)
        response = RedirectResponse(safe_next(fields.get("next")), 303)
        self.set_cookie(response, SESSION_COOKIE, cookie, SESSION_SECONDS)
        self.clear_cookie(response, SIGNIN_COOKIE)
        return response

    async def sign_out(
        self, request: Request, session: ConsoleSession, _: dict[str, str]
    ) -> Response:
        await run_in_threadpool(self.gate.sign_out, session)
        log.info("console: %s signed out", session.operator)
        response = RedirectResponse(f"{PREFIX}/sign-in?done=signed-out", 303)
        self.clear_cookie(response, SESSION_COOKIE)
        return response

    # -- pages ------------------------------------------------------------------------------------
    async def pools(self, request: Request, session: ConsoleSession, _: dict[str, str]) -> Response:
        rows = await run_in_threadpool(views.pool_rows, self.idp)
        return self.page(request, "pools.html", session=session, pools=rows)

    async def pool(
        self,
        request: Request,
        session: ConsoleSession,
        _: dict[str, str],
        *,
        error: str | None = None,
    ) -> Response:
        pool_id = request.path_params["pool_id"]
        q = request.query_params.get("q", "")[:128]
        by = "email" if request.query_params.get("by") == "email" else "username"
        token = request.query_params.get("token") or None
        if token is not None and len(token) > 1024:
            raise FormError(400, "The page token is too long.")
        row = await run_in_threadpool(views.pool_row, self.idp, pool_id)
        found = await run_in_threadpool(
            lambda: views.find_users(self.idp, pool_id, by=by, prefix=q, token=token)
        )
        next_url = None
        if found.next_token:
            query = urlencode({"q": q, "by": by, "token": found.next_token})
            next_url = f"{PREFIX}/pools/{pool_id}?{query}"
        first_url = f"{PREFIX}/pools/{pool_id}?" + urlencode({"q": q, "by": by})
        return self.page(
            request,
            "pool.html",
            400 if error else 200,
            session=session,
            pool=row,
            users=found.users,
            q=q,
            by=by,
            paged=token is not None,
            next_url=next_url,
            first_url=first_url,
            error=error,
        )

    async def save_pool(
        self, request: Request, session: ConsoleSession, fields: dict[str, str]
    ) -> Response:
        pool_id = request.path_params["pool_id"]
        try:
            update = pool_update(fields)
            await run_in_threadpool(views.save_pool, self.idp, pool_id, update)
        except FormError as exc:
            return await self.pool(request, session, fields, error=exc.message)
        except InvalidParameterError as exc:
            message = f"Not saved: {exc.field} {exc.reason}."
            return await self.pool(request, session, fields, error=message)
        log.info("console: %s saved the settings of %s: %s", session.operator, pool_id, update)
        return RedirectResponse(f"{PREFIX}/pools/{pool_id}?done=pool-saved", 303)

    async def user(self, request: Request, session: ConsoleSession, _: dict[str, str]) -> Response:
        pool_id, sub = request.path_params["pool_id"], request.path_params["sub"]
        token = request.query_params.get("devices") or None
        if token is not None and len(token) > 1024:
            raise FormError(400, "The page token is too long.")
        detail = await run_in_threadpool(
            lambda: views.user_detail(self.idp, pool_id, sub, device_token=token)
        )
        next_url = None
        if detail.next_devices:
            next_url = f"{self.user_url(pool_id, sub)}?" + urlencode(
                {"devices": detail.next_devices}
            )
        return self.page(
            request,
            "user.html",
            session=session,
            d=detail,
            user_url=self.user_url(pool_id, sub),
            next_url=next_url,
        )

    @staticmethod
    def user_url(pool_id: str, sub: str) -> str:
        return f"{PREFIX}/pools/{pool_id}/users/{sub}"

    # -- actions ----------------------------------------------------------------------------------
    async def forget(
        self, request: Request, session: ConsoleSession, _: dict[str, str]
    ) -> Response:
        p = request.path_params
        await run_in_threadpool(views.forget_device, self.idp, p["pool_id"], p["sub"], p["key"])
        log.info(
            "console: %s forgot device %s of user %s in %s",
            session.operator,
            p["key"],
            p["sub"],
            p["pool_id"],
        )
        return RedirectResponse(f"{self.user_url(p['pool_id'], p['sub'])}?done=forgotten", 303)

    async def status(
        self, request: Request, session: ConsoleSession, fields: dict[str, str]
    ) -> Response:
        p = request.path_params
        choice = fields.get("remembered")
        if choice not in ("yes", "no"):
            raise FormError(400, "remembered must be yes or no.")
        await run_in_threadpool(
            views.set_remembered, self.idp, p["pool_id"], p["sub"], p["key"], choice == "yes"
        )
        done = "remembered" if choice == "yes" else "not-remembered"
        log.info(
            "console: %s marked device %s of user %s in %s %s",
            session.operator,
            p["key"],
            p["sub"],
            p["pool_id"],
            done,
        )
        return RedirectResponse(f"{self.user_url(p['pool_id'], p['sub'])}?done={done}", 303)

    async def reset_lockout(
        self, request: Request, session: ConsoleSession, _: dict[str, str]
    ) -> Response:
        p = request.path_params
        await run_in_threadpool(views.reset_lockout, self.idp, p["pool_id"], p["sub"])
        log.info(
            "console: %s reset the lockout of user %s in %s",
            session.operator,
            p["sub"],
            p["pool_id"],
        )
        return RedirectResponse(f"{self.user_url(p['pool_id'], p['sub'])}?done=lockout-reset", 303)

    async def stylesheet(self, request: Request) -> Response:
        return FileResponse(HERE / "static" / "console.css", media_type="text/css")

    async def not_found(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        message = "No such page." if status == 404 else "That method is not allowed here."
        return self.refusal(request, status, message)

    def app(self) -> ASGIApp:
        g = self.guarded
        user = "/pools/{pool_id}/users/{sub}"
        device = user + "/devices/{key}"
        routes = [
            Route("/", g(self.pools), methods=["GET"]),
            Route("/sign-in", self.sign_in_page, methods=["GET"]),
            Route("/sign-in", self.sign_in, methods=["POST"]),
            Route("/sign-out", g(self.sign_out), methods=["POST"]),
            Route("/static/console.css", self.stylesheet, methods=["GET"]),
            Route("/pools/{pool_id}", g(self.pool), methods=["GET"]),
            Route("/pools/{pool_id}", g(self.save_pool), methods=["POST"]),
            Route(user, g(self.user), methods=["GET"]),
            Route(user + "/lockout/reset", g(self.reset_lockout), methods=["POST"]),
            Route(device + "/forget", g(self.forget), methods=["POST"]),
            Route(device + "/status", g(self.status), methods=["POST"]),
        ]
        handlers = {404: self.not_found, 405: self.not_found}
        return SecurityHeaders(Starlette(routes=routes, exception_handlers=handlers))


def console_app(idp: IdentityProvider, config: ServiceConfig) -> ASGIApp:
    """The console as an ASGI app, to mount at ``/console``."""
    return Console(idp, config).app()
