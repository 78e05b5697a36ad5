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
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter, Request
from starlette.responses import Response as HttpResponse

from ... import i18n
from ...documents import myinvois
from ...domain import money
from ...domain.commands import ExpectedLine, ExpectedTotals, IssueRefund, PaymentRequest, RefundLineRequest
from ...domain.errors import Invalid, RefundError, Violation, reject
from ...service.idempotency import Response
from ...service.reads import RefundReads
from ...service.results import RefundResult, ResultLine, iso
from ..native_render import from_native
from ...service.tenants import Principal
from ..auth import principal_for
from ...service.uow import fault_message
from ...store.queries import snr2u as queries
from ..problems import holds_nul, loads_exact, refuse_lone_surrogates
from .. import responses as R
from . import common, jsv
from .servicestack import formats as _formats, parse_date as _date, parse_datetime as _datetime, recased, text_case
from .common import dumps

log = logging.getLogger("salesrefund.snr2u")

router = APIRouter(tags=["snr2u"])
# Failures answered at the app's edge (a body over the limit: 413, too slow: 408), in this shape and format.
common.answers_errors(lambda path: path.startswith("/CustomerRefundNotes"), lambda request, error: _edge_failure(request, error))


def _edge_failure(request: Request, error: RefundError) -> HttpResponse:
    out = _formats(request, "jsv" if request.url.path.endswith(".jsv") else None)[1]
    failure = dataclasses.replace(Responder(common.language(request, LANGUAGES)).failure(error), status=error.status)
    return _to_http(failure, out, {}, text_case(request, out))

CHANNEL = "snr2u"
LANGUAGES = ("en", "ms")
PERMISSION = "refund:create"
PERMISSION_NAME = "CustomerRefundNote-Transaction.ADD"  # SnR2U's name for refund:create
NATURAL_KEY = "DocumentHeader.AcCusRefundNoteMID"
JSON_TYPE = "application/json"
JSV_TYPE = jsv.MEDIA_TYPE
MAX_BODY_BYTES = common.MAX_BODY_BYTES
MAX_ITEMS = 1000  # details or payment details per refund note
MAX_TEXT = 4000  # NVARCHAR(MAX) fields
INT_MAX = 2**31 - 1

# -- the document's fields ---------------------------------------------------------------------------
# (name, kind, required, max length or choices). Kinds: code (a non-blank reference), text, amount,
# price, quantity, int, bool, date, datetime, choice, readonly (server-filled: ignored when sent).

