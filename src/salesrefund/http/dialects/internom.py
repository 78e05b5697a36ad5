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
from dataclasses import dataclass

from fastapi import APIRouter, Request

from ...domain import money
from ...domain.commands import IssueRefund, RefundLineRequest
from ...domain.errors import Invalid, RefundError, Violation
from ...service.idempotency import Response
from ...service.results import RefundResult
from ...service.lookups import Lookups
from ..auth import authorize
from ...service.uow import fault_message
from ..problems import json_text, loads_exact, to_http as _http
from .. import responses as R
from . import common

log = logging.getLogger("salesrefund.internom")

CHANNEL = "internom"
PATH = "/api/internom/refund/sale"
LANGUAGES = ("en", "mn")  # the first is the default when Accept-Language names neither
PERMISSION = "refund:create"
JSON = "application/json"
SUCCESS_MESSAGE = "Requestedoperationisvalid"  # verbatim from the document
MAX_TEXT = 100  # reference, reference_id, customer_id, branch_name, product ids
MAX_LINES = 1000

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
    lang = common.language(request, LANGUAGES)
    responder = InternomResponder(lang)
    try:
        principal = await common.call(authorize, request, PERMISSION)
        body = await _read_json(request)
        parsed = parse(body)
        responder.names = FieldNames(parsed.product_fields)
        command = await common.call(resolve, request.app.state.engine, principal.tenant_id, parsed)
        ctx = common.context(request, principal, CHANNEL, body=body,
                             natural_keys=(("reference", parsed.reference), ("reference_id", parsed.reference_id)),
                             document_numbers=("reference", "reference_id"))
        response = await common.call(request.app.state.refunds.issue, ctx, command, responder)
    except RefundError as error:
        response = responder.failure(error)
        headers = {}
        if getattr(error, "retry_after", None):
            headers["Retry-After"] = str(error.retry_after)
        if error.code == "unauthorized":
            headers["WWW-Authenticate"] = "Bearer"
        return _http(response, headers)
    except Exception:  # a real fault: the transaction rolled back, nothing was recorded
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = responder.failure(RefundError(Violation(
            "/", "server_error", fault_message())))
    return _http(response)


async def _read_json(request: Request):
    body = await request.body()
    if len(body) > common.MAX_BODY_BYTES:
        raise Invalid(Violation("/", "validation_error", "the request body is too large"))
    try:
        data = loads_exact(body)
    except (ValueError, UnicodeDecodeError):
        raise Invalid(Violation("/", "validation_error", "the request body is not valid JSON"))
    if not isinstance(data, dict):
        raise Invalid(Violation("/", "validation_error", "the request body must be a JSON object"))
    return data


# -- parsing: the wire format into exact values, door field names in every error --------------------

@dataclass(frozen=True)
class OrderLine:
    product: str  # barcode / ACS code as sent
    quantity: int  # 1/10,000 units
    price_unit: int  # 1/10,000 currency units


@dataclass(frozen=True)
class InternomRefund:
    branch_name: str
    reference: str
    reference_id: str
    customer_id: str  # the customer's tax number
    lines: tuple[OrderLine, ...]
    product_fields: tuple[str, ...]  # "product_id" or "acs_id", as each line named its product


def parse(body: dict) -> InternomRefund:
    """The body as exact values, or ``Invalid`` naming every bad field. Unknown fields are
    ignored, as Internom's Odoo controller ignores them."""
    bad: list[Violation] = []
    texts = {name: common.text_field(body, name, bad, limit=MAX_TEXT) for name in ("branch_name", "reference", "reference_id", "customer_id")}
    lines: list[OrderLine] = []
    fields: list[str] = []
    order_line = body.get("order_line")
    if order_line is None:
        bad.append(_bad("order_line", "{field_name} is required"))
    elif not isinstance(order_line, list) or not order_line:
        bad.append(_bad("order_line", "{field_name} must be a non-empty list of order lines"))
    elif len(order_line) > MAX_LINES:
        bad.append(_bad("order_line", "{field_name} has more than {max} lines", max=MAX_LINES))
    else:
        for i, item in enumerate(order_line):
            at = f"order_line[{i}]"
            if not isinstance(item, dict):
                bad.append(_bad(at, "{field_name} must be an object"))
                fields.append("product_id")
                continue
            field, product = _product(item, at, bad)
            fields.append(field)
            quantity = _number(money.parse_quantity, item, f"{at}.quantity", bad)
            price = _number(money.parse_price, item, f"{at}.price_unit", bad)
            if quantity is not None and quantity <= 0:
                bad.append(_bad(f"{at}.quantity", "{field_name} must be greater than zero"))
            if price is not None and price < 0:
                bad.append(_bad(f"{at}.price_unit", "{field_name} must not be negative"))
            if product is not None and quantity is not None and price is not None:
                lines.append(OrderLine(product, quantity, price))
    if bad:
        raise Invalid(bad)
    return InternomRefund(lines=tuple(lines), product_fields=tuple(fields), **texts)


def _product(item: dict, at: str, bad: list[Violation]) -> tuple[str, str | None]:
    """The line's product identifier: ``product_id`` (the document's example) or ``acs_id`` (its
    table); both may be sent only when they agree."""
    given = [name for name in ("product_id", "acs_id") if item.get(name) is not None]
    if not given:
        bad.append(_bad(f"{at}.product_id", "{field_name} is required (or acs_id)"))
        return "product_id", None
    values = [common.text_field(item, name, bad, limit=MAX_TEXT, at=f"{at}.{name}") for name in given]
    if None in values:
        return given[values.index(None)], None
    if len(set(values)) > 1:
        bad.append(_bad(f"{at}.acs_id", "{field_name} names another product than product_id; send one of them"))
        return "acs_id", None
    return given[0], values[0]


