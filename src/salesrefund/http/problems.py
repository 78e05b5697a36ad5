"""RFC 9457 problem+json for the native API, and exact-decimal JSON decoding (R1)."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response as StarletteResponse

from ..domain.errors import TITLES, Invalid, RefundError, Violation
from ..domain.text import SURROGATE, has_lone_surrogate, lone_surrogate_at, pointer_escape  # noqa: F401 (re-exported)
from ..service.idempotency import Response
from .auth import authorize
from .native_render import native_body

PROBLEM = "application/problem+json"


MAX_JSON_DEPTH = 32


def loads_exact(body: bytes | str):
    """JSON with every non-integer number as an exact ``Decimal`` (never a float). The non-JSON
    literals NaN and Infinity become non-finite Decimals, which ``domain.money`` refuses naming the
    field (and which no other field type accepts). Nesting deeper than ``MAX_JSON_DEPTH`` is refused
    before parsing (no request of ours nests deeper than a few levels). A string holding the NUL
    character (``\\u0000``) is refused too: PostgreSQL text cannot hold it (a query with it fails),
    and no field of any door needs it. A key given twice in one object is refused naming it
    (``Invalid``, see ``refuse_duplicate_keys``)."""
    _check_depth(body)
    duplicated: list[_Duplicated] = []

    def object_of(pairs: list) -> dict:
        obj = dict(pairs)
        if len(obj) != len(pairs):  # a key given twice: kept aside, refused naming it below
            seen: set = set()
            key = next(k for k, _ in pairs if k in seen or seen.add(k))
            obj = _Duplicated(obj, key)
            duplicated.append(obj)
        return obj

    value = json.loads(body, parse_float=Decimal, parse_constant=Decimal, object_pairs_hook=object_of)
    if (b"\\u0000" if isinstance(body, (bytes, bytearray)) else "\\u0000") in body and holds_nul(value):
        raise json.JSONDecodeError("a string holds the NUL character (\\u0000)", "", 0)
    if _may_hold_surrogates(body):
        refuse_lone_surrogates(value)
    if duplicated:
        refuse_duplicate_keys(value)
    return value


# -- an object with a key given twice (issue 10) ---------------------------------------------------

DUPLICATE_KEY_MESSAGE = "the key {key} is given more than once in this object"


class _Duplicated(dict):
    """A decoded JSON object in which ``duplicate`` was given twice (``json`` would keep the last)."""

    def __init__(self, items: dict, duplicate: str):
        super().__init__(items)
        self.duplicate = duplicate


def refuse_duplicate_keys(value, pointer: str = "") -> None:
    """``Invalid`` (422 validation_error, in whichever door's shape) naming the first key given
    twice in an object (``/lines/0/quantity``): which of the two values was meant cannot be known,
    and two parsers of the same body could disagree on it."""
    stack = [(value, pointer)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _Duplicated):
            key = item.duplicate
            raise Invalid(Violation(f"{where}/{_escape(key)}", "validation_error", DUPLICATE_KEY_MESSAGE, {"key": key}))
        if isinstance(item, dict):
            stack.extend((child, f"{where}/{_escape(str(key))}") for key, child in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((child, f"{where}/{i}") for i, child in reversed(list(enumerate(item))))


# -- text that cannot be stored or sent: lone UTF-16 surrogates (issue 9, item 9) ----------------

_SURROGATE = SURROGATE
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
SURROGATE_MESSAGE = "the text holds a lone UTF-16 surrogate (half of a character); it must be valid Unicode"


def _may_hold_surrogates(body: bytes | str) -> bool:
    """A cheap test before the walk: only a ``\\uD800``-``\\uDFFF`` escape (or, in bytes, the
    UTF-8-like form ``json`` lets through with ``surrogatepass``, or a UTF-16/32 body) can decode
    to a lone surrogate."""
    if isinstance(body, (bytes, bytearray)):
        return bool(_SURROGATE_ESCAPE_BYTES.search(body)) or json.detect_encoding(body) != "utf-8"
    return bool(_SURROGATE_ESCAPE.search(body) or _SURROGATE.search(body))


def refuse_lone_surrogates(value, pointer: str = "") -> None:
    """``Invalid`` (422 validation_error, in whichever door's shape) naming the first field whose
    text holds a lone surrogate: it could be neither stored faithfully nor sent back as UTF-8."""
    where = lone_surrogate_at(value, pointer)
    if where is not None:
        raise Invalid(Violation(where, "validation_error", SURROGATE_MESSAGE))


_escape = pointer_escape


def holds_nul(value) -> bool:
    """Whether a decoded document (dicts, lists, strings) holds U+0000 in a key or a string."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _check_depth(body: bytes | str) -> None:
    """Refuse deep nesting with a linear scan (strings skipped), so the parser never recurses far."""
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else body
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise json.JSONDecodeError(f"nesting deeper than {MAX_JSON_DEPTH} levels", text[:50], 0)
        elif char in "]}":
            depth -= 1


class ExactJSONRequest(Request):
    async def json(self):
        if not hasattr(self, "_json"):
            self._json = loads_exact(await self.body())
        return self._json


REPEATED_MESSAGE = "is given more than once; it takes one value"


def refuse_repeated(query, names: frozenset[str]) -> None:
    """``Invalid`` naming the first of ``names`` (the operation's query parameters, each of one
    value) that the query string gives twice: FastAPI would keep the last value and drop the rest
    without a word (``?from=2026-01-01&from=2026-02-01``, found by the contract fuzzer)."""
    seen = set()
    for name, _ in query.multi_items():
        if name in names and name in seen:
            raise Invalid(Violation(f"/{pointer_escape(name)}", "validation_error", f"{name} {REPEATED_MESSAGE}"))
        seen.add(name)


def _query_names(dependant):
    yield from (param.alias for param in dependant.query_params)
    for dependency in dependant.dependencies:
        yield from _query_names(dependency)


class ExactJSONRoute(APIRoute):
    """A route whose JSON body is decoded with ``loads_exact``, whose caller is authenticated and
    authorized before the body is read (401 and 403 precede validation errors, R18), and whose
    query parameters each take one value (none of them is a list)."""

    def get_route_handler(self):
        handler = super().get_route_handler()
        permission = next((getattr(d.call, "permission") for d in self.dependant.dependencies
                           if hasattr(d.call, "permission")), None)
        single = frozenset(_query_names(self.dependant))

        async def exact_handler(request: Request):
            request = ExactJSONRequest(request.scope, request.receive)
            if permission is not None:
                await run_in_threadpool(authorize, request, permission)
            if single and request.scope["query_string"]:
                refuse_repeated(request.query_params, single)
            if request.method in ("POST", "PUT", "PATCH"):
                try:  # a lone surrogate is refused naming its field; other faults are FastAPI's to report
                    await request.json()
                except Invalid:
                    raise
                except Exception:
                    pass
            return await handler(request)

        return exact_handler


def problem_body(code: str, status: int, detail: str, violations: list[Violation],
                 request_id: str | None = None) -> dict:
    body = {
        "type": f"/problems/{code}",
        "title": TITLES.get(code, code.replace("_", " ").capitalize()),
        "status": status,
        "detail": detail,
        "code": code,
        "errors": [{"field": v.field, "code": v.code, "message": v.text()} for v in violations],
    }
    if request_id:
        body["request_id"] = request_id
    return body


def problem_of(error: RefundError) -> dict:
    return problem_body(error.code, error.status, error.first.text(), error.violations)


def json_text(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class NativeResponder:
    """Renders native results (JSON) and errors (problem+json); stored for replays (R17)."""

    def success(self, result, status: int, reads=None) -> Response:
        return Response(status, "application/json", json_text(native_body(result)))

    def failure(self, error: RefundError) -> Response:
        return Response(error.status, PROBLEM, json_text(problem_of(error)))


def to_http(response: Response, headers: dict | None = None) -> StarletteResponse:
    """A rendered (possibly replayed) response as sent, with ``Idempotent-Replayed`` on replays."""
    headers = dict(headers or {})
    if response.replayed:
        headers["Idempotent-Replayed"] = "true"
    return StarletteResponse(response.body, status_code=response.status, media_type=response.content_type,
                             headers=headers)