HEADER = (
    ("AcCusRefundNoteMID", "code", True, 20),
    ("AcCustomerID", "code", True, 20),
    ("AcTermID", "text", False, 40),
    ("AcSalesmanID", "text", False, 20),
    ("AcLocationID", "code", True, 20),
    ("DocumentDate", "date", True, None),
    ("DocumentNetAmount", "amount", True, None),
    ("DocumentCentBalance", "amount", True, None),
    ("DocumentFinalAmount", "amount", True, None),
    ("AcCusInvoiceMID", "code", True, 20),
    ("DocumentReason", "code", True, 100),
    ("RefDocumentNo", "text", False, 100),
    ("DocumentRemark", "text", False, 100),
    ("ExtraRemark1", "text", False, 100),
    ("ExtraRemark2", "text", False, 100),
    ("ExtraRemark3", "text", False, 100),
    ("ExtraRemark4", "text", False, 100),
    ("DocumentYourReference", "text", False, 50),
    ("ShipToRemark", "text", False, 100),
    ("ShipToShipVia", "text", False, 20),
    ("ShipToAddress1", "text", False, MAX_TEXT),
    ("ShipToAddress2", "text", False, 100),
    ("ShipToAddress3", "text", False, 100),
    ("ShipToAddress4", "text", False, 100),
    ("ShipToPhone1", "text", False, 100),
    ("ShipToPhone2", "text", False, 100),
    ("ShipToFax", "text", False, 100),
    ("ShipToContact1", "text", False, 100),
    ("ShipToContact2", "text", False, 100),
    ("ShipToAttention", "text", False, 100),
    ("EditDate", "datetime", True, None),
    ("IsUseAcStockCompanyIDForStockValidation", "bool", False, None),
    ("IsUseTransactionBuyerElement", "bool", False, None),
    ("AcEInvoiceDocumentFlowID", "choice", False, ("Open", "Ready to Submit", "Not Applicable")),
    ("EInvoiceRegName_Buyer", "text", False, 300),
    ("EInvoiceRegTIN_Buyer", "text", False, 40),
    ("EInvoiceRegNumber_Buyer", "text", False, 40),
    ("EInvoiceBuyerIsMalaysian", "choice", True, ("Y", "N")),
    ("EInvoiceBuyerRegType", "choice", False, ("NRIC", "BRN", "PASSPORT", "ARMY")),
    ("EInvoiceRegSSTNumber_Buyer", "text", False, 40),
    ("EInvoiceRegEmail_Buyer", "text", False, 320),
    ("EInvoiceAddressLine0_Buyer", "text", False, 150),
    ("EInvoiceAddressLine1_Buyer", "text", False, 150),
    ("EInvoiceAddressLine2_Buyer", "text", False, 150),
    ("EInvoiceAddressPostalZone_Buyer", "text", False, 50),
    ("EInvoiceAddressCityName_Buyer", "text", False, 50),
    ("AcEInvoiceAddressStateID_Buyer", "choice", False, tuple(f"{n:02d}" for n in range(18))),
    ("AcEInvoiceAddressCountryID_Buyer", "country", False, 20),
    ("EInvoiceRegContactNumber_Buyer", "text", False, 20),
    ("IsEnableEInvoiceMYS", "readonly", False, None),
    ("AcEInvoiceDocumentStatusID", "readonly", False, None),
    ("IsConsolidatedEInvoice", "readonly", False, None),
    ("EInvoiceDocumentNumber_Consolidated", "readonly", False, None),
    ("EInvoiceSubmissionUUID", "readonly", False, None),
    ("EInvoiceValidationUUID", "readonly", False, None),
    ("EInvoiceValidationDateTime", "readonly", False, None),
    ("EInvoiceValidationLink", "readonly", False, None),
    ("AcCustomerName", "readonly", False, None),
)
DETAIL = (
    ("AcCusRefundNoteDID", "code", True, 40),
    ("AcCusRefundNoteMID", "code", True, 20),
    ("ItemNo", "int", True, None),
    ("AcStockID", "code", True, 40),
    ("AcStockUOMID", "code", True, 20),
    ("ItemUnitPrice", "price", True, None),
    ("ItemQuantity", "quantity", True, None),
    ("ItemGrossTotal", "amount", True, None),
    ("ItemDiscountAmount", "amount", True, None),
    ("ItemTotalPrice", "amount", True, None),
    ("ItemRemark1", "text", True, MAX_TEXT),
    ("AcEInvoiceItemClassificationID", "readonly", False, None),
    ("AcEInvoiceItemTaxTypeID", "readonly", False, None),
)
PAYMENT = (
    ("AcCusRefundNoteMID", "code", True, 20),
    ("ItemNo", "int", True, None),
    ("AcBillPaymentMethodID", "code", True, 20),
    ("ItemReferenceNumber", "text", False, 100),
    ("ItemRemark1", "text", True, MAX_TEXT),
    ("ItemCurrencyPaymentAmount", "amount", True, None),
)
NOTE = (("DocumentHeader", "object", True, None), ("DocumentDetails", "list", True, None),
        ("DocumentPaymentDetails", "list", True, None))
ENVELOPE = (("CustomerRefundNote", "object", True, None),)

