"""The SnR2U door (seed document 004): ``POST /CustomerRefundNotes/simple``, ServiceStack style.

A Malaysian refund note against an invoice. The body is ``{"CustomerRefundNote": {"DocumentHeader":
{...}, "DocumentDetails": [...], "DocumentPaymentDetails": [...]}}`` in JSON or in ServiceStack's
JSV (``Content-Type: text/jsv`` or ``?format=jsv``); the answer comes in the format asked for
(``?format=``, the ``.json``/``.jsv`` suffix, ``Accept``), else in the request's own. The client
sends its own arithmetic (line gross and total, net, cent balance, final amount), which the
engine verifies (``IssueRefund.expected``); the refund note number ``AcCusRefundNoteMID`` is the
natural idempotency key. Errors are ServiceStack's ``ResponseStatus`` with one entry per field,
named as the client sent it (``DocumentDetails[0].ItemQuantity``), in English or Malay.

This module maps fields and renders; every rule is the engine's.
"""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal

from fastapi import APIRouter, Request
from starlette.responses import Response as HttpResponse

from ... import i18n
from ...documents import myinvois
from ...domain import money
from ...domain.errors import RefundError, Violation, reject
from ...service.idempotency import Response
from ...service.reads import RefundReads
from ...service.results import RefundResult, ResultLine, iso
from ..native_render import from_native
from ...service.tenants import Principal
from ..auth import principal_for
from ...service.uow import fault_message
from ..problems import loads_exact
from .. import responses as R
from . import common, jsv, pipeline
from .servicestack import formats as _formats, recased, text_case
from .common import dumps
from .snr2u_fields import (CHANNEL, DETAIL, ENVELOPE, HEADER, HEADER_ECHOED, INT_MAX, MAX_ITEMS, MAX_TEXT,  # noqa: F401
                           NOTE, PAYMENT, field_name)
from .snr2u_parse import Note, _read_body, _Reader, parse  # noqa: F401

log = logging.getLogger("salesrefund.snr2u")

router = APIRouter(tags=["snr2u"])
# Failures answered at the app's edge (a body over the limit: 413, too slow: 408), in this shape and format.
common.answers_errors(lambda path: path.startswith("/CustomerRefundNotes"), lambda request, error: _edge_failure(request, error))


def _edge_failure(request: Request, error: RefundError) -> HttpResponse:
    out = _formats(request, "jsv" if request.url.path.endswith(".jsv") else None)[1]
    failure = dataclasses.replace(Responder(common.language(request, LANGUAGES)).failure(error), status=error.status)
    return _to_http(failure, out, {}, text_case(request, out))

LANGUAGES = ("en", "ms")
PERMISSION = "refund:create"
PERMISSION_NAME = "CustomerRefundNote-Transaction.ADD"  # SnR2U's name for refund:create
NATURAL_KEY = "DocumentHeader.AcCusRefundNoteMID"
JSON_TYPE = "application/json"
JSV_TYPE = jsv.MEDIA_TYPE
MAX_BODY_BYTES = common.MAX_BODY_BYTES

# -- the route ---------------------------------------------------------------------------------------

_REQUEST_BODY = {"requestBody": {"required": True, "content": {
    JSON_TYPE: {"schema": {"type": "object", "required": ["CustomerRefundNote"]}},
    JSV_TYPE: {"schema": {"type": "string"}}}}}


@router.post("/CustomerRefundNotes/simple", openapi_extra=_REQUEST_BODY, responses=R.SNR2U_RESPONSES,
             summary="SnR2U: create a customer refund note (JSON or JSV)")
async def create_refund_note(request: Request):
    return await _handle(request, suffix=None)


@router.post("/CustomerRefundNotes/simple.json", include_in_schema=False)
async def create_refund_note_json(request: Request):
    return await _handle(request, suffix="json")


@router.post("/CustomerRefundNotes/simple.jsv", include_in_schema=False)
async def create_refund_note_jsv(request: Request):
    return await _handle(request, suffix="jsv")


async def _handle(request: Request, suffix: str | None) -> HttpResponse:
    return await pipeline.run(DOOR, request, suffix=suffix)


def _formats_of(call: pipeline.Call):
    """(the request's format, the answer's, a refusal of the asked format or None), once per request."""
    if "formats" not in call.extra:
        call.extra["formats"] = _formats(call.request, call.params.get("suffix"))
    return call.extra["formats"]


async def _read(call: pipeline.Call):
    given, _, refused = _formats_of(call)
    if refused is not None:  # after authentication: 401 and 403 come before any body error
        raise refused
    return await _read_body(call.request, given)


