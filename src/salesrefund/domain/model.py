"""Snapshots the rules read: the tenant's policy, an invoice as sold and refunded so far."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .money import Currency

PAYMENT_KINDS = ("cash", "card", "bank", "store_credit")
RECEIVABLE_ACCOUNT = "1100"  # what an unpaid invoice left the customer owing


@dataclass(frozen=True)
class Policy:
    """A tenant's rules: currency, tax mode, cash rounding (R5), unlinked refunds (R10), periods (R13)."""

    currency: Currency
    prices_include_tax: bool = False
    cash_increment_minor: int = 0  # 5 = round cash to 0.05 (MYR); 0 or 1 = no cash rounding
    cash_rounding_all_methods: bool = False  # False: only refunds paid wholly in cash are rounded
    allow_unlinked_refunds: bool = False
    closed_through: date | None = None  # every date up to and including this one is closed
    tax_rates: frozenset[int] = frozenset()  # rates a refund without an invoice may use (0 always may)
    refund_to_other_methods: bool = False  # may a refund pay back by a method the invoice was not paid by

    def allows_tax_rate(self, rate: int) -> bool:
        return rate == 0 or rate in self.tax_rates

    def is_closed(self, day: date) -> bool:
        return self.closed_through is not None and day <= self.closed_through


@dataclass(frozen=True)
class PaymentMethod:
    code: str
    kind: str  # one of PAYMENT_KINDS
    account: str
    active: bool = True


RECEIVABLE = PaymentMethod("receivable", "receivable", RECEIVABLE_ACCOUNT)


@dataclass(frozen=True)
class InvoiceLine:
    """One invoice line as sold (R8 snapshot) and refunded so far (running figures, R7)."""

    line: int
    product: str | None
    description: str
    quantity: int  # 1/10,000 units
    unit_price: int  # 1/10,000 currency units, before discount
    discount_minor: int
    tax_rate: int  # 1/10,000 percent
    net_minor: int
    tax_minor: int
    gross_minor: int
    unit_cost: int = 0  # 1/10,000 currency units, the cost when sold
    stock_tracked: bool = False
    refunded_quantity: int = 0
    refunded_gross_minor: int = 0
    refunded_tax_minor: int = 0
    unit: str | None = None  # the product's unit of measure (None on a line without a product)
    cost_minor: int = 0  # the cost booked out when sold (stock-tracked lines): extend(quantity, unit_cost)
    restocked_quantity: int = 0  # units returned to stock by posted refunds
    restocked_cost_minor: int = 0  # the cost those returns booked back in
    retained_gross_minor: int = 0  # what refunds at a lower price (R9) left with the business
    retained_tax_minor: int = 0

    @property
    def refunded_net_minor(self) -> int:
        return self.refunded_gross_minor - self.refunded_tax_minor

    @property
    def refundable_quantity(self) -> int:
        return self.quantity - self.refunded_quantity

    @property
    def refundable_gross_minor(self) -> int:
        return self.gross_minor - self.refunded_gross_minor

    @property
    def refundable_tax_minor(self) -> int:
        return self.tax_minor - self.refunded_tax_minor


@dataclass(frozen=True)
class Tender:
    """What the invoice took by one payment method (or left on the receivable), and how much of it
    posted refunds have given back: the running figures of the payment dimension (R8, R11)."""

    method: str  # a payment method code, or "receivable" for the part left unpaid
    paid_minor: int
    refunded_minor: int = 0

    @property
    def remaining_minor(self) -> int:
        return self.paid_minor - self.refunded_minor


@dataclass(frozen=True)
class Invoice:
    number: str
    customer: str
    currency: Currency
    date: date
    prices_include_tax: bool
    location: str | None
    lines: tuple[InvoiceLine, ...]
    payments: tuple[tuple[str, int], ...] = ()  # (method code, amount_minor)
    refunded_total_minor: int = 0  # gross of every posted, unvoided refund of this invoice
    rounding_minor: int = 0  # the sale's own cash rounding: paid = total + rounding (R5)
    refunded_by_method: tuple[tuple[str, int], ...] = ()  # (method or "receivable", given back so far)
    refunded_free_minor: int = 0  # gross of the free amounts among the refunded total
    paid_back_minor: int = 0  # what posted refunds paid back by any method, cash rounding included
    free_tax_by_rate: tuple[tuple[int, int], ...] = ()  # (rate, tax refunded by free amounts so far)

    @property
    def tenders(self) -> tuple[Tender, ...]:
        """Per payment method in the order first paid, then the receivable (what was left unpaid)."""
        paid: dict[str, int] = {}
        for method, amount in self.payments:
            paid[method] = paid.get(method, 0) + amount
        unpaid = self.total_minor + self.rounding_minor - sum(paid.values())
        if unpaid > 0:
            paid[RECEIVABLE.code] = unpaid
        back = dict(self.refunded_by_method)
        return tuple(Tender(method, amount, back.get(method, 0)) for method, amount in paid.items())

    def tax_by_rate(self) -> dict[int, tuple[int, int]]:
        """{rate: (tax charged, tax refunded so far)} over the lines and the free amounts."""
        rates: dict[int, list[int]] = {}
        for line in self.lines:
            figures = rates.setdefault(line.tax_rate, [0, 0])
            figures[0] += line.tax_minor
            figures[1] += line.refunded_tax_minor
        for rate, tax in self.free_tax_by_rate:
            rates.setdefault(rate, [0, 0])[1] += tax
        return {rate: (charged, refunded) for rate, (charged, refunded) in rates.items()}

    @property
    def total_minor(self) -> int:
        return sum(line.gross_minor for line in self.lines)

    @property
    def refundable_total_minor(self) -> int:
        return self.total_minor - self.refunded_total_minor

    @property
    def owed_minor(self) -> int:
        """What the sale took (its rounding included) less what refunds paid back: the refund that
        closes the invoice pays exactly this, so every method, the receivable and cash close."""
        return self.total_minor + self.rounding_minor - self.paid_back_minor

    def line_numbered(self, number: int) -> InvoiceLine | None:
        if 1 <= number <= len(self.lines) and self.lines[number - 1].line == number:
            return self.lines[number - 1]
        return next((line for line in self.lines if line.line == number), None)


@dataclass(frozen=True)
class Product:
    code: str
    stock_tracked: bool
    unit_cost: int = 0  # 1/10,000 currency units
    unit: str | None = None  # unit of measure


@dataclass(frozen=True)
class Till:
    """A point-of-sale session: refunds at a till need its session open."""

    pos: str
    session: str
    state: str  # open | closed
    location: str