# Header fields kept in the refund's metadata and echoed back (the rest map onto the command).
HEADER_ECHOED = tuple(name for name, kind, _, _ in HEADER if kind != "readonly" and name not in (
    "AcCusRefundNoteMID", "AcCustomerID", "AcLocationID", "DocumentDate", "DocumentNetAmount",
    "DocumentCentBalance", "DocumentFinalAmount", "AcCusInvoiceMID", "DocumentReason"))


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
    lang = common.language(request, LANGUAGES)
    given, out, refused = _formats(request, suffix)
    headers: dict[str, str] = {}
    try:
        principal = await common.call(_authorize, request)  # 401 and 403 come before any body error
        if refused is not None:
            raise refused
        body = await _read_body(request, given)
        note = parse(body, principal.currency)
        ctx = common.context(request, principal, CHANNEL, body=body,
                             natural_keys=((NATURAL_KEY, note.number),), document_numbers=(NATURAL_KEY,))
        response = await common.call(request.app.state.refunds.issue, ctx, note.command, Responder(lang))
    except RefundError as error:
        response = Responder(lang).failure(error)
        if error.code == "unauthorized":
            headers["WWW-Authenticate"] = "Bearer"
        if getattr(error, "retry_after", None):
            headers["Retry-After"] = str(error.retry_after)
    except Exception:  # a real fault: answered in the door's shape, nothing was recorded
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        violation = Violation("", "server_error", fault_message())
        response = Response(500, JSON_TYPE, dumps(error_body([violation], lang)))
    if response.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _to_http(response, out, headers, text_case(request, out))


def _authorize(request: Request) -> Principal:
    principal = principal_for(request)
    if not principal.may(PERMISSION):
        raise reject("forbidden", "/headers/Authorization", "this credential lacks the {permission} permission",
                     permission=PERMISSION_NAME)
    return principal


async def _read_body(request: Request, given: str):
    """The decoded body: JSON (exact decimals) or JSV (strings); ``Invalid`` when malformed."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise _malformed("the request body is too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _malformed("the request body is too large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if given == "jsv":
        try:
            value = jsv.decode(raw)
        except jsv.JsvError as error:
            raise Invalid(Violation("", "validation_error", "the request body is not valid JSV ({detail})",
                                    {"detail": str(error)}))
        if holds_nul(value):  # as loads_exact refuses it in JSON: PostgreSQL text cannot hold it
            raise Invalid(Violation("", "validation_error", "the request body is not valid JSV ({detail})",
                                    {"detail": "a value holds the NUL character (U+0000)"}))
        try:
            refuse_lone_surrogates(value)
        except Invalid as error:
            raise _named_by_path(error)
        return value
    try:
        return loads_exact(raw)
    except Invalid as error:  # a lone surrogate: named as the document names the field
        raise _named_by_path(error)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise Invalid(Violation("", "validation_error", "the request body is not valid JSON ({detail})",
                                {"detail": str(error) or type(error).__name__}))


def _named_by_path(error: Invalid) -> Invalid:
    """``/CustomerRefundNote/DocumentDetails/1/ItemDescription`` -> ``DocumentDetails[1].ItemDescription``."""
    violations = []
    for v in error.violations:
        parts = v.field.strip("/").split("/") if v.field.startswith("/") else []
        if parts and parts[0] == "CustomerRefundNote":
            parts = parts[1:]
        name = ""
        for part in parts:
            name += f"[{part}]" if part.isdecimal() else (f".{part}" if name else part)
        violations.append(dataclasses.replace(v, field=name or v.field))
    return Invalid(violations)


def _malformed(message: str) -> Invalid:
    return Invalid(Violation("", "validation_error", message))


def _to_http(response: Response, out: str, headers: dict[str, str], case: str) -> HttpResponse:
    """Responses are rendered (and stored for replays) as PascalCase JSON; the caller gets them in
    its format (JSON or JSV) with its names' casing (``text_case``)."""
    if out == "json" and case == "pascal":
        return HttpResponse(response.body, status_code=response.status, media_type=JSON_TYPE, headers=headers)
    value = recased(loads_exact(response.body), case)
    body, media_type = (jsv.encode(value), JSV_TYPE) if out == "jsv" else (dumps(value), JSON_TYPE)
    return HttpResponse(body, status_code=response.status, media_type=media_type, headers=headers)


# -- parsing: the body into IssueRefund ----------------------------------------------------------------

@dataclass
class Note:
    number: str
    command: IssueRefund


_NUMBERS = {"amount": lambda raw, where, cur: money.parse_amount(raw, where, cur),  # exact, at their scale
            "price": lambda raw, where, cur: money.parse_price(raw, where),
            "quantity": lambda raw, where, cur: money.parse_quantity(raw, where)}