async def _parse(call: pipeline.Call) -> pipeline.Parsed:
    note = parse(call.body, call.principal.currency)
    return pipeline.Parsed(note.command, natural_keys=((NATURAL_KEY, note.number),),
                           document_numbers=(NATURAL_KEY,), echo=call.body)


def _send(call: pipeline.Call, response: Response, headers: dict[str, str]) -> HttpResponse:
    if response.replayed:
        headers = {**headers, "Idempotent-Replayed": "true"}
    out = _formats_of(call)[1]
    return _to_http(response, out, headers, text_case(call.request, out))


def _fault(call: pipeline.Call) -> Response:
    violation = Violation("", "server_error", fault_message())
    return Response(500, JSON_TYPE, dumps(error_body([violation], call.lang)))


def authorize(request: Request, permission: str = PERMISSION, name: str = PERMISSION_NAME) -> Principal:
    """The caller's principal, which must hold ``permission`` (named ``name`` in the refusal)."""
    principal = principal_for(request)
    if not principal.may(permission):
        raise reject("forbidden", "/headers/Authorization", "this credential lacks the {permission} permission",
                     permission=name)
    return principal


def _to_http(response: Response, out: str, headers: dict[str, str], case: str) -> HttpResponse:
    """Responses are rendered (and stored for replays) as PascalCase JSON; the caller gets them in
    its format (JSON or JSV) with its names' casing (``text_case``)."""
    if out == "json" and case == "pascal":
        return HttpResponse(response.body, status_code=response.status, media_type=JSON_TYPE, headers=headers)
    value = recased(loads_exact(response.body), case)
    body, media_type = (jsv.encode(value), JSV_TYPE) if out == "jsv" else (dumps(value), JSON_TYPE)
    return HttpResponse(body, status_code=response.status, media_type=media_type, headers=headers)


# -- rendering ---------------------------------------------------------------------------------------

class Responder:
    """Renders the refund note (or ``ResponseStatus``) as canonical JSON, which is stored for
    replays; ``_to_http`` converts it to JSV for a JSV caller. The customer's name
    (``AcCustomerName``) is read beside the result, in the refund's own transaction."""

    def __init__(self, lang: str):
        self.lang = lang

    def success(self, result: RefundResult, status: int, reads: RefundReads) -> Response:
        return Response(200, JSON_TYPE, dumps(render_result(result, reads.customer_name(result.customer))))

    def failure(self, error: RefundError) -> Response:
        return Response(status_of(error.code), JSON_TYPE, dumps(error_body(error.violations, self.lang)))


_HEADER_FIXED = {"IsEnableEInvoiceMYS": "N", "IsConsolidatedEInvoice": "N"}  # this server does not submit to MyInvois


def _recorded(result: RefundResult, customer_name: str | None) -> dict:
    """Header fields the answer takes from the refund as recorded (the rest are echoed from the request)."""
    cur = result.currency
    return {"AcCusRefundNoteMID": result.reference, "AcCustomerID": result.customer,
            "AcLocationID": result.location, "DocumentDate": iso(result.document_date),
            "AcCusInvoiceMID": result.invoice, "DocumentReason": result.reason, "AcCustomerName": customer_name,
            "DocumentNetAmount": _minor(result.gross_minor, cur),
            "DocumentCentBalance": _minor(result.rounding_minor, cur),
            "DocumentFinalAmount": _minor(result.total_minor, cur)}


def _header(result: RefundResult, customer_name: str | None, given: dict) -> dict:
    """The document's header in its order, from the refund and what the request gave."""
    recorded, header = _recorded(result, customer_name), {}
    for name, kind, _, _ in HEADER:
        if name in recorded:
            header[name] = recorded[name]
        elif name in _HEADER_FIXED or kind == "readonly":
            header[name] = _HEADER_FIXED.get(name)
        else:
            header[name] = bool(given.get(name, False)) if kind == "bool" else given.get(name)
    return header


def render_note(view: dict) -> dict:
    """A refund as the native API shows it (plus ``customer_name``) in the document's shape: the
    door renders the same refund's result (``render_result``); this reads the native form back
    (``native_render.from_native``) only to show that the two agree."""
    return render_result(from_native(view), view.get("customer_name"))


def render_result(result: RefundResult, customer_name: str | None) -> dict:
    """A refund (its typed result, and its customer's name) as the document's response."""
    meta = result.metadata.get(CHANNEL, {})
    note = {"DocumentHeader": _header(result, customer_name, meta.get("header", {})),
            "DocumentDetails": _details(result, meta.get("details", [])),
            "DocumentPaymentDetails": _payments(result, meta.get("payments", []))}
    return {"CustomerRefundNote": note,
            "ResponseStatus": {"ErrorCode": None, "Message": None, "StackTrace": None, "Errors": [],  # as printed
                               "Meta": {"RefundId": result.id, "CreditNoteNumber": result.number}}}


