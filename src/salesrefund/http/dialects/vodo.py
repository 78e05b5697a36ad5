"""The Vodo ERP door: ``POST /api/v4/credit_note/pos/{invoice_id}`` (seed document 001).

A credit note against the POS invoice in the path, sent as ``multipart/form-data`` (or
``application/x-www-form-urlencoded``) with parallel ``item_*[]`` arrays, authenticated by the
headers ``secure-business-key`` + ``userToken`` (the door credential), ``apikey`` and
``platform-key`` (which must match the credential's settings) and ``platform``; messages follow
``Accept-Language`` (``en``, ``ar``). Translation only: the form is parsed by its field table
(``LINE_FIELDS``, ``FORM_FIELDS``) into the one ``IssueRefund`` command (the discount arithmetic is
``domain.discounts``) and the engine decides everything; see ``docs/doors/vodo.md``.

Every response is Vodo's envelope ``{"status", "message", "data", "errors"}``; a credit note is
rendered (``vodo_render``) from what ``store.queries.vodo`` reads back as integers.
"""

from __future__ import annotations

import codecs
import hmac
import logging
import re
import urllib.parse
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response as StarletteResponse

from ...domain import discounts, money
from ...domain.commands import IssueRefund, PaymentRequest, RefundLineRequest
from ...domain.errors import Invalid, RefundError, Violation, reject
from ...service import doors
from ...service.idempotency import MAX_KEY_LENGTH
from ...service.uow import fault_message
from ...store.queries import vodo as queries
from .. import responses as R
from ..problems import to_http as _http
from . import common
from .vodo_render import TENDERS, Layout, VodoResponder, credit_note as render_note

log = logging.getLogger("salesrefund.vodo")

CHANNEL = "vodo"
LANGUAGES = ("en", "ar")  # the first is the default when Accept-Language names neither
PATH = "/api/v4/credit_note/pos"
DEFAULT_VAT_RATE = "15"  # Saudi standard rate, when the credential's settings name none
AUTH_HEADERS = ("secure-business-key", "userToken", "apikey", "platform-key", "platform")
_ARRAY_KEY = re.compile(r"^([A-Za-z_]+)\[(\d{0,4})\]$")
MAX_TEXT, MAX_CODE = 500, 64  # descriptions; ids and codes (as the native API allows)

# -- the field table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One form field: its wire name (an item array without ``[]``), its type, its rule
    (``required``: present and not blank; ``present``: present, may be empty; ``optional``) and
    the command field it fills (docs/doors/vodo.md, "How the form maps onto the command")."""

    name: str
    type: str
    rule: str
    fills: str


LINE_FIELDS = (  # one value per line, in parallel arrays
    Field("item_id", "code", "present", "lines[i].product (empty: a free amount)"),
    Field("item_price", "price", "present", "lines[i].unit_price, or the discounted amount"),
    Field("item_qty", "quantity", "required", "lines[i].quantity"),
    Field("item_discount", "discount", "present", "lines[i].amount (domain.discounts)"),
    Field("item_desc", "text", "present", "lines[i].description"),
    Field("employee_id", "code", "present", "metadata.employee_id"),
)
FORM_FIELDS = (
    Field("description", "text", "present", "reason"),
    Field("discount_type", "discount_type", "present", "the kind of every item_discount"),
    Field("pos_session_id", "code", "required", "pos_session"),
    Field("pos_id", "code", "required", "pos"),
    Field("cash_amount", "amount", "optional", "payments: cash"),
    Field("visa_amount", "amount", "optional", "payments: card"),
    Field("customer_amount", "amount", "optional", "payments: store_credit"),
)
ARRAYS = tuple(f.name for f in LINE_FIELDS)
SCALARS = tuple(f.name for f in FORM_FIELDS)
DISCOUNT_TYPES = {"0": discounts.PERCENTAGE, "1": discounts.FIXED}

router = APIRouter(tags=["vodo"])


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
        command, layout = _command(form, invoice_id, door.settings, door.principal.currency)
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
        raise _bad("invoice_id", "{field_name} must not contain the NUL character")


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


# -- the command ------------------------------------------------------------



def _bad(label: str, template: str, **params) -> Invalid:
    return Invalid(Violation(label, "validation_error", template, {"field_name": label, **params}))


def _parse(f: Field, text: str, label: str, cur: money.Currency, discount_type: str | None):
    """One value by its field's type: None when empty; ``Invalid`` naming ``label`` when wrong."""
    text = text.strip()
    limit = MAX_TEXT if f.type == "text" else MAX_CODE
    if len(text) > limit:
        raise _bad(label, "{field_name} has more than {max} characters", max=limit)
    if f.type == "discount_type":
        if text not in DISCOUNT_TYPES:
            raise _bad(label, "discount_type must be 0 (item_discount is a percentage) or 1 (a fixed amount)")
        return DISCOUNT_TYPES[text]
    if not text:
        if f.rule == "required":
            raise _bad(label, "{field_name} is required")
        return None
    if f.type in ("text", "code"):
        return text
    if f.type == "quantity":
        return money.parse_quantity(text, label)
    if f.type == "price":
        return money.parse_price(text, label)
    if f.type == "discount" and discount_type == discounts.PERCENTAGE:
        return money.parse_rate(text, label)
    value = money.parse_amount(text, label, cur)  # an amount, or a fixed discount
    if value < 0:
        raise _bad(label, "{field_name} must not be negative")
    return value