@dataclass
class _Reader:
    """Reads the fields of one object of the body, collecting every violation (ServiceStack
    reports all field errors at once)."""

    cur: money.Currency
    bad: list[Violation] = field(default_factory=list)

    def invalid(self, name: str, message: str, **params) -> None:
        self.bad.append(Violation(name, "validation_error", message, {"field_name": name, **params}))

    def fields(self, value, path: str, spec) -> dict | None:
        """``{name: parsed value}`` for an object with fields ``spec`` (names matched without
        regard to case, as ServiceStack does); None when ``value`` is not an object."""
        if not isinstance(value, dict):
            self.invalid(path or "CustomerRefundNote", "{field_name} must be an object")
            return None
        known = {name.lower(): (name, kind, required, extra) for name, kind, required, extra in spec}
        given: dict[str, object] = {}
        for key, item in value.items():
            entry = known.get(key.lower()) if isinstance(key, str) else None
            where = f"{path}.{key}" if path else str(key)
            if entry is None:
                self.invalid(where, "{field_name} is not a field of this request")
            elif entry[0] in given:
                self.invalid(where, "{field_name} is given twice (field names are not case-sensitive)")
            else:
                given[entry[0]] = item
        result = {}
        for name, kind, required, extra in spec:
            where = f"{path}.{name}" if path else name
            result[name] = self.value(given.get(name), where, kind, required, extra)
        return result

    def value(self, raw, where: str, kind: str, required: bool, extra):
        if kind == "readonly":
            return None  # filled by the server in the answer; what a client sends is ignored
        if raw is None or (isinstance(raw, str) and raw == "" and kind not in ("text", "object", "list")):
            return self.missing(where, required)
        if kind == "object" and not isinstance(raw, dict):
            return self.invalid(where, "{field_name} must be an object")
        if kind == "list" and not isinstance(raw, list):
            return self.invalid(where, "{field_name} must be a list")
        if kind == "list" and len(raw) > MAX_ITEMS:
            return self.invalid(where, "{field_name} may have at most {max} items", max=MAX_ITEMS)
        if kind in ("object", "list"):
            return raw
        if kind in ("code", "text", "choice", "country"):
            return self.string(raw, where, kind, required, extra)
        if kind in _NUMBERS:
            try:
                return _NUMBERS[kind](raw, where, self.cur)
            except Invalid as error:
                self.bad.extend(error.violations)
                return None
        if kind == "int":
            return self.integer(raw, where)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
                return raw.strip().lower() == "true"
            return self.invalid(where, "{field_name} must be True or False")
        if kind == "date":
            day = _date(raw)
            if day is None:
                return self.invalid(where, "{field_name} must be a date such as 2026-06-15")
            return self.missing(where, required) if day == date.min else day
        if kind == "datetime":
            moment = _datetime(raw)
            if moment is None:
                return self.invalid(where, "{field_name} must be a date and time such as 2026-06-15T10:30:00")
            return self.missing(where, required) if moment.date() == date.min else moment
        raise AssertionError(kind)

    def missing(self, where: str, required: bool) -> None:
        if required:
            self.invalid(where, "{field_name} is required")
        return None

    def string(self, raw, where: str, kind: str, required: bool, extra):
        if not isinstance(raw, str):
            return self.invalid(where, "{field_name} must be a string")
        if kind == "text":
            if len(raw) > extra:
                return self.invalid(where, "{field_name} must be at most {max} characters long", max=extra)
            return raw if raw or required else None
        if not raw.strip():
            return self.missing(where, required)
        if kind == "choice":
            if raw not in extra:
                return self.invalid(where, "{field_name} must be one of {choices}", choices=", ".join(extra))
            return raw
        if kind == "country" and not re.fullmatch(r"[A-Z]{3}", raw):
            return self.invalid(where, "{field_name} must be an ISO 3166 country code such as MYS")
        if len(raw) > extra:
            return self.invalid(where, "{field_name} must be at most {max} characters long", max=extra)
        return raw

    def integer(self, raw, where: str):
        if isinstance(raw, int) and not isinstance(raw, bool):
            number = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,10}\s*", raw):
            number = int(raw)
        else:
            return self.invalid(where, "{field_name} must be a whole number")
        if not 1 <= number <= INT_MAX:
            return self.invalid(where, "{field_name} must be a whole number from 1 to {max}", max=INT_MAX)
        return number


