"""Commands: what a door asks for, already decoded into exact values. Every door builds these.

Values here are parsed (scaled integers, dates) but not yet checked against the books: that is
the planner's job (``refunds.plan_refund``), so the same rules apply whichever door was used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class RefundLineRequest:
    """One requested line. Names an invoice ``line`` (or a ``product`` matching exactly one line),
    or neither with an ``amount`` (a free-amount line), or, when unlinked, a ``product``."""

    line: int | None = None
    product: str | None = None
    quantity: int | None = None  # 1/10,000 units
    unit_price: int | None = None  # 1/10,000 currency units
    amount_minor: int | None = None  # tax-inclusive amount to give back
    restock: bool | None = None
    location: str | None = None
    description: str | None = None
    tax_rate: int | None = None  # free-amount and unlinked lines only
    unit: str | None = None  # the unit of measure the quantity is counted in; must be the product's


@dataclass(frozen=True)
class PaymentRequest:
    method: str
    amount_minor: int
    reference: str | None = None


@dataclass(frozen=True)
class ExpectedLine:
    """A client's own figures for one line (SnR2U): quantity x unit price, discount, line total."""

    extended_minor: int | None = None  # round(unit price x quantity)
    discount_minor: int = 0
    total_minor: int | None = None  # extended - discount: what the line refunds
    unit_price: int | None = None  # the client's unit price when the line is refunded by amount


@dataclass(frozen=True)
class ExpectedTotals:
    """What the client computed; the planner checks each figure against its own and names the
    first that differs (``total_mismatch``)."""

    lines: tuple[ExpectedLine, ...] = ()
    net_minor: int | None = None  # sum of the line totals, before cash rounding
    rounding_minor: int | None = None  # the cash rounding adjustment
    total_minor: int | None = None  # net + rounding


@dataclass(frozen=True)
class IssueRefund:
    """Issue a refund (a credit note), posted or as a draft. The one command every door builds."""

    lines: tuple[RefundLineRequest, ...]
    invoice: str | None = None
    customer: str | None = None
    currency: str | None = None
    reason: str | None = None
    state: str = "posted"  # "posted" | "draft"
    posting_date: date | None = None
    document_date: date | None = None
    location: str | None = None
    payments: tuple[PaymentRequest, ...] | None = None
    metadata: dict = field(default_factory=dict, compare=False)
    reference: str | None = None  # a door's own document reference (kept on the credit note)
    pos: str | None = None  # the point of sale the refund is made at (its session must be open)
    pos_session: str | None = None
    expected: ExpectedTotals | None = None  # the client's own totals, to verify


@dataclass(frozen=True)
class Context:
    """Who asked, through which door (R20). Not part of the command's meaning."""

    tenant_id: int
    channel: str = "native"
    credential_id: int | None = None
    request_id: str | None = None
    request: dict | None = None  # the request as received, secrets removed
    idempotency_key: str | None = None  # the Idempotency-Key header
    natural_keys: tuple[tuple[str, str], ...] = ()  # (field, key): a door's own unique references
    # (field, number): the natural keys that are the client's own document numbers, unique in the
    # tenant forever (issue 9, item 10), not only while their idempotency record lives
    document_numbers: tuple[tuple[str, str], ...] = ()

    def keys(self) -> list[tuple[str, str]]:
        """Every key that makes this request exactly-once, with the field that carries it."""
        header = [("/headers/Idempotency-Key", self.idempotency_key)] if self.idempotency_key else []
        return header + list(self.natural_keys)


@dataclass(frozen=True)
class InvoiceLineRequest:
    quantity: int
    unit_price: int
    tax_rate: int
    product: str | None = None
    description: str | None = None
    discount_minor: int = 0


@dataclass(frozen=True)
class RecordInvoice:
    """Record a posted sale that refunds will point back to."""

    number: str
    customer: str
    date: date
    lines: tuple[InvoiceLineRequest, ...]
    currency: str | None = None
    prices_include_tax: bool | None = None
    location: str | None = None
    payments: tuple[PaymentRequest, ...] = ()
    myinvois_uuid: str | None = None  # the sale's MyInvois UUID (issue 11), when it has one
