"""The CRM.COM V4 door (seed document 002): ``POST {base}/authentication/token``,
``POST {base}/refunds/create``, ``GET {base}/refunds/show``, and (issue 13) ``GET
{base}/refunds/list``, ``POST {base}/refunds/update`` and ``POST {base}/refunds/reject``.

A CRM.COM "refund" is a payout: money paid back out of a customer's accounts receivable (what the
business owes them, e.g. after store-credit refunds). There are no lines. This door only
translates: the JSON body becomes the one ``PayOut`` command (``domain.payouts``) and the
service decides everything; see ``docs/doors/crmcom.md`` for the field mapping. This module holds
the routes and their handlers; ``crmcom_params`` parses the parameters, ``crmcom_answers``
renders the answers, ``crmcom_openapi`` describes the requests.

``{base}`` is ``/crmcom/v4`` unless the environment variable ``SALESREFUND_CRMCOM_BASE`` says
otherwise when the app is built (e.g. ``SALESREFUND_CRMCOM_BASE=/crmapi/rest/v4``).

Every response is CRM.COM's envelope ``{"status": {"code", "message", "description"}, "data"}``:
``code`` is ``OK`` (with empty ``message`` and ``description``) on success, else a stable error
code (``crmcom_answers.error_code``); success answers 200, errors a 4xx status (5xx only for real
faults).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from fastapi import APIRouter, Request
from starlette.responses import Response as StarletteResponse

from ...domain.errors import Invalid, Violation, reject
from ...domain.payouts import PayoutCatalog, Ref
from ...service import doors, payouts
from ...service.payouts import PayoutService
from ...store.queries import crmcom as queries
from .. import responses as R
from ..problems import to_http as _http
from . import common, crmcom_openapi as doc, pipeline
from .common import dumps  # noqa: F401  (the door's exact JSON writer, used by its tests)
from .crmcom_answers import LOGIN_FIELD, CrmResponder, by_account_number, failure, limited, ok, render
from .crmcom_params import (CHANNEL, LIST_MAX, REQUIRED, UDFS, Collect, account_identifier,  # noqa: F401
                            body_identifier, count, fields_set, missing, payout_command, refund_identifier,
                            unknown, update_changes, violation)

log = logging.getLogger("salesrefund.crmcom")

BASE_ENV = "SALESREFUND_CRMCOM_BASE"
DEFAULT_BASE = "/crmcom/v4"
LOGIN_PARAMETERS = ("username", "password", "organisation", "unit")


def base_path() -> str:
    """The base URL path of the door, from ``SALESREFUND_CRMCOM_BASE`` (default ``/crmcom/v4``)."""
    base = os.environ.get(BASE_ENV, DEFAULT_BASE).strip().rstrip("/")
    return base if not base or base.startswith("/") else "/" + base


router = APIRouter(tags=["crmcom"])
BASE = base_path()
_REFUND = R.crm_responses({"type": "object"})

# Failures answered at the app's edge (a body over the limit: 413, too slow: 408), in this envelope.
common.answers_errors(lambda path, base=BASE + "/": path.startswith(base), lambda request, error: _http(failure(error)))


# -- the routes -----------------------------------------------------------------------------------

@router.post(BASE + "/authentication/token", summary="CRM.COM: log in and get a token", openapi_extra=doc.LOGIN,
             responses=R.crm_responses({"type": "object", "required": ["token"], "properties": {"token": doc.STRING}}))
async def authentication_token(request: Request):
    """Body ``{username, password, organisation, unit?}``; answers ``{"data": {"token": ...}}``.
    The token expires after an hour unused."""
    return await _guarded(request, _login)


@router.post(BASE + "/refunds/create", summary="CRM.COM: create a refund (a payout), DRAFT or POSTED",
             openapi_extra=doc.CREATE, responses=_REFUND)
async def refunds_create(request: Request):
    """Pays money out of the customer's accounts receivable; see ``docs/doors/crmcom.md``."""
    return await pipeline.run(DOOR, request)