def parse(body, cur: money.Currency) -> Note:
    """The SnR2U body as the one ``IssueRefund`` every door builds; ``Invalid`` naming every bad field."""
    reader = _Reader(cur)
    if not isinstance(body, dict):
        raise Invalid(Violation("", "validation_error",
                                "the request body must be an object: {{CustomerRefundNote: {{...}}}}"))
    envelope = reader.fields(body, "", ENVELOPE)
    refund_note = envelope["CustomerRefundNote"] if envelope else None
    note = reader.fields(refund_note, "", NOTE) if refund_note is not None else None
    if note is None:
        raise Invalid(reader.bad)
    header = reader.fields(note["DocumentHeader"], "DocumentHeader", HEADER) \
        if note["DocumentHeader"] is not None else None
    details = [reader.fields(d, f"DocumentDetails[{i}]", DETAIL) for i, d in enumerate(note["DocumentDetails"] or [])]
    payments = [reader.fields(p, f"DocumentPaymentDetails[{i}]", PAYMENT)
                for i, p in enumerate(note["DocumentPaymentDetails"] or [])]
    number = header["AcCusRefundNoteMID"] if header else None
    if header and header["IsUseAcStockCompanyIDForStockValidation"]:
        reader.invalid("DocumentHeader.IsUseAcStockCompanyIDForStockValidation",
                       "{field_name}: lookup by AcStockCompanyID is not supported; send False and the AcStockID")
    for rows, path in ((details, "DocumentDetails"), (payments, "DocumentPaymentDetails")):
        seen: dict[str, set] = {"ItemNo": set(), "AcCusRefundNoteDID": set()}
        for i, row in enumerate(rows):
            if row is None:
                continue
            if number is not None and row["AcCusRefundNoteMID"] not in (None, number):
                reader.invalid(f"{path}[{i}].AcCusRefundNoteMID",
                               "{field_name} must be {expected}, the refund note number of the header",
                               expected=number)
            for key in seen:
                value = row.get(key)
                if value is not None and value in seen[key]:
                    reader.invalid(f"{path}[{i}].{key}", "{field_name} {value} is used by another line",
                                   value=value)
                elif value is not None:
                    seen[key].add(value)
    if reader.bad:
        raise Invalid(reader.bad)
    return Note(number, _command(header, details, payments))


def _command(header: dict, details: list[dict], payments: list[dict]) -> IssueRefund:
    """Field by field onto the command (see docs/doors/snr2u.md)."""
    lines, expected = [], []
    for d in details:
        by_amount = d["ItemDiscountAmount"] != 0  # a discounted line refunds its total, not price x qty
        lines.append(RefundLineRequest(
            product=d["AcStockID"], quantity=d["ItemQuantity"], unit=d["AcStockUOMID"],
            unit_price=None if by_amount else d["ItemUnitPrice"],
            amount_minor=d["ItemTotalPrice"] if by_amount else None, location=header["AcLocationID"]))
        expected.append(ExpectedLine(extended_minor=d["ItemGrossTotal"], discount_minor=d["ItemDiscountAmount"],
                                     total_minor=d["ItemTotalPrice"],
                                     unit_price=d["ItemUnitPrice"] if by_amount else None))
    metadata = {CHANNEL: {
        "header": {name: _plain(header[name]) for name in HEADER_ECHOED if header[name] is not None},
        "details": [{"AcCusRefundNoteDID": d["AcCusRefundNoteDID"], "ItemNo": d["ItemNo"],
                     "AcStockUOMID": d["AcStockUOMID"],
                     "ItemUnitPrice": money.format_scaled(d["ItemUnitPrice"], money.QUANTITY_PLACES),
                     "ItemGrossTotal": d["ItemGrossTotal"], "ItemDiscountAmount": d["ItemDiscountAmount"],
                     "ItemRemark1": d["ItemRemark1"]} for d in details],
        "payments": [{"ItemNo": p["ItemNo"], "ItemRemark1": p["ItemRemark1"]} for p in payments],
    }}
    return IssueRefund(
        lines=tuple(lines), invoice=header["AcCusInvoiceMID"], customer=header["AcCustomerID"],
        reason=header["DocumentReason"], state="posted", posting_date=header["DocumentDate"],
        document_date=header["DocumentDate"], location=header["AcLocationID"],
        payments=tuple(PaymentRequest(p["AcBillPaymentMethodID"], p["ItemCurrencyPaymentAmount"],
                                      p["ItemReferenceNumber"]) for p in payments),
        metadata=metadata, reference=header["AcCusRefundNoteMID"],
        expected=ExpectedTotals(lines=tuple(expected), net_minor=header["DocumentNetAmount"],
                                rounding_minor=header["DocumentCentBalance"],
                                total_minor=header["DocumentFinalAmount"]))


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value


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


