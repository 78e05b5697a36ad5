"""Request bodies of the native API, and their conversion into commands.

Money and quantities are published as decimal strings with a pattern (JSON numbers are accepted
too and decoded exactly); they are parsed by ``domain.money`` so every door refuses the same
values with the same message.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, WithJsonSchema, model_validator,
)
from pydantic_core import PydanticCustomError

from ..domain import money
from ..domain.commands import (
    InvoiceLineRequest, IssueRefund, PaymentRequest, RecordInvoice, RefundLineRequest,
)
from ..domain.money import Currency

DECIMAL_PATTERN = r"^[+-]?\d{1,13}(\.\d{1,4})?$"
DecimalText = Annotated[
    Any,  # passed through untouched: domain.money parses it (str, int or exact Decimal; never bool/float)
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["12.50"]}),
]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(max_length=500)]


def _integral(value):
    """A JSON number with a zero fraction (``2.0``, decoded exactly as ``Decimal``) is the integer
    it equals, as JSON Schema's ``integer`` says; booleans, strings and fractions stay refused."""
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 18 and value == value.to_integral_value():
        return int(value)
    return value


LineNumber = Annotated[StrictInt, Field(ge=1, le=100_000), BeforeValidator(_integral)]


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only: \d also takes ٢٠٢٦


def _date_text(value):
    """A date is sent as text, ``YYYY-MM-DD`` and nothing else (``"2026-06-15"``): pydantic alone
    would take a number, or a number's text, as seconds since 1970 (``{"from": -1e-46}`` reopened
    every period; ``?from=-5e-243`` read events from 1970: both found by the contract fuzzer), and
    a midnight datetime as its day."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        return value
    raise PydanticCustomError("date_type", "Input should be a valid date, YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_date_text)]


def _exact_numbers(value):
    """The client's own data, kept as sent but with every non-integer JSON number (decoded exactly
    as ``Decimal``) written as its exact decimal string, as the native API writes every decimal
    (R1: never through a float); NaN and Infinity are not numbers JSON can carry back."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("metadata holds NaN or Infinity, which JSON cannot carry")
        return str(value)
    if isinstance(value, dict):
        return {key: _exact_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_exact_numbers(item) for item in value]
    return value


Metadata = Annotated[dict[str, Any], Field(max_length=50), AfterValidator(_exact_numbers)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value):
        """Only a JSON object is a request object. FastAPI validates bodies with ``from_attributes``,
        which would read a JSON number (an exact ``Decimal``) as an object whose fields are all
        absent: ``1.5`` as a void or reopen body, or as a line, was a request with every default."""
        if not isinstance(value, (dict, BaseModel)):
            raise PydanticCustomError("model_type", "Input should be a JSON object")
        return value


class CustomerIn(Strict):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    tax_number: Code | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None


class ProductIn(Strict):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    barcodes: Annotated[list[Code], Field(max_length=50)] = []
    unit: Annotated[str, Field(min_length=1, max_length=20)] = "unit"
    stock_tracked: bool = False
    cost: DecimalText | None = None


class LocationIn(Strict):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]


class StockReceiptIn(Strict):
    product: Code
    quantity: DecimalText
    location: Code | None = None
    date: Day | None = None  # the receipt date; today when omitted


class PaymentIn(Strict):
    method: Code
    amount: DecimalText
    reference: Annotated[str, Field(max_length=100)] | None = None


class InvoiceLineIn(Strict):
    product: Code | None = None
    description: Text | None = None
    quantity: DecimalText
    unit_price: DecimalText
    discount: DecimalText | None = None
    tax_rate: DecimalText


class InvoiceIn(Strict):
    number: Code
    customer: Code
    date: Day
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    prices_include_tax: bool | None = None
    location: Code | None = None
    lines: Annotated[list[InvoiceLineIn], Field(min_length=1, max_length=1000)]
    payments: Annotated[list[PaymentIn], Field(max_length=20)] = []
    myinvois_uuid: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$",
                                        description="the sale's MyInvois UUID (Malaysia), which its "
                                                    "MyInvois notes refer to")] | None = None


