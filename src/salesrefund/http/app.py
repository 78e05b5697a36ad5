"""The app factory: one FastAPI app over one engine, with errors rendered as problem+json."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from typing import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from .. import __version__
from ..domain.errors import RefundError, Violation, reject
from ..service.books import Books
from ..service import limits, views
from ..store import credentials
from ..service.dispatch import DispatchSettings
from ..service.events import Webhooks
from ..service.refunds import RefundService, Settings
from ..service.uow import Clock, fault_message, note_write_failure, request_commits, recent_write_failure, unavailable_reason, unwritable
from ..store.engine import sqlite_write_problem
from . import apidocs, bench, dialects, metrics, native, native_extra, webhooks
from . import documents as document_routes
from ..service.documents import Documents
from .dialects import common
from .problems import PROBLEM, problem_body, problem_of

log = logging.getLogger("salesrefund")


MAX_BODY_BYTES = 1_048_576
BODY_TIMEOUT_ENV = "SALESREFUND_BODY_TIMEOUT"
DEFAULT_BODY_TIMEOUT = 30.0


def create_app(engine: Engine, *, clock: Clock | None = None, settings: Settings | None = None,
               max_body_bytes: int = MAX_BODY_BYTES, read_engine: Engine | None = None,
               body_timeout: float | None = None, pages: Callable[[FastAPI], None] | None = None) -> FastAPI:
    """``read_engine``: a read replica for the reads that may lag (``Books.LAGGING``); writes and
    read-your-write paths always use ``engine``. ``body_timeout``: seconds a request body may take
    to arrive (default ``SALESREFUND_BODY_TIMEOUT``, 30). ``pages``: mounts the back office page
    (``salesrefund.app.create_app`` passes ``web.install``; ``http`` does not import ``web``)."""
    app = _new_app()
    clock = clock or Clock()
    _attach_services(app, engine, clock, settings, read_engine)
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes, timeout=body_timeout)
    app.add_middleware(RequestIdMiddleware)
    _mount_routes(app, engine, pages)
    return app


def _new_app() -> FastAPI:
    return FastAPI(
        title="salesrefund",
        version=__version__,
        description="Records refunds against sales exactly right: caps that hold under concurrency, "
                    "exact decimal money, a balanced journal entry and stock return for every posted "
                    "refund, exactly-once requests, strict tenant isolation.",
        docs_url=None, redoc_url=None,  # served offline by apidocs.install
    )


def _attach_services(app: FastAPI, engine: Engine, clock: Clock, settings: Settings | None,
                     read_engine: Engine | None) -> None:
    secret = credentials.server_secret(engine, "ids")  # ids shown to tenants (issue 10)
    views.use_key(secret)  # the process's default (what runs outside a request)
    app.state.ids_key = views.key_of(secret) if secret else None  # each request: this app's own
    app.state.engine = engine
    app.state.clock = clock
    app.state.refunds = RefundService(engine, clock, settings)
    app.state.books = Books(engine, clock, read_engine=read_engine)
    app.state.documents = Documents(engine, clock)
    app.state.webhooks = Webhooks(engine, clock, allow_private=DispatchSettings.from_environment().allow_private)


def _mount_routes(app: FastAPI, engine: Engine, pages: Callable[[FastAPI], None] | None) -> None:
    app.include_router(native.router)
    app.include_router(document_routes.router)
    app.include_router(native_extra.router)  # lists, settings, door credentials (issue 12)
    app.include_router(webhooks.router)  # events and webhooks (issue 13)
    for router in dialects.routers():
        app.include_router(router)
    _install_error_handlers(app)
    apidocs.install(app)  # /docs and /redoc offline, the bearer scheme, valid examples
    if pages is not None:
        pages(app)  # the back office page at /app (issue 12)
    metrics.install(app, engine)  # GET /metrics, request counts and the one log line per request (issue 13)
    bench.install(app)  # POST /bench/echo, only with SALESREFUND_BENCH_ECHO=1 (bench/)
    _add_healthz(app, engine)


def _add_healthz(app: FastAPI, engine: Engine) -> None:
    @app.get("/healthz", tags=["operations"])
    def healthz():
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            conn.execute(text("SELECT 1"))
        problem = write_problem(engine)
        if problem is not None:  # reads work, writes answer 503: say so (issue 9, item 14)
            return JSONResponse({"status": "read_only", "version": __version__, "database": engine.dialect.name,
                                 "problem": problem}, status_code=503, headers={"Retry-After": "30"})
        return {"status": "ok", "version": __version__, "database": engine.dialect.name}


def write_problem(engine: Engine) -> str | None:
    """Why this server cannot write its database now, or None: a SQLite file or directory it may not
    write, or a write that failed for want of rights or space in the last minute (any engine)."""
    problem = sqlite_write_problem(str(engine.url)) if engine.dialect.name == "sqlite" else None
    if problem is None and recent_write_failure(engine):
        problem = "a write failed in the last minute because the database cannot be written (read-only or full)"
    return problem


class RequestIdMiddleware:
    """Gives every request an id (``X-Request-ID``, echoed) for the audit record (R20)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = given if given.isprintable() and given else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        # What this request commits (service.uow.fault_message). Not reset afterwards: the 500
        # handler runs outside this middleware (in Starlette's ServerErrorMiddleware), and each
        # request sets its own list here first.
        request_commits.set([])
        key = getattr(scope["app"].state, "ids_key", None) if "app" in scope else None
        if key is not None:
            views.serve_with_key(key)
        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """The edge of every request body (issue 4 and issue 10): bodies over ``limit`` bytes are
    refused with 413 without being read whole (at once when Content-Length says so, else as soon
    as the streamed body passes the limit), and a body that has not fully arrived ``timeout``
    seconds after the request's headers (a client that stalls or dribbles) is refused with 408;
    either is answered in the shape of the door serving the path and closes the connection, and
    the route never runs on a partial body (it sees the client leave), so nothing is recorded."""

    def __init__(self, app, limit: int, timeout: float | None = None):
        self.app = app
        self.limit = limit
        self.timeout = body_timeout() if timeout is None else timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = scope.get("client")
        limits.client_address.set(client[0] if client else None)  # sign-ins are throttled per address
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await self._too_large(scope, send)
        guard = _BodyGuard(self, scope, receive, send)
        await self.app(scope, guard.receive, guard.send)

    async def _too_large(self, scope, send):
        error = reject("payload_too_large", "", "the request body is too large")
        await answer_at_edge(scope, send, error, f"the request body exceeds {self.limit} bytes")