def _values(form: Form, cur: money.Currency) -> tuple[dict, list[dict], list[Violation]]:
    """The form by its table: the scalars, one dict per line, and every violation."""
    missing = [_bad(f"{f.name}[]", "{field_name} is required") for f in LINE_FIELDS if f.name not in form.arrays]
    missing += [_bad(f.name, "{field_name} is required") for f in FORM_FIELDS
                if f.rule != "optional" and f.name not in form.scalars]
    count = len(form.arrays.get("item_id", ()))
    missing += [_bad(f"{name}[]", "{field_name} has {count} values but item_id[] has {expected}: the item arrays "
                     "are parallel and must have the same length", count=len(values), expected=count)
                for name, values in form.arrays.items() if "item_id" in form.arrays and len(values) != count]
    if missing:
        raise Invalid([v for error in missing for v in error.violations])
    bad: list[Violation] = []

    def value(f: Field, text: str, label: str, discount_type=None):
        try:
            return _parse(f, text, label, cur, discount_type)
        except Invalid as error:
            bad.extend(error.violations)

    scalars = {f.name: value(f, form.scalars.get(f.name, ""), f.name) for f in FORM_FIELDS}
    lines = [{f.name: value(f, form.arrays[f.name][i], f"{f.name}[{i}]", scalars["discount_type"])
              for f in LINE_FIELDS} for i in range(count)]
    return scalars, lines, bad


def _command(form: Form, invoice_id: str, settings: dict, cur: money.Currency) -> tuple[IssueRefund, Layout]:
    scalars, lines, bad = _values(form, cur)
    failed = {v.field for v in bad}
    layout = Layout(discounted=[bool(line["item_discount"]) for line in lines])
    for i, line in enumerate(lines):
        label = f"item_price[{i}]"
        if line["item_price"] is None and label not in failed and (line["item_id"] is None or layout.discounted[i]):
            bad.extend(_bad(label, "{field_name} is required on a line without item_id or with a discount").violations)
    if bad:
        raise Invalid(bad)
    vat_rate = money.parse_rate(settings.get("vat_rate", DEFAULT_VAT_RATE), "vat_rate")
    tenders = [(name, method, scalars[name]) for name, method in TENDERS if scalars[name] is not None]
    layout.tenders = [name for name, _, amount in tenders if amount > 0]  # "0": nothing by this tender
    employees = form.arrays["employee_id"]
    return IssueRefund(
        lines=tuple(_line(line, scalars["discount_type"], vat_rate, cur) for line in lines), invoice=invoice_id,
        reason=scalars["description"], pos=scalars["pos_id"], pos_session=scalars["pos_session_id"],
        payments=tuple(PaymentRequest(method, amount) for _, method, amount in tenders if amount > 0)
        if tenders else None,
        metadata={"employee_id": employees} if any(e.strip() for e in employees) else {}), layout


def _line(line: dict, discount_type: str, vat_rate: int, cur: money.Currency) -> RefundLineRequest:
    product, quantity, description = line["item_id"], line["item_qty"], line["item_desc"]
    if product is not None and not line["item_discount"]:
        # an invoice line (by product code) at item_price, tax included: the engine refuses a
        # price above the original and a quantity beyond what remains
        return RefundLineRequest(product=product, quantity=quantity, unit_price=line["item_price"],
                                 description=description)
    amount = discounts.discounted_amount(quantity, line["item_price"], line["item_discount"], discount_type, cur)
    if product is not None:  # discounted units: their tax-inclusive amount, capped by what they sold for
        return RefundLineRequest(product=product, quantity=quantity, amount_minor=amount, description=description)
    # a free amount at the tenant's VAT rate, capped by what remains refundable on the invoice
    return RefundLineRequest(amount_minor=amount, tax_rate=vat_rate, description=description)


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
        notes = queries.credit_notes(uow.store, invoice_id)
        if notes is None:
            raise reject("invoice_not_found", "/invoice", "invoice {invoice} does not exist", invoice=invoice_id)
        return [render_note(note, lang) for note in notes]
