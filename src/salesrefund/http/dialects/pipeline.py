"""One pipeline for every door (issue 10: "a door is a table, run by one pipeline").

A door declares, in a frozen ``Door``, what differs: its channel and languages, how it
authenticates (a synchronous function run in the thread pool), its wire format (read by the one
strict body reader below), how it parses the body into the command with its natural keys, its
responder (how it renders success and error), its extra error headers and how a rendered
``Response`` becomes the HTTP response. ``run`` does the rest, the same for every door: negotiate
the language, authenticate, read, parse, build the context, issue the refund, answer a
``RefundError`` in the door's shape (with ``Retry-After`` / ``WWW-Authenticate``), answer an
unexpected exception with a 500 in the door's shape (logged), mark replays ``Idempotent-Replayed``.
``run_read`` gives a door's other routes the same error and fault handling.
"""

from __future__ import annotations

import codecs
import logging
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from fastapi import Request
from starlette.responses import Response as StarletteResponse

from ...domain.commands import Context
from ...domain.errors import Invalid, RefundError, Violation
from ...service.idempotency import Response
from ...service.uow import fault_message
from ..problems import holds_nul, loads_exact, refuse_lone_surrogates, to_http
from . import common, jsv

MAX_BODY_BYTES = common.MAX_BODY_BYTES
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


# -- the one strict body reader ---------------------------------------------------------------------

class BodyError(ValueError):
    """The body cannot be read in the wire format: ``kind`` is ``too_large``, ``json``, ``jsv``,
    ``content_type`` or ``form``; ``detail`` says why. Each door words it in its own shape."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(detail or kind)
        self.kind, self.detail = kind, detail


async def raw_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body's bytes, refused (``too_large``) over ``limit`` (a declared length over it before any
    byte is read; the app's edge already refuses a longer body as it streams in, ``http.app``). The
    bytes are kept on the request, so ``request.form()`` can still parse them."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise BodyError("too_large", "the request body is too large")
    body = await request.body()
    if len(body) > limit:
        raise BodyError("too_large", "the request body is too large")
    return body


def decode_json(raw: bytes):
    """Exact decimals, duplicate keys, NUL and lone surrogates refused (``problems.loads_exact``:
    the last two as ``Invalid`` naming the field)."""
    try:
        return loads_exact(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise BodyError("json", str(error) or type(error).__name__)


def decode_jsv(raw: bytes):
    """ServiceStack's JSV (strings), with the same refusals as JSON."""
    try:
        value = jsv.decode(raw)
    except jsv.JsvError as error:
        raise BodyError("jsv", str(error))
    if holds_nul(value):  # as loads_exact refuses it in JSON: PostgreSQL text cannot hold it
        raise BodyError("jsv", "a value holds the NUL character (U+0000)")
    refuse_lone_surrogates(value)
    return value


async def read_form(request: Request) -> list[tuple[str, Any]]:
    """A urlencoded or multipart form as its (name, value) pairs, in UTF-8 only."""
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind not in FORM_TYPES:
        raise BodyError("content_type", "the body must be multipart/form-data or application/x-www-form-urlencoded")
    body = await raw_body(request)
    require_utf8(content_type, kind, body)
    try:
        form = await request.form(max_files=20, max_fields=5000)
    except Exception:  # python-multipart's parse errors (and starlette's 400 for them)
        raise BodyError("form", kind)
    try:
        return list(form.multi_items())
    finally:
        await form.close()