class _BodyGuard:
    """One request's body under ``BodyLimitMiddleware``: counts the bytes, keeps the deadline, and
    once it has refused (413 or 408) answers the app's reads with a disconnect and drops its sends."""

    def __init__(self, limiter: BodyLimitMiddleware, scope, receive, send):
        self.limit, self.timeout = limiter.limit, limiter.timeout
        self.scope, self._receive, self._send = scope, receive, send
        self.received = 0
        self.deadline = asyncio.get_running_loop().time() + self.timeout if self.timeout > 0 else None
        self.started = self.answered = self.complete = False

    async def send(self, message):
        if self.answered:
            return  # the 413 or 408 is already out: whatever the app says next is dropped
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)

    async def refuse(self, error: RefundError, detail: str | None = None):
        if not self.started:
            await answer_at_edge(self.scope, self._send, error, detail)
        self.answered = True
        return {"type": "http.disconnect"}  # the app stops reading: the client "left"

    async def receive(self):
        if self.answered:
            return {"type": "http.disconnect"}
        message = await self._next_message()
        if message is None:
            return await self.refuse(reject("request_timeout", "", "the request body did not arrive in time"),
                                     f"the request body did not arrive within {self.timeout:g} s")
        if message["type"] == "http.request":
            return await self._count(message)
        return message

    async def _next_message(self):
        """The next message, or None when the body's deadline passes first."""
        if self.complete or self.deadline is None:
            return await self._receive()  # after the body: waits for the client to leave
        try:
            async with asyncio.timeout_at(self.deadline):  # no task per receive (Python 3.11)
                return await self._receive()
        except TimeoutError:
            return None

    async def _count(self, message):
        self.received += len(message.get("body", b""))
        self.complete = not message.get("more_body", False)
        if self.received > self.limit:
            return await self.refuse(reject("payload_too_large", "", "the request body is too large"),
                                     f"the request body exceeds {self.limit} bytes")
        return message


