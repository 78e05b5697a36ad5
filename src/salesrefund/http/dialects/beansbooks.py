"""The BeansBooks door: ``POST /api/customer/sale/refund`` (seed document 003), and BeansBooks'
``Customer_Sale_Lookup`` and ``Customer_Sale_Cancel`` of such a refund (issue 13):
``POST /api/customer/sale/lookup`` and ``POST /api/customer/sale/cancel``.

BeansBooks' JSON API maps ``/api/<word>/<word>/<word>`` onto the class ``Beans_Customer_Sale_Refund``
with the path words in any case (``/api/Customer/Sale/Refund`` works too); the any-case route matches
only ``api/customer/sale/`` + ``refund``, ``lookup`` or ``cancel`` in any case, so it shadows no other
door's ``/api/...`` path.
Credentials come in the body
(``auth_uid``, ``auth_key``, ``auth_expiration``: a door credential whose settings hold the
expiration, the tenant's Beans taxes and accounts).

The request refunds the sale (our invoice) ``id``; each refund line (negative ``amount`` per unit,
positive integer ``quantity``) is linked to the sale's line with the same description, so the
engine's caps (R7), tax (R4, from the sale line, R8) and remainder rule apply. BeansBooks allows one
refund per sale: the sale id is the natural key (R17). Translation only: see
``docs/doors/beansbooks.md`` for the field mapping and the decisions taken.

Every answer is BeansBooks' envelope ``{"success", "config_error", "auth_error", "error", "data"}``
with HTTP 200, as BeansBooks answers (its clients branch on ``success``); errors add
``error_code`` (our stable code) and ``errors`` ([{field, code, message}]). Only a real fault
answers 500. Money is written as exact decimal strings, negative on a refund, as BeansBooks' own
records show them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from fastapi import APIRouter, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response as StarletteResponse

from ...domain import money
from ...domain.commands import IssueRefund, RefundLineRequest
from ...domain.errors import Invalid, RefundError, Violation
from ...service import doors
from ...service.idempotency import KEY_LIFETIME_HOURS, Response
from ...service.lookups import Lookups, Sale, SaleLine
from ...service.refunds import encode_command
from ...service.uow import fault_message
from ..problems import json_text, loads_exact, to_http as _http
from .. import responses as R
from . import common

log = logging.getLogger("salesrefund.beansbooks")

CHANNEL = "beansbooks"
PATH = "/api/customer/sale/refund"
PERMISSION = "refund:create"
LOOKUP_PATH = "/api/customer/sale/lookup"
CANCEL_PATH = "/api/customer/sale/cancel"
READ_PERMISSION = "refund:read"
VOID_PERMISSION = "refund:void"
JSON = "application/json"
AUTH_FIELDS = ("auth_uid", "auth_key", "auth_expiration")
MAX_LINES = 1000
MAX_DESCRIPTION = 128  # BeansBooks' own limit on a line description
MAX_NUMBER = 16  # BeansBooks' limit on sale_number, order_number, po_number, quote_number
SENT = ("email", "phone", "both", "print")
# Where an existing refund of the sale is old enough that its natural key may have expired, the
# door itself answers "one refund per sale" (BeansBooks keeps that rule for ever).
KEY_MARGIN = timedelta(hours=KEY_LIFETIME_HOURS - 1)

# BeansBooks' own words where it has them (Beans::__construct, Beans_Customer_Sale_Refund).
BEANS_MESSAGES = {
    "unauthorized": "Invalid user credentials.",
    "forbidden": "User does not have access permission to that feature.",
    "idempotency_key_reused": "That sale already belongs to a refund-set.",
    "invalid_state": "That sale has already been cancelled.",  # ours, in BeansBooks' style
}
MALFORMED = "Malformed JSON POST data."


class _PathWords(Convertor):
    """``api/customer/sale/refund`` (or ``lookup``, ``cancel``) in any letter case, as BeansBooks
    routes its API path."""

    regex = "(?i:api/customer/sale/(?:refund|lookup|cancel))"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("beans_customer_sale_refund", _PathWords())
router = APIRouter(tags=["beansbooks"])
# Failures answered at the app's edge (a body over the limit, too slow), in this envelope (HTTP 200).
common.answers_errors(lambda path: path.lower().startswith("/api/customer/sale/"),
                      lambda request, error: _http(error_response(error)))

_EXAMPLE = {
    "auth_uid": 1, "auth_key": "beans-demo-key", "auth_expiration": 1700000000,
    "id": 1, "date_created": "2026-06-15",
    "lines": [{"description": "Coffee beans, 1 kg", "amount": -49.99, "quantity": 1}],
    "taxes": [{"tax_id": 1}],
}
_OPENAPI = {"requestBody": {"required": True, "content": {JSON: {"schema": {
    "type": "object",
    "required": ["auth_uid", "auth_key", "auth_expiration", "id", "date_created", "lines"],
    "properties": {
        "auth_uid": {"type": "integer"}, "auth_key": {"type": "string"}, "auth_expiration": {"type": "integer"},
        "id": {"type": "integer", "description": "the sale to refund (our invoice number)"},
        "date_created": {"type": "string", "format": "date", "description": "the refund's date (posting date)"},
        "lines": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["description", "amount", "quantity"],
            "properties": {
                "description": {"type": "string", "description": "the sale line's description"},
                "amount": {"type": "number", "description": "per unit, negative on a refund"},
                "quantity": {"type": "integer", "minimum": 1},
                "account_id": {"type": "integer"}, "tax_exempt": {"type": "boolean"}}}},
        "taxes": {"type": "array", "items": {"type": "object", "required": ["tax_id"],
                                             "properties": {"tax_id": {"type": "integer"}}}},
        "sale_number": {"type": "string"}, "order_number": {"type": "string"},
        "po_number": {"type": "string"}, "quote_number": {"type": "string"},
        "tax_exempt": {"type": "boolean"}, "account_id": {"type": "integer"},
    }}, "example": _EXAMPLE}}}}


# -- the route ---------------------------------------------------------------------------------------

@router.post(PATH, summary="BeansBooks: Beans_Customer_Sale_Refund (path words in any case)",
             openapi_extra=_OPENAPI, responses=R.BEANSBOOKS_RESPONSES)
async def customer_sale_refund(request: Request):
    """Refund a sale: BeansBooks' JSON body with credentials, answered in its envelope."""
    return await _handle(request)