_POINTERS = {
    "": "", "/": "",
    "/invoice": "DocumentHeader.AcCusInvoiceMID",
    "/customer": "DocumentHeader.AcCustomerID",
    "/currency": "DocumentHeader",
    "/reason": "DocumentHeader.DocumentReason",
    "/posting_date": "DocumentHeader.DocumentDate",
    "/document_date": "DocumentHeader.DocumentDate",
    "/location": "DocumentHeader.AcLocationID",
    "/lines": "DocumentDetails",
    "/payments": "DocumentPaymentDetails",
    "/expected/net": "DocumentHeader.DocumentNetAmount",
    "/expected/rounding": "DocumentHeader.DocumentCentBalance",
    "/expected/total": "DocumentHeader.DocumentFinalAmount",
    "/headers/Authorization": "Authorization",
}
_LINE_FIELDS = {"product": "AcStockID", "line": "AcStockID", "unit": "AcStockUOMID", "quantity": "ItemQuantity",
                "unit_price": "ItemUnitPrice", "amount": "ItemTotalPrice", "description": "ItemRemark1",
                "tax_rate": "AcStockID"}
_EXPECTED_FIELDS = {"extended": "ItemGrossTotal", "total": "ItemTotalPrice", "unit_price": "ItemUnitPrice",
                    "discount": "ItemDiscountAmount"}
_PAYMENT_FIELDS = {"method": "AcBillPaymentMethodID", "amount": "ItemCurrencyPaymentAmount",
                   "reference": "ItemReferenceNumber"}
_INDEXED = re.compile(r"^/(lines|payments|expected/lines)/(\d+)(?:/(\w+))?$")


def field_name(pointer: str) -> str:
    """The document's name for a field the engine names by JSON pointer (door names pass through)."""
    if not pointer.startswith("/") and pointer != "":
        return pointer
    if pointer in _POINTERS:
        return _POINTERS[pointer]
    match = _INDEXED.match(pointer)
    if match is None:
        return pointer
    where, index, name = match.groups()
    if where == "payments":
        row = f"DocumentPaymentDetails[{index}]"
        return f"{row}.{_PAYMENT_FIELDS[name]}" if name in _PAYMENT_FIELDS else row
    if where == "lines" and name == "location":
        return "DocumentHeader.AcLocationID"
    names = _LINE_FIELDS if where == "lines" else _EXPECTED_FIELDS
    row = f"DocumentDetails[{index}]"
    return f"{row}.{names[name]}" if name in names else row




# -- reading and listing refund notes (issue 13) -----------------------------------------------------
# ServiceStack style: GET /CustomerRefundNotes/{AcCusRefundNoteMID} answers {CustomerRefundNote,
# ResponseStatus} as the create answer does; GET /CustomerRefundNotes is an AutoQuery-style list
# answering {Offset, Total, Results: [CustomerRefundNote...], Meta, ResponseStatus}. Only refund
# notes made through this door are found (their AcCusRefundNoteMID is the refund's reference).

READ_PERMISSION = "refund:read"
LIST_MAX_TAKE = 100
# AutoQuery's implicit conventions this list understands, per field: exact match, and for
# DocumentDate the range forms (From/OnOrAfter/>= , To/OnOrBefore/<=, GreaterThan/After, LessThan/Before).
_LIST_FIELDS = {"accusinvoicemid": "AcCusInvoiceMID", "accustomerid": "AcCustomerID", "aclocationid": "AcLocationID"}
_DATE_OPS = {"from": ">=", "onorafter": ">=", "greaterthanorequalto": ">=",
             "to": "<=", "onorbefore": "<=", "lessthanorequalto": "<=",
             "greaterthan": ">", "after": ">", "lessthan": "<", "before": "<"}
