"""The CRM.COM V4 door (seed document 002): ``POST {base}/authentication/token``,
``POST {base}/refunds/create``, ``GET {base}/refunds/show``, and (issue 13) ``GET
{base}/refunds/list``, ``POST {base}/refunds/update`` and ``POST {base}/refunds/reject``.

A CRM.COM "refund" is a payout: money paid back out of a customer's accounts receivable (what the
business owes them, e.g. after store-credit refunds). There are no lines. This module only
translates: the JSON body becomes the one ``PayOut`` command (``domain.payouts``) and the
service decides everything; see ``docs/doors/crmcom.md`` for the field mapping.

``{base}`` is ``/crmcom/v4`` unless the environment variable ``SALESREFUND_CRMCOM_BASE`` says
otherwise when the app is built (e.g. ``SALESREFUND_CRMCOM_BASE=/crmapi/rest/v4``).

Every response is CRM.COM's envelope ``{"status": {"code", "message", "description"}, "data"}``:
``code`` is ``OK`` on success, else a stable error code (see ``error_code``); success answers 200,
errors a 4xx status (5xx only for real faults). Money is written as JSON numbers with exactly the
currency's decimals (``120.00``), never through a binary float. Messages are English.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import date, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response as StarletteResponse

from ...domain import money
from ...domain.errors import Invalid, RefundError, Violation, reject
from ...domain.payouts import PayOut, PayoutCatalog, Ref
from ...service import doors
from ...service.idempotency import MAX_KEY_LENGTH, Response
from ...service.payouts import PayoutService, is_rejected
from .. import responses as R
from ...service.uow import fault_message
from ..problems import loads_exact, to_http as _http
from . import common
from .common import JsonNumber, dumps

log = logging.getLogger("salesrefund.crmcom")

CHANNEL = "crmcom"
LANGUAGE = "en"
JSON = "application/json"
BASE_ENV = "SALESREFUND_CRMCOM_BASE"
DEFAULT_BASE = "/crmcom/v4"


def base_path() -> str:
    """The base URL path of the door, from ``SALESREFUND_CRMCOM_BASE`` (default ``/crmcom/v4``)."""
    base = os.environ.get(BASE_ENV, DEFAULT_BASE).strip().rstrip("/")
    return base if not base or base.startswith("/") else "/" + base


# Identifier objects: the wire field -> the command's reference field.
ACCOUNT_FIELDS = {"id": "id", "number": "code", "name": "name", "alternative_code": "tax_number"}
CATALOG_FIELDS = {"id": "id", "name": "name", "alternative_code": "alternative_code"}
CURRENCY_FIELDS = {"id": "code", "code": "code"}  # a currency's id is its ISO 4217 code
IDENTIFIERS = {
    "accounts_receivable_identifier": ACCOUNT_FIELDS,
    "type_identifier": CATALOG_FIELDS,
    "refund_method_identifier": CATALOG_FIELDS,
    "category_identifier": CATALOG_FIELDS,
    "accounts_receivable_payment_preference_identifier": CATALOG_FIELDS,
    "intended_currency_identifier": CURRENCY_FIELDS,
}
REQUIRED = ("accounts_receivable_identifier", "type_identifier", "life_cycle_state", "refund_amount")
UDF_STRINGS = tuple(f"udf_string_{i}" for i in range(1, 9))
UDF_FLOATS = tuple(f"udf_float_{i}" for i in range(1, 5))
UDF_DATES = tuple(f"udf_date_{i}" for i in range(1, 5))
UDFS = UDF_STRINGS + UDF_FLOATS + UDF_DATES
TEXTS = ("notes", "back_office_code", "issue_reason")
DATES = ("issue_on", "posted_on")
PARAMETERS = frozenset(("token", "life_cycle_state", "refund_amount", "fields_set")
                       + tuple(IDENTIFIERS) + TEXTS + DATES + UDFS)
MAX_UDF_STRING = 255
STATES = {"DRAFT": "draft", "POSTED": "posted"}
LIFE_CYCLE = {"draft": "DRAFT", "posted": "POSTED", "voided": "CANCELLED"}

# The fields of a refund in ``data`` (``fields_set`` picks among them), in this order.
DATA_FIELDS = ("id", "number", "life_cycle_state", "refund_amount", "currency", "accounts_receivable", "type",
               "refund_method", "category", "accounts_receivable_payment_preference", "notes",
               "back_office_code", "issued_on", "issue_reason", "posted_on") + UDFS + (
               "created_date", "posted_date")

# The command's JSON pointers -> this door's parameter names (errors name the door's fields).
FIELDS = {
    "/customer": "accounts_receivable_identifier", "/type": "type_identifier",
    "/method": "refund_method_identifier", "/category": "category_identifier",
    "/payment_preference": "accounts_receivable_payment_preference_identifier",
    "/amount": "refund_amount", "/currency": "intended_currency_identifier", "/posting_date": "posted_on",
    "/document_date": "issue_on", "/reason": "issue_reason", "/reference": "back_office_code",
    "/notes": "notes", "/state": "life_cycle_state", "/id": "refund_identifier",
}
MISSING = "{field_name} is mandatory"
LOGIN_FIELD = "username"
CODES = {"unauthorized": "INVALID_TOKEN", "forbidden": "FORBIDDEN", "not_found": "NOT_FOUND",
         "server_error": "INTERNAL_SERVER_ERROR"}

router = APIRouter(tags=["crmcom"])
BASE = base_path()
# Failures answered at the app's edge (a body over the limit: 413, too slow: 408), in this envelope.
common.answers_errors(lambda path, base=BASE + "/": path.startswith(base), lambda request, error: _http(failure(error)))


# -- the routes -----------------------------------------------------------------------------------

def _body_doc(schema: dict) -> dict:
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


_STRING, _DATE_TEXT = {"type": "string"}, {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$"}
_NUMBER = {"type": ["number", "string"], "description": "exact: a JSON number or a decimal string"}
_LOGIN_DOC = _body_doc({"type": "object", "required": ["username", "password", "organisation"],
                        "properties": {name: _STRING for name in ("username", "password", "organisation", "unit")},
                        "additionalProperties": False})
_CREATE_DOC = _body_doc({
    "type": "object", "required": ["token", *REQUIRED], "additionalProperties": False,
    "properties": {
        "token": _STRING, "fields_set": _STRING,
        **{name: {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                  "description": f"exactly one of {', '.join(fields)}",
                  "properties": {key: {"type": ["string", "integer"] if key == "id" else "string", "minLength": 1,
                                       "maxLength": 200, "pattern": r"\S"} for key in fields}}
           for name, fields in IDENTIFIERS.items()},
        "life_cycle_state": {"enum": list(STATES)}, "refund_amount": _NUMBER,
        **{name: _STRING for name in TEXTS}, **{name: _DATE_TEXT for name in DATES},
        "back_office_code": {"type": "string", "maxLength": MAX_KEY_LENGTH - len(f"{CHANNEL}:back_office_code:")},
        **{name: {"type": "string", "maxLength": MAX_UDF_STRING} for name in UDF_STRINGS},
        **{name: _NUMBER for name in UDF_FLOATS}, **{name: _DATE_TEXT for name in UDF_DATES}}})
_SHOW_DOC = {"parameters": [
    {"name": "token", "in": "query", "required": True, "schema": _STRING},
    {"name": "refund_identifier", "in": "query", "required": True, "schema": _STRING,
     "description": "id=<id>, number=<number>, {\"id\": ...} or a bare id or number"},
    {"name": "fields_set", "in": "query", "schema": _STRING, "description": "comma-separated field names"}]}


@router.post(BASE + "/authentication/token", summary="CRM.COM: log in and get a token", openapi_extra=_LOGIN_DOC,
             responses=R.crm_responses({"type": "object", "required": ["token"], "properties": {"token": _STRING}}))
async def authentication_token(request: Request):
    """Body ``{username, password, organisation, unit?}``; answers ``{"data": {"token": ...}}``.
    The token expires after an hour unused."""
    return await _guarded(request, _login)


@router.post(BASE + "/refunds/create", summary="CRM.COM: create a refund (a payout), DRAFT or POSTED",
             openapi_extra=_CREATE_DOC, responses=R.crm_responses({"type": "object"}))
async def refunds_create(request: Request):
    """Pays money out of the customer's accounts receivable; see ``docs/doors/crmcom.md``."""
    return await _guarded(request, _create)