_READ_OPENAPI = {"requestBody": {"required": True, "content": {JSON: {"schema": {
    "type": "object", "required": ["auth_uid", "auth_key", "auth_expiration", "id"],
    "properties": {
        "auth_uid": {"type": "integer"}, "auth_key": {"type": "string"}, "auth_expiration": {"type": "integer"},
        "id": {"type": "integer", "description": "the refund sale's id, as the refund answer's data.sale.id"},
    }}, "example": {"auth_uid": 1, "auth_key": "beans-demo-key", "auth_expiration": 1700000000, "id": 2026000001}}}}}


@router.post(LOOKUP_PATH, summary="BeansBooks: Beans_Customer_Sale_Lookup of a refund (path words in any case)",
             openapi_extra=_READ_OPENAPI, responses=R.BEANSBOOKS_RESPONSES)
async def customer_sale_lookup(request: Request):
    """Read a refund made through this door, as the refund answer showed it (refund:read)."""
    return await _lookup(request)


@router.post(CANCEL_PATH, summary="BeansBooks: Beans_Customer_Sale_Cancel of a refund (path words in any case)",
             openapi_extra=_READ_OPENAPI, responses=R.BEANSBOOKS_RESPONSES)
async def customer_sale_cancel(request: Request):
    """Cancel (void, R12) a refund made through this door (refund:void)."""
    return await _cancel(request)


@router.post("/{words:beans_customer_sale_refund}", include_in_schema=False)
async def customer_sale_refund_any_case(request: Request, words: str):
    """The same paths in any letter case (``/api/Customer/Sale/Refund``, ``.../Lookup``,
    ``.../Cancel``); it matches nothing else."""
    action = words.rsplit("/", 1)[-1].lower()
    if action == "lookup":
        return await _lookup(request)
    if action == "cancel":
        return await _cancel(request)
    return await _handle(request)


