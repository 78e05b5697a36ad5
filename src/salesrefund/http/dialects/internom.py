"""The Internom / BumanERP door: ``POST /api/internom/refund/sale`` (seed document 000).

A walk-in return without an original sale (an unlinked refund, R10) at the branch named by
``branch_name``, for the customer whose *tax number* is ``customer_id``, of the products whose
*barcode* (ACS code) is ``product_id`` or ``acs_id``. Authenticated by an ordinary tenant bearer
token (permission ``refund:create``). ``reference`` and ``reference_id`` are both natural keys
(R17): an identical replay answers the original response; either one reused with a different
body is an error. Messages follow ``Accept-Language`` (``en`` default, ``mn``).

Translation only: identifiers are mapped with ``service.lookups``, the body becomes the one
``IssueRefund`` command and the engine decides everything. See ``docs/doors/internom.md``.

Every answer is real JSON in Internom's envelope: ``{"status": "success", "data": {...},
"message": "Requestedoperationisvalid"}`` or ``{"status": "error", "message", "errors": [...]}``.
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Request

from ...domain.errors import Invalid, RefundError, Violation
from ...service.idempotency import Response
from ...domain import money
from ...service.results import RefundResult, iso
from ..auth import authorize
from ...service.uow import fault_message
from ..problems import json_text, to_http as _http
from .. import responses as R
from . import common, pipeline
from .common import JsonNumber
from .internom_parse import MAX_LINES, MAX_TEXT, InternomRefund, OrderLine, _bad, parse, resolve  # noqa: F401

log = logging.getLogger("salesrefund.internom")

CHANNEL = "internom"
PATH = "/api/internom/refund/sale"
LANGUAGES = ("en", "mn")  # the first is the default when Accept-Language names neither
PERMISSION = "refund:create"
JSON = "application/json"
SUCCESS_MESSAGE = "Requestedoperationisvalid"  # verbatim from the document

# HTTP status per code: the document only says "error/500"; we answer 4xx for client errors.
STATUS = {
    "validation_error": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "invoice_not_found": 404,
    "customer_not_found": 404,
    "product_not_found": 404,
    "location_not_found": 404,
    "idempotency_key_in_use": 409,
    "duplicate": 409,
    "server_error": 500,
}

router = APIRouter(tags=["internom"])
# Failures answered at the app's edge (a body over the limit: 413, too slow: 408), in this envelope.
common.answers_errors(lambda path: path == PATH, lambda request, error: _http(
    InternomResponder(common.language(request, LANGUAGES)).failure(error)))

_EXAMPLE = {
    "branch_name": "5044251-export",
    "reference": "S/221031/070515",
    "reference_id": "ecom-WKTkw061pzPmw",
    "customer_id": "8218528",
    "order_line": [{"product_id": "9789919517953", "quantity": 1, "price_unit": 14900}],
}
_OPENAPI = {"requestBody": {"required": True, "content": {JSON: {"schema": {
    "type": "object",
    "required": ["branch_name", "reference", "reference_id", "customer_id", "order_line"],
    "properties": {
        "branch_name": {"type": "string", "description": "the branch (location code)"},
        "reference": {"type": "string", "description": "unique per refund (natural key)"},
        "reference_id": {"type": "string", "description": "unique per refund (natural key)"},
        "customer_id": {"type": "string", "description": "the customer's tax number"},
        "order_line": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["quantity", "price_unit"],
            "properties": {
                "product_id": {"type": "string", "description": "the product's barcode (ACS code)"},
                "acs_id": {"type": "string", "description": "the same as product_id"},
                "quantity": {"type": "number"},
                "price_unit": {"type": "number", "description": "unit price in the tenant's currency"}}}},
    }}, "example": _EXAMPLE}}}}


# -- the route ---------------------------------------------------------------------------------------

@router.post(PATH, summary="Internom: a sales refund without an original sale", openapi_extra=_OPENAPI,
             responses=R.INTERNOM_RESPONSES)
async def refund_sale(request: Request):
    """Internom's ``refund/sale``: bearer token, JSON body, answers in Internom's envelope."""
    return await pipeline.run(DOOR, request)


async def _read_json(call: pipeline.Call):
    try:
        data = await pipeline.read_body(call.request, "json")
    except pipeline.BodyError as error:
        message = "the request body is too large" if error.kind == "too_large" else "the request body is not valid JSON"
        raise Invalid(Violation("/", "validation_error", message))
    if not isinstance(data, dict):
        raise Invalid(Violation("/", "validation_error", "the request body must be a JSON object"))
    return data


async def _parse(call: pipeline.Call) -> pipeline.Parsed:
    parsed = parse(call.body)
    call.responder.names = FieldNames(parsed.product_fields)
    command = await common.call(resolve, call.app.state.engine, call.principal.tenant_id, parsed)
    return pipeline.Parsed(command, natural_keys=(("reference", parsed.reference), ("reference_id", parsed.reference_id)),
                           document_numbers=("reference", "reference_id"), echo=call.body)


# -- parsing: the wire format into exact values, door field names in every error ---------------------

_LINE_POINTER = re.compile(r"^/lines/(\d+)(?:/([a-z_]+))?$")
_TOP = {"/customer": "customer_id", "/location": "branch_name", "/lines": "order_line",
        "/headers/Authorization": "Authorization", "/reference": "reference"}
_REQUEST_LEVEL = {"/", "", "/invoice", "/posting_date", "/document_date", "/payments", "/state", "/currency",
                  "/expected", "/pos", "/pos_session"}


class FieldNames:
    """Our JSON pointers (``/lines/0/quantity``) as Internom's field names (``order_line[0].quantity``)."""

    def __init__(self, product_fields: tuple[str, ...] = ()):
        self.product_fields = product_fields

    def __call__(self, field: str | None) -> str | None:
        if field is None or field in _REQUEST_LEVEL:
            return None
        if not field.startswith("/"):
            return field  # already Internom's name (decided by this door)
        if field in _TOP:
            return _TOP[field]
        match = _LINE_POINTER.match(field)
        if match:
            i, part = int(match.group(1)), match.group(2)
            at = f"order_line[{i}]"
            if part in (None, "line"):
                return at
            if part == "product":
                return f"{at}.{self.product_fields[i] if i < len(self.product_fields) else 'product_id'}"
            if part in ("unit_price", "amount"):
                return f"{at}.price_unit"
            if part == "location":
                return "branch_name"
            return f"{at}.{part}"
        if field.startswith("/payments"):
            return None
        return field


