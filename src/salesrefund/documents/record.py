"""The typed record every document is made from: a posted or voided refund as it was stored,
with its seller, buyer and original invoice. Figures are the refund's own integers (minor units;
quantities and prices in 1/10,000; rates in 1/10,000 percent), never recomputed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from ..domain.money import Currency

ADDRESS_FIELDS = ("street", "building_number", "additional_number", "district", "city", "postal_code",
                  "region", "country", "phone", "email", "registration_scheme", "registration_number")


@dataclass(frozen=True)
class Party:
    name: str
    vat_number: str | None = None
    street: str | None = None
    building_number: str | None = None
    additional_number: str | None = None
    district: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None  # state / country subdivision (MyInvois state code)
    country: str | None = None  # ISO 3166 alpha-2
    phone: str | None = None
    email: str | None = None
    registration_scheme: str | None = None  # CRN (ZATCA), BRN/NRIC (MyInvois) …
    registration_number: str | None = None
    code: str | None = None  # the customer's code in salesrefund
    activity_code: str | None = None  # MyInvois MSIC
    activity: str | None = None
    zatca_exemption_code: str | None = None  # the seller's VATEX code for 0 % lines (ZATCA)


@dataclass(frozen=True)
class Line:
    number: int
    invoice_line: int | None
    product: str | None
    description: str
    quantity: int  # 1/10,000; 0 for an amount-only line
    unit_price: int | None  # 1/10,000 currency units, before discount, on the invoice's tax basis
    unit: str | None
    tax_rate: int  # 1/10,000 percent
    net_minor: int
    tax_minor: int
    gross_minor: int
    allowance_minor: int = 0  # the invoice line's discount share in this line (tax-exclusive prices)


@dataclass(frozen=True)
class TaxRow:
    rate: int
    net_minor: int
    tax_minor: int


@dataclass(frozen=True)
class Payment:
    method: str
    kind: str  # cash | card | bank | store_credit | receivable
    amount_minor: int
    reference: str | None = None


@dataclass(frozen=True)
class OriginalInvoice:
    number: str
    date: date
    myinvois_uuid: str | None = None


@dataclass(frozen=True)
class CreditNoteRecord:
    id: str  # the refund's public id
    kind: str  # refund | payout
    number: str
    state: str  # posted | voided
    issue_date: date  # the posting date
    issued_at: datetime | None  # when it was posted (UTC)
    voided_at: datetime | None
    currency: Currency
    prices_include_tax: bool
    seller: Party
    buyer: Party
    invoice: OriginalInvoice | None
    lines: tuple[Line, ...]
    taxes: tuple[TaxRow, ...]
    payments: tuple[Payment, ...]
    net_minor: int
    tax_minor: int
    gross_minor: int
    rounding_minor: int
    total_minor: int
    reason: str | None = None
    language: str = "en"
    tenant_country: str | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def voided(self) -> bool:
        return self.state == "voided"
