"""The Vodo ERP door: ``POST /api/v4/credit_note/pos/{invoice_id}`` (seed document 001).

A credit note against the POS invoice in the path, sent as ``multipart/form-data`` (or
``application/x-www-form-urlencoded``) with parallel ``item_*[]`` arrays, authenticated by the
headers ``secure-business-key`` + ``userToken`` (the door credential), ``apikey`` and
``platform-key`` (which must match the credential's settings) and ``platform``; messages follow
``Accept-Language`` (``en``, ``ar``). Translation only: the form becomes the one ``IssueRefund``
command and the engine decides everything; see ``docs/doors/vodo.md`` for the field mapping.

Every response is Vodo's envelope ``{"status", "message", "data", "errors"}``. Money is written as
JSON numbers with exactly the currency's decimals (``100.00``), never through a binary float.
"""

from __future__ import annotations

import codecs
import hmac
import logging
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.responses import Response as StarletteResponse

from ... import i18n
from ...domain import money
from ...domain.commands import IssueRefund, PaymentRequest, RefundLineRequest
from ...domain.errors import Invalid, RefundError, Violation, reject
from ...service import doors
from ...service.idempotency import MAX_KEY_LENGTH, Response
from ...store import tables as t
from .. import responses as R
from ...service.uow import fault_message
from ..problems import to_http as _http
from . import common
from .common import JsonNumber, dumps

log = logging.getLogger("salesrefund.vodo")

CHANNEL = "vodo"
LANGUAGES = ("en", "ar")  # the first is the default when Accept-Language names neither
PATH = "/api/v4/credit_note/pos"
SUCCESS_STATUS = 200  # the document shows a plain success envelope; we answer 200 like Vodo
JSON = "application/json"
DEFAULT_VAT_RATE = "15"  # Saudi standard rate, when the credential's settings name none

ARRAYS = ("item_id", "item_price", "item_qty", "item_discount", "item_desc", "employee_id")
REQUIRED = ("description", "discount_type", "pos_session_id", "pos_id")
TENDERS = (("cash_amount", "cash"), ("visa_amount", "card"), ("customer_amount", "store_credit"))
SCALARS = REQUIRED + tuple(name for name, _ in TENDERS)
AUTH_HEADERS = ("secure-business-key", "userToken", "apikey", "platform-key", "platform")
_ARRAY_KEY = re.compile(r"^([A-Za-z_]+)\[(\d{0,4})\]$")

MAX_TEXT, MAX_CODE = 500, 64  # descriptions; ids and codes (as the native API allows)
SUCCESS_MESSAGE = "The credit note was created on the invoice successfully"

router = APIRouter(tags=["vodo"])
# Failures answered at the app's edge (a body over the limit: 413, too slow: 408), in this envelope.
common.answers_errors(lambda path: path.startswith(PATH), lambda request, error: _http(
    VodoResponder(common.language(request, LANGUAGES)).failure(error)))


# -- the routes -----------------------------------------------------------------------------------