class RefundLineIn(Strict):
    line: LineNumber | None = None
    product: Code | None = None
    quantity: DecimalText | None = None
    unit_price: DecimalText | None = None
    amount: DecimalText | None = None
    restock: bool | None = None
    location: Code | None = None
    description: Text | None = None
    tax_rate: DecimalText | None = None


class RefundIn(Strict):
    invoice: Code | None = None
    customer: Code | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    reason: Text | None = None
    state: Literal["posted", "draft"] = "posted"
    posting_date: Day | None = None
    document_date: Day | None = None
    location: Code | None = None
    lines: Annotated[list[RefundLineIn], Field(min_length=1, max_length=1000)]
    payments: Annotated[list[PaymentIn], Field(max_length=20)] | None = None
    metadata: Metadata = {}


class RefundPatch(Strict):
    """Fields of a draft that may change; anything omitted stays as it was."""

    reason: Text | None = None
    posting_date: Day | None = None
    document_date: Day | None = None
    location: Code | None = None
    lines: Annotated[list[RefundLineIn], Field(min_length=1, max_length=1000)] | None = None
    payments: Annotated[list[PaymentIn], Field(max_length=20)] | None = None
    metadata: Metadata | None = None


class VoidIn(Strict):
    reason: Text | None = None


class PeriodCloseIn(Strict):
    through: Day


class PeriodReopenIn(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    reopen_from: Day | None = Field(default=None, alias="from")


# -- conversion into commands --------------------------------------------------------------------

def _opt(parse, value, field: str, *args):
    return None if value is None else parse(value, field, *args)


def refund_lines(lines: list[RefundLineIn], cur: Currency, base: str = "/lines") -> tuple[RefundLineRequest, ...]:
    return tuple(RefundLineRequest(
        line=line.line, product=line.product,
        quantity=_opt(money.parse_quantity, line.quantity, f"{base}/{i}/quantity"),
        unit_price=_opt(money.parse_price, line.unit_price, f"{base}/{i}/unit_price"),
        amount_minor=_opt(money.parse_amount, line.amount, f"{base}/{i}/amount", cur),
        restock=line.restock, location=line.location, description=line.description,
        tax_rate=_opt(money.parse_rate, line.tax_rate, f"{base}/{i}/tax_rate"),
    ) for i, line in enumerate(lines))


def payments(items: list[PaymentIn] | None, cur: Currency) -> tuple[PaymentRequest, ...] | None:
    if items is None:
        return None
    return tuple(PaymentRequest(p.method, money.parse_amount(p.amount, f"/payments/{i}/amount", cur), p.reference)
                 for i, p in enumerate(items))


def issue_refund(body: RefundIn, cur: Currency) -> IssueRefund:
    return IssueRefund(
        lines=refund_lines(body.lines, cur), invoice=body.invoice, customer=body.customer,
        currency=body.currency, reason=body.reason, state=body.state, posting_date=body.posting_date,
        document_date=body.document_date, location=body.location, payments=payments(body.payments, cur),
        metadata=body.metadata)


def refund_changes(body: RefundPatch, cur: Currency) -> dict:
    changes = body.model_dump(exclude_unset=True)
    if "lines" in changes:
        changes["lines"] = refund_lines(body.lines or [], cur)
    if "payments" in changes:
        changes["payments"] = payments(body.payments, cur)
    if "metadata" in changes and changes["metadata"] is None:
        changes["metadata"] = {}
    return changes


def record_invoice(body: InvoiceIn, cur: Currency) -> RecordInvoice:
    return RecordInvoice(
        number=body.number, customer=body.customer, date=body.date, currency=body.currency,
        prices_include_tax=body.prices_include_tax, location=body.location,
        lines=tuple(InvoiceLineRequest(
            quantity=money.parse_quantity(line.quantity, f"/lines/{i}/quantity"),
            unit_price=money.parse_price(line.unit_price, f"/lines/{i}/unit_price"),
            tax_rate=money.parse_rate(line.tax_rate, f"/lines/{i}/tax_rate"),
            product=line.product, description=line.description,
            discount_minor=_opt(money.parse_amount, line.discount, f"/lines/{i}/discount", cur) or 0,
        ) for i, line in enumerate(body.lines)),
        payments=payments(body.payments, cur) or (), myinvois_uuid=body.myinvois_uuid)
