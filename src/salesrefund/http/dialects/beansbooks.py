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
engine's caps (R7), tax (R4, from the sale line, R8) and remainder rule apply; a line matching no
sale line is a free amount of the refund (``domain.described``). BeansBooks allows one
refund per sale: the sale id is the natural key (R17). Translation only: see
``docs/doors/beansbooks.md`` for the field mapping and the decisions taken. This module holds the
routes, their handlers and the mapping onto the sale; ``beansbooks_params`` parses the body and
the credential's configuration, ``beansbooks_answers`` renders the answers, ``beansbooks_openapi``
describes the requests.

Every answer is BeansBooks' envelope ``{"success", "config_error", "auth_error", "error", "data"}``
with HTTP 200, as BeansBooks answers (its clients branch on ``success``); errors add
``error_code`` (our stable code) and ``errors`` ([{field, code, message}]). Only a real fault
answers 500. Money is written as exact decimal strings, negative on a refund, as BeansBooks' own
records show them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response as StarletteResponse

from ...domain import described, money
from ...domain.commands import IssueRefund
from ...domain.errors import Invalid, RefundError, Violation
from ...service import doors, views
from ...service.idempotency import KEY_LIFETIME_HOURS, Response
from ...service.lookups import Lookups
from ...service.refunds import encode_command
from ...store.queries import beansbooks as queries
from ..problems import loads_exact, to_http as _http
from .. import responses as R
from . import common, pipeline
from .beansbooks_answers import BeansResponder, credit_note_number, error_response
from .beansbooks_openapi import READ_OPENAPI, REFUND_OPENAPI
from .beansbooks_params import BeansRefund, Config, ConfigError, is_int, parse, positive_integer, user_id

log = logging.getLogger("salesrefund.beansbooks")

CHANNEL = "beansbooks"
PATH = "/api/customer/sale/refund"
PERMISSION = "refund:create"
LOOKUP_PATH = "/api/customer/sale/lookup"
CANCEL_PATH = "/api/customer/sale/cancel"
READ_PERMISSION = "refund:read"
VOID_PERMISSION = "refund:void"
AUTH_FIELDS = ("auth_uid", "auth_key", "auth_expiration")
# Where an existing refund of the sale is old enough that its natural key may have expired, the
# door itself answers "one refund per sale" (BeansBooks keeps that rule for ever).
KEY_MARGIN = timedelta(hours=KEY_LIFETIME_HOURS - 1)

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

# -- the routes --------------------------------------------------------------------------------------

@router.post(PATH, summary="BeansBooks: Beans_Customer_Sale_Refund (path words in any case)",
             openapi_extra=REFUND_OPENAPI, responses=R.BEANSBOOKS_RESPONSES)
async def customer_sale_refund(request: Request):
    """Refund a sale: BeansBooks' JSON body with credentials, answered in its envelope."""
    return await _answered(request, "refund")


@router.post(LOOKUP_PATH, summary="BeansBooks: Beans_Customer_Sale_Lookup of a refund (path words in any case)",
             openapi_extra=READ_OPENAPI, responses=R.BEANSBOOKS_RESPONSES)
async def customer_sale_lookup(request: Request):
    """Read a refund made through this door, as the refund answer showed it (refund:read)."""
    return await _answered(request, "lookup")


@router.post(CANCEL_PATH, summary="BeansBooks: Beans_Customer_Sale_Cancel of a refund (path words in any case)",
             openapi_extra=READ_OPENAPI, responses=R.BEANSBOOKS_RESPONSES)
async def customer_sale_cancel(request: Request):
    """Cancel (void, R12) a refund made through this door (refund:void)."""
    return await _answered(request, "cancel")


@router.post("/{words:beans_customer_sale_refund}", include_in_schema=False)
async def customer_sale_refund_any_case(request: Request, words: str):
    """The same paths in any letter case (``/api/Customer/Sale/Refund``, ``.../Lookup``,
    ``.../Cancel``); it matches nothing else."""
    return await _answered(request, words.rsplit("/", 1)[-1].lower())


async def _answered(request: Request, action: str) -> StarletteResponse:
    """The answer to ``action`` (refund, lookup, cancel); every refusal in BeansBooks' envelope."""
    if action == "refund":
        return await pipeline.run(DOOR, request)
    return await pipeline.run_read(DOOR, request, lambda call: _stored(request, *ACTIONS[action]))