@router.get(BASE + "/refunds/show", summary="CRM.COM: show a refund", openapi_extra=_SHOW_DOC,
            responses=R.crm_responses({"type": "object"}))
async def refunds_show(request: Request):
    """Query ``token``, ``refund_identifier`` (``id=...`` or ``number=...``) and ``fields_set``."""
    return await _guarded(request, _show)


async def _guarded(request: Request, handler) -> StarletteResponse:
    try:
        return await handler(request)
    except RefundError as error:
        headers = {"Retry-After": str(error.retry_after)} if getattr(error, "retry_after", None) else {}
        return _http(failure(error), headers)
    except Exception:  # a real fault: nothing was recorded (the transaction rolled back)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _http(failure(RefundError(Violation(
            "", "server_error", fault_message()))))


async def _login(request: Request) -> StarletteResponse:
    body = await _body(request)
    bad: list[Violation] = []
    for name in ("username", "password", "organisation"):
        if body.get(name) is None:
            bad.append(_missing(name))
        elif not isinstance(body[name], str):
            bad.append(_violation(name, "{field_name} must be a string", field_name=name))
    if body.get("unit") is not None and not isinstance(body["unit"], str):
        bad.append(_violation("unit", "{field_name} must be a string", field_name="unit"))
    unknown = sorted(set(body) - {"username", "password", "organisation", "unit"})
    bad += [_violation(name, "{field_name} is not a parameter of this method", field_name=name) for name in unknown]
    if bad:
        raise Invalid(bad)
    token = await common.call(_open_session, request, body)
    return _http(Response(200, JSON, dumps(envelope({"token": token}))))