def body_timeout() -> float:
    """Seconds a request's body may take to arrive: ``SALESREFUND_BODY_TIMEOUT`` (default 30; 0: no limit)."""
    try:
        return float(os.environ.get(BODY_TIMEOUT_ENV, DEFAULT_BODY_TIMEOUT))
    except ValueError:
        return DEFAULT_BODY_TIMEOUT


async def answer_at_edge(scope, send, error: RefundError, detail: str | None = None) -> None:
    """Answer ``error`` before any route has read the request, and close the connection: in the
    envelope and status of the door serving the path (``dialects.common.answers_errors``), else
    as the native API's problem+json."""
    render = common.renderer_for(scope.get("path", ""))
    if render is not None:
        response = render(Request(scope), error)
    else:
        request_id = scope.get("state", {}).get("request_id")
        violations = [Violation(v.field or "/", v.code, v.message, v.params) for v in error.violations]
        body = problem_body(error.code, error.status, detail or error.first.text(), violations, request_id)
        response = JSONResponse(body, status_code=error.status, media_type=PROBLEM)
    response.headers["Connection"] = "close"
    await response(scope, _drain, send)


async def _drain():
    return {"type": "http.disconnect"}


def _pointer(loc) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
        if where == "header":
            parts = ["headers"] + parts
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _install_error_handlers(app: FastAPI) -> None:
    for kind, handler in ((RefundError, refund_error), (RequestValidationError, validation_error),
                          (StarletteHTTPException, http_error), (DBAPIError, database_error),
                          (Exception, server_error)):
        app.add_exception_handler(kind, handler)


async def refund_error(request: Request, error: RefundError):
    headers = {}
    if getattr(error, "retry_after", None):
        headers["Retry-After"] = str(error.retry_after)
    if error.code == "unauthorized":
        headers["WWW-Authenticate"] = "Bearer"
    body = problem_of(error)
    body["request_id"] = request.state.request_id
    metrics.note(outcome=error.code)
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM, headers=headers)


async def validation_error(request: Request, error: RequestValidationError):
    violations = []
    for item in error.errors():
        kind = item.get("type", "")
        field = "/" if kind == "json_invalid" else _pointer(item.get("loc", ()))
        message = item.get("msg", "invalid")
        if kind == "json_invalid":
            message = f"the request body is not valid JSON ({item.get('ctx', {}).get('error', 'syntax error')})"
        elif kind == "extra_forbidden":
            message = "unknown field; it is not part of this request"
        violations.append(Violation(field, "validation_error", "{detail}", {"detail": message}))
    violations = violations or [Violation("/", "validation_error", "invalid request")]
    metrics.note(outcome="validation_error")
    body = problem_body("validation_error", 422, violations[0].text(), violations, request.state.request_id)
    return JSONResponse(body, status_code=422, media_type=PROBLEM)


async def http_error(request: Request, error: StarletteHTTPException):
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "payload_too_large"}.get(
        error.status_code, "http_error" if error.status_code < 500 else "server_error")
    if error.status_code == 400:
        code = "validation_error"
    body = problem_body(code, error.status_code, str(error.detail), [Violation("/", code, str(error.detail))],
                        request.state.request_id)
    return JSONResponse(body, status_code=error.status_code, media_type=PROBLEM, headers=error.headers)


async def database_error(request: Request, error: DBAPIError):
    """A lost connection (issue 9, item 13) or a database that cannot be written (item 14)
    outside the exactly-once path: 503 with Retry-After, not a 500 claiming what happened."""
    unavailable = unavailable_reason(error)
    if unavailable is None:
        return await server_error(request, error)
    if unwritable(error):
        note_write_failure(request.app.state.engine)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, unavailable)
    body = problem_body("service_unavailable", 503, unavailable,
                        [Violation("/", "service_unavailable", unavailable)], request.state.request_id)
    return JSONResponse(body, status_code=503, media_type=PROBLEM, headers={"Retry-After": "1"})


async def server_error(request: Request, error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    body = problem_body("server_error", 500, fault_message(),
                        [Violation("/", "server_error", "unexpected error")], request.state.request_id)
    return JSONResponse(body, status_code=500, media_type=PROBLEM)
