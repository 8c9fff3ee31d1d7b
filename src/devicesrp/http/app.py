"""The ASGI application: AWS JSON 1.1 on ``POST /``, health, JWKS and OpenID discovery.

Order of work for ``POST /`` (cheap checks first, so floods and junk never reach a modexp):
address throttle -> body size (Content-Length, then a running count) -> target -> content type ->
JSON -> SigV4 (admin operations) -> app-client throttle (sign-in operations) -> replay cache
(mutating admin operations) -> the operation, in a worker thread (or inline, by configuration).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from ..errors import AuthenticationError, DeviceSrpError, InvalidParameterError
from .awserror import AwsServiceError, error_body, error_headers, not_authorized, serialization
from .clientaddr import ClientAddress
from .codec import Params, content_type_ok, parse_body
from .config import ServiceConfig
from .dispatch import Call, Operation, operation_name
from .sigv4 import SignedRequest, SigV4Verifier
from .throttle import Rate, Throttle

access_log = logging.getLogger("devicesrp.http.access")
error_log = logging.getLogger("devicesrp.http.error")

JSON_TYPE = "application/x-amz-json-1.1"
_JSON_TYPE = JSON_TYPE.encode()
HEALTH_TIMEOUT = 5.0  # seconds
HANDLER_THREADS = 10


class PublicDocs:
    """What the GET routes serve; the domain supplies it (None for an unknown pool)."""

    def __init__(
        self,
        jwks: Callable[[str], Mapping[str, Any] | None],
        ready: Callable[[], object] | None = None,
    ) -> None:
        self.jwks = jwks
        self.ready = ready  # raises when the database cannot be reached


def to_aws_error(exc: BaseException) -> AwsServiceError:
    """Map any exception to the reply the client gets; unknown ones are a 500 with no detail."""
    if isinstance(exc, AwsServiceError):
        return exc
    cognito_type = getattr(exc, "cognito_type", None)
    if isinstance(cognito_type, str) and isinstance(exc, DeviceSrpError):
        status = 500 if cognito_type == "InternalErrorException" else 400
        return AwsServiceError(cognito_type, str(getattr(exc, "message", exc)), status)
    if isinstance(exc, AuthenticationError):
        return not_authorized()
    if isinstance(exc, InvalidParameterError):
        return AwsServiceError("InvalidParameterException", str(exc))
    return AwsServiceError("InternalErrorException", "Internal error", 500)


class Service:
    """The transport around an operation table; one per worker process."""

    def __init__(
        self,
        config: ServiceConfig,
        operations: Mapping[str, Operation],
        docs: PublicDocs | None = None,
        *,
        clock: Callable[[], float] = time.time,
        consume_once: Callable[[bytes, float], bool] | None = None,
        console: ASGIApp | None = None,
    ) -> None:
        self.config = config
        self.console = console  # the admin console, mounted at /console
        self.operations = dict(operations)
        self.docs = docs
        self.clock = clock
        self.addresses = ClientAddress(config.trusted_proxies)
        self.sigv4 = SigV4Verifier(config.admin_keys, config.region, consume_once=consume_once)
        # as many operation threads as the store has connections (open_store's default pool);
        # None: operations run on the event loop (config.handler_threads says which)
        self.handlers = (
            ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="devicesrp-op")
            if config.handler_threads
            else None
        )
        self.throttle = Throttle(
            Rate(config.address_per_second, config.address_burst),
            Rate(config.client_per_second, config.client_burst),
        )

    def source_of(self, request: Request, fields: Mapping[bytes, bytes]) -> str:
        client = request.scope.get("client")
        peer = client[0] if client is not None else "unknown"
        return self.addresses.resolve(peer, header(fields, b"x-forwarded-for"))

    async def read_body(self, request: Request, fields: Mapping[bytes, bytes]) -> bytes:
        cap = self.config.max_body_bytes
        declared = header(fields, b"content-length")
        if declared is not None:
            if not declared.isdigit() or len(declared) > 12:
                raise serialization("invalid Content-Length")
            if int(declared) > cap:
                raise body_too_large(cap)
        chunks: list[bytes] = []
        size = 0
        # Request.stream()'s loop without its async generator (a few microseconds a request)
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise body_too_large(cap)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def post(self, request: Request) -> Response:
        started = time.perf_counter()
        now = self.clock()
        fields = header_fields(request)
        source = self.source_of(request, fields)
        name = operation_name(header(fields, b"x-amz-target")) or "-"
        try:
            self.throttle.check_address(source, now)
            body = await self.read_body(request, fields)
            op = self.operations.get(name)
            if op is None:
                raise AwsServiceError(
                    "UnknownOperationException", "The operation requested is not supported."
                )
            if not content_type_ok(header(fields, b"content-type")):
                raise serialization(f"Content-Type must be {JSON_TYPE}")
            params = Params(parse_body(body))
            reply = await self.run(op, request, fields, body, params, source, now)
        except Exception as exc:  # every failure becomes an AWS error reply
            err = to_aws_error(exc)
            if err.status >= 500:
                # the type and frames only: an exception's message may carry a value
                frames = "".join(traceback.format_tb(exc.__traceback__))
                error_log.error("%s failed: %s\n%s", name, type(exc).__name__, frames)
            self.log(source, name, err.status, err.type_name, started)
            return Response(error_body(err), err.status, headers=error_headers(err))
        self.log(source, name, 200, "-", started)
        return JsonReply(json.dumps(reply.body).encode(), reply.headers)

    async def run(
        self,
        op: Operation,
        request: Request,
        fields: Mapping[bytes, bytes],
        body: bytes,
        params: Params,
        source: str,
        now: float,
    ) -> Any:
        key_id = None
        signature = ""
        if op.admin:
            signed = SignedRequest(
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
            key_id, signature = self.sigv4.verify(signed, now)
        if op.signin:
            client = params.opt_str("ClientId", max_len=128) or "-"
            self.throttle.check_client(client, now)
        if op.admin and op.mutating:
            self.sigv4.consume(signature, now)
        agent = (header(fields, b"user-agent") or "")[:256]
        call = Call(op.name, params, source, now, key_id, agent)
        if self.handlers is None:
            return op.handler(call)  # one operation at a time per worker, no thread hop
        # a plain executor: about half the CPU per hop of anyio's to_thread (no cancel scope or
        # capacity limiter), which a sign-in pays four times
        return await asyncio.get_running_loop().run_in_executor(self.handlers, op.handler, call)

    def log(self, source: str, name: str, status: int, error: str, started: float) -> None:
        """One line per request: who, what, outcome, time. Never bodies, tokens or headers."""
        if self.config.access_log and access_log.isEnabledFor(logging.INFO):
            ms = (time.perf_counter() - started) * 1000.0
            # what access_log.info does, less findCaller's walk up the stack: the caller is here
            record = access_log.makeRecord(
                access_log.name,
                logging.INFO,
                __file__,
                _LOG_LINE,
                "%s %s %d %s %.1fms",
                (source, name, status, error, ms),
                None,
                "log",
            )
            access_log.handle(record)

    async def health(self, request: Request) -> Response:
        """200 once serving and the database answers; 503 while it does not (load balancers
        then send traffic elsewhere). The reason stays in the log, not in the answer."""
        if self.docs is not None and self.docs.ready is not None:
            try:
                # a store waiting out its connection timeout is not ready either
                await asyncio.wait_for(run_in_threadpool(self.docs.ready), HEALTH_TIMEOUT)
            except Exception as exc:  # any failure to reach the store means "not ready"
                error_log.warning("health: database unavailable (%s)", type(exc).__name__)
                return json_response({"status": "unavailable"}, 503)
        return json_response({"status": "ok"})

    async def jwks(self, request: Request) -> Response:
        pool_id = request.path_params["pool_id"]
        doc = self.docs.jwks(pool_id) if self.docs and len(pool_id) <= 55 else None
        if doc is None:
            return not_found("User pool does not exist.")
        return json_response(doc)

    async def openid(self, request: Request) -> Response:
        pool_id = request.path_params["pool_id"]
        if not self.docs or len(pool_id) > 55 or self.docs.jwks(pool_id) is None:
            return not_found("User pool does not exist.")
        issuer = f"{self.config.issuer_base}/{pool_id}"
        return json_response(
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}/.well-known/jwks.json",
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["token"],
                "scopes_supported": ["openid", "email", "phone", "profile"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "token_use"],
            }
        )


_LOG_LINE = Service.log.__code__.co_firstlineno


def header_fields(request: Request) -> dict[bytes, bytes]:
    """The request's raw headers by name, first value winning (as ``Headers.get``), in one pass
    instead of a scan of the list per lookup (and without building a Headers)."""
    return dict(reversed(list(request.scope["headers"])))


def header(fields: Mapping[bytes, bytes], name: bytes) -> str | None:
    value = fields.get(name)
    return None if value is None else value.decode("latin-1")


def request_id() -> str:
    """A random (version 4) UUID as text, as AWS sends in ``x-amzn-requestid``."""
    return str(uuid.uuid4())


class JsonReply(Response):
    """A 200 answer: request id, the reply's own headers, length and type, in the order
    Starlette's init_headers gives them, built directly instead of through its header dict."""

    def __init__(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"x-amzn-requestid", request_id().encode()),
            *[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            (b"content-length", str(len(body)).encode()),
            (b"content-type", _JSON_TYPE),
        ]


