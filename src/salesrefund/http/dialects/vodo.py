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

import dataclasses
import hmac
import logging

from fastapi import APIRouter, Request
from starlette.responses import Response as StarletteResponse

from ...domain.errors import Invalid, RefundError, Violation, reject
from ...service import doors
from ...service.idempotency import MAX_KEY_LENGTH
from ...service.uow import fault_message
from ...service.reads import RefundReads
from .. import responses as R
from ..problems import to_http as _http
from . import common, pipeline, vodo_form
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
    return await pipeline.run(DOOR, request, invoice_id=invoice_id)


async def _read(call: pipeline.Call) -> Form:
    invoice_id = call.params["invoice_id"]
    if invoice_id is None:
        raise Invalid(Violation("invoice_id", "validation_error",
                                "the invoice id is missing from the path: send "
                                "POST /api/v4/credit_note/pos/{{invoice_id}}"))
    _check_invoice_id(invoice_id)
    return await _read_form(call.request)


async def _parse(call: pipeline.Call) -> pipeline.Parsed:
    form, invoice_id, door = call.body, call.params["invoice_id"], call.principal
    command, layout = vodo_form.command(form, invoice_id, door.settings, door.principal.currency)
    call.responder = VodoResponder(call.lang, layout)
    return pipeline.Parsed(command, echo={"invoice_id": invoice_id, **form.echo},
                           idempotency_key=_idempotency_key(call.request))


def _fault(call: pipeline.Call):
    return call.responder.failure(RefundError(Violation("", "server_error", fault_message())), status=500)


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
    """The form (multipart or urlencoded, UTF-8 only) read by the shared strict reader, in Vodo's words."""
    try:
        return collect(await pipeline.read_form(request))
    except pipeline.BodyError as error:
        if error.kind == "content_type":
            raise Invalid(Violation("Content-Type", "validation_error",
                                    "the body must be multipart/form-data or application/x-www-form-urlencoded"))
        if error.kind == "too_large":
            raise Invalid(Violation("", "validation_error", "the request body is too large"))
        raise Invalid(Violation("", "validation_error", "the request body is not valid {kind}", {"kind": error.detail}))


# -- the credit notes of an invoice (issue 13) ------------------------------------------------------
# GET on the create route's path lists every credit note (refund) of the invoice, oldest first, each
# as the create answer shows it: the note, its items and the invoice as it stands now.

LIST_MESSAGE = "The credit notes of the invoice"


@router.get(PATH + "/{invoice_id}", summary="Vodo: the credit notes of a POS invoice",
            openapi_extra={"parameters": [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                                          for name in AUTH_HEADERS]}, responses=R.VODO_LIST_RESPONSES)
async def credit_notes_of_invoice(request: Request, invoice_id: str):
    async def work(call: pipeline.Call):
        door = await common.call(_authenticate, request, "refund:read")
        _check_invoice_id(invoice_id)
        notes = await common.call(_credit_notes, request.app, door.principal.tenant_id, invoice_id, call.lang)
        return call.responder.answer(LIST_MESSAGE, notes)

    return await pipeline.run_read(READ_DOOR, request, work)


def _credit_notes(app, tenant_id: int, invoice_id: str, lang: str) -> list[dict]:
    """The invoice's refunds as Vodo credit notes; ``invoice_not_found`` for an invoice this tenant
    does not have (another tenant's included)."""
    with app.state.refunds.uow(tenant_id, write=False) as uow:
        reads = RefundReads(uow.store)
        standing = reads.invoice_standing(invoice_id)
        if standing is None:
            raise reject("invoice_not_found", "/invoice", "invoice {invoice} does not exist", invoice=invoice_id)
        return [render_note(result, standing, lang) for result in reads.credit_notes(invoice_id)]


DOOR = pipeline.Door(
    channel=CHANNEL, languages=LANGUAGES, log=log, responder=lambda call: VodoResponder(call.lang),
    authenticate=lambda call: _authenticate(call.request), read=_read, parse=_parse, fault=_fault)

# Reading: an invoice this tenant does not have is not found (404) on a read.
READ_DOOR = dataclasses.replace(DOOR, failure=lambda call, error: call.responder.failure(
    error, status=404 if error.code == "invoice_not_found" else None))
