"""The Vodo ERP door: ``POST /api/v4/credit_note/pos/{invoice_id}`` (seed document 001).

A credit note against the POS invoice in the path, sent as ``multipart/form-data`` (or
``application/x-www-form-urlencoded``) with parallel ``item_*[]`` arrays, authenticated by the
headers ``secure-business-key`` + ``userToken`` (the door credential), ``apikey`` and
``platform-key`` (which must match the credential's settings) and ``platform``; messages follow
``Accept-Language`` (``en``, ``ar``). Translation only: the form is parsed by its field table
(``LINE_FIELDS``, ``FORM_FIELDS``) into the one ``IssueRefund`` command (the discount arithmetic is
``domain.discounts``) and the engine decides everything; see ``docs/doors/vodo.md``.

Every response is Vodo's envelope ``{"status", "message", "data", "errors"}``; a credit note is
rendered (``vodo_render``) from the refund's result with its invoice as it stands (``RefundReads``).
"""

from __future__ import annotations

import codecs
import hmac
import logging
import urllib.parse

from fastapi import APIRouter, Request
from starlette.responses import Response as StarletteResponse

from ...domain.errors import Invalid, RefundError, Violation, reject
from ...service import doors
from ...service.idempotency import MAX_KEY_LENGTH
from ...service.uow import fault_message
from ...service.reads import RefundReads
from .. import responses as R
from ..problems import to_http as _http
from . import common, vodo_form
from .vodo_form import ARRAYS, FORM_FIELDS, SCALARS, Form, collect
from .vodo_render import VodoResponder, credit_note as render_note

log = logging.getLogger("salesrefund.vodo")

CHANNEL = "vodo"
LANGUAGES = ("en", "ar")  # the first is the default when Accept-Language names neither
PATH = "/api/v4/credit_note/pos"
AUTH_HEADERS = ("secure-business-key", "userToken", "apikey", "platform-key", "platform")

router = APIRouter(tags=["vodo"])
# Failures answered at the app's edge (a body over the limit: 413, too slow: 408), in this envelope.
common.answers_errors(lambda path: path.startswith(PATH), lambda request, error: _http(
    VodoResponder(common.language(request, LANGUAGES)).failure(error)))

# -- the routes -----------------------------------------------------------------------------------

def _openapi() -> dict:
    """The form and headers for /docs (the route reads the request itself, in Vodo's shapes)."""
    text = {"type": "string"}
    array = {"type": "array", "items": text}
    required = [f.name for f in FORM_FIELDS if f.rule != "optional"]
    form = {"type": "object", "required": [f"{name}[]" for name in ARRAYS] + required,
            "properties": {**{f"{name}[]": array for name in ARRAYS}, **{name: text for name in SCALARS}},
            "additionalProperties": False,  # any other field is refused, naming it
            "description": "Each item array may also be sent as name[0], name[1], ... (as PHP clients do)."}
    headers = [{"name": name, "in": "header", "required": True, "schema": text} for name in AUTH_HEADERS]
    headers += [{"name": "Accept-Language", "in": "header", "schema": {"type": "string", "enum": list(LANGUAGES)}},
                {"name": "Idempotency-Key", "in": "header", "schema": text}]
    return {"parameters": headers,
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": form},
                                                          "application/x-www-form-urlencoded": {"schema": form}}}}


@router.post(PATH + "/{invoice_id}", summary="Vodo: a credit note against a POS invoice",
             openapi_extra=_openapi(), responses=R.VODO_RESPONSES)
async def credit_note(request: Request, invoice_id: str):
    """Vodo ERP's ``refund_invoice``: multipart/form-data (or urlencoded) with ``item_*[]`` arrays."""
    return await _handle(request, invoice_id)


@router.post(PATH + "/", include_in_schema=False)
@router.post(PATH, include_in_schema=False)
async def credit_note_without_invoice(request: Request):
    """The document's own curl example forgets the invoice id: answer in Vodo's shape."""
    return await _handle(request, None)


async def _handle(request: Request, invoice_id: str | None) -> StarletteResponse:
    lang = common.language(request, LANGUAGES)
    responder = VodoResponder(lang)
    try:
        door = await common.call(_authenticate, request)
        if invoice_id is None:
            raise Invalid(Violation("invoice_id", "validation_error",
                                    "the invoice id is missing from the path: send "
                                    "POST /api/v4/credit_note/pos/{{invoice_id}}"))
        _check_invoice_id(invoice_id)
        form = await _read_form(request)
        command, layout = vodo_form.command(form, invoice_id, door.settings, door.principal.currency)
        responder = VodoResponder(lang, layout)
        ctx = common.context(request, door.principal, CHANNEL, body={"invoice_id": invoice_id, **form.echo},
                             idempotency_key=_idempotency_key(request))
        response = await common.call(request.app.state.refunds.issue, ctx, command, responder)
    except RefundError as error:
        response = responder.failure(error)
        retry = getattr(error, "retry_after", None)
        if retry:
            return _http(response, {"Retry-After": str(retry)})
    except Exception:  # a real fault: nothing was recorded (the transaction rolled back)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = responder.failure(RefundError(Violation(
            "", "server_error", fault_message())), status=500)
    return _http(response)