def _openapi() -> dict:
    """The form and headers for /docs (the route reads the request itself, in Vodo's shapes)."""
    text = {"type": "string"}
    array = {"type": "array", "items": text}
    form = {"type": "object", "required": [f"{name}[]" for name in ARRAYS] + list(REQUIRED),
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
        if "\x00" in invoice_id:  # %00 in the path: PostgreSQL text cannot hold it
            raise Invalid(Violation("invoice_id", "validation_error", "{field_name} must not contain the NUL character",
                                    {"field_name": "invoice_id"}))
        form = await _read_form(request)
        command, layout, echo = _command(form, invoice_id, door.settings, door.principal.currency)
        responder = VodoResponder(lang, layout, echo)
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

@dataclass
class Form:
    arrays: dict[str, list[str]]
    scalars: dict[str, str]
    echo: dict  # the request as received (R20): no secrets here, they travel in headers


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
        return _collect(list(form.multi_items()))
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


def _collect(items: list[tuple[str, object]]) -> Form:
    """Group the form's fields: ``name[]`` repeated (or ``name[0]``, ``name[1]``, ... as PHP
    clients send them) into arrays in order, and the scalars; anything else is refused."""
    bad: list[Violation] = []
    listed: dict[str, list[str]] = {}
    indexed: dict[str, dict[int, str]] = {}
    scalars: dict[str, list[str]] = {}
    for key, value in items:
        if not isinstance(value, str):
            label = key if isinstance(key, str) else "?"
            bad.append(Violation(label, "validation_error", "{field_name} must be text, not a file",
                                 {"field_name": label}))
            continue
        if "\x00" in key or "\x00" in value:  # PostgreSQL text cannot hold it
            label = key.replace("\x00", "")[:100] or "?"
            bad.append(Violation(label, "validation_error", "{field_name} must not contain the NUL character",
                                 {"field_name": label}))
            continue
        match = _ARRAY_KEY.match(key)
        if match and match.group(1) in ARRAYS:
            name, index = match.groups()
            if index == "":
                listed.setdefault(name, []).append(value)
            else:
                slots = indexed.setdefault(name, {})
                if int(index) in slots:
                    bad.append(Violation(key, "validation_error", "{field_name} is given twice", {"field_name": key}))
                slots[int(index)] = value
        elif key in SCALARS:
            scalars.setdefault(key, []).append(value)
        else:
            bad.append(Violation(key[:100], "validation_error",
                                 "unknown field {field_name}; it is not part of this request",
                                 {"field_name": key[:100]}))
    arrays: dict[str, list[str]] = {}
    for name in ARRAYS:
        if name in listed and name in indexed:
            bad.append(Violation(f"{name}[]", "validation_error",
                                 "{field_name} mixes name[] and name[n] keys; use one form",
                                 {"field_name": f"{name}[]"}))
        elif name in indexed:
            slots = indexed[name]
            if sorted(slots) != list(range(len(slots))):
                bad.append(Violation(f"{name}[]", "validation_error",
                                     "the indexes of {field_name} must run 0, 1, 2, ... without gaps",
                                     {"field_name": f"{name}[]"}))
            arrays[name] = [slots[i] for i in sorted(slots)]
        elif name in listed:
            arrays[name] = listed[name]
    single: dict[str, str] = {}
    for name, values in scalars.items():
        if len(values) > 1:
            bad.append(Violation(name, "validation_error", "{field_name} must be given once", {"field_name": name}))
        single[name] = values[0]
    if bad:
        raise Invalid(bad)
    echo = {f"{name}[]": values for name, values in arrays.items()}
    echo.update(single)
    return Form(arrays, single, echo)


# -- the command ----------------------------------------------------------------------------------

@dataclass
class Layout:
    """How the command's lines and payments map back onto Vodo's fields (for error names)."""

    discounted: list[bool] = field(default_factory=list)
    tenders: list[str] = field(default_factory=list)  # payment index -> its Vodo field


@dataclass
class Echo:
    """Request values the response shows as sent."""

    pos_id: str = ""
    pos_session_id: str = ""


def _command(form: Form, invoice_id: str, settings: dict, cur: money.Currency
             ) -> tuple[IssueRefund, Layout, Echo]:
    bad: list[Violation] = []

    def required(name: str, label: str) -> None:
        bad.append(Violation(label, "validation_error", "{field_name} is required", {"field_name": label}))

    def parse(function, value, label, *args):
        try:
            return function(value, label, *args)
        except Invalid as error:
            bad.extend(error.violations)
            return None

    for name in ARRAYS:
        if name not in form.arrays:
            required(name, f"{name}[]")
    for name in REQUIRED:
        if name not in form.scalars:
            required(name, name)
    count = len(form.arrays.get("item_id", ()))
    for name in ARRAYS[1:]:
        if name in form.arrays and "item_id" in form.arrays and len(form.arrays[name]) != count:
            bad.append(Violation(f"{name}[]", "validation_error",
                                 "{field_name} has {count} values but item_id[] has {expected}: the item "
                                 "arrays are parallel and must have the same length",
                                 {"field_name": f"{name}[]", "count": len(form.arrays[name]), "expected": count}))
    discount_type = form.scalars.get("discount_type", "").strip()
    if "discount_type" in form.scalars and discount_type not in ("0", "1"):
        bad.append(Violation("discount_type", "validation_error",
                             "discount_type must be 0 (item_discount is a percentage) or 1 (a fixed amount)"))
    for name in ("pos_id", "pos_session_id"):
        if name in form.scalars and not form.scalars[name].strip():
            required(name, name)
    too_long = [(name, value, limit) for name, value, limit in
                [("description", form.scalars.get("description", ""), MAX_TEXT),
                 ("pos_id", form.scalars.get("pos_id", ""), MAX_CODE),
                 ("pos_session_id", form.scalars.get("pos_session_id", ""), MAX_CODE)]
                + [(f"{name}[{i}]", value, MAX_TEXT if name == "item_desc" else MAX_CODE)
                   for name in ARRAYS for i, value in enumerate(form.arrays.get(name, ()))]
                if len(value.strip()) > limit]
    for name, _, limit in too_long:
        bad.append(Violation(name, "validation_error", "{field_name} has more than {max} characters",
                             {"field_name": name, "max": limit}))
    if bad:
        raise Invalid(bad)

    vat_rate = money.parse_rate(settings.get("vat_rate", DEFAULT_VAT_RATE), "vat_rate")
    lines: list[RefundLineRequest] = []
    layout = Layout()
    for i in range(count):
        value = {name: form.arrays[name][i].strip() for name in ARRAYS}
        product = value["item_id"] or None
        quantity = parse(money.parse_quantity, value["item_qty"], f"item_qty[{i}]") \
            if value["item_qty"] else required("item_qty", f"item_qty[{i}]")
        price = None
        if value["item_price"]:
            price = parse(money.parse_price, value["item_price"], f"item_price[{i}]")
        discount = None
        if value["item_discount"]:
            if discount_type == "0":
                discount = parse(money.parse_rate, value["item_discount"], f"item_discount[{i}]")
            else:
                discount = parse(money.parse_amount, value["item_discount"], f"item_discount[{i}]", cur)
                if discount is not None and discount < 0:
                    bad.append(Violation(f"item_discount[{i}]", "validation_error",
                                         "{field_name} must not be negative", {"field_name": f"item_discount[{i}]"}))
        discounted = bool(discount)
        if not value["item_price"] and (product is None or discounted):
            bad.append(Violation(f"item_price[{i}]", "validation_error",
                                 "{field_name} is required on a line without item_id or with a discount",
                                 {"field_name": f"item_price[{i}]"}))
        layout.discounted.append(discounted)
        if quantity is None or (price is None and (product is None or discounted)) or bad:
            continue
        description = value["item_desc"] or None
        if product is not None and not discounted:
            # an invoice line (by product code) at item_price, tax included: the engine refuses
            # a price above the original and a quantity beyond what remains
            lines.append(RefundLineRequest(product=product, quantity=quantity, unit_price=price,
                                           description=description))
            continue
        amount = _discounted_amount(quantity, price, discount, discount_type, cur)
        if product is not None:
            # discounted units: the refund line's tax-inclusive amount for those units; the engine
            # refuses it above what the units sold for
            lines.append(RefundLineRequest(product=product, quantity=quantity, amount_minor=amount,
                                           description=description))
        else:
            # a free amount at the tenant's VAT rate, capped by what remains refundable on the invoice
            lines.append(RefundLineRequest(amount_minor=amount, tax_rate=vat_rate, description=description))

    payments: list[PaymentRequest] = []
    given = False
    for name, method in TENDERS:
        text = form.scalars.get(name, "").strip()
        if not text:
            continue
        amount = parse(money.parse_amount, text, name, cur)
        if amount is None:
            continue
        if amount < 0:
            bad.append(Violation(name, "validation_error", "{field_name} must not be negative", {"field_name": name}))
            continue
        given = True
        if amount > 0:  # "0" means "nothing by this tender"
            payments.append(PaymentRequest(method, amount))
            layout.tenders.append(name)
    if bad:
        raise Invalid(bad)
    employees = form.arrays["employee_id"]
    echo = Echo(pos_id=form.scalars["pos_id"].strip(), pos_session_id=form.scalars["pos_session_id"].strip())
    command = IssueRefund(
        lines=tuple(lines), invoice=invoice_id, reason=form.scalars["description"].strip() or None,
        payments=tuple(payments) if given else None,
        metadata={"employee_id": employees} if any(e.strip() for e in employees) else {},
        pos=echo.pos_id, pos_session=echo.pos_session_id)
    return command, layout, echo


def _discounted_amount(quantity: int, price: int, discount: int | None, discount_type: str,
                       cur: money.Currency) -> int:
    """item_qty x item_price less the line's discount, rounded once, half up, to the currency:
    a percentage (discount_type 0) of the extended price, or a fixed amount (1) for the line."""
    scale = money.QUANTITY_SCALE * money.QUANTITY_SCALE
    if not discount:
        return money.extend(quantity, price, cur)
    if discount_type == "0":
        return money.div_round(quantity * price * cur.unit * (money.PERCENT - discount), scale * money.PERCENT)
    return money.extend(quantity, price, cur) - discount


# -- field names: the engine's JSON pointers as Vodo's form fields -------------------------------

_LINE_FIELDS = {"quantity": "item_qty", "unit_price": "item_price", "product": "item_id", "line": "item_id",
                "description": "item_desc", "location": "pos_id", "tax_rate": "item_id", "restock": "item_id"}
_TOP_FIELDS = {"/invoice": "invoice_id", "/pos": "pos_id", "/pos_session": "pos_session_id",
               "/location": "pos_id", "/reason": "description", "/posting_date": "created_date",
               "/document_date": "created_date", "/lines": "item_id[]", "/headers/Idempotency-Key": "Idempotency-Key",
               "/": "", "/customer": "invoice_id", "/currency": "invoice_id", "/state": "invoice_id",
               "/id": "invoice_id", "/expected": "item_price[]"}


def vodo_field(pointer: str, code: str, layout: Layout) -> str:
    """``/lines/0/quantity`` -> ``item_qty[0]``; names the door already uses pass through."""
    if not pointer.startswith("/"):
        return pointer
    if pointer in _TOP_FIELDS:
        return _TOP_FIELDS[pointer]
    parts = pointer.split("/")[1:]
    if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit():
        i = int(parts[1])
        name = parts[2] if len(parts) > 2 else "line"
        if name == "amount":
            discounted = i < len(layout.discounted) and layout.discounted[i]
            name = "item_discount" if discounted and code == "validation_error" else "item_price"
        else:
            name = _LINE_FIELDS.get(name, "item_id")
        return f"{name}[{i}]"
    if parts[0] == "payments":
        if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(layout.tenders):
            return layout.tenders[int(parts[1])]
        return layout.tenders[0] if layout.tenders else "cash_amount"
    return parts[-1]


# -- rendering ------------------------------------------------------------------------------------

def _number_or_text(code: str | None):
    """Vodo's ids are integers: a code written as a plain integer is shown as one, else as text."""
    if code is None:
        return None
    # ASCII digits only: "²".isdigit() is true but int("²") fails (issue 9, item 8)
    return int(code) if code.isascii() and code.isdigit() and str(int(code)) == code else code


def _timestamp(value: str | None) -> str | None:
    """ISO time -> Vodo's ``2025-03-27T13:29:26.000000Z`` (UTC)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class VodoResponder:
    """Renders the refund as Vodo's credit note with its invoice, and errors in Vodo's envelope."""

    def __init__(self, lang: str, layout: Layout | None = None, echo: Echo | None = None):
        self.lang = lang
        self.layout = layout or Layout()
        self.echo = echo or Echo()

    def enrich(self, store, view: dict) -> dict:
        """The invoice as it stands with this refund, read in the refund's transaction."""
        row = store.invoice_row(view["invoice"])
        snapshot, _ = store.invoice_snapshot(row)
        r, p = t.refunds.c, t.refund_payments.c
        paid_out = store.conn.execute(
            select(func.coalesce(func.sum(p.amount_minor), 0))
            .select_from(t.refund_payments.join(t.refunds, r.id == p.refund_id))
            .where(store._where(t.refunds, r.invoice_id == row["id"], r.state == "posted"),
                   p.kind.in_(("cash", "card", "bank")))).scalar()
        return {"refund": view, "invoice": snapshot, "created_at": row["created_at"],
                "received_minor": sum(amount for _, amount in snapshot.payments), "paid_out_minor": int(paid_out)}

    def success(self, view: dict, status: int) -> Response:
        data = self._credit_note(view["refund"], view["invoice"], view)
        body = {"status": True, "message": i18n.translate(SUCCESS_MESSAGE, self.lang), "data": data, "errors": []}
        return Response(SUCCESS_STATUS, JSON, dumps(body))

    def failure(self, error: RefundError, status: int | None = None) -> Response:
        errors = [{"field": vodo_field(v.field, v.code, self.layout), "code": v.code,
                   "message": common.text(v, self.lang)} for v in error.violations]
        body = {"status": False, "message": errors[0]["message"], "data": None, "errors": errors}
        return Response(status or error.status, JSON, dumps(body))

    def _credit_note(self, refund: dict, invoice, facts: dict) -> dict:
        cur = invoice.currency
        amount = lambda minor: JsonNumber(money.format_amount(minor, cur))  # noqa: E731
        refunded = invoice.refunded_total_minor
        by_method = dict(TENDERS)
        tenders = {name: amount(sum(money.parse_amount(p["amount"], name, cur) for p in refund["payments"]
                                    if p["method"] == by_method[name])) for name, _ in TENDERS}
        return {
            "uuid": refund["id"],
            "id": refund["id"],
            "reference": refund["number"],
            "invoice_id": _number_or_text(invoice.number),
            "admin_invoice_id": "",
            "created_date": refund["posting_date"],
            "description": refund["reason"] or "",
            "description_type": "",
            "billing_address": "",
            "tax_inclusive": "1" if invoice.prices_include_tax else "0",
            "discount": None,
            "deduct_type": "",
            "deduct_value": "",
            "total": JsonNumber(refund["total"]),
            "total_without_deduct": JsonNumber(refund["total"]),
            "note": "",
            "amount_total": JsonNumber(refund["net"]),
            "tax_amount_total": JsonNumber(refund["tax"]),
            "rounding": JsonNumber(refund["rounding"]),
            "currency": refund["currency"],
            "pos_id": self.echo.pos_id,
            "pos_session_id": self.echo.pos_session_id,
            **tenders,
            "payments": [{"method": p["method"], "amount": JsonNumber(p["amount"])} for p in refund["payments"]],
            "created_at": _timestamp(refund["created_at"]),
            "updated_at": _timestamp(refund["posted_at"] or refund["created_at"]),
            "all_items": [self._refund_item(line, refund, invoice) for line in refund["lines"]],
            # the printable credit note in the request's language (issue 11; a native token reads it)
            "pdf_url": f"/v1/refunds/{refund['id']}/document.pdf?lang={self.lang}",
            "invoice": {
                "id": _number_or_text(invoice.number),
                "reference": invoice.number,
                "created_date": invoice.date.isoformat(),
                "description": "",
                "rounding": "0",
                "rounding_value": "0",
                "tax_inclusive": "1" if invoice.prices_include_tax else "0",
                "discount": None,
                "total": amount(invoice.total_minor),
                "credit_amount": amount(refunded),
                "payment_amount": amount(facts["paid_out_minor"]),
                "receipt_amount": amount(facts["received_minor"]),
                "amount_total": amount(sum(line.net_minor for line in invoice.lines)),
                "tax_amount_total": amount(sum(line.tax_minor for line in invoice.lines)),
                "total_without_deduct": money.format_amount(invoice.total_minor, cur),
                "due_balalnce": amount(invoice.total_minor - facts["received_minor"] - refunded
                                       + facts["paid_out_minor"]),
                "deduct_type": "",
                "deduct_value": 0,
                "column_type": "sales_invoices",
                "created_at": _timestamp(_iso(facts["created_at"])),
                "updated_at": _timestamp(refund["posted_at"] or refund["created_at"]),
                "all_items": [self._invoice_item(line, invoice) for line in invoice.lines],
            },
        }

    def _invoice_item(self, line, invoice) -> dict:
        cur = invoice.currency
        return {
            "id": line.line,
            "invoice_id": _number_or_text(invoice.number),
            "sort": line.line,
            "item_id": _number_or_text(line.product),
            "item_kind": "0",
            "hidden": 0,
            "description": line.description,
            "qty": money.format_quantity(line.quantity),
            "unit_price": JsonNumber(money.format_amount(_net_unit(line.unit_price, line.tax_rate,
                                                            invoice.prices_include_tax, cur), cur)),
            "amount": JsonNumber(money.format_amount(line.net_minor, cur)),
            "discount": money.format_amount(line.discount_minor, cur),
            "tax_id": money.format_rate(line.tax_rate),
            "tax_rate": money.format_rate(line.tax_rate),
            "tax_amount": JsonNumber(money.format_amount(line.tax_minor, cur)),
            "total": JsonNumber(money.format_amount(line.gross_minor, cur)),
            "refunded_qty": money.format_quantity(line.refunded_quantity),
            "refunded_amount": JsonNumber(money.format_amount(line.refunded_gross_minor, cur)),
            "column_type": "sales_invoices",
        }

    def _refund_item(self, line: dict, refund: dict, invoice) -> dict:
        cur = invoice.currency
        sold = invoice.line_numbered(line["invoice_line"]) if line["invoice_line"] else None
        rate = money.parse_rate(line["tax_rate"], "tax_rate")
        if line["unit_price"] is not None:
            unit = _net_unit(money.parse_price(line["unit_price"], "unit_price"), rate, invoice.prices_include_tax, cur)
        else:
            unit = money.parse_amount(line["net"], "net", cur)
        return {
            "id": line["line"],
            "credit_note_id": refund["id"],
            "invoice_item_id": line["invoice_line"],
            "item_id": _number_or_text(sold.product if sold else None),
            "description": line["description"],
            "qty": line["quantity"] if line["invoice_line"] else "1",
            "unit_price": JsonNumber(money.format_amount(unit, cur)),
            "amount": JsonNumber(line["net"]),
            "discount": money.format_amount(0, cur),
            "tax_id": line["tax_rate"],
            "tax_rate": line["tax_rate"],
            "tax_amount": JsonNumber(line["tax"]),
            "total": JsonNumber(line["gross"]),
            "restock": line["restock"],
        }


def _net_unit(unit_price: int, rate: int, inclusive: bool, cur: money.Currency) -> int:
    """A unit price (1/10,000) as Vodo shows it: net of VAT, in minor units, rounded half up."""
    if inclusive:
        return money.div_round(unit_price * cur.unit * money.PERCENT, money.QUANTITY_SCALE * (money.PERCENT + rate))
    return money.div_round(unit_price * cur.unit, money.QUANTITY_SCALE)


def _iso(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat() if value is not None else None


# -- the credit notes of an invoice (issue 13) ------------------------------------------------------
# GET on the create route's path lists every credit note (refund) of the invoice, oldest first, each
# as the create answer shows it: the note, its items and the invoice as it stands now.

LIST_MESSAGE = "The credit notes of the invoice"


@router.get(PATH + "/{invoice_id}", summary="Vodo: the credit notes of a POS invoice",
            openapi_extra={"parameters": [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                                          for name in AUTH_HEADERS]}, responses=R.VODO_LIST_RESPONSES)
async def credit_notes_of_invoice(request: Request, invoice_id: str):
    lang = common.language(request, LANGUAGES)
    responder = VodoResponder(lang)
    try:
        door = await common.call(_authenticate, request, "refund:read")
        if "\x00" in invoice_id:
            raise Invalid(Violation("invoice_id", "validation_error", "{field_name} must not contain the NUL character",
                                    {"field_name": "invoice_id"}))
        notes = await common.call(_credit_notes, request.app, door.principal.tenant_id, invoice_id, lang)
    except RefundError as error:  # an invoice this tenant does not have is not found (404) on a read
        response = responder.failure(error, status=404 if error.code == "invoice_not_found" else None)
        retry = getattr(error, "retry_after", None)
        return _http(response, {"Retry-After": str(retry)} if retry else None)
    body = {"status": True, "message": i18n.translate(LIST_MESSAGE, lang), "data": notes, "errors": []}
    return _http(Response(200, JSON, dumps(body)))


def _credit_notes(app, tenant_id: int, invoice_id: str, lang: str) -> list[dict]:
    """The invoice's refunds as Vodo credit notes; ``invoice_not_found`` for an invoice this tenant
    does not have (another tenant's included)."""
    import json as _json

    from ...service import views

    with app.state.refunds.uow(tenant_id, write=False) as uow:
        store = uow.store
        row = store.invoice_row(invoice_id)
        if row is None:
            raise reject("invoice_not_found", "/invoice", "invoice {invoice} does not exist", invoice=invoice_id)
        c = t.refunds.c
        rows = uow.conn.execute(select(t.refunds).where(store._where(
            t.refunds, c.invoice_id == row["id"], c.kind == "refund", c.state != "draft")).order_by(c.id)).mappings().all()
        notes = []
        for refund in rows:
            view = views.refund_view(store, refund)
            command = _json.loads(refund["command_json"] or "{}")
            echo = Echo(pos_id=command.get("pos") or "", pos_session_id=command.get("pos_session") or "")
            facts = VodoResponder(lang).enrich(store, view)
            notes.append(VodoResponder(lang, echo=echo)._credit_note(view, facts["invoice"], facts))
        return notes