def _open_session(request: Request, body: dict) -> str:
    engine, clock = request.app.state.engine, request.app.state.clock
    door = doors.authenticate_door(engine, CHANNEL, body["username"], body["password"], clock)
    units = door.settings.get("units") if door is not None else None
    if door is None or body["organisation"] != door.settings.get("organisation") or (
            body.get("unit") is not None and units is not None and body["unit"] not in units):
        raise reject("unauthorized", LOGIN_FIELD, "the username, password, organisation or unit is not valid")
    return doors.open_session(engine, door, clock)


async def _create(request: Request) -> StarletteResponse:
    body = await _body(request)
    door = await common.call(_session, request, body.get("token"), "refund:create")
    fields_set = _fields_set(body.get("fields_set"))
    command = payout_command(body, door.principal.currency)
    reference = command.reference
    ctx = common.context(request, door.principal, CHANNEL, body=_without_secrets(body),
                         natural_keys=(("back_office_code", reference),) if reference is not None else (),
                         document_numbers=("back_office_code",))
    service = PayoutService(request.app.state.refunds)
    catalog = PayoutCatalog.from_settings(door.settings)
    response = await common.call(service.pay_out, ctx, command, catalog, CrmResponder())
    return _http(_limited(response, fields_set))


async def _show(request: Request) -> StarletteResponse:
    query = request.query_params
    door = await common.call(_session, request, query.get("token"), "refund:read")
    unknown = sorted(set(query) - {"token", "refund_identifier", "fields_set"})
    if unknown:
        raise Invalid([_violation(n, "{field_name} is not a parameter of this method", field_name=n) for n in unknown])
    fields_set = _fields_set(query.get("fields_set"))
    ref = _refund_identifier(query.get("refund_identifier"))
    service = PayoutService(request.app.state.refunds)
    view = await common.call(service.get, door.principal.tenant_id, ref)
    return _http(_limited(CrmResponder().success(view, 200), fields_set))


# -- authentication and the body --------------------------------------------------------------------

def _session(request: Request, token, permission: str) -> doors.DoorPrincipal:
    """The caller of a login token (sliding one-hour expiry), holding ``permission``."""
    if token is None or token == "":
        raise reject("unauthorized", "token", "the token is missing: get one from authentication/token")
    door = None
    if isinstance(token, str):
        door = doors.authenticate_session(request.app.state.engine, CHANNEL, token, request.app.state.clock)
    if door is None:
        raise reject("unauthorized", "token", "the token is not valid or has expired; log in again")
    if not door.principal.may(permission):
        raise reject("forbidden", "token", "this user lacks the {permission} permission", permission=permission)
    return door