async def _parse(call: pipeline.Call) -> pipeline.Parsed:
    request, door, body = call.request, call.principal, call.body
    config = Config.of(door.settings)
    parsed = parse(body, config)
    command, sale, earlier, voided = await common.call(resolve, request.app.state.engine, door.principal.tenant_id,
                                                       parsed, config, door.principal.currency)
    call.responder = BeansResponder(parsed, sale, config, door.principal.currency)
    if earlier is not None and _aware(earlier.created_at) + KEY_MARGIN <= request.app.state.clock.now():
        return pipeline.Parsed(answer=await common.call(_answer_earlier, request, door, command, earlier, call.responder))
    return pipeline.Parsed(command, echo=_without_credentials(body), natural_keys=(("id", sale_key(parsed.sale_id, voided)),))


async def _read_json(request: Request) -> dict:
    try:
        data = await pipeline.read_body(request, "json")
    except pipeline.BodyError as error:
        if error.kind == "too_large":
            raise Invalid(Violation("", "validation_error", "the request body is too large"))
        data = None
    if not isinstance(data, dict):
        raise Invalid(Violation("", "validation_error", MALFORMED))
    return data


def _config_error(call: pipeline.Call, error: Exception) -> Response:
    log.error("beansbooks door credential misconfigured: %s", error)
    return error_response(RefundError(Violation("", "config_error", str(error))))


def _answer_earlier(request: Request, door: doors.DoorPrincipal, command: IssueRefund, earlier,
                    responder: "BeansResponder") -> Response:
    """The sale was refunded through this door long enough ago that its natural key may have
    expired: an identical request still answers that refund, a different one is refused."""
    if encode_command(command) != earlier.command_json:
        raise RefundError(Violation("id", "idempotency_key_reused", "this key was already used for a different request"))
    result = request.app.state.refunds.result(door.principal.tenant_id, earlier.id)
    response = responder.success(result, 200)
    return Response(response.status, response.content_type, response.body, replayed=True)


# -- lookup and cancel of a refund (issue 13) --------------------------------------------------------

async def _stored(request: Request, permission: str, answer) -> Response:
    """Read and check the body and credentials, then ``answer`` (run off the loop)."""
    body = await _read_json(request)
    door = await common.call(authenticate, request.app.state.engine, request.app.state.clock, body, permission)
    config = Config.of(door.settings)
    refund_sale_id = positive_integer(body, "id")
    return await common.call(answer, request, door, config, refund_sale_id, body)


def _lookup_answer(request: Request, door: doors.DoorPrincipal, config: "Config", refund_sale_id: int,
                   body: dict) -> Response:
    result, responder = stored_refund(request.app, door, config, refund_sale_id)
    return responder.success(result, 200)


def _cancel_answer(request: Request, door: doors.DoorPrincipal, config: "Config", refund_sale_id: int,
                   body: dict) -> Response:
    """Void the refund (R12) through the refund service; a cancelled one answers ``invalid_state``."""
    result, responder = stored_refund(request.app, door, config, refund_sale_id)
    ctx = common.context(request, door.principal, CHANNEL, body=_without_credentials(body))
    return request.app.state.refunds.void(ctx, result.id, responder)


def _without_credentials(body: dict) -> dict:
    """The request as kept for audit (R20): BeansBooks removes the credentials from its log too."""
    return {k: v for k, v in body.items() if k not in AUTH_FIELDS}


# The lookup and cancel of a refund: (the permission, the answer).
ACTIONS = {"lookup": (READ_PERMISSION, _lookup_answer), "cancel": (VOID_PERMISSION, _cancel_answer)}


def stored_refund(app, door: doors.DoorPrincipal, config: "Config", refund_sale_id: int):
    """(the refund's result, a responder rendering it) of this tenant's refund made through this door
    whose answer ``id`` is ``refund_sale_id``; ``not_found`` for any other id (another tenant's
    refund, a refund made through another door or the native API, an original sale's id). The
    responder is built from the refund's own request as stored (R20), so the answer is the refund
    answer's ``data.sale`` with the refund's current state."""
    missing = RefundError(Violation("id", "not_found", "sale {id} could not be found", {"id": refund_sale_id}))
    number = credit_note_number(refund_sale_id)
    if number is None:
        raise missing
    with app.state.refunds.uow(door.principal.tenant_id, write=False) as uow:
        row = queries.door_refund(uow.store, number, CHANNEL)
        if row is None or not row["request_json"]:
            raise missing
        result = views.refund_result(uow.store, row)
        request_json = row["request_json"]
    try:
        parsed = parse(loads_exact(request_json), config)
    except Invalid:
        raise ConfigError(f"the refund {number} names a tax the credential's settings no longer have")
    with Lookups(app.state.engine, door.principal.tenant_id) as find:
        sale = find.sale(str(parsed.sale_id))
    return result, BeansResponder(parsed, sale, config, door.principal.currency)


