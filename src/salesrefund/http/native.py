"""The native REST API (``/v1``): thin routes that build commands and call the services."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response as StarletteResponse

from ..domain import money
from ..domain.commands import Context
from ..domain.errors import Invalid, Violation
from ..service.backoffice import BackOffice
from ..service.idempotency import client_key
from ..service.tenants import Principal
from . import responses as R, schemas
from .auth import require
from .problems import ExactJSONRoute, NativeResponder, to_http

router = APIRouter(prefix="/v1", route_class=ExactJSONRoute, responses=R.PROBLEM_RESPONSES)
responder = NativeResponder()

Limit = Annotated[int, Query(ge=1, le=200, description="page size, 1 to 200")]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold U+0000; refused as malformed on every engine
Cursor = Annotated[str | None, Query(max_length=200, pattern=NO_NUL, description="the `next` value of the previous page")]
Key = Annotated[str, Path(pattern=NO_NUL)]
Filter = Annotated[str | None, Query(pattern=NO_NUL)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def _services(request: Request):
    return request.app.state.refunds, request.app.state.books


def _context(request: Request, principal: Principal, key: str | None, body: dict | None = None) -> Context:
    if key is not None and not key.strip():
        raise Invalid(Violation("/headers/Idempotency-Key", "validation_error", "the Idempotency-Key is empty"))
    return Context(tenant_id=principal.tenant_id, channel="native", credential_id=principal.credential_id,
                   request_id=request.state.request_id, request=body, idempotency_key=client_key(key))


def _created(view: dict) -> JSONResponse:
    return JSONResponse(view, status_code=201)


# -- master data ----------------------------------------------------------------------------

@router.post("/customers", status_code=201, tags=["master data"],
             responses=R.ok(R.CustomerOut, 201, {"customer": R.link("get", "/v1/customers/{code}", code="code")}))
def create_customer(request: Request, body: schemas.CustomerIn,
                    principal: Principal = require("masterdata:write")):
    return _created(request.app.state.books.create_customer(principal.tenant_id, **body.model_dump()))


@router.get("/customers/{code:path}", tags=["master data"], responses=R.ok(R.CustomerOut))
def get_customer(request: Request, code: Key, principal: Principal = require("refund:read")):
    return request.app.state.books.get_customer(principal.tenant_id, code)


@router.post("/products", status_code=201, tags=["master data"],
             responses=R.ok(R.ProductOut, 201, {"product": R.link("get", "/v1/products/{code}", code="code")}))
def create_product(request: Request, body: schemas.ProductIn, principal: Principal = require("masterdata:write")):
    cost = money.parse_price(body.cost, "/cost") if body.cost is not None else 0
    if cost < 0:
        raise Invalid(Violation("/cost", "validation_error", "cost must not be negative"))
    data = body.model_dump(exclude={"cost"})
    return _created(request.app.state.books.create_product(principal.tenant_id, cost=cost, **data))


@router.get("/products/{code:path}", tags=["master data"], responses=R.ok(R.ProductOut))
def get_product(request: Request, code: Key, principal: Principal = require("refund:read")):
    return request.app.state.books.get_product(principal.tenant_id, code)


@router.post("/locations", status_code=201, tags=["master data"], responses=R.ok(R.LocationOut, 201))
def create_location(request: Request, body: schemas.LocationIn, principal: Principal = require("masterdata:write")):
    return _created(request.app.state.books.create_location(principal.tenant_id, **body.model_dump()))


# -- invoices -------------------------------------------------------------------------------

@router.post("/invoices", status_code=201, tags=["invoices"],
             responses=R.ok(R.InvoiceOut, 201, {"invoice": R.link("get", "/v1/invoices/{number}", number="number")}))
def create_invoice(request: Request, body: schemas.InvoiceIn, principal: Principal = require("masterdata:write")):
    command = schemas.record_invoice(body, principal.currency)
    return _created(request.app.state.books.record_invoice(principal.tenant_id, command))


@router.get("/invoices", tags=["invoices"], responses=R.ok(R.InvoicePage))
def list_invoices(request: Request, limit: Limit = 50, cursor: Cursor = None, customer: Filter = None,
                  number: Filter = None, principal: Principal = require("refund:read")):
    return request.app.state.books.list_invoices(principal.tenant_id, cursor=_cursor(cursor), limit=limit,
                                                 customer=customer, number=number)


@router.get("/invoices/{number:path}", tags=["invoices"], responses=R.ok(R.InvoiceOut))
def get_invoice(request: Request, number: Key, principal: Principal = require("refund:read")):
    return request.app.state.books.get_invoice(principal.tenant_id, number)


# -- refunds --------------------------------------------------------------------------------

@router.post("/refunds/preview", tags=["refunds"], responses=R.ok(R.RefundPreviewOut))
def preview_refund(request: Request, body: schemas.RefundIn, principal: Principal = require("refund:create")):
    """Compute the refund exactly as creating it would, and write nothing."""
    command = schemas.issue_refund(body, principal.currency)
    return request.app.state.refunds.preview(_context(request, principal, None), command)


@router.post("/refunds", status_code=201, tags=["refunds"], responses=R.ok(R.RefundOut, 201, R.REFUND_LINKS))
def create_refund(request: Request, body: schemas.RefundIn, idempotency_key: IdempotencyKey = None,
                  principal: Principal = require("refund:create")):
    """Issue a refund (a credit note), posted by default or as a draft.

    With an `Idempotency-Key` a retry gets the stored response (`Idempotent-Replayed: true`)."""
    command = schemas.issue_refund(body, principal.currency)
    ctx = _context(request, principal, idempotency_key, body.model_dump(mode="json"))
    return to_http(request.app.state.refunds.issue(ctx, command, responder))


@router.get("/refunds", tags=["refunds"], responses=R.ok(R.RefundPage))
def list_refunds(request: Request, limit: Limit = 50, cursor: Cursor = None, invoice: Filter = None,
                 customer: Filter = None, state: Annotated[str | None, Query(pattern="^(draft|posted|voided)$")] = None,
                 number: Filter = None,
                 date_from: Annotated[schemas.Day | None, Query(alias="from")] = None,
                 date_to: Annotated[schemas.Day | None, Query(alias="to")] = None,
                 principal: Principal = require("refund:read")):
    return request.app.state.books.list_refunds(
        principal.tenant_id, cursor=_cursor(cursor), limit=limit, invoice=invoice, customer=customer,
        state=state, date_from=date_from, date_to=date_to, number=number)


@router.get("/refunds/{refund_id}", tags=["refunds"], responses=R.ok(R.RefundOut),
            description="A refund by its id or its credit-note number (`CN-2026-000001`).")
def get_refund(request: Request, refund_id: Key, principal: Principal = require("refund:read")):
    return request.app.state.refunds.get(principal.tenant_id, _refund_key(request, principal, refund_id))


@router.post("/refunds/{refund_id}/post", tags=["refunds"], responses=R.ok(R.RefundOut, 200, R.REFUND_LINKS))
def post_refund(request: Request, refund_id: Key, idempotency_key: IdempotencyKey = None,
                principal: Principal = require("refund:post")):
    ctx = _context(request, principal, idempotency_key)
    return to_http(request.app.state.refunds.post(ctx, _refund_key(request, principal, refund_id), responder))


@router.post("/refunds/{refund_id}/void", tags=["refunds"], responses=R.ok(R.RefundOut, 200, R.REFUND_LINKS))
def void_refund(request: Request, refund_id: Key, idempotency_key: IdempotencyKey = None,
                body: Annotated[schemas.VoidIn | None, Body()] = None,
                principal: Principal = require("refund:void")):
    ctx = _context(request, principal, idempotency_key)
    return to_http(request.app.state.refunds.void(ctx, _refund_key(request, principal, refund_id), responder,
                                                  body.reason if body else None))


@router.patch("/refunds/{refund_id}", tags=["refunds"], responses=R.ok(R.RefundOut, 200, R.REFUND_LINKS))
def edit_refund(request: Request, refund_id: Key, body: schemas.RefundPatch,
                idempotency_key: IdempotencyKey = None, principal: Principal = require("refund:create")):
    ctx = _context(request, principal, idempotency_key, body.model_dump(mode="json", exclude_unset=True))
    changes = schemas.refund_changes(body, principal.currency)
    return to_http(request.app.state.refunds.edit(ctx, _refund_key(request, principal, refund_id), changes, responder))


@router.delete("/refunds/{refund_id}", status_code=204, tags=["refunds"])
def delete_refund(request: Request, refund_id: Key, principal: Principal = require("refund:create")):
    request.app.state.refunds.delete(_context(request, principal, None), _refund_key(request, principal, refund_id))
    return StarletteResponse(status_code=204)


@router.get("/refunds/{refund_id}/journal", tags=["ledger"], responses=R.ok(R.JournalPage))
def refund_journal(request: Request, refund_id: Key, principal: Principal = require("refund:read")):
    return request.app.state.books.refund_journal(principal.tenant_id, _refund_key(request, principal, refund_id))


@router.get("/refunds/{refund_id}/audit", tags=["refunds"], responses=R.ok(R.AuditPage))
def refund_audit(request: Request, refund_id: Key, principal: Principal = require("refund:read")):
    return {"items": request.app.state.books.audit_trail(principal.tenant_id, _refund_key(request, principal, refund_id)),
            "next": None}


# -- ledger, stock, periods -------------------------------------------------------------------

@router.get("/journal", tags=["ledger"], responses=R.ok(R.JournalPage))
def journal(request: Request, limit: Limit = 50, cursor: Cursor = None,
            date_from: Annotated[schemas.Day | None, Query(alias="from")] = None,
            date_to: Annotated[schemas.Day | None, Query(alias="to")] = None,
            principal: Principal = require("refund:read")):
    return request.app.state.books.journal(principal.tenant_id, cursor=_cursor(cursor), limit=limit,
                                           date_from=date_from, date_to=date_to)


@router.get("/ledger/trial-balance", tags=["ledger"], responses=R.ok(R.TrialBalanceOut))
def trial_balance(request: Request, principal: Principal = require("refund:read")):
    return request.app.state.books.trial_balance(principal.tenant_id)


@router.get("/stock", tags=["stock"], responses=R.ok(R.StockPage))
def stock(request: Request, product: Filter = None, location: Filter = None,
          principal: Principal = require("refund:read")):
    return request.app.state.books.stock(principal.tenant_id, product=product, location=location)


@router.post("/stock/receipts", status_code=201, tags=["stock"], responses=R.ok(R.StockReceiptOut, 201))
def receive_stock(request: Request, body: schemas.StockReceiptIn, principal: Principal = require("masterdata:write")):
    """Goods received into a location (opening stock, deliveries) at the product's cost."""
    quantity = money.parse_quantity(body.quantity, "/quantity")
    return _created(request.app.state.books.receive_stock(
        principal.tenant_id, product=body.product, quantity=quantity, location=body.location, day=body.date))