async def _handle(request: Request) -> StarletteResponse:
    try:
        body = await _read_json(request)
        door = await common.call(authenticate, request.app.state.engine, request.app.state.clock, body)
        config = Config.of(door.settings)
        parsed = parse(body, config)
        command, sale, earlier, voided = await common.call(resolve, request.app.state.engine,
                                                           door.principal.tenant_id, parsed, config)
        responder = BeansResponder(parsed, sale, config, door.principal.currency)
        if earlier is not None and _aware(earlier.created_at) + KEY_MARGIN <= request.app.state.clock.now():
            response = await common.call(_answer_earlier, request, door, command, earlier, responder)
        else:
            ctx = common.context(request, door.principal, CHANNEL,
                                 body={k: v for k, v in body.items() if k not in AUTH_FIELDS},
                                 natural_keys=(("id", sale_key(parsed.sale_id, voided)),))
            response = await common.call(request.app.state.refunds.issue, ctx, command, responder)
    except RefundError as error:
        response = error_response(error)
        retry = getattr(error, "retry_after", None)
        return _http(response, {"Retry-After": str(retry)} if retry else None)
    except ConfigError as error:
        log.error("beansbooks door credential misconfigured: %s", error)
        response = error_response(RefundError(Violation("", "config_error", str(error))))
    except Exception:  # a real fault: the transaction rolled back, nothing was recorded
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = error_response(RefundError(Violation(
            "", "server_error", fault_message())))
    return _http(response)