async def _body(request: Request) -> dict:
    try:
        body = await common.read_json(request)
    except common.BadBody as error:
        raise Invalid(Violation("", "validation_error", "{detail}", {"detail": str(error)}))
    if not isinstance(body, dict):
        raise Invalid(Violation("", "validation_error", "the request body must be a JSON object"))
    return body


def _without_secrets(body: dict) -> dict:
    return {name: value for name, value in body.items() if name != "token"}


# -- the command ------------------------------------------------------------------------------------

def payout_command(body: dict, cur: money.Currency) -> PayOut:
    """The ``PayOut`` a refunds/create body asks for; ``Invalid`` naming every malformed field."""
    bad: list[Violation] = []

    def attempt(parse, *args):
        try:
            return parse(*args)
        except Invalid as error:
            bad.extend(error.violations)
            return None

    for name in sorted(set(body) - PARAMETERS):
        bad.append(_violation(name, "{field_name} is not a parameter of this method", field_name=name))
    for name in REQUIRED:
        if body.get(name) is None:
            bad.append(_missing(name))
    refs = {name: attempt(_identifier, body, name) for name in IDENTIFIERS}
    state = None
    if body.get("life_cycle_state") is not None:
        state = STATES.get(body["life_cycle_state"]) if isinstance(body["life_cycle_state"], str) else None
        if state is None:
            bad.append(_violation("life_cycle_state", "life_cycle_state must be DRAFT or POSTED"))
    amount = None
    if body.get("refund_amount") is not None:
        amount = attempt(money.parse_amount, body["refund_amount"], "/refund_amount", cur)
    texts = {name: attempt(_text, body, name) for name in TEXTS}
    dates = {name: attempt(_date, body, name) for name in DATES}
    metadata = {}
    for name in UDF_STRINGS:
        value = attempt(_text, body, name)
        if value is not None and len(value) > MAX_UDF_STRING:
            bad.append(_violation(name, "{field_name} has at most {limit} characters", field_name=name,
                                limit=MAX_UDF_STRING))
        metadata[name] = value
    for name in UDF_FLOATS:
        value = body.get(name)
        number = attempt(money.to_decimal, value, f"/{name}") if value is not None else None
        metadata[name] = format(number, "f") if number is not None else None
    for name in UDF_DATES:
        day = attempt(_date, body, name)
        metadata[name] = day.isoformat() if day is not None else None
    code = texts["back_office_code"]
    if code is not None and len(f"{CHANNEL}:back_office_code:{code}") > MAX_KEY_LENGTH:
        bad.append(_violation("back_office_code", "back_office_code is too long"))
    if bad:
        raise Invalid(bad)
    currency = refs["intended_currency_identifier"]
    return PayOut(
        customer=refs["accounts_receivable_identifier"], amount_minor=amount, type=refs["type_identifier"],
        method=refs["refund_method_identifier"], category=refs["category_identifier"],
        payment_preference=refs["accounts_receivable_payment_preference_identifier"], state=state,
        currency=currency.value if currency is not None else None, posting_date=dates["posted_on"],
        document_date=dates["issue_on"], reason=texts["issue_reason"], notes=texts["notes"], reference=code,
        metadata=metadata)


def _identifier(body: dict, name: str) -> Ref | None:
    """An identifier object naming exactly one of its allowed fields: ``{"number": "ACR0000001"}``."""
    value = body.get(name)
    if value is None:
        return None
    allowed = IDENTIFIERS[name]
    names = ", ".join(allowed)
    if not isinstance(value, dict):
        raise _invalid(name, "{field_name} must be an object naming one of {names}", field_name=name, names=names)
    unknown = [key for key in value if key not in allowed]
    if unknown:
        raise _invalid(name, "{field_name} has no field {field}; use one of {names}", field_name=name,
                       field=unknown[0], names=names)
    given = {key: v for key, v in value.items() if v is not None}
    if len(given) != 1:
        raise _invalid(name, "{field_name} must name exactly one of {names} (it names {count})",
                       field_name=name, names=names, count=len(given))
    (key, v), = given.items()
    if isinstance(v, int) and not isinstance(v, bool) and key == "id":
        v = str(v)
    if not isinstance(v, str) or not v.strip() or len(v) > 200:
        raise _invalid(name, "{field_name}.{key} must be a non-empty string", field_name=name, key=key)
    return Ref(allowed[key], v)