@router.get("/periods", tags=["periods"], responses=R.ok(R.PeriodsOut))
def periods(request: Request, principal: Principal = require("refund:read")):
    return request.app.state.books.periods(principal.tenant_id)


@router.post("/periods/close", tags=["periods"], responses=R.ok(R.PeriodsOut))
def close_periods(request: Request, body: schemas.PeriodCloseIn, principal: Principal = require("period:close")):
    return request.app.state.books.close_periods(principal.tenant_id, body.through)


@router.post("/periods/reopen", tags=["periods"], responses=R.ok(R.PeriodsOut))
def reopen_periods(request: Request, body: Annotated[schemas.PeriodReopenIn | None, Body()] = None,
                   principal: Principal = require("period:close")):
    return request.app.state.books.reopen_periods(principal.tenant_id, body.reopen_from if body else None)


def _cursor(cursor: str | None) -> str | None:
    from ..service.views import decode_cursor
    try:
        decode_cursor(cursor)
    except ValueError:
        raise Invalid(Violation("/cursor", "validation_error", "cursor is not valid"))
    return cursor


def office(request: Request) -> BackOffice:
    """The read queries the API and the back office page share (one per app, made on first use)."""
    found = getattr(request.app.state, "backoffice", None)
    if found is None:
        found = request.app.state.backoffice = BackOffice(request.app.state.engine, request.app.state.clock)
    return found


def _refund_key(request: Request, principal: Principal, key: str) -> str:
    """A refund path takes its id or its credit-note number (``CN-2026-000001``)."""
    return office(request).refund_id(principal.tenant_id, key)


def new_request_id() -> str:
    return uuid.uuid4().hex
