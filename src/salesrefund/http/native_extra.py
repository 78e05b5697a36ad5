"""Native API routes a newcomer needs beyond issuing refunds (issue 12): lists of customers,
products, locations and payment methods, the tenant's settings, and the doors' credentials."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..service import door_admin
from ..service.tenants import Principal
from . import responses as R
from .auth import require
from .native import NO_NUL, Cursor, Key, Limit, _cursor, office
from .problems import ExactJSONRoute
from .schemas import Metadata, Strict

router = APIRouter(prefix="/v1", route_class=ExactJSONRoute, responses=R.PROBLEM_RESPONSES)


class Page(BaseModel):
    items: list[dict[str, Any]]
    next: str | None


class SettingsOut(BaseModel):
    tenant: str
    currency: str
    currency_exponent: int
    country: str | None
    timezone: str
    prices_include_tax: bool
    cash_rounding: str
    cash_rounding_all_methods: bool
    allow_unlinked_refunds: bool
    closed_through: str | None


class SettingsPatch(Strict):
    """Settings an admin may change; the currency and the closed periods are not settings here."""

    # null clears the country; the other settings always have a value, so null is refused for them
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = Field(default=None)
    prices_include_tax: bool = Field(default=None)
    cash_rounding: Annotated[str, Field(pattern=r"^\d{1,6}(\.\d{1,4})?$")] = Field(default=None)
    cash_rounding_all_methods: bool = Field(default=None)
    allow_unlinked_refunds: bool = Field(default=None)


class DoorCredentialIn(Strict):
    door: Literal["vodo", "crmcom", "beansbooks", "snr2u"]
    login: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    secret: Annotated[str, Field(min_length=1, max_length=512, pattern=NO_NUL)] | None = None
    settings: Metadata | None = None  # JSON numbers with a fraction are kept as exact decimal strings


class DoorCredentialOut(BaseModel):
    id: str
    door: str
    login: str
    secret: str | None = None
    settings: dict[str, Any]
    credential_id: int
    revoked: bool


Search = Annotated[str | None, Query(max_length=200, pattern=NO_NUL)]


@router.get("/customers", tags=["master data"], responses=R.ok(Page))
def list_customers(request: Request, limit: Limit = 50, cursor: Cursor = None, q: Search = None,
                   principal: Principal = require("refund:read")):
    """Customers, oldest first; `q` finds a code or name containing it, or a tax number."""
    return office(request).list_customers(principal.tenant_id, cursor=_cursor(cursor), limit=limit, q=q)


@router.get("/products", tags=["master data"], responses=R.ok(Page))
def list_products(request: Request, limit: Limit = 50, cursor: Cursor = None, barcode: Search = None,
                  principal: Principal = require("refund:read")):
    return office(request).list_products(principal.tenant_id, cursor=_cursor(cursor), limit=limit, barcode=barcode)


@router.get("/locations", tags=["master data"], responses=R.ok(Page))
def list_locations(request: Request, limit: Limit = 50, cursor: Cursor = None,
                   principal: Principal = require("refund:read")):
    return office(request).list_locations(principal.tenant_id, cursor=_cursor(cursor), limit=limit)


@router.get("/locations/{code:path}", tags=["master data"], responses=R.ok(R.LocationOut))
def get_location(request: Request, code: Key, principal: Principal = require("refund:read")):
    return office(request).get_location(principal.tenant_id, code)


@router.get("/payment-methods", tags=["master data"], responses=R.ok(Page))
def list_payment_methods(request: Request, principal: Principal = require("refund:read")):
    """The tenant's payment methods (a refund's `payments[].method`)."""
    return office(request).list_payment_methods(principal.tenant_id)


@router.get("/settings", tags=["settings"], responses=R.ok(SettingsOut))
def get_settings(request: Request, principal: Principal = require("refund:read")):
    return office(request).settings(principal.tenant_id)


@router.patch("/settings", tags=["settings"], responses=R.ok(SettingsOut))
def change_settings(request: Request, body: SettingsPatch, principal: Principal = require("admin")):
    """Change the tenant's settings (admin); fields left out stay as they are."""
    return office(request).change_settings(principal.tenant_id, body.model_dump(exclude_unset=True))


@router.get("/doors/credentials", tags=["doors"], responses=R.ok(Page))
def list_door_credentials(request: Request, principal: Principal = require("admin")):
    """The tenant's Vodo, CRM.COM, BeansBooks and SnR2U credentials (never their secrets)."""
    tenant = office(request).settings(principal.tenant_id)["tenant"]
    return {"items": door_admin.list_credentials(request.app.state.engine, tenant), "next": None}


@router.post("/doors/credentials", status_code=201, tags=["doors"], responses=R.ok(DoorCredentialOut, 201))
def create_door_credential(request: Request, body: DoorCredentialIn, principal: Principal = require("admin")):
    """A door credential; the `secret` (generated when not given) is shown once in the answer."""
    tenant = office(request).settings(principal.tenant_id)["tenant"]
    created = door_admin.create(request.app.state.engine, tenant, body.door, login=body.login, secret=body.secret,
                                settings=body.settings, clock=request.app.state.clock)
    return JSONResponse(created, status_code=201)


@router.delete("/doors/credentials/{credential_id}", tags=["doors"], responses=R.ok(DoorCredentialOut))
def revoke_door_credential(request: Request, credential_id: Key, principal: Principal = require("admin")):
    """Revoke a door credential: the door refuses it from its next request on."""
    tenant = office(request).settings(principal.tenant_id)["tenant"]
    return door_admin.revoke(request.app.state.engine, tenant, credential_id, request.app.state.clock)