# every DocumentDate parameter (lower case) -> its operator: a suffix (DocumentDateFrom, DocumentDate< on or
# before) or a prefix (>DocumentDate on or after, <DocumentDate, FromDocumentDate)
_DATE_PARAMS = {**{f"documentdate{word}": op for word, op in {"": "=", ">": ">", "<": "<=", **_DATE_OPS}.items()},
                **{f"{word}documentdate": op for word, op in {">": ">=", "<": "<", **_DATE_OPS}.items()}}
_PAGING = ("skip", "take", "orderby", "orderbydesc", "format", "jsconfig", "include", "fields", "meta")
_ORDERABLE = {name.lower(): name for name in queries.ORDERABLE}


_FORMAT_PARAMETER = {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "jsv"]}}
_READ_DOC = {"parameters": [
    {"name": "AcCusRefundNoteMID", "in": "path", "required": True,
     "schema": {"type": "string", "minLength": 1, "maxLength": 20, "pattern": "\\S"}}, _FORMAT_PARAMETER]}
_LIST_DOC = {"parameters": [
    {"name": "Skip", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": INT_MAX}},
    {"name": "Take", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": LIST_MAX_TAKE}},
    {"name": "OrderBy", "in": "query", "schema": {"type": "string", "enum": list(_ORDERABLE.values())}},
    {"name": "OrderByDesc", "in": "query", "schema": {"type": "string", "enum": list(_ORDERABLE.values())}},
    *({"name": name, "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "\\S"}}
      for name in ("AcCusInvoiceMID", "AcCustomerID", "AcLocationID")),
    *({"name": name, "in": "query", "schema": {"type": "string", "format": "date"}}
      for name in ("DocumentDate", "DocumentDateFrom", "DocumentDateTo", "DocumentDateGreaterThan",
                   "DocumentDateLessThan")),
    _FORMAT_PARAMETER]}


@router.get("/CustomerRefundNotes/{AcCusRefundNoteMID}", responses=R.SNR2U_RESPONSES, openapi_extra=_READ_DOC,
            summary="SnR2U: read one customer refund note by AcCusRefundNoteMID (JSON or JSV)")
async def read_refund_note(request: Request, AcCusRefundNoteMID: str):  # noqa: N803 (the document's name)
    return await _answer_read(request, lambda principal: _read_one(request.app, principal, AcCusRefundNoteMID))


@router.get("/CustomerRefundNotes", responses=R.SNR2U_LIST_RESPONSES, openapi_extra=_LIST_DOC,
            summary="SnR2U: list customer refund notes, AutoQuery style (Skip, Take, OrderBy, filters)")
async def list_refund_notes(request: Request):
    return await _answer_read(request, lambda principal: _read_page(request.app, principal, request.query_params))


async def _answer_read(request: Request, answer) -> HttpResponse:
    """A read route: the credential first, then the format, then ``answer(principal)`` (the body);
    in the format and casing asked for, errors as ServiceStack's ``ResponseStatus``."""
    lang = common.language(request, LANGUAGES)
    _, out, refused = _formats(request, None)
    try:
        principal = await common.call(_authorize_read, request)
        if refused is not None:
            raise refused
        response = Response(200, JSON_TYPE, dumps(await common.call(answer, principal)))
    except RefundError as error:
        return _read_failure(error, lang, out, text_case(request, out))
    return _to_http(response, out, {}, text_case(request, out))


def _read_one(app, principal: Principal, number: str) -> dict:
    """The refund note ``number`` as the create answer showed it, with its ``State`` (posted or voided)."""
    if not number.strip() or len(number) > 20 or "\x00" in number:
        raise Invalid(Violation("AcCusRefundNoteMID", "validation_error",
                                "{field_name} must be a non-empty string of at most {max} characters",
                                {"field_name": "AcCusRefundNoteMID", "max": 20}))
    notes, _ = _page(app, principal.tenant_id, {"mid": number}, 0, 1, None)
    if not notes:
        raise RefundError(Violation("AcCusRefundNoteMID", "not_found", "there is no refund note {value}",
                                    {"value": number}))
    body = render_result(*notes[0])
    body["ResponseStatus"]["Meta"]["State"] = notes[0][0].state
    return body


def _read_page(app, principal: Principal, query) -> dict:
    """AutoQuery's ``QueryResponse`` for the query string ``query``."""
    filters, skip, take, order = _list_query(query)
    notes, total = _page(app, principal.tenant_id, filters, skip, take, order)
    return {"Offset": skip, "Total": total, "Results": [render_result(*note)["CustomerRefundNote"] for note in notes],
            "Meta": {}, "ResponseStatus": None}


def _read_failure(error: RefundError, lang: str, out: str, case: str) -> HttpResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.code == "unauthorized" else {}
    if getattr(error, "retry_after", None):
        headers["Retry-After"] = str(error.retry_after)
    return _to_http(Responder(lang).failure(error), out, headers, case)


def _authorize_read(request: Request) -> Principal:
    principal = principal_for(request)
    if not principal.may(READ_PERMISSION):
        raise reject("forbidden", "/headers/Authorization", "this credential lacks the {permission} permission",
                     permission=READ_PERMISSION)
    return principal


def _list_query(query) -> tuple[dict, int, int, tuple[str, bool] | None]:
    """AutoQuery's query string: ``Skip``, ``Take`` (at most 100), ``OrderBy``/``OrderByDesc``,
    and filters by field name (case-insensitive, as ServiceStack binds them)."""
    reader = _Reader(money.currency("MYR"))
    filters: dict = {}
    skip, take, order = 0, LIST_MAX_TAKE, None
    for key, value in query.multi_items():
        low = key.lower()
        if "\x00" in value:
            reader.invalid(key, "{field_name} must not contain the NUL character")
            continue
        if low in ("skip", "take"):
            if not value.isascii() or not value.isdigit() or (low == "take" and not 1 <= int(value) <= LIST_MAX_TAKE) \
                    or int(value) > INT_MAX:
                reader.invalid(key, "{field_name} must be a whole number from {low} to {high}",
                               low=0 if low == "skip" else 1, high=INT_MAX if low == "skip" else LIST_MAX_TAKE)
            elif low == "skip":
                skip = int(value)
            else:
                take = int(value)
        elif low in ("orderby", "orderbydesc"):
            name = value.strip().lstrip("-")
            if name.lower() not in _ORDERABLE:
                reader.invalid(key, "{field_name} must be one of {choices}", choices=", ".join(_ORDERABLE.values()))
            else:
                order = (_ORDERABLE[name.lower()], low == "orderbydesc" or value.strip().startswith("-"))
        elif low in _PAGING:
            continue  # format is read by _formats; Include=Total and Fields change nothing here
        elif low in _LIST_FIELDS:
            if not value.strip() or len(value) > 40:
                reader.invalid(key, "{field_name} must be a non-empty string of at most {max} characters", max=40)
            else:
                filters[_LIST_FIELDS[low]] = value
        elif low in _DATE_PARAMS:
            day = _date(value)
            if day is None:
                reader.invalid(key, "{field_name} must be a date such as 2026-06-15")
            else:
                filters.setdefault("dates", []).append((_DATE_PARAMS[low], day))
        else:
            reader.invalid(key, "{field_name} is not a parameter of this request")
    if reader.bad:
        raise Invalid(reader.bad)
    return filters, skip, take, order


def _page(app, tenant_id: int, filters: dict, skip: int, take: int, order) -> tuple[list[tuple], int]:
    """The refund notes matching ``filters`` (each its result and its customer's name), this
    tenant's only, oldest first unless ``order`` says otherwise; and how many match in all."""
    from ...service import views as V

    codes = {name: value for name, value in filters.items() if name not in ("mid", "dates")}
    with app.state.refunds.uow(tenant_id, write=False) as uow:
        rows, total = queries.refund_notes(uow.store, number=filters.get("mid"), codes=codes,
                                           dates=filters.get("dates", ()), skip=skip, take=take, order=order)
        reads = RefundReads(uow.store)
        results = [V.refund_result(uow.store, row) for row in rows]
        return [(result, reads.customer_name(result.customer)) for result in results], total
