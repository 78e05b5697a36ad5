"""Response bodies of the native API, for the OpenAPI document only.

The routes keep returning the views of ``service.views`` and ``service.books`` as they are (money
and quantities as exact decimal strings, R1); these models only *declare* those shapes
(``responses=`` on the routes, never ``response_model=``, so nothing is re-serialized). Every model
forbids unknown fields, so a view that grows a field the document does not declare fails the
contract tests (``tests/fuzz/test_contract.py``) instead of drifting silently.

Errors are RFC 9457 problem+json (``PROBLEM_RESPONSES``), declared once for every 4xx. The
doors' answers are declared at the end, each in its own document's envelope.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# An exact decimal as the API writes it: "12.50", "-3", "0.3333" (never an exponent or a float).
DECIMAL_OUT = r"^-?[0-9]+(\.[0-9]+)?$"
DecimalOut = Annotated[str, Field(pattern=DECIMAL_OUT, examples=["12.50"])]
Cursor = Annotated[str | None, Field(description="pass as `cursor` for the next page; null on the last page")]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- master data ------------------------------------------------------------------------------

class CustomerOut(Out):
    code: str
    name: str
    tax_number: str | None
    currency: str
    email: str | None
    credit_balance: DecimalOut = Field(description="store credit the business owes the customer")


class ProductOut(Out):
    code: str
    name: str
    barcodes: list[str]
    unit: str
    stock_tracked: bool
    cost: DecimalOut


class LocationOut(Out):
    code: str
    name: str


class StockReceiptOut(Out):
    product: str
    location: str
    quantity: DecimalOut
    date: date


# -- invoices ---------------------------------------------------------------------------------

class InvoiceLineOut(Out):
    line: int
    product: str | None
    description: str | None
    quantity: DecimalOut
    unit_price: DecimalOut
    discount: DecimalOut
    tax_rate: DecimalOut
    net: DecimalOut
    tax: DecimalOut
    gross: DecimalOut
    refunded_quantity: DecimalOut
    refunded_amount: DecimalOut
    refundable_quantity: DecimalOut
    refundable_amount: DecimalOut


class InvoicePaymentOut(Out):
    method: str
    amount: DecimalOut


class InvoiceTenderOut(Out):
    method: str = Field(description="a payment method, or `receivable` for the part left unpaid")
    paid: DecimalOut = Field(description="what the sale took by it")
    refunded: DecimalOut = Field(description="what posted refunds gave back by it")
    refundable: DecimalOut = Field(description="what refunds may still give back by it")


class InvoiceOut(Out):
    number: str
    customer: str
    date: date
    currency: str
    prices_include_tax: bool
    location: str | None
    lines: list[InvoiceLineOut]
    payments: list[InvoicePaymentOut]
    tenders: list[InvoiceTenderOut] = Field(description="per payment method (and receivable): paid, "
                                            "given back, still refundable (R8)")
    net: DecimalOut
    tax: DecimalOut
    total: DecimalOut
    rounding: DecimalOut = Field(description="the sale's own cash rounding: paid = total + rounding")
    refunded_total: DecimalOut
    refundable_total: DecimalOut
    myinvois_uuid: str | None = Field(description="the sale's MyInvois UUID (Malaysia) when it has one: set "
                                      "by `POST /v1/invoices` or `PUT /v1/invoices/{number}/myinvois-uuid`")


class InvoicePage(Out):
    items: list[InvoiceOut]
    next: Cursor


# -- refunds ----------------------------------------------------------------------------------

class RefundLineOut(Out):
    line: int
    invoice_line: int | None
    product: str | None
    description: str | None
    quantity: DecimalOut
    unit_price: DecimalOut | None
    tax_rate: DecimalOut
    net: DecimalOut
    tax: DecimalOut
    gross: DecimalOut
    restock: bool
    location: str | None


class TaxOut(Out):
    tax_rate: DecimalOut
    net: DecimalOut
    tax: DecimalOut


class RefundPaymentOut(Out):
    method: str
    amount: DecimalOut
    reference: str | None


class RefundOut(Out):
    id: str
    kind: Literal["refund", "payout"]
    number: str | None = Field(description="the credit-note number; null on a draft")
    state: Literal["draft", "posted", "voided"]
    invoice: str | None
    customer: str
    currency: str
    reason: str | None
    reference: str | None
    unlinked: bool
    posting_date: date | None
    document_date: date | None
    location: str | None
    lines: list[RefundLineOut]
    taxes: list[TaxOut]
    net: DecimalOut
    tax: DecimalOut
    gross: DecimalOut
    rounding: DecimalOut
    total: DecimalOut
    payments: list[RefundPaymentOut]
    metadata: dict[str, Any]
    channel: str
    created_at: datetime
    posted_at: datetime | None
    voided_at: datetime | None


class RefundPreviewOut(Out):
    """What ``POST /v1/refunds`` would create; nothing is written, so there is no id or number."""

    id: None
    number: None
    state: Literal["draft", "posted"]
    invoice: str | None
    customer: str
    currency: str
    reason: str | None
    unlinked: bool
    posting_date: date
    document_date: date
    lines: list[RefundLineOut]
    taxes: list[TaxOut]
    net: DecimalOut
    tax: DecimalOut
    gross: DecimalOut
    rounding: DecimalOut
    total: DecimalOut
    payments: list[RefundPaymentOut]


class RefundPage(Out):
    items: list[RefundOut]
    next: Cursor


class AuditEventOut(Out):
    action: str
    channel: str
    credential_id: int | None
    request_id: str | None
    at: datetime


class AuditPage(Out):
    items: list[AuditEventOut]
    next: None


# -- ledger, stock, periods -------------------------------------------------------------------

class JournalLineOut(Out):
    account: str
    debit: DecimalOut
    credit: DecimalOut


class JournalEntryOut(Out):
    id: int
    date: date
    source: Literal["invoice", "receipt", "refund", "void"]
    memo: str | None
    lines: list[JournalLineOut]


class JournalPage(Out):
    items: list[JournalEntryOut]
    next: Cursor


class AccountBalanceOut(Out):
    account: str
    name: str
    debit: DecimalOut
    credit: DecimalOut
    balance: DecimalOut = Field(description="debit - credit")


class TrialBalanceOut(Out):
    currency: str
    accounts: list[AccountBalanceOut]
    total_debit: DecimalOut
    total_credit: DecimalOut


class StockOut(Out):
    product: str
    location: str
    on_hand: DecimalOut


class StockPage(Out):
    items: list[StockOut]
    next: None


class PeriodOut(Out):
    period: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$")]
    start: date
    end: date
    status: Literal["open", "closed", "partially_closed"]


class PeriodsOut(Out):
    items: list[PeriodOut]
    next: None
    closed_through: date | None


# -- errors -----------------------------------------------------------------------------------

PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names every field at fault, the first one first (R18).",
    "required": ["type", "title", "status", "detail", "code", "errors"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["field", "code", "message"], "additionalProperties": False,
            "properties": {"field": {"type": "string", "description": "a JSON pointer into the request"},
                           "code": {"type": "string"}, "message": {"type": "string"}}}},
        "request_id": {"type": "string"},
    },
    "additionalProperties": False,
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"description": "The request was refused and changed nothing (problem+json).",
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}},
}


# -- credit-note documents (issue 11) ------------------------------------------------------------

class AddressOut(Out):
    street: str | None = None
    building_number: str | None = None
    additional_number: str | None = None
    district: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    country: str | None = None
    phone: str | None = None
    email: str | None = None
    registration_scheme: str | None = None
    registration_number: str | None = None


class SellerOut(AddressOut):
    legal_name: str | None = None
    vat_number: str | None = None
    language: str
    activity_code: str | None = None
    activity: str | None = None
    zatca_exemption_code: str | None = Field(default=None, description="the VATEX code of 0 % lines (ZATCA)")


class CustomerAddressOut(AddressOut):
    customer: str


class MyInvoisOut(Out):
    invoice: str
    myinvois_uuid: str | None


def ok(model: type[Out], status: int = 200, links: dict | None = None) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route answering ``model`` with ``status`` (and OpenAPI ``links``)."""
    response: dict[str, Any] = {"model": model}
    if links:
        response["links"] = links
    return {status: response}


