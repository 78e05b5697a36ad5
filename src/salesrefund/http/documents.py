"""Credit-note documents in the native API (issue 11): the XML profiles and the PDF of a refund,
and the details documents need (the seller, customers' addresses, invoices' MyInvois UUIDs)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from ..documents import ubl, zatca
from ..domain.errors import RefundError, Violation
from ..service.documents import DOCUMENT_LANGUAGES, Documents
from ..service.tenants import Principal
from ..store.documents import SIZES
from . import responses as R
from .auth import require
from .native import Key
from .problems import ExactJSONRoute

router = APIRouter(prefix="/v1", route_class=ExactJSONRoute, responses=R.PROBLEM_RESPONSES)

XML = "application/xml"
PDF = "application/pdf"


def documents(request: Request) -> Documents:
    service = getattr(request.app.state, "documents", None)
    if service is None:
        service = request.app.state.documents = Documents(request.app.state.engine, request.app.state.clock)
    return service


def incomplete(error: ubl.DocumentIncomplete) -> RefundError:
    return RefundError([Violation(field, "document_incomplete",
                                  "the {profile} document needs {field}; set it first",
                                  {"profile": error.profile, "field": field}) for field in error.missing])


def _file(content: bytes, media_type: str, name: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/refunds/{refund_id}/document.xml", tags=["documents"], response_class=Response,
            responses={200: {"content": {XML: {}}, "description": "the credit note as UBL 2.1 XML"}})
def refund_document_xml(request: Request, refund_id: Key,
                        profile: Annotated[Literal["en16931", "zatca", "myinvois"], Query()] = "en16931",
                        principal: Principal = require("refund:read")):
    """The credit note of a posted (or voided) refund as an e-invoice: `en16931` (a UBL 2.1
    CreditNote), `zatca` (Saudi Arabia, signed, in the tenant's hash chain) or `myinvois` (Malaysia)."""
    service = documents(request)
    try:
        content, number = service.xml(principal.tenant_id, refund_id, profile)
    except ubl.DocumentIncomplete as error:
        raise incomplete(error)
    return _file(content, XML, f"{number}-{profile}.xml")


@router.get("/refunds/{refund_id}/document.pdf", tags=["documents"], response_class=Response,
            responses={200: {"content": {PDF: {}}, "description": "the printable credit note"}})
def refund_document_pdf(request: Request, refund_id: Key,
                        lang: Annotated[Literal[DOCUMENT_LANGUAGES] | None, Query()] = None,  # type: ignore[valid-type]
                        principal: Principal = require("refund:read")):
    """The printable credit note in `en`, `ar`, `mn` or `ms` (default: the tenant's language)."""
    content, number = documents(request).pdf(principal.tenant_id, refund_id, lang)
    return _file(content, PDF, f"{number}.pdf")


def _text(name: str):
    """An optional text field as long as its column (``store.documents.SIZES``), without NUL."""
    return Annotated[str | None, Field(default=None, min_length=1, max_length=SIZES[name], pattern=r"^[^\x00]*$")]


Country = Annotated[str | None, Field(default=None, pattern=r"^[A-Z]{2}$")]
Scheme = Annotated[str | None, Field(default=None, max_length=10, pattern=r"^[A-Z0-9]+$")]


class AddressIn(BaseModel):
    """A party's address and registration as e-invoices show it; fields left out are kept."""
    model_config = ConfigDict(extra="forbid")
    street: _text("street") = None
    building_number: _text("building_number") = None
    additional_number: _text("additional_number") = None
    district: _text("district") = None
    city: _text("city") = None
    postal_code: _text("postal_code") = None
    region: _text("region") = None
    country: Country = None
    phone: _text("phone") = None
    email: _text("email") = None
    registration_scheme: Scheme = None
    registration_number: _text("registration_number") = None


class SellerIn(AddressIn):
    legal_name: _text("legal_name") = None
    vat_number: _text("vat_number") = None
    language: Annotated[Literal[DOCUMENT_LANGUAGES] | None, Field(default=None)] = None  # type: ignore[valid-type]
    activity_code: Annotated[str | None, Field(default=None, max_length=10, pattern=r"^[0-9A-Z]+$")] = None
    activity: _text("activity") = None
    zatca_exemption_code: Annotated[Literal[tuple(zatca.EXEMPTIONS)] | None, Field(default=None)] = None  # type: ignore[valid-type]


class MyInvoisIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    myinvois_uuid: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]


@router.get("/seller", tags=["documents"], responses=R.ok(R.SellerOut))
def get_seller(request: Request, principal: Principal = require("refund:read")):
    """The seller as the tenant's documents show it (legal name, VAT number, address, language)."""
    return documents(request).seller(principal.tenant_id)


@router.put("/seller", tags=["documents"], responses=R.ok(R.SellerOut))
def put_seller(request: Request, body: SellerIn, principal: Principal = require("masterdata:write")):
    """Set the seller's document details; fields left out are kept."""
    return documents(request).set_seller(principal.tenant_id, body.model_dump(exclude_unset=True))


@router.put("/customers/{code}/address", tags=["documents"], responses=R.ok(R.CustomerAddressOut))
def put_customer_address(request: Request, code: Key, body: AddressIn,
                         principal: Principal = require("masterdata:write")):
    """A customer's postal address and registration, as e-invoices show the buyer."""
    return documents(request).set_customer_address(principal.tenant_id, code, body.model_dump(exclude_unset=True))


@router.put("/invoices/{number}/myinvois-uuid", tags=["documents"], responses=R.ok(R.MyInvoisOut))
def put_myinvois_uuid(request: Request, number: Key, body: Annotated[MyInvoisIn, Body()],
                      principal: Principal = require("masterdata:write")):
    """The invoice's MyInvois UUID (the e-invoice a Malaysian credit or refund note refers to)."""
    return documents(request).set_myinvois_uuid(principal.tenant_id, number, body.myinvois_uuid)