def _text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(name, "{field_name} must be a string", field_name=name)
    return value


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$")


def _date(body: dict, name: str) -> date | None:
    """A date ``YYYY-MM-DD`` (a date-time ``YYYY-MM-DDTHH:MM[:SS]`` keeps its date)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
        except ValueError:
            pass
    raise _invalid(name, "{field_name} must be a date such as 2026-06-15", field_name=name)


def _fields_set(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(_violation("fields_set", "fields_set must be a comma-separated list of field names"))
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in DATA_FIELDS]
    if unknown:
        raise Invalid(_violation("fields_set", "fields_set names an unknown field {field}", field=unknown[0]))
    return names or None


def _refund_identifier(value) -> Ref:
    """``id=<id>``, ``number=<number>``, a JSON object ``{"id": ...}``, or a bare id or number."""
    if value is None or not value.strip():
        raise Invalid(_missing("refund_identifier"))
    if "\x00" in value:  # %00 in the query: PostgreSQL text cannot hold it
        raise Invalid(_violation("refund_identifier", "{field_name} must not contain the NUL character",
                                 field_name="refund_identifier"))
    value = value.strip()
    if value.startswith("{"):
        try:
            data = loads_exact(value)
        except ValueError:
            data = None
        if isinstance(data, dict) and len(data) == 1:
            (key, v), = data.items()
            if key in ("id", "number") and isinstance(v, str):
                return Ref(key, v)
        raise Invalid(_violation("refund_identifier", "refund_identifier must name exactly one of id, number"))
    key, sep, v = value.partition("=")
    if sep:
        if key not in ("id", "number") or not v:
            raise Invalid(_violation("refund_identifier", "refund_identifier must be id=<id> or number=<number>"))
        return Ref(key, v)
    return Ref("number" if re.match(r"^[A-Z]{2}-\d{4}-\d+$", value) else "id", value)


# -- rendering -----------------------------------------------------------------------------------------

class CrmResponder:
    """Renders a payout or an error in CRM.COM's envelope; stored for replays (R17)."""

    def success(self, view: dict, status: int) -> Response:
        return Response(status, JSON, dumps(envelope(render(view))))

    def failure(self, error: RefundError) -> Response:
        return failure(error)


def render(view: dict) -> dict:
    """A payout (``service.payouts.payout_view``) as CRM.COM names a refund's fields."""
    meta = view.get("metadata") or {}
    account = view.get("account") or {}
    data = {
        "id": view["id"],
        "number": view["number"],
        "life_cycle_state": "REJECTED" if is_rejected(view) else LIFE_CYCLE.get(view["state"], view["state"].upper()),
        "refund_amount": JsonNumber(view["total"]),
        "currency": {"id": view["currency"], "code": view["currency"]},
        "accounts_receivable": {"id": account.get("id"), "number": account.get("code"), "name": account.get("name")},
        "type": _named(meta.get("type")),
        "refund_method": _named(meta.get("method")),
        "category": _named(meta.get("category")),
        "accounts_receivable_payment_preference": _named(meta.get("payment_preference")),
        "notes": meta.get("notes"),
        "back_office_code": view["reference"],
        "issued_on": view["document_date"],
        "issue_reason": view["reason"],
        "posted_on": view["posting_date"],
    }
    for name in UDFS:
        value = meta.get(name)
        data[name] = JsonNumber(value) if name in UDF_FLOATS and value is not None else value
    data["created_date"] = view["created_at"]
    data["posted_date"] = view["posted_at"]
    return data


def _named(item: dict | None) -> dict | None:
    if item is None:
        return None
    return {"id": item.get("id"), "name": item.get("name"), "alternative_code": item.get("alternative_code")}