@router.get(BASE + "/refunds/show", summary="CRM.COM: show a refund", openapi_extra=doc.SHOW, responses=_REFUND)
async def refunds_show(request: Request):
    """Query ``token``, ``refund_identifier`` (``id=...`` or ``number=...``) and ``fields_set``."""
    return await _guarded(request, _show)


@router.get(BASE + "/refunds/list", summary="CRM.COM: list the refunds of an accounts receivable",
            openapi_extra=doc.LIST, responses=R.crm_responses({"type": "array", "items": {"type": "object"}}))
async def refunds_list(request: Request):
    """Query ``token``, ``accounts_receivable_identifier`` (mandatory), ``number_of_results``,
    ``offset`` and ``fields_set`` (CRM.COM V4 ``GET refunds/list``); oldest first."""
    return await _guarded(request, _list)


@router.post(BASE + "/refunds/update", summary="CRM.COM: change a DRAFT refund; life_cycle_state POSTED posts it",
             openapi_extra=doc.UPDATE, responses=_REFUND)
async def refunds_update(request: Request):
    """Body ``token``, ``refund_identifier`` and the fields to change (CRM.COM V4 ``refunds/update``)."""
    return await _guarded(request, _update)


@router.post(BASE + "/refunds/reject", summary="CRM.COM: reject a DRAFT refund", openapi_extra=doc.REJECT,
             responses=_REFUND)
async def refunds_reject(request: Request):
    """Body ``token`` and ``refund_identifier``: the DRAFT becomes REJECTED (CRM.COM V4 ``refunds/reject``)."""
    return await _guarded(request, _reject)


async def _guarded(request: Request, handler) -> StarletteResponse:
    """``handler(request)`` with the door's error handling (the pipeline's): refusals and faults in CRM.COM's envelope."""
    return await pipeline.run_read(DOOR, request, lambda call: handler(request))


# -- the handlers ---------------------------------------------------------------------------------

async def _login(request: Request) -> StarletteResponse:
    body = await _body(request)
    Collect(_login_problems(body)).check()
    token = await common.call(_open_session, request, body)
    return _http(ok({"token": token}))


def _login_problems(body: dict) -> list[Violation]:
    bad = []
    for name in LOGIN_PARAMETERS:
        value = body.get(name)
        if value is None and name != "unit":
            bad.append(missing(name))
        elif value is not None and not isinstance(value, str):
            bad.append(violation(name, "{field_name} must be a string", field_name=name))
    return bad + unknown(body, LOGIN_PARAMETERS)


def _open_session(request: Request, body: dict) -> str:
    engine, clock = request.app.state.engine, request.app.state.clock
    door = doors.authenticate_door(engine, CHANNEL, body["username"], body["password"], clock)
    units = door.settings.get("units") if door is not None else None
    if door is None or body["organisation"] != door.settings.get("organisation") or (
            body.get("unit") is not None and units is not None and body["unit"] not in units):
        raise reject("unauthorized", LOGIN_FIELD, "the username, password, organisation or unit is not valid")
    return doors.open_session(engine, door, clock)


async def _create(call: pipeline.Call) -> pipeline.Parsed:
    body, door = call.body, call.principal
    tenant_id = door.principal.tenant_id
    wanted = fields_set(body.get("fields_set"))
    command = payout_command(body, door.principal.currency)
    command = replace(command, customer=by_account_number(command.customer, tenant_id))
    reference = command.reference
    call.responder = CrmResponder(tenant_id)
    return pipeline.Parsed(command, echo=_without_secrets(body),
                           natural_keys=(("back_office_code", reference),) if reference is not None else (),
                           document_numbers=("back_office_code",), finish=lambda response: limited(response, wanted))


def _pay_out(call: pipeline.Call, ctx, command):
    catalog = PayoutCatalog.from_settings(call.principal.settings)
    return _service(call.request).pay_out(ctx, command, catalog, call.responder)