def body_too_large(cap: int) -> AwsServiceError:
    return AwsServiceError(
        "RequestEntityTooLargeException", f"The request body exceeds {cap} bytes.", 413
    )


def json_response(doc: Mapping[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(doc).encode(), status, media_type="application/json")


def not_found(message: str) -> Response:
    err = AwsServiceError("ResourceNotFoundException", message, 404)
    return Response(error_body(err), 404, headers=error_headers(err))


async def _fallback(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    err = AwsServiceError("UnknownOperationException", "No such route.", status)
    return Response(error_body(err), status, headers=error_headers(err))


def build_app(service: Service, lifespan: Any = None) -> Starlette:
    """The Starlette app around ``service``."""
    routes: list[BaseRoute] = [
        Route("/", service.post, methods=["POST"]),
        Route("/health", service.health, methods=["GET"]),
        Route("/{pool_id}/.well-known/jwks.json", service.jwks, methods=["GET"]),
        Route("/{pool_id}/.well-known/openid-configuration", service.openid, methods=["GET"]),
    ]
    if service.console is not None:
        routes.append(Mount("/console", app=service.console))
    middleware = []
    if service.config.cors_origins:
        # browser SDKs (Amplify, amazon-cognito-identity-js) preflight every call
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(service.config.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["*"],
                expose_headers=[
                    "x-amzn-requestid",
                    "x-amzn-errortype",
                    "x-devicesrp-server-proof",
                ],
                max_age=600,
            )
        )
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: _fallback, 405: _fallback},
        lifespan=lifespan,
    )