def link(method: str, path: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation ``method path`` whose parameters come from fields of this
    response's body (``link("get", "/v1/refunds/{refund_id}", refund_id="id")``)."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}",
            "parameters": {name: f"$response.body#/{field}" for name, field in parameters.items()}}


_REFUND = "/v1/refunds/{refund_id}"
# What a client can do next with a refund it was just given (the stateful contract tests follow these).
REFUND_LINKS = {
    "get": link("get", _REFUND, refund_id="id"),
    "post": link("post", _REFUND + "/post", refund_id="id"),
    "void": link("post", _REFUND + "/void", refund_id="id"),
    "edit": link("patch", _REFUND, refund_id="id"),
    "delete": link("delete", _REFUND, refund_id="id"),
    "journal": link("get", _REFUND + "/journal", refund_id="id"),
    "audit": link("get", _REFUND + "/audit", refund_id="id"),
}


# -- the doors' answers (each in its own document's shape) -------------------------------------------

def _object(properties: dict, required: list[str] | None = None, *, closed: bool = True) -> dict:
    schema = {"type": "object", "properties": properties, "required": list(properties) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    return schema


_TEXT, _NULL = {"type": "string"}, {"type": "null"}
_DOOR_ERRORS = {"type": "array", "minItems": 1, "items": _object(
    {"field": {"type": ["string", "null"], "description": "the door's own name of the field"},
     "code": {"type": "string", "description": "the stable code (the native API's)"}, "message": _TEXT})}


def _json(description: str, schema: dict, **more: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}, **more}}