async def _read_json(request: Request) -> dict:
    body = await request.body()
    if len(body) > common.MAX_BODY_BYTES:
        raise Invalid(Violation("", "validation_error", "the request body is too large"))
    try:
        data = loads_exact(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise Invalid(Violation("", "validation_error", MALFORMED))
    return data


def _answer_earlier(request: Request, door: doors.DoorPrincipal, command: IssueRefund, earlier,
                    responder: "BeansResponder") -> Response:
    """The sale was refunded through this door long enough ago that its natural key may have
    expired: an identical request still answers that refund, a different one is refused."""
    if encode_command(command) != earlier.command_json:
        raise RefundError(Violation("id", "idempotency_key_reused", "this key was already used for a different request"))
    view = request.app.state.refunds.get(door.principal.tenant_id, earlier.id)
    response = responder.success(view, 200)
    return Response(response.status, response.content_type, response.body, replayed=True)


# -- lookup and cancel of a refund (issue 13) --------------------------------------------------------

async def _lookup(request: Request) -> StarletteResponse:
    return await _guarded(request, READ_PERMISSION, _lookup_answer)


async def _cancel(request: Request) -> StarletteResponse:
    return await _guarded(request, VOID_PERMISSION, _cancel_answer)


async def _guarded(request: Request, permission: str, answer) -> StarletteResponse:
    """Read and check the body and credentials, then ``answer`` (run off the loop); every refusal
    in BeansBooks' envelope, as ``_handle`` does."""
    try:
        body = await _read_json(request)
        door = await common.call(authenticate, request.app.state.engine, request.app.state.clock, body, permission)
        config = Config.of(door.settings)
        bad: list[Violation] = []
        refund_sale_id = _integer(body, "id", bad, required=True)
        if bad:
            raise Invalid(bad)
        response = await common.call(answer, request, door, config, refund_sale_id, body)
    except RefundError as error:
        retry = getattr(error, "retry_after", None)
        return _http(error_response(error), {"Retry-After": str(retry)} if retry else None)
    except ConfigError as error:
        log.error("beansbooks door credential misconfigured: %s", error)
        response = error_response(RefundError(Violation("", "config_error", str(error))))
    except Exception:  # a real fault: the transaction rolled back, nothing was recorded
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = error_response(RefundError(Violation("", "server_error", fault_message())))
    return _http(response)


def _lookup_answer(request: Request, door: doors.DoorPrincipal, config: "Config", refund_sale_id: int,
                   body: dict) -> Response:
    view, responder = stored_refund(request.app, door, config, refund_sale_id)
    return responder.success(view, 200)


def _cancel_answer(request: Request, door: doors.DoorPrincipal, config: "Config", refund_sale_id: int,
                   body: dict) -> Response:
    """Void the refund (R12) through the refund service; a cancelled one answers ``invalid_state``."""
    view, responder = stored_refund(request.app, door, config, refund_sale_id)
    ctx = common.context(request, door.principal, CHANNEL, body={k: v for k, v in body.items() if k not in AUTH_FIELDS})
    return request.app.state.refunds.void(ctx, view["id"], responder)


def credit_note_number(refund_sale_id: int) -> str | None:
    """The credit-note number whose digits are ``refund_sale_id`` (2026000001 -> CN-2026-000001),
    the inverse of the answer's ``id``; None when no number has those digits."""
    digits = str(refund_sale_id)
    if len(digits) < 10:
        return None
    number = f"CN-{digits[:4]}-{int(digits[4:]):06d}"
    return number if re.sub(r"\D", "", number) == digits else None


def stored_refund(app, door: doors.DoorPrincipal, config: "Config", refund_sale_id: int):
    """(the native view, a responder rendering it) of this tenant's refund made through this door
    whose answer ``id`` is ``refund_sale_id``; ``not_found`` for any other id (another tenant's
    refund, a refund made through another door or the native API, an original sale's id). The
    responder is built from the refund's own request as stored (R20), so the answer is the refund
    answer's ``data.sale`` with the refund's current state."""
    from sqlalchemy import select

    from ...service import views
    from ...store import tables as t

    missing = RefundError(Violation("id", "not_found", "sale {id} could not be found", {"id": refund_sale_id}))
    number = credit_note_number(refund_sale_id)
    if number is None:
        raise missing
    c = t.refunds.c
    with app.state.refunds.uow(door.principal.tenant_id, write=False) as uow:
        row = uow.conn.execute(select(t.refunds).where(uow.store._where(
            t.refunds, c.number == number, c.channel == CHANNEL, c.kind == "refund"))).mappings().first()
        if row is None or not row["request_json"]:
            raise missing
        view = views.refund_view(uow.store, row)
        request_json = row["request_json"]
    try:
        parsed = parse(loads_exact(request_json), config)
    except Invalid:
        raise ConfigError(f"the refund {number} names a tax the credential's settings no longer have")
    with Lookups(app.state.engine, door.principal.tenant_id) as find:
        sale = find.sale(str(parsed.sale_id))
    return view, BeansResponder(parsed, sale, config, door.principal.currency)


# -- authentication ---------------------------------------------------------------------------------

def authenticate(engine, clock, body: dict, permission: str = PERMISSION) -> doors.DoorPrincipal:
    """``auth_uid`` (integer) + ``auth_key`` name a door credential; ``auth_expiration`` (integer)
    must equal the one in its settings (it changes when the key is reset, as in BeansBooks)."""
    uid, key, expiration = (body.get(name) for name in AUTH_FIELDS)
    door = None
    if _is_int(uid) and isinstance(key, str) and _is_int(expiration):
        door = doors.authenticate_door(engine, CHANNEL, str(uid), key, clock)
    if door is None or door.settings.get("auth_expiration") != expiration:
        raise RefundError(Violation("", "unauthorized", "the auth_uid, auth_key and auth_expiration "
                                                                "do not match an active credential"))
    if not door.principal.may(permission):
        raise RefundError(Violation("auth_uid", "forbidden", "this credential lacks the {permission} permission",
                                    {"permission": permission}))
    return door


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- the credential's BeansBooks configuration --------------------------------------------------------

class ConfigError(ValueError):
    """The door credential's settings are not usable (BeansBooks' ``config_error``)."""


@dataclass(frozen=True)
class Tax:
    id: int
    code: str
    name: str
    rate: int  # 1/10,000 percent (8.25 % -> 82_500)


@dataclass(frozen=True)
class Config:
    taxes: dict[int, Tax]
    receivable_account_id: int | None
    income_account_id: int | None

    @classmethod
    def of(cls, settings: dict) -> "Config":
        """``{"taxes": {"1": "8.25" | {"percent": "8.25", "name": ..., "code": ...}},
        "receivable_account_id": 1, "income_account_id": ...}``."""
        taxes = {}
        for key, value in (settings.get("taxes") or {}).items():
            spec = value if isinstance(value, dict) else {"percent": value}
            try:
                tax_id = int(key)
                rate = money.parse_rate(spec.get("percent"), "percent")
            except (ValueError, Invalid):
                raise ConfigError(f"tax {key!r} has no valid percent")
            taxes[tax_id] = Tax(tax_id, str(spec.get("code") or f"tax{tax_id}"), str(spec.get("name") or f"Tax {tax_id}"),
                                rate)
        return cls(taxes, settings.get("receivable_account_id"), settings.get("income_account_id"))


# -- parsing: the wire format into exact values, BeansBooks' field names in every error -------------

@dataclass(frozen=True)
class BeansLine:
    description: str
    amount: int  # |amount| per unit, 1/10,000 currency units (the request sends it negative)
    quantity: int  # 1/10,000 units (a whole number)
    account_id: int | None = None
    tax_exempt: bool = False


@dataclass(frozen=True)
class BeansRefund:
    sale_id: int
    date_created: date
    lines: tuple[BeansLine, ...]
    tax_ids: tuple[int, ...] = ()
    tax_exempt: bool = False
    extra: dict = field(default_factory=dict)  # the optional BeansBooks fields, kept in metadata


OPTIONAL_TEXT = ("sale_number", "order_number", "po_number", "quote_number")
OPTIONAL_IDS = ("account_id", "billing_address_id", "shipping_address_id")
OPTIONAL_DATES = ("date_billed", "date_due")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse(body: dict, config: Config) -> BeansRefund:
    """The body as exact values, or ``Invalid`` naming every bad field (BeansBooks' names).
    Fields BeansBooks does not know are ignored, as BeansBooks ignores them."""
    bad: list[Violation] = []
    sale_id = _integer(body, "id", bad, required=True)
    date_created = _date(body, "date_created", bad, required=True)
    extra: dict = {}
    for name in OPTIONAL_TEXT:
        value = _text(body, name, bad, required=False, limit=MAX_NUMBER)
        if value is not None:
            extra[name] = value
    for name in OPTIONAL_IDS:
        value = _integer(body, name, bad, required=False)
        if value is not None:
            extra[name] = value
    for name in OPTIONAL_DATES:
        value = _date(body, name, bad, required=False)
        if value is not None:
            extra[name] = value.isoformat()
    sent = _text(body, "sent", bad, required=False, limit=10)
    if sent is not None and sent not in SENT:
        bad.append(_bad("sent", "{field_name} must be one of {choices}", choices=", ".join(SENT)))
    elif sent is not None:
        extra["sent"] = sent
    tax_exempt = _boolean(body, "tax_exempt", bad)
    reason = _text(body, "tax_exempt_reason", bad, required=False, limit=500)
    if tax_exempt:
        extra["tax_exempt"] = True
        if reason is not None:
            extra["tax_exempt_reason"] = reason
    tax_ids = _taxes(body, config, bad)
    lines = _lines(body, bad)
    if bad:
        raise Invalid(bad)
    return BeansRefund(sale_id=sale_id, date_created=date_created, lines=lines, tax_ids=tax_ids,
                       tax_exempt=tax_exempt, extra=extra)


def _lines(body: dict, bad: list[Violation]) -> tuple[BeansLine, ...]:
    items = body.get("lines")
    if items is None:
        bad.append(_bad("lines", "{field_name} is required"))
        return ()
    if not isinstance(items, list) or not items:
        bad.append(_bad("lines", "{field_name} must be a non-empty list of lines"))
        return ()
    if len(items) > MAX_LINES:
        bad.append(_bad("lines", "{field_name} has more than {max} lines", max=MAX_LINES))
        return ()
    lines = []
    for i, item in enumerate(items):
        at = f"lines[{i}]"
        if not isinstance(item, dict):
            bad.append(_bad(at, "{field_name} must be an object"))
            continue
        before = len(bad)
        description = _text(item, "description", bad, required=True, limit=MAX_DESCRIPTION, at=f"{at}.description")
        amount = None
        if item.get("amount") is None:
            bad.append(_bad(f"{at}.amount", "{field_name} is required"))
        else:
            try:
                amount = money.parse_price(item["amount"], f"{at}.amount")
            except Invalid as error:
                bad.extend(error.violations)
            else:
                if amount >= 0:
                    bad.append(_bad(f"{at}.amount", "{field_name} must be negative: a refund line gives money back"))
        quantity = _integer(item, "quantity", bad, required=True, at=f"{at}.quantity")
        account_id = _integer(item, "account_id", bad, required=False, at=f"{at}.account_id")
        exempt = _boolean(item, "tax_exempt", bad, at=f"{at}.tax_exempt")
        if len(bad) == before:
            lines.append(BeansLine(description, -amount, quantity * money.QUANTITY_SCALE, account_id, exempt))
    return tuple(lines)


def _taxes(body: dict, config: Config, bad: list[Violation]) -> tuple[int, ...]:
    items = body.get("taxes")
    if items is None:
        return ()
    if not isinstance(items, list):
        bad.append(_bad("taxes", "{field_name} must be a list"))
        return ()
    ids: list[int] = []
    for i, item in enumerate(items):
        at = f"taxes[{i}]"
        if not isinstance(item, dict):
            bad.append(_bad(at, "{field_name} must be an object"))
            continue
        tax_id = _integer(item, "tax_id", bad, required=True, at=f"{at}.tax_id")
        if tax_id is None:
            continue
        if tax_id not in config.taxes:
            bad.append(Violation(f"{at}.tax_id", "tax_not_found", "there is no tax {tax_id}", {"tax_id": tax_id}))
        elif tax_id not in ids:  # BeansBooks applies a tax named twice once
            ids.append(tax_id)
    return tuple(ids)


def _integer(body: dict, name: str, bad: list[Violation], *, required: bool, at: str | None = None) -> int | None:
    at = at or name
    value = body.get(name)
    if value is None:
        if required:
            bad.append(_bad(at, "{field_name} is required"))
    elif not _is_int(value):
        bad.append(_bad(at, "{field_name} must be an integer"))
    elif not 0 < value < 10**13:
        bad.append(_bad(at, "{field_name} must be greater than zero"))
    else:
        return value
    return None


def _text(body: dict, name: str, bad: list[Violation], *, required: bool, limit: int,
          at: str | None = None) -> str | None:
    at = at or name
    value = body.get(name)
    if value is None:
        if required:
            bad.append(_bad(at, "{field_name} is required"))
    elif not isinstance(value, str):
        bad.append(_bad(at, "{field_name} must be a string"))
    elif not value.strip():
        if required:
            bad.append(_bad(at, "{field_name} must not be empty"))
    elif len(value) > limit:
        bad.append(_bad(at, "{field_name} has more than {max} characters", max=limit))
    else:
        return value
    return None


def _date(body: dict, name: str, bad: list[Violation], *, required: bool) -> date | None:
    value = body.get(name)
    if value is None:
        if required:
            bad.append(_bad(name, "{field_name} is required"))
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    bad.append(_bad(name, "{field_name} must be a date in YYYY-MM-DD format"))
    return None


def _boolean(body: dict, name: str, bad: list[Violation], at: str | None = None) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        bad.append(_bad(at or name, "{field_name} must be true or false"))
        return False
    return value


def _bad(field_: str, message: str, **params) -> Violation:
    return Violation(field_, "validation_error", message, {"field_name": field_, **params})


# -- mapping onto the sale and building the command ---------------------------------------------------

def resolve(engine, tenant_id: int, parsed: BeansRefund, config: Config):
    """The command for this refund, the sale it refunds, and this door's earlier refund of that
    sale (or None). Each line is linked to the sale line with the same description (ignoring case
    and spacing); when several lines share it, the one whose unit price equals ``|amount|``."""
    number = str(parsed.sale_id)
    with Lookups(engine, tenant_id) as find:
        sale = find.sale(number)
        made = find.refunds_of(number, CHANNEL) if sale else []
    earlier = [r for r in made if r.state != "voided"]
    if sale is None:
        raise RefundError(Violation("id", "invoice_not_found", "sale {id} could not be found", {"id": parsed.sale_id}))
    problems: list[Violation] = []
    linked: list[SaleLine] = []
    for i, line in enumerate(parsed.lines):
        sold = _sale_line(sale, line, i, problems)
        if sold is None:
            continue
        linked.append(sold)
        exempt = parsed.tax_exempt or line.tax_exempt
        given = 0 if exempt else sum(config.taxes[t].rate for t in parsed.tax_ids)
        if given != sold.tax_rate:
            where = "tax_exempt" if parsed.tax_exempt else f"lines[{i}].tax_exempt" if exempt else "taxes"
            problems.append(Violation(
                where, "tax_mismatch",
                "line {line} of sale {sale} was taxed at {sold} %, but this refund's taxes come to {given} %",
                {"line": sold.line, "sale": sale.number, "sold": money.format_rate(sold.tax_rate),
                 "given": money.format_rate(given)}))
    if problems:
        raise RefundError(problems)
    metadata = {"beans_sale_id": parsed.sale_id, "tax_ids": list(parsed.tax_ids), **parsed.extra}
    accounts = [line.account_id for line in parsed.lines]
    if any(a is not None for a in accounts):
        metadata["line_account_ids"] = accounts
    command = IssueRefund(
        lines=tuple(RefundLineRequest(line=sold.line, quantity=line.quantity, unit_price=line.amount,
                                      description=line.description) for sold, line in zip(linked, parsed.lines)),
        invoice=sale.number, posting_date=parsed.date_created, reference=parsed.extra.get("sale_number"),
        metadata=metadata)
    return command, sale, earlier[-1] if earlier else None, len(made) - len(earlier)


def sale_key(sale_id: int, voided: int) -> str:
    """The natural key of a refund of the sale: the sale id, and after each voided (cancelled)
    refund of it through this door a new one, so a cancel frees the sale for a new refund at once
    (the cancelled refund's stored answer stays under the old key)."""
    return str(sale_id) if not voided else f"{sale_id}/{voided}"


def _sale_line(sale: Sale, line: BeansLine, i: int, problems: list[Violation]) -> SaleLine | None:
    key = _words(line.description)
    matches = [sold for sold in sale.lines if _words(sold.description) == key]
    if len(matches) > 1:
        matches = [sold for sold in matches if sold.unit_price == line.amount] or matches
    if not matches:
        problems.append(Violation(f"lines[{i}].description", "line_not_found",
                                  "sale {sale} has no line described as {description}",
                                  {"sale": sale.number, "description": line.description}))
        return None
    if len(matches) > 1:
        problems.append(Violation(f"lines[{i}].description", "product_ambiguous",
                                  "{count} lines of sale {sale} are described as {description} at this amount",
                                  {"count": len(matches), "sale": sale.number, "description": line.description}))
        return None
    return matches[0]


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# -- rendering ---------------------------------------------------------------------------------------

_LINE_POINTER = re.compile(r"^/lines/(\d+)(?:/([a-z_]+))?$")
_TOP = {"/invoice": "id", "/posting_date": "date_created", "/document_date": "date_created",
        "/lines": "lines", "/customer": "id", "/currency": "id"}


def door_field(pointer: str | None) -> str | None:
    """Our JSON pointers (``/lines/0/quantity``) as BeansBooks' field names (``lines[0].quantity``)."""
    if not pointer or pointer == "/":
        return None
    if not pointer.startswith("/"):
        return pointer  # already BeansBooks' name (decided by this door)
    if pointer in _TOP:
        return _TOP[pointer]
    match = _LINE_POINTER.match(pointer)
    if match:
        at = f"lines[{match.group(1)}]"
        part = match.group(2)
        if part is None:
            return at
        if part in ("unit_price", "amount"):
            return f"{at}.amount"
        if part in ("line", "product"):
            return f"{at}.description"
        return f"{at}.{part}"
    return None  # payments, tills, headers: not part of a BeansBooks request


def error_response(error: RefundError) -> Response:
    """BeansBooks' error envelope; ``error_code`` and ``errors`` are additions of ours."""
    errors = [{"field": door_field(v.field), "code": v.code, "message": BEANS_MESSAGES.get(v.code, v.text())}
              for v in error.violations]
    message = errors[0]["message"]
    body = {"success": False, "config_error": "", "auth_error": "", "error": "", "data": {},
            "error_code": error.code, "errors": errors}
    slot = {"unauthorized": "auth_error", "forbidden": "auth_error", "config_error": "config_error"}
    body[slot.get(error.code, "error")] = message
    status = 500 if error.code in ("server_error", "config_error") else 200
    return Response(status, JSON, json_text(body))


class BeansResponder:
    """Renders the refund as a ``Beans_Customer_Sale`` (negative amounts, as BeansBooks records a
    refund). A rejection is not stored under the sale id: ``failure`` re-raises, the service rolls
    the key claim back, and the door answers the error; so, as in BeansBooks, a corrected retry
    of a refused refund goes through (only a refund that happened makes the sale "refunded")."""

    def __init__(self, parsed: BeansRefund, sale: Sale, config: Config, currency: money.Currency):
        self.parsed, self.sale, self.config, self.cur = parsed, sale, config, currency

    def success(self, view: dict, status: int) -> Response:
        body = {"success": True, "config_error": "", "auth_error": "", "error": "",
                "data": {"sale": self.sale_object(view)}}
        return Response(200, JSON, json_text(body))

    # A rejected refund creates nothing in BeansBooks, and the natural key is the sale itself:
    # storing a rejection under it would refuse every corrected retry. So rejections are raised
    # to the door (and rendered there), not stored.
    store_rejections = False

    def failure(self, error: RefundError) -> Response:
        raise error

    # -- the Beans_Customer_Sale object --
    def sale_object(self, view: dict) -> dict:
        parsed, extra = self.parsed, self.parsed.extra
        taxes = [self.config.taxes[t] for t in parsed.tax_ids]
        lines, taxable, line_tax_id = [], 0, 0
        for i, (line, request) in enumerate(zip(view["lines"], parsed.lines), start=1):
            exempt = parsed.tax_exempt or request.tax_exempt
            line_taxes = []
            if not exempt:
                taxable += self._minor(line["net"])
                for tax in taxes:
                    line_tax_id += 1
                    line_taxes.append({"id": line_tax_id, "tax": self._tax(tax)})
            lines.append({
                "id": i,
                "account": {"id": request.account_id or self.config.income_account_id},
                "description": line["description"],
                "amount": _negative(line["unit_price"]),
                "quantity": int(Decimal(line["quantity"])),
                "total": _negative(line["net"]),
                "line_taxes": line_taxes,
            })
        tax_parts = money.allocate(self._minor(view["tax"]), [t.rate for t in taxes]) if taxes else []
        receivable = sum(self._minor(p["amount"]) for p in view["payments"] if p["method"] == "receivable")
        balance = money.format_amount(-receivable, self.cur)
        sale_number = extra.get("sale_number") or view["number"]
        return {
            "id": int(re.sub(r"\D", "", view["number"])),
            "customer": self._customer(),
            "account": {"id": extra.get("account_id") or self.config.receivable_account_id},
            "sent": extra.get("sent", False),
            "refund_sale_id": parsed.sale_id,
            "date_created": view["posting_date"],
            "date_billed": extra.get("date_billed"),
            "date_due": extra.get("date_due"),
            "date_cancelled": (view.get("voided_at") or "")[:10] or None,
            "create_transaction_id": None,
            "invoice_transaction_id": None,
            "cancel_transaction_id": None,
            "subtotal": _negative(view["net"]),
            "total": _negative(view["total"]),
            "taxestotal": _negative(view["tax"]),
            "balance": balance,
            "sale_number": sale_number,
            "order_number": extra.get("order_number"),
            "po_number": extra.get("po_number"),
            "quote_number": extra.get("quote_number"),
            "billing_address": None,
            "shipping_address": None,
            "lines": lines,
            "taxes": [{"id": n, "tax": self._tax(tax), "amount": money.format_amount(-taxable, self.cur),
                       "total": money.format_amount(-part, self.cur), "fee": money.format_amount(0, self.cur),
                       "percent": _fraction(tax.rate)} for n, (tax, part) in enumerate(zip(taxes, tax_parts), start=1)],
            "payments": [{"date": view["posting_date"], "type": p["method"], "reference": p["reference"],
                          "amount": _negative(p["amount"])} for p in view["payments"] if p["method"] != "receivable"],
            "status": "Cancelled" if view["state"] == "voided" else "Refund Pending" if receivable else "Refunded",
            "title": f"Sales Order {sale_number}",
            "credit_note": {"id": view["id"], "number": view["number"], "state": view["state"]},
        }

    def _customer(self) -> dict:
        code = self.sale.customer
        return {"id": int(code) if code.isdigit() else code, "first_name": None, "last_name": None,
                "company_name": self.sale.customer_name, "email": self.sale.customer_email,
                "phone_number": None, "fax_number": None}

    def _tax(self, tax: Tax) -> dict:
        return {"id": tax.id, "code": tax.code, "name": tax.name, "percent": _fraction(tax.rate),
                "fee": money.format_amount(0, self.cur)}

    def _minor(self, text: str) -> int:
        return money.parse_amount(text, "amount", self.cur)


def _negative(text: str | None) -> str | None:
    """An exact decimal string with its sign turned: BeansBooks records a refund negative."""
    if text is None:
        return None
    if text.startswith("-"):
        return text[1:]
    return text if Decimal(text) == 0 else "-" + text


def _fraction(rate: int) -> str:
    """A rate in 1/10,000 percent as BeansBooks writes a tax percent: 8.25 % -> "0.0825"."""
    text = money.format_scaled(rate, 6).rstrip("0")
    return text + "0" if text.endswith(".") else text
