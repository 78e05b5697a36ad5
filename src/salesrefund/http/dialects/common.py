"""What every door shares: exact JSON writing, language negotiation, the request
context, and running the (synchronous) services off the event loop. Field mapping and rendering stay in each
door's own module."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

from fastapi import Request
from ...store.engine import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response as StarletteResponse

from ...domain.commands import Context
from ...domain.errors import RefundError, Violation, reject
from ... import i18n
from ...service.idempotency import client_key
from ...service.tenants import Principal
from ...service.uow import RETRY_AFTER_SECONDS, UNWRITABLE_RETRY_AFTER_SECONDS, unavailable_reason, unwritable

MAX_BODY_BYTES = 1_000_000


# -- failures answered before a door runs (issue 10) -------------------------------------------------
# The app's edge (``http.app.EdgeMiddleware``) refuses some requests before any route reads them: a
# body over the limit (413), a body that comes too slowly (408). At a door it answers in that door's
# envelope and status, through the renderer the door registers here (one line per door).

Renderer = Callable[[Request, RefundError], StarletteResponse]
_DOOR_RENDERERS: list[tuple[Callable[[str], bool], Renderer]] = []


def answers_errors(matches: Callable[[str], bool], render: Renderer) -> None:
    """Register a door: ``matches(path)`` says whether a request path is the door's, ``render(request,
    error)`` answers a ``RefundError`` in the door's shape (the request's body is never read)."""
    _DOOR_RENDERERS.append((matches, render))


def renderer_for(path: str) -> Renderer | None:
    """The renderer of the door serving ``path``, or None (the native API: problem+json)."""
    return next((render for matches, render in _DOOR_RENDERERS if matches(path)), None)


class JsonNumber(str):
    """A decimal already written exactly (``"120.00"``), emitted as a bare JSON number."""


def dumps(value) -> str:
    """JSON text with decimals written digit for digit as numbers (``Decimal``, ``JsonNumber``),
    never through a float, and dates as ISO strings. A binary float is a bug (R1) and is refused."""
    if isinstance(value, JsonNumber):
        return str.__str__(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return json.dumps(value.isoformat())
    if isinstance(value, float):
        raise TypeError("binary floats never reach a door's response")
    return json.dumps(value, ensure_ascii=False)


def language(request: Request, supported: tuple[str, ...]) -> str:
    """The caller's language among ``supported`` (the first is the default)."""
    return i18n.negotiate(request.headers.get("accept-language"), supported)


def text(violation: Violation, lang: str) -> str:
    return i18n.message(violation, lang)


def context(request: Request, principal: Principal, channel: str, *, body=None,
            natural_keys: tuple[tuple[str, str], ...] = (), idempotency_key: str | None = None,
            document_numbers: tuple[str, ...] = ()) -> Context:
    """The request context for a door; ``natural_keys`` are (door field, key) pairs, namespaced
    here by the door so two doors' references never collide; a client's ``idempotency_key``
    (Vodo's header) is kept out of those namespaces (``idempotency.client_key``). ``document_numbers`` names the
    fields among them that are the client's own document numbers: unique in the tenant forever."""
    return Context(tenant_id=principal.tenant_id, channel=channel, credential_id=principal.credential_id,
                   request_id=request.state.request_id, request=body, idempotency_key=client_key(idempotency_key),
                   natural_keys=tuple((field, f"{channel}:{field}:{key}") for field, key in natural_keys),
                   document_numbers=tuple((field, key) for field, key in natural_keys if field in document_numbers))


async def call(function, *args, **kwargs):
    """Run a synchronous service call in the thread pool. A database that cannot serve the call (a
    lost connection, a database that cannot be written: issue 9, items 13 and 14) becomes
    ``service_unavailable`` (503 with Retry-After), which every door answers in its own shape."""
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except DBAPIError as error:
        reason = unavailable_reason(error)
        if reason is None:
            raise
        unavailable = reject("service_unavailable", "/", reason)
        unavailable.retry_after = UNWRITABLE_RETRY_AFTER_SECONDS if unwritable(error) else RETRY_AFTER_SECONDS
        raise unavailable from error


def bad(field: str, message: str, **params) -> Violation:
    """A ``validation_error`` naming ``field`` as the door names it."""
    return Violation(field, "validation_error", message, {"field_name": field, **params})


def text_field(body: dict, name: str, problems: list[Violation], *, limit: int, required: bool = True,
               at: str | None = None) -> str | None:
    """``body[name]`` when it is a non-blank string of at most ``limit`` characters; else None, with
    the reason added to ``problems`` (a missing or blank one only when ``required``)."""
    at = at or name
    value = body.get(name)
    if value is None:
        if required:
            problems.append(bad(at, "{field_name} is required"))
    elif not isinstance(value, str):
        problems.append(bad(at, "{field_name} must be a string"))
    elif not value.strip():
        if required:
            problems.append(bad(at, "{field_name} must not be empty"))
    elif len(value) > limit:
        problems.append(bad(at, "{field_name} has more than {max} characters", max=limit))
    else:
        return value
    return None