INTERNOM_RESPONSES = {
    200: _json("The refund was made (or an identical request was replayed).", _object({
        "status": {"const": "success"}, "message": _TEXT,
        "data": _object({"status": {"const": "success"}, "sale_name": _TEXT, "order_ref": _TEXT})})),
    "4XX": _json("Refused; nothing was recorded.", _object({
        "status": {"const": "error"}, "message": _TEXT, "errors": _DOOR_ERRORS})),
}
VODO_RESPONSES = {
    200: _json("The credit note, with its invoice as it now stands.", _object({
        "status": {"const": True}, "message": _TEXT, "data": {"type": "object"},
        "errors": {"type": "array", "maxItems": 0}})),
    "4XX": _json("Refused; nothing was recorded.", _object({
        "status": {"const": False}, "message": _TEXT, "data": _NULL, "errors": _DOOR_ERRORS})),
}
_CRM_FAILURE = _json("Refused; nothing was recorded.", _object({
    "status": _object({"code": {"type": "string", "not": {"const": "OK"}}, "message": _TEXT,
                       "description": {"type": ["string", "null"]}}),
    "data": _NULL}))


def crm_responses(data: dict) -> dict:
    """CRM.COM's envelope: ``status.code`` OK with ``data``, or an error code with ``data`` null."""
    return {200: _json("Done.", _object({"status": _object({"code": {"const": "OK"}, "message": {"const": ""},
                                                            "description": {"const": ""}}), "data": data})),
            "4XX": _CRM_FAILURE}


BEANSBOOKS_RESPONSES = {
    200: _json("BeansBooks answers every outcome with HTTP 200: `success` true with the refund sale, or false "
               "with `error` (or `auth_error`), our stable `error_code` and the `errors` by field.", _object({
                   "success": {"type": "boolean"}, "config_error": _TEXT, "auth_error": _TEXT, "error": _TEXT,
                   "data": {"type": "object"}, "error_code": _TEXT, "errors": _DOOR_ERRORS},
                   ["success", "config_error", "auth_error", "error", "data"])),
}
_JSV = {"text/jsv": {"schema": {"type": "string", "description": "the same object, in ServiceStack's JSV"}}}
SNR2U_RESPONSES = {
    200: _json("The refund note as SnR2U returns it: JSON names in camelCase, ServiceStack's default (other casings by "
               "?jsconfig); in JSV, PascalCase.", _object({
        "customerRefundNote": {"type": "object"}, "responseStatus": {"type": "object"}}), **_JSV),
    "4XX": _json("Refused; nothing was recorded: ServiceStack's ResponseStatus, one entry per field.", _object({
        "responseStatus": _object({
            "errorCode": _TEXT, "message": _TEXT, "stackTrace": _NULL, "meta": {"type": "object"},
            "errors": {"type": "array", "minItems": 1, "items": _object({
                "errorCode": _TEXT, "fieldName": _TEXT, "message": _TEXT, "meta": {"type": "object"}})}})}),
        **_JSV),
}

# The read routes of issue 13: Vodo's credit notes of an invoice (``data`` a list) and SnR2U's
# AutoQuery-style list of refund notes.
VODO_LIST_RESPONSES = {
    200: _json("The invoice's credit notes, oldest first, each as the create answer shows it.", _object({
        "status": {"const": True}, "message": _TEXT, "data": {"type": "array", "items": {"type": "object"}},
        "errors": {"type": "array", "maxItems": 0}})),
    "4XX": VODO_RESPONSES["4XX"],
}
SNR2U_LIST_RESPONSES = {
    200: _json("AutoQuery's QueryResponse: the page of refund notes (in JSV when asked for).", _object({
        "offset": {"type": "integer", "minimum": 0}, "total": {"type": "integer", "minimum": 0},
        "results": {"type": "array", "items": {"type": "object"}}, "meta": {"type": "object"},
        "responseStatus": _NULL}), **_JSV),
    "4XX": SNR2U_RESPONSES["4XX"],
}