async def _show(request: Request) -> StarletteResponse:
    query = request.query_params
    door = await common.call(_session, request, query.get("token"), "refund:read")
    Collect(unknown(query, ("token", "refund_identifier", "fields_set"))).check()
    wanted = fields_set(query.get("fields_set"))
    ref = refund_identifier(query.get("refund_identifier"))
    payout = await common.call(_service(request).get, door.principal.tenant_id, ref)
    return _http(limited(CrmResponder(door.principal.tenant_id).success(payout, 200), wanted))


async def _list(request: Request) -> StarletteResponse:
    query = request.query_params
    door = await common.call(_session, request, query.get("token"), "refund:read")
    tenant_id = door.principal.tenant_id
    Collect(unknown(query, ("token", "accounts_receivable_identifier", "number_of_results", "offset",
                            "fields_set"))).check()
    wanted = fields_set(query.get("fields_set"))
    account = by_account_number(account_identifier(query.get("accounts_receivable_identifier")), tenant_id)
    limit = count(query, "number_of_results", 1, LIST_MAX, 50)
    offset = count(query, "offset", 0, 10 ** 9, 0)
    found = await common.call(_payouts_of, request, tenant_id, account, limit, offset)
    return _http(limited(ok([render(payout, tenant_id) for payout in found]), wanted))


def _payouts_of(request: Request, tenant_id: int, account: Ref, limit: int, offset: int) -> list:
    with request.app.state.refunds.uow(tenant_id, write=False) as uow:
        customer = payouts.resolve_customer(uow.store, account)
        rows = queries.payouts_of_customer(uow.store, customer["id"], kind=payouts.KIND, limit=limit, offset=offset)
        return [payouts.payout_result(uow.store, row) for row in rows]


async def _update(request: Request) -> StarletteResponse:
    body = await _body(request)
    door = await common.call(_session, request, body.get("token"), "refund:create")
    attempt = Collect()
    ref = attempt(body_identifier, body)
    wanted = attempt(fields_set, body.get("fields_set"))
    changes = attempt(update_changes, body, door.principal.currency)
    attempt.check()
    ctx = common.context(request, door.principal, CHANNEL, body=_without_secrets(body))
    catalog = PayoutCatalog.from_settings(door.settings)
    responder = CrmResponder(door.principal.tenant_id)
    response = await common.call(_service(request).update, ctx, ref, changes, catalog, responder)
    return _http(limited(response, wanted))


async def _reject(request: Request) -> StarletteResponse:
    body = await _body(request)
    door = await common.call(_session, request, body.get("token"), "refund:create")
    attempt = Collect(unknown(body, ("token", "refund_identifier", "fields_set")))
    ref = attempt(body_identifier, body)
    wanted = attempt(fields_set, body.get("fields_set"))
    attempt.check()
    ctx = common.context(request, door.principal, CHANNEL, body=_without_secrets(body))
    responder = CrmResponder(door.principal.tenant_id)
    response = await common.call(_service(request).reject_draft, ctx, ref, responder)
    return _http(limited(response, wanted))


# -- authentication and the body --------------------------------------------------------------------

def _service(request: Request) -> PayoutService:
    return PayoutService(request.app.state.refunds)


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
        body = await pipeline.read_body(request, "json")
    except pipeline.BodyError as error:
        detail = error.detail if error.kind == "too_large" else f"the request body is not valid JSON ({error.detail})"
        raise Invalid(Violation("", "validation_error", "{detail}", {"detail": detail}))
    if not isinstance(body, dict):
        raise Invalid(Violation("", "validation_error", "the request body must be a JSON object"))
    return body


def _without_secrets(body: dict) -> dict:
    return {name: value for name, value in body.items() if name != "token"}


DOOR = pipeline.Door(
    channel=CHANNEL, languages=("en",), log=log, responder=lambda call: None, body_first=True,
    authenticate=lambda call: _session(call.request, call.body.get("token"), "refund:create"),
    read=lambda call: _body(call.request), parse=_create, issue=_pay_out,
    failure=lambda call, error: failure(error), send=lambda call, response, headers: _http(response, headers))