def envelope(data, code: str = "OK", message: str | None = None, description: str | None = None) -> dict:
    return {"status": {"code": code, "message": message, "description": description}, "data": data}


def error_code(error: RefundError) -> str:
    """CRM.COM-style codes: MISSING_PARAMETER / INVALID_PARAMETER for malformed requests,
    AUTHENTICATION_FAILED (401, the login), INVALID_TOKEN (401), FORBIDDEN (403), NOT_FOUND (404),
    else our stable code upper-cased (AMOUNT_EXCEEDS_BALANCE, PERIOD_CLOSED, IDEMPOTENCY_KEY_REUSED, ...)."""
    first = error.first
    if first.code == "validation_error":
        return "MISSING_PARAMETER" if first.message == MISSING else "INVALID_PARAMETER"
    if first.code == "unauthorized" and first.field == LOGIN_FIELD:
        return "AUTHENTICATION_FAILED"
    return CODES.get(first.code, first.code.upper())


def door_field(pointer: str) -> str:
    """A command pointer (``/amount``) as this door's parameter (``refund_amount``); the door's own
    parameter names (no leading ``/``) pass through, so an unknown parameter ``id`` is named ``id``,
    never the ``refund_identifier`` the command's ``/id`` stands for."""
    if not pointer.startswith("/"):
        return pointer
    if pointer in FIELDS:
        return FIELDS[pointer]
    return pointer.lstrip("/").replace("/", ".")


def failure(error: RefundError) -> Response:
    first = error.first
    status = 500 if first.code == "server_error" else error.status
    parts = []
    for violation in error.violations:
        field = door_field(violation.field)
        message = common.text(violation, LANGUAGE)
        parts.append(f"{field}: {message}" if field else message)
    body = envelope(None, error_code(error), common.text(first, LANGUAGE), "; ".join(parts))
    return Response(status, JSON, dumps(body))


def _limited(response: Response, fields_set: tuple[str, ...] | None) -> Response:
    """The response with ``data`` limited to ``fields_set`` (the stored response is complete, so a
    replay asking for other fields gets them)."""
    if not fields_set:
        return response
    body = loads_exact(response.body)
    if not isinstance(body.get("data"), dict):
        return response
    body["data"] = {name: value for name, value in body["data"].items() if name in fields_set}
    return Response(response.status, response.content_type, dumps(body), replayed=response.replayed)


# -- exact JSON ----------------------------------------------------------------------------------------

def _missing(name: str) -> Violation:
    return Violation(name, "validation_error", MISSING, {"field_name": name})


def _violation(name: str, message: str, **params) -> Violation:
    """A violation of this door's parameter ``name`` (its own name, not a command pointer)."""
    return Violation(name, "validation_error", message, params)


def _invalid(name: str, message: str, **params) -> Invalid:
    return Invalid(_violation(name, message, **params))


# -- refunds/list (issue 13) -----------------------------------------------------------------------------