def _number(parse_, item: dict, at: str, bad: list[Violation]) -> int | None:
    value = item.get(at.rsplit(".", 1)[-1])
    if value is None:
        bad.append(_bad(at, "{field_name} is required"))
        return None
    try:
        return parse_(value, at)
    except Invalid as error:
        bad.extend(error.violations)
        return None


_bad = common.bad


# -- mapping identifiers and building the command ------------------------------------------------------

def resolve(engine, tenant_id: int, parsed: InternomRefund) -> IssueRefund:
    """Map the tax number, barcodes and branch onto our codes (read-only, tenant-scoped) and build
    the command; unknown ones are ``*_not_found`` naming Internom's field (404)."""
    missing: list[Violation] = []
    with Lookups(engine, tenant_id) as find:
        customer = find.customer_code_by_tax_number(parsed.customer_id)
        if customer is None:
            missing.append(Violation("customer_id", "customer_not_found",
                                     "there is no customer with tax number {tax_number}",
                                     {"tax_number": parsed.customer_id}))
        if not find.location_exists(parsed.branch_name):
            missing.append(Violation("branch_name", "location_not_found", "location {location} does not exist",
                                     {"location": parsed.branch_name}))
        products = []
        for i, line in enumerate(parsed.lines):
            code = find.product_code(line.product)
            products.append(code)
            if code is None:
                missing.append(Violation(f"order_line[{i}].{parsed.product_fields[i]}", "product_not_found",
                                         "there is no product with barcode {barcode}", {"barcode": line.product}))
    if missing:
        raise RefundError(missing)
    return IssueRefund(
        lines=tuple(RefundLineRequest(product=code, quantity=line.quantity, unit_price=line.price_unit)
                    for code, line in zip(products, parsed.lines)),
        customer=customer, location=parsed.branch_name, reference=parsed.reference,
        metadata={"reference_id": parsed.reference_id, "customer_tax_number": parsed.customer_id,
                  "barcodes": [line.product for line in parsed.lines]})


# -- rendering ---------------------------------------------------------------------------------------

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
    lang = common.language(request, LANGUAGES)
    responder = InternomResponder(lang)
    try:
        principal = await common.call(authorize, request, READ_PERMISSION)
        field, value = _reference_query(request)
        view = await common.call(find_by_reference, request.app, principal.tenant_id, field, value)
    except RefundError as error:
        headers = {"WWW-Authenticate": "Bearer"} if error.code == "unauthorized" else {}
        return _http(responder.failure(error), headers)
    return _http(Response(200, JSON, common.dumps({"status": "success", "data": read_view(view),
                                                   "message": SUCCESS_MESSAGE})))


def _reference_query(request: Request) -> tuple[str, str]:
    given = [(name, request.query_params.get(name)) for name in ("reference", "reference_id")
             if request.query_params.get(name) is not None]
    if len(given) != 1:
        raise Invalid(Violation("reference", "validation_error", "send exactly one of reference and reference_id"))
    name, value = given[0]
    if not value.strip() or len(value) > MAX_TEXT or "\x00" in value:
        raise Invalid(_bad(name, "{field_name} must be a non-empty string of at most {max} characters", max=MAX_TEXT))
    return name, value


def find_by_reference(app, tenant_id: int, field: str, value: str) -> dict:
    """The native view of the Internom refund with that ``reference`` (a column) or
    ``reference_id`` (kept in its metadata); ``not_found`` for anything else, another tenant's too."""
    import json as _json

    from ...service import views
    from ...store.queries.internom import refunds_by_reference

    with app.state.refunds.uow(tenant_id, write=False) as uow:
        for row in refunds_by_reference(uow.store, CHANNEL, field, value):
            metadata = _json.loads(row["metadata_json"])
            if field == "reference" or metadata.get("reference_id") == value:
                return {**views.refund_view(uow.store, row), "metadata": metadata}
    raise RefundError(Violation(field, "not_found", "there is no refund with {field_name} {value}",
                                {"field_name": field, "value": value}))


def read_view(view: dict) -> dict:
    """Internom's create answer (``sale_name``, ``order_ref``) and its request's fields, as they were sent."""
    metadata = view["metadata"]
    barcodes = metadata.get("barcodes") or []
    return {"status": "success", "sale_name": view["number"],
            "order_ref": f"{view['reference']} (ID: '{view['id']}')", "state": view["state"],
            "reference": view["reference"], "reference_id": metadata.get("reference_id"),
            "customer_id": metadata.get("customer_tax_number"), "branch_name": view["location"],
            "order_line": [{"product_id": barcodes[i] if i < len(barcodes) else line["product"],
                            "quantity": _number_out(line["quantity"]), "price_unit": _number_out(line["unit_price"]),
                            "price_total": _number_out(line["gross"])} for i, line in enumerate(view["lines"])],
            "amount_total": _number_out(view["total"]), "posting_date": view["posting_date"]}


def _number_out(text: str | None):
    """A decimal string as the JSON number Internom writes (14900, 1.5), exactly."""
    return None if text is None else common.JsonNumber(text)