# -- authentication ---------------------------------------------------------------------------------

def authenticate(engine, clock, body: dict, permission: str = PERMISSION) -> doors.DoorPrincipal:
    """``auth_uid`` (an integer, or its digits as a string as PHP clients send it) + ``auth_key``
    name a door credential; ``auth_expiration`` (integer) must equal the one in its settings (it
    changes when the key is reset, as in BeansBooks)."""
    uid, key, expiration = (body.get(name) for name in AUTH_FIELDS)
    login, door = user_id(uid), None
    if login is not None and isinstance(key, str) and is_int(expiration):
        door = doors.authenticate_door(engine, CHANNEL, login, key, clock)
    if door is None or door.settings.get("auth_expiration") != expiration:
        raise RefundError(Violation("", "unauthorized", "the auth_uid, auth_key and auth_expiration "
                                                                "do not match an active credential"))
    if not door.principal.may(permission):
        raise RefundError(Violation("auth_uid", "forbidden", "this credential lacks the {permission} permission",
                                    {"permission": permission}))
    return door


# -- mapping onto the sale and building the command ---------------------------------------------------

def resolve(engine, tenant_id: int, parsed: BeansRefund, config: Config, cur: money.Currency):
    """The command for this refund, the sale it refunds, and this door's earlier refund of that
    sale (or None). Each line refunds the sale line with the same description, or is a free
    amount of the refund when none has it (``domain.described.link``)."""
    number = str(parsed.sale_id)
    with Lookups(engine, tenant_id) as find:
        sale = find.sale(number)
        made = find.refunds_of(number, CHANNEL) if sale else []
    earlier = [r for r in made if r.state != "voided"]
    if sale is None:
        raise RefundError(Violation("id", "invoice_not_found", "sale {id} could not be found", {"id": parsed.sale_id}))
    lines = described.link(sale.number, sale.lines, [_described(parsed, config, i) for i in range(len(parsed.lines))],
                           cur)
    metadata = {"beans_sale_id": parsed.sale_id, "tax_ids": list(parsed.tax_ids), **parsed.extra}
    accounts = [line.account_id for line in parsed.lines]
    if any(a is not None for a in accounts):
        metadata["line_account_ids"] = accounts
    command = IssueRefund(lines=lines, invoice=sale.number, posting_date=parsed.date_created,
                          reference=parsed.extra.get("sale_number"), metadata=metadata)
    return command, sale, earlier[-1] if earlier else None, len(made) - len(earlier)


def _described(parsed: BeansRefund, config: Config, i: int) -> described.DescribedLine:
    """Line ``i`` with the rate the request's taxes come to (0 when it or the refund is
    tax-exempt) and the field that says so."""
    line = parsed.lines[i]
    exempt = parsed.tax_exempt or line.tax_exempt
    rate = 0 if exempt else sum(config.taxes[t].rate for t in parsed.tax_ids)
    field_ = "tax_exempt" if parsed.tax_exempt else f"lines[{i}].tax_exempt" if exempt else "taxes"
    return described.DescribedLine(line.description, line.amount, line.quantity, rate, field_)


def sale_key(sale_id: int, voided: int) -> str:
    """The natural key of a refund of the sale: the sale id, and after each voided (cancelled)
    refund of it through this door a new one, so a cancel frees the sale for a new refund at once
    (the cancelled refund's stored answer stays under the old key)."""
    return str(sale_id) if not voided else f"{sale_id}/{voided}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


DOOR = pipeline.Door(
    channel=CHANNEL, languages=("en",), log=log, responder=lambda call: None, body_first=True,
    authenticate=lambda call: authenticate(call.app.state.engine, call.app.state.clock, call.body),
    read=lambda call: _read_json(call.request), parse=_parse,
    failure=lambda call, error: error_response(error), known_faults=((ConfigError, _config_error),),
    send=lambda call, response, headers: _http(response, headers))