LIST_MAX = 200
_LIST_DOC = {"parameters": [
    {"name": "token", "in": "query", "required": True, "schema": _STRING},
    {"name": "accounts_receivable_identifier", "in": "query", "required": True, "schema": _STRING,
     "description": "number=<account number>, id=<id>, {\"number\": ...} or a bare account number"},
    {"name": "number_of_results", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": LIST_MAX}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "fields_set", "in": "query", "schema": _STRING, "description": "comma-separated field names"}]}


@router.get(BASE + "/refunds/list", summary="CRM.COM: list the refunds of an accounts receivable",
            openapi_extra=_LIST_DOC, responses=R.crm_responses({"type": "array", "items": {"type": "object"}}))
async def refunds_list(request: Request):
    """Query ``token``, ``accounts_receivable_identifier`` (mandatory), ``number_of_results``,
    ``offset`` and ``fields_set`` (CRM.COM V4 ``GET refunds/list``); oldest first."""
    return await _guarded(request, _list)


async def _list(request: Request) -> StarletteResponse:
    query = request.query_params
    door = await common.call(_session, request, query.get("token"), "refund:read")
    known = {"token", "accounts_receivable_identifier", "number_of_results", "offset", "fields_set"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise Invalid([_violation(n, "{field_name} is not a parameter of this method", field_name=n) for n in unknown])
    fields_set = _fields_set(query.get("fields_set"))
    account = _account_identifier(query.get("accounts_receivable_identifier"))
    limit = _count(query, "number_of_results", 1, LIST_MAX, 50)
    offset = _count(query, "offset", 0, 10 ** 9, 0)
    views = await common.call(_payouts_of, request, door.principal.tenant_id, account, limit, offset)
    data = [render(view) for view in views]
    if fields_set:
        data = [{name: value for name, value in item.items() if name in fields_set} for item in data]
    return _http(Response(200, JSON, dumps(envelope(data))))


def _account_identifier(value) -> Ref:
    name = "accounts_receivable_identifier"
    if value is None or not value.strip():
        raise Invalid(_missing(name))
    if "\x00" in value:
        raise Invalid(_violation(name, "{field_name} must not contain the NUL character", field_name=name))
    value = value.strip()
    if value.startswith("{"):
        try:
            data = loads_exact(value)
        except ValueError:
            data = None
        if isinstance(data, dict) and len(data) == 1:
            (key, v), = data.items()
            if key in IDENTIFIERS["accounts_receivable_identifier"] and isinstance(v, (str, int)):
                return _account_ref(key, str(v))
        raise Invalid(_violation(name, "{field_name} must name exactly one of {names}", field_name=name,
                                 names=", ".join(ACCOUNT_FIELDS)))
    key, sep, v = value.partition("=")
    if sep:
        if key not in IDENTIFIERS["accounts_receivable_identifier"] or not v:
            raise Invalid(_violation(name, "{field_name} must be <field>=<value> with a field of {names}",
                                     field_name=name, names=", ".join(ACCOUNT_FIELDS)))
        return _account_ref(key, v)
    return _account_ref("number", value)


def _account_ref(key: str, value: str) -> Ref:
    return Ref(ACCOUNT_FIELDS[key], value)


def _count(query, name: str, low: int, high: int, default: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise Invalid(_violation(name, "{field_name} must be a whole number from {low} to {high}",
                                 field_name=name, low=low, high=high))
    return int(value)


def _payouts_of(request: Request, tenant_id: int, account: Ref, limit: int, offset: int) -> list[dict]:
    from sqlalchemy import select

    from ...service.payouts import KIND, payout_view, resolve_customer
    from ...store import tables as t

    with request.app.state.refunds.uow(tenant_id, write=False) as uow:
        store = uow.store
        customer = resolve_customer(store, account)
        c = t.refunds.c
        rows = uow.conn.execute(select(t.refunds).where(store._where(
            t.refunds, c.kind == KIND, c.customer_id == customer["id"])).order_by(c.id).offset(offset).limit(limit)
        ).mappings().all()
        return [payout_view(store, row) for row in rows]


# -- refunds/update and refunds/reject (issue 13) ------------------------------------------------------

UPDATE_PARAMETERS = frozenset(("token", "refund_identifier", "fields_set", "life_cycle_state", "refund_amount",
                               "notes", "issue_reason", "issue_on", "posted_on"))
_UPDATE_DOC = _body_doc({
    "type": "object", "required": ["token", "refund_identifier"], "additionalProperties": False,
    "properties": {"token": _STRING, "fields_set": _STRING,
                   "refund_identifier": {"type": "object", "description": "exactly one of id, number"},
                   "life_cycle_state": {"enum": list(STATES)}, "refund_amount": _NUMBER,
                   "notes": _STRING, "issue_reason": _STRING, "issue_on": _DATE_TEXT, "posted_on": _DATE_TEXT}})
_REJECT_DOC = _body_doc({
    "type": "object", "required": ["token", "refund_identifier"], "additionalProperties": False,
    "properties": {"token": _STRING, "fields_set": _STRING,
                   "refund_identifier": {"type": "object", "description": "exactly one of id, number"}}})


@router.post(BASE + "/refunds/update", summary="CRM.COM: change a DRAFT refund; life_cycle_state POSTED posts it",
             openapi_extra=_UPDATE_DOC, responses=R.crm_responses({"type": "object"}))
async def refunds_update(request: Request):
    """Body ``token``, ``refund_identifier`` and the fields to change (CRM.COM V4 ``refunds/update``)."""
    return await _guarded(request, _update)


@router.post(BASE + "/refunds/reject", summary="CRM.COM: reject a DRAFT refund",
             openapi_extra=_REJECT_DOC, responses=R.crm_responses({"type": "object"}))
async def refunds_reject(request: Request):
    """Body ``token`` and ``refund_identifier``: the DRAFT becomes REJECTED (CRM.COM V4 ``refunds/reject``)."""
    return await _guarded(request, _reject)


def _body_identifier(body: dict) -> Ref:
    value = body.get("refund_identifier")
    if value is None:
        raise Invalid(_missing("refund_identifier"))
    if isinstance(value, dict):
        given = {k: v for k, v in value.items() if v is not None}
        if len(given) == 1:
            (key, v), = given.items()
            if key in ("id", "number") and isinstance(v, str) and v.strip() and "\x00" not in v:
                return Ref(key, v)
        raise Invalid(_violation("refund_identifier", "refund_identifier must name exactly one of id, number"))
    if isinstance(value, str):
        return _refund_identifier(value)
    raise Invalid(_violation("refund_identifier", "refund_identifier must name exactly one of id, number"))


def _unknown(body: dict, known) -> list[Violation]:
    return [_violation(n, "{field_name} is not a parameter of this method", field_name=n)
            for n in sorted(set(body) - set(known))]


def update_changes(body: dict, cur: money.Currency) -> dict:
    """The ``PayOut`` fields a refunds/update body changes; ``Invalid`` naming every malformed field."""
    bad = _unknown(body, UPDATE_PARAMETERS)
    changes: dict = {}

    def attempt(parse, *args):
        try:
            return parse(*args)
        except Invalid as error:
            bad.extend(error.violations)
            return None

    if body.get("life_cycle_state") is not None:
        state = STATES.get(body["life_cycle_state"]) if isinstance(body["life_cycle_state"], str) else None
        if state is None:
            bad.append(_violation("life_cycle_state", "life_cycle_state must be DRAFT or POSTED"))
        changes["state"] = state
    if body.get("refund_amount") is not None:
        changes["amount_minor"] = attempt(money.parse_amount, body["refund_amount"], "/refund_amount", cur)
    for name, target in (("notes", "notes"), ("issue_reason", "reason")):
        if body.get(name) is not None:
            changes[target] = attempt(_text, body, name)
    for name, target in (("issue_on", "document_date"), ("posted_on", "posting_date")):
        if body.get(name) is not None:
            changes[target] = attempt(_date, body, name)
    if bad:
        raise Invalid(bad)
    return changes


async def _update(request: Request) -> StarletteResponse:
    body = await _body(request)
    door = await common.call(_session, request, body.get("token"), "refund:create")
    bad = []
    try:
        ref = _body_identifier(body)
    except Invalid as error:
        bad.extend(error.violations)
    try:
        fields_set = _fields_set(body.get("fields_set"))
        changes = update_changes(body, door.principal.currency)
    except Invalid as error:
        bad.extend(error.violations)
    if bad:
        raise Invalid(bad)
    ctx = common.context(request, door.principal, CHANNEL, body=_without_secrets(body))
    service = PayoutService(request.app.state.refunds)
    catalog = PayoutCatalog.from_settings(door.settings)
    response = await common.call(service.update, ctx, ref, changes, catalog, CrmResponder())
    return _http(_limited(response, fields_set))


async def _reject(request: Request) -> StarletteResponse:
    body = await _body(request)
    door = await common.call(_session, request, body.get("token"), "refund:create")
    bad = _unknown(body, ("token", "refund_identifier", "fields_set"))
    try:
        ref = _body_identifier(body)
        fields_set = _fields_set(body.get("fields_set"))
    except Invalid as error:
        bad.extend(error.violations)
    if bad:
        raise Invalid(bad)
    ctx = common.context(request, door.principal, CHANNEL, body=_without_secrets(body))
    service = PayoutService(request.app.state.refunds)
    response = await common.call(service.reject_draft, ctx, ref, CrmResponder())
    return _http(_limited(response, fields_set))