def require_utf8(content_type: str, kind: str, body: bytes) -> None:
    """Text is UTF-8 and only UTF-8 (issue 9, item 9): a ``charset`` parameter naming anything else
    is refused (``utf-7`` turned ``+2AA-`` into a lone surrogate that was then stored), and so are
    bytes that are not UTF-8 (they were read as Latin-1)."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
            try:
                utf8 = codecs.lookup(charset).name == "utf-8"
            except LookupError:
                utf8 = False
            if not utf8:
                raise Invalid(Violation("Content-Type", "validation_error",
                                        "the body must be UTF-8; charset {charset} is not accepted",
                                        {"charset": charset[:40]}))
    raw = body
    if kind == "application/x-www-form-urlencoded":
        raw = b"".join(urllib.parse.unquote_to_bytes(part.replace(b"+", b" ")) + b"&" for part in body.split(b"&"))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(Violation("Content-Type", "validation_error", "the body must be UTF-8 text"))


async def read_body(request: Request, wire: str):
    """The body in ``wire`` (``json``, ``jsv`` or ``form``); ``BodyError`` when it is not."""
    if wire == "form":
        return await read_form(request)
    raw = await raw_body(request)
    return decode_jsv(raw) if wire == "jsv" else decode_json(raw)


# -- a door, and one request through it -------------------------------------------------------------

@dataclass
class Call:
    """One request through a door: what the steps learn, in order."""
    door: "Door"
    request: Request
    params: dict
    lang: str
    responder: Any = None
    principal: Any = None  # what the door's ``authenticate`` returned
    body: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def app(self):
        return self.request.app


@dataclass(frozen=True)
class Parsed:
    """What a door's parser makes of a body: the command and the context's parts. ``answer``, when
    set, is the answer already (no refund is issued); ``finish`` reshapes a successful answer."""
    command: Any = None
    natural_keys: tuple[tuple[str, str], ...] = ()
    document_numbers: tuple[str, ...] = ()
    idempotency_key: str | None = None
    echo: Any = None
    answer: Response | None = None
    finish: Callable[[Response], Response] | None = None


def _issue(call: Call, ctx: Context, command) -> Response:
    return call.app.state.refunds.issue(ctx, command, call.responder)


def _fault(call: Call) -> Response:
    return call.door.failure(call, RefundError(Violation("", "server_error", fault_message())))


def _failure(call: Call, error: RefundError) -> Response:
    return call.responder.failure(error)


def _send(call: Call, response: Response, headers: dict[str, str]) -> StarletteResponse:
    return to_http(response, headers)


@dataclass(frozen=True)
class Door:
    """A door as a table. ``authenticate(call)`` runs in the thread pool (after the body is read when
    ``body_first``: the credentials are in it); ``read(call)`` reads the body (usually
    ``read_body`` in the door's wire format, its errors worded by the door); ``parse(call)`` (async)
    makes a ``Parsed``; ``issue(call, ctx, command)`` runs in the thread pool."""
    channel: str
    languages: tuple[str, ...]
    log: logging.Logger
    responder: Callable[[Call], Any]
    authenticate: Callable[[Call], Any]
    read: Callable[[Call], Awaitable[Any]]
    parse: Callable[[Call], Awaitable[Parsed]]
    issue: Callable[[Call, Context, Any], Response] = _issue
    failure: Callable[[Call, RefundError], Response] = _failure
    fault: Callable[[Call], Response] = _fault
    send: Callable[[Call, Response, dict], StarletteResponse] = _send
    www_authenticate: str | None = None  # the challenge sent with ``unauthorized``
    body_first: bool = False
    known_faults: tuple[tuple[type, Callable[[Call, Exception], Response]], ...] = ()

    def start(self, request: Request, params: dict) -> Call:
        call = Call(self, request, params, common.language(request, self.languages))
        call.responder = self.responder(call)
        return call


async def run(door: Door, request: Request, **path_params) -> StarletteResponse:
    """A refund-creating request through ``door``, start to answer."""
    return await run_read(door, request, _create, **path_params)


async def _create(call: Call) -> Response:
    door, request = call.door, call.request
    if door.body_first:
        call.body = await door.read(call)
    call.principal = await common.call(door.authenticate, call)
    if not door.body_first:
        call.body = await door.read(call)
    parsed = await door.parse(call)
    if parsed.answer is not None:
        return parsed.answer
    ctx = common.context(request, _principal(call.principal), door.channel, body=parsed.echo,
                         natural_keys=parsed.natural_keys, document_numbers=parsed.document_numbers,
                         idempotency_key=parsed.idempotency_key)
    response = await common.call(door.issue, call, ctx, parsed.command)
    return parsed.finish(response) if parsed.finish else response


def _principal(authenticated):
    """A door credential (``DoorPrincipal``) carries its principal; a bearer token is one."""
    return getattr(authenticated, "principal", authenticated)


async def run_read(door: Door, request: Request, work: Callable[[Call], Awaitable[Any]],
                   **path_params) -> StarletteResponse:
    """``work(call)`` with the door's error handling: its answer (a rendered ``Response``, or an HTTP
    response sent as is), a ``RefundError`` in the door's shape with its headers, a fault as 500."""
    call = door.start(request, path_params)
    headers: dict[str, str] = {}
    try:  # sending the answer is inside: a fault there (after the commit) is answered too
        response = await work(call)
        return response if isinstance(response, StarletteResponse) else door.send(call, response, {})
    except RefundError as error:
        response = door.failure(call, error)
        headers = error_headers(door, error)
    except Exception as error:  # a real fault: answered in the door's shape, nothing was recorded
        response = _faulted(call, error)
    return door.send(call, response, headers)


def error_headers(door: Door, error: RefundError) -> dict[str, str]:
    headers = {}
    if error.code == "unauthorized" and door.www_authenticate:
        headers["WWW-Authenticate"] = door.www_authenticate
    if getattr(error, "retry_after", None):
        headers["Retry-After"] = str(error.retry_after)
    return headers


def _faulted(call: Call, error: Exception) -> Response:
    for kind, answer in call.door.known_faults:
        if isinstance(error, kind):
            return answer(call, error)
    call.door.log.exception("unhandled error on %s %s", call.request.method, call.request.url.path)
    return call.door.fault(call)