class InternomResponder:
    """Renders results and errors in Internom's envelope (stored for replays, R17)."""

    def __init__(self, lang: str, names: FieldNames | None = None):
        self.lang = lang
        self.names = names or FieldNames()

    def success(self, result: RefundResult, status: int, reads=None) -> Response:
        body = {
            "status": "success",
            "data": {
                "status": "success",
                "sale_name": result.number,
                "order_ref": f"{result.reference} (ID: '{result.id}')",
            },
            "message": SUCCESS_MESSAGE,
        }
        return Response(200, JSON, json_text(body))

    def failure(self, error: RefundError) -> Response:
        errors = [{"field": self.names(v.field), "code": v.code, "message": common.text(v, self.lang)}
                  for v in error.violations]
        body = {"status": "error", "message": errors[0]["message"], "errors": errors}
        return Response(STATUS.get(error.code, error.status), JSON, json_text(body))


# -- reading a refund by its reference (issue 13) ------------------------------------------------------

READ_PERMISSION = "refund:read"
_NUM, _OPT = {"type": "number"}, {"type": ["string", "null"]}
READ_RESPONSES = {
    200: R._json("The refund with that reference.", R._object({
        "status": {"const": "success"}, "message": R._TEXT,
        "data": R._object({"status": {"const": "success"}, "sale_name": R._TEXT, "order_ref": R._TEXT,
                           "state": {"enum": ["posted", "voided"]}, "reference": R._TEXT, "reference_id": _OPT,
                           "customer_id": _OPT, "branch_name": _OPT, "order_line": {"type": "array", "items": R._object({
                               "product_id": _OPT, "quantity": _NUM, "price_unit": _NUM, "price_total": _NUM})},
                           "amount_total": _NUM, "posting_date": _OPT})})),
    "4XX": R.INTERNOM_RESPONSES["4XX"],
}