def _details(result: RefundResult, echoed: list[dict]) -> list[dict]:
    """The refund's lines as details; what the request said of each (``echoed``) where it said it."""
    cur, rows = result.currency, []
    for i, line in enumerate(result.lines):
        d = echoed[i] if i < len(echoed) else {}
        rows.append({
            "AcCusRefundNoteDID": d.get("AcCusRefundNoteDID"), "AcCusRefundNoteMID": result.reference,
            "ItemNo": d.get("ItemNo", i + 1), "AcStockID": line.product, "AcStockUOMID": d.get("AcStockUOMID"),
            "ItemUnitPrice": _unit_price(d, line, cur),
            "ItemQuantity": Decimal(money.format_scaled(line.quantity, money.QUANTITY_PLACES)),
            "ItemGrossTotal": _minor(d.get("ItemGrossTotal", line.gross_minor), cur),
            "ItemDiscountAmount": _minor(d.get("ItemDiscountAmount", 0), cur),
            "ItemTotalPrice": _minor(line.gross_minor, cur), "ItemRemark1": d.get("ItemRemark1"),
            # as the line appears in the MyInvois document (documents/myinvois.py, issue 11)
            "AcEInvoiceItemClassificationID": myinvois.OTHERS,
            "AcEInvoiceItemTaxTypeID": myinvois.tax_type(line.tax_rate)})
    return rows


def _unit_price(echoed: dict, line: ResultLine, cur: money.Currency) -> Decimal | None:
    """The request's ``ItemUnitPrice`` as it sent it (kept in the metadata at 4 places), else the line's."""
    if "ItemUnitPrice" in echoed:
        return Decimal(money.format_scaled(money.parse_price(echoed["ItemUnitPrice"], "ItemUnitPrice"),
                                           money.QUANTITY_PLACES)) if echoed["ItemUnitPrice"] is not None else None
    return Decimal(money.format_price(line.unit_price, cur)) if line.unit_price is not None else None


def _payments(result: RefundResult, echoed: list[dict]) -> list[dict]:
    rows = []
    for i, payment in enumerate(result.payments):
        p = echoed[i] if i < len(echoed) else {}
        rows.append({"AcCusRefundNoteMID": result.reference, "ItemNo": p.get("ItemNo", i + 1),
                     "AcBillPaymentMethodID": payment.method, "ItemReferenceNumber": payment.reference,
                     "ItemRemark1": p.get("ItemRemark1"),
                     "ItemCurrencyPaymentAmount": _minor(payment.amount_minor, result.currency)})
    return rows


def _minor(value: int | None, cur: money.Currency) -> Decimal | None:
    return Decimal(money.format_amount(value, cur)) if value is not None else None


# Status per code: ServiceStack answers validation with 400; references that do not exist 404;
# a refund note number reused for another note, or still in flight, 409.
_STATUS = {"unauthorized": 401, "forbidden": 403, "not_found": 404, "invoice_not_found": 404,
           "customer_not_found": 404, "product_not_found": 404, "location_not_found": 404,
           "idempotency_key_reused": 409, "idempotency_key_in_use": 409, "duplicate": 409,
           "unsupported_media_type": 415, "rate_limited": 429, "server_error": 500,
           "service_unavailable": 503}


def status_of(code: str) -> int:
    return _STATUS.get(code, 400)


def error_body(violations: list[Violation], lang: str) -> dict:
    """ServiceStack's ``ResponseStatus``: the first error's code and message, then every error
    with its field, message and parameters (``Meta``: e.g. the computed and the given figure)."""
    first = violations[0]
    return {"ResponseStatus": {
        "ErrorCode": first.code,
        "Message": message(first, lang),
        "StackTrace": None,
        "Errors": [{"ErrorCode": v.code, "FieldName": field_name(v.field), "Message": message(v, lang),
                    "Meta": {key: str(value) for key, value in v.params.items() if key not in ("field_name", "what")}}
                   for v in violations],
        "Meta": {},
    }}


def message(violation: Violation, lang: str) -> str:
    """The message in ``lang``; the engine's ``{what}`` phrase (``the line total``) is translated too."""
    what = violation.params.get("what")
    if isinstance(what, str) and lang != "en":
        violation = Violation(violation.field, violation.code, violation.message,
                              {**violation.params, "what": i18n.translate(what, lang)})
    return common.text(violation, lang)




DOOR = pipeline.Door(
    channel=CHANNEL, languages=LANGUAGES, log=log, www_authenticate="Bearer",
    responder=lambda call: Responder(call.lang), authenticate=lambda call: authorize(call.request),
    read=_read, parse=_parse, send=_send, fault=_fault)