def _check_invoice_id(invoice_id: str) -> None:
    if "\x00" in invoice_id:  # %00 in the path: PostgreSQL text cannot hold it
        raise Invalid(Violation("invoice_id", "validation_error", "{field_name} must not contain the NUL character",
                                {"field_name": "invoice_id"}))


# -- authentication -------------------------------------------------------------------------------

def _authenticate(request: Request, permission: str = "refund:create") -> doors.DoorPrincipal:
    """The five Vodo headers: ``secure-business-key`` + ``userToken`` name a door credential whose
    settings hold the ``apikey`` and ``platform-key``; ``platform`` must be present."""
    headers = request.headers
    for name in AUTH_HEADERS:
        if not headers.get(name, "").strip():
            raise reject("unauthorized", name, "the {header} header is required", header=name)
    engine, clock = request.app.state.engine, request.app.state.clock
    door = doors.authenticate_door(engine, CHANNEL, headers["secure-business-key"], headers["userToken"], clock)
    if door is None or not _same(headers["apikey"], door.settings.get("apikey")) \
            or not _same(headers["platform-key"], door.settings.get("platform_key")):
        raise reject("unauthorized", "secure-business-key",
                     "the secure-business-key, userToken, apikey and platform-key do not match an "
                     "active credential")
    if permission == "refund:create" and not door.principal.may(permission):
        raise reject("forbidden", "secure-business-key", "this credential may not create credit notes")
    if not door.principal.may(permission):
        raise reject("forbidden", "secure-business-key", "this credential lacks the {permission} permission",
                     permission=permission)
    return door


def _same(given: str, expected) -> bool:
    return isinstance(expected, str) and hmac.compare_digest(given.encode(), expected.encode())


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key.strip():
        raise Invalid(Violation("Idempotency-Key", "validation_error", "the Idempotency-Key is empty"))
    if len(key) > MAX_KEY_LENGTH:
        raise Invalid(Violation("Idempotency-Key", "validation_error",
                                "the Idempotency-Key has more than {max} characters", {"max": MAX_KEY_LENGTH}))
    return key


# -- reading the form -----------------------------------------------------------------------------

async def _read_form(request: Request) -> Form:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise Invalid(Violation("Content-Type", "validation_error",
                                "the body must be multipart/form-data or application/x-www-form-urlencoded"))
    body = await request.body()
    if len(body) > common.MAX_BODY_BYTES:
        raise Invalid(Violation("", "validation_error", "the request body is too large"))
    _require_utf8(request.headers.get("content-type", ""), kind, body)
    try:
        form = await request.form(max_files=20, max_fields=5000)
    except Exception:  # python-multipart's parse errors (and starlette's 400 for them)
        raise Invalid(Violation("", "validation_error", "the request body is not valid {kind}", {"kind": kind}))
    try:
        return collect(list(form.multi_items()))
    finally:
        await form.close()


def _require_utf8(content_type: str, kind: str, body: bytes) -> None:
    """Text is UTF-8 and only UTF-8 (issue 9, item 9): a ``charset`` parameter naming anything else
    is refused (``utf-7`` turned ``+2AA-`` into a lone surrogate that was then stored), and so are
    bytes that are not UTF-8 (they were read as Latin-1). Vodo's PHP clients send UTF-8."""
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
    if kind == "application/x-www-form-urlencoded":
        raw = b"".join(urllib.parse.unquote_to_bytes(part.replace(b"+", b" ")) + b"&"
                       for part in body.split(b"&"))
    else:
        raw = body
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(Violation("Content-Type", "validation_error", "the body must be UTF-8 text"))


# -- the credit notes of an invoice (issue 13) ------------------------------------------------------
# GET on the create route's path lists every credit note (refund) of the invoice, oldest first, each
# as the create answer shows it: the note, its items and the invoice as it stands now.

LIST_MESSAGE = "The credit notes of the invoice"


@router.get(PATH + "/{invoice_id}", summary="Vodo: the credit notes of a POS invoice",
            openapi_extra={"parameters": [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                                          for name in AUTH_HEADERS]}, responses=R.VODO_LIST_RESPONSES)
async def credit_notes_of_invoice(request: Request, invoice_id: str):
    responder = VodoResponder(common.language(request, LANGUAGES))
    try:
        door = await common.call(_authenticate, request, "refund:read")
        _check_invoice_id(invoice_id)
        notes = await common.call(_credit_notes, request.app, door.principal.tenant_id, invoice_id, responder.lang)
    except RefundError as error:  # an invoice this tenant does not have is not found (404) on a read
        response = responder.failure(error, status=404 if error.code == "invoice_not_found" else None)
        retry = getattr(error, "retry_after", None)
        return _http(response, {"Retry-After": str(retry)} if retry else None)
    return _http(responder.answer(LIST_MESSAGE, notes))


def _credit_notes(app, tenant_id: int, invoice_id: str, lang: str) -> list[dict]:
    """The invoice's refunds as Vodo credit notes; ``invoice_not_found`` for an invoice this tenant
    does not have (another tenant's included)."""
    with app.state.refunds.uow(tenant_id, write=False) as uow:
        reads = RefundReads(uow.store)
        standing = reads.invoice_standing(invoice_id)
        if standing is None:
            raise reject("invoice_not_found", "/invoice", "invoice {invoice} does not exist", invoice=invoice_id)
        return [render_note(result, standing, lang) for result in reads.credit_notes(invoice_id)]