@router.get(PATH, summary="Internom: read a refund by its reference or reference_id",
            responses=READ_RESPONSES, openapi_extra={"parameters": [
                {"name": "reference", "in": "query", "schema": {"type": "string", "maxLength": MAX_TEXT}},
                {"name": "reference_id", "in": "query", "schema": {"type": "string", "maxLength": MAX_TEXT}}]})
async def read_refund(request: Request):
    """The refund a ``refund/sale`` request made, found by either of its natural keys, in the same
    envelope as that request's answer with what was refunded (the document has no read method:
    the shape follows its create answer and request)."""
    async def work(call: pipeline.Call) -> Response:
        principal = await common.call(authorize, request, READ_PERMISSION)
        field, value = _reference_query(request)
        result = await common.call(find_by_reference, request.app, principal.tenant_id, field, value)
        return Response(200, JSON, common.dumps({"status": "success", "data": read_view(result),
                                                 "message": SUCCESS_MESSAGE}))

    return await pipeline.run_read(DOOR, request, work)


def _reference_query(request: Request) -> tuple[str, str]:
    given = [(name, request.query_params.get(name)) for name in ("reference", "reference_id")
             if request.query_params.get(name) is not None]
    if len(given) != 1:
        raise Invalid(Violation("reference", "validation_error", "send exactly one of reference and reference_id"))
    name, value = given[0]
    if not value.strip() or len(value) > MAX_TEXT or "\x00" in value:
        raise Invalid(_bad(name, "{field_name} must be a non-empty string of at most {max} characters", max=MAX_TEXT))
    return name, value


def find_by_reference(app, tenant_id: int, field: str, value: str) -> RefundResult:
    """The Internom refund with that ``reference`` (a column) or ``reference_id`` (kept in its
    metadata); ``not_found`` for anything else, another tenant's too."""
    from ...service import views
    from ...store.queries.internom import refunds_by_reference

    with app.state.refunds.uow(tenant_id, write=False) as uow:
        for row in refunds_by_reference(uow.store, CHANNEL, field, value):
            result = views.refund_result(uow.store, row)
            if field == "reference" or result.metadata.get("reference_id") == value:
                return result
    raise RefundError(Violation(field, "not_found", "there is no refund with {field_name} {value}",
                                {"field_name": field, "value": value}))


def read_view(result: RefundResult) -> dict:
    """Internom's create answer (``sale_name``, ``order_ref``) and its request's fields, as they were sent."""
    metadata, cur = result.metadata, result.currency
    barcodes = metadata.get("barcodes") or []
    return {"status": "success", "sale_name": result.number,
            "order_ref": f"{result.reference} (ID: '{result.id}')", "state": result.state,
            "reference": result.reference, "reference_id": metadata.get("reference_id"),
            "customer_id": metadata.get("customer_tax_number"), "branch_name": result.location,
            "order_line": [{"product_id": barcodes[i] if i < len(barcodes) else line.product,
                            "quantity": JsonNumber(money.format_quantity(line.quantity)),
                            "price_unit": None if line.unit_price is None else JsonNumber(
                                money.format_price(line.unit_price, cur)),
                            "price_total": JsonNumber(money.format_amount(line.gross_minor, cur))}
                           for i, line in enumerate(result.lines)],
            "amount_total": JsonNumber(money.format_amount(result.total_minor, cur)),
            "posting_date": iso(result.posting_date)}


DOOR = pipeline.Door(
    channel=CHANNEL, languages=LANGUAGES, log=log, www_authenticate="Bearer",
    responder=lambda call: InternomResponder(call.lang),
    authenticate=lambda call: authorize(call.request, PERMISSION),
    read=_read_json, parse=_parse,
    fault=lambda call: call.responder.failure(RefundError(Violation("/", "server_error", fault_message()))))
