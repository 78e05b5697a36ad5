"""An invoice's figures as sold (R4): each line's net, tax and gross, derived once and frozen;
``plan_invoice``: every figure of a sale to record, or the first broken rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from . import journal, money
from .commands import RecordInvoice
from .errors import Invalid, Violation, reject
from .journal import Posting
from .model import PaymentMethod, Policy


@dataclass(frozen=True)
class SoldLine:
    """A requested invoice line, already parsed."""

    product: str | None
    description: str
    quantity: int
    unit_price: int
    discount_minor: int
    tax_rate: int


@dataclass(frozen=True)
class LineFigures:
    net_minor: int
    tax_minor: int
    gross_minor: int


def line_figures(line: SoldLine, *, cur: money.Currency, prices_include_tax: bool) -> LineFigures:
    """R4. Inclusive: gross = q x p - discount, tax = round(gross x r / (1 + r)), net = gross - tax.
    Exclusive: net = q x p - discount, tax = round(net x r), gross = net + tax.

    Worked numbers: 2 x 57.50 incl. 15 % -> gross 115.00, tax 15.00, net 100.00;
    2 x 50.00 excl. 15 % -> net 100.00, tax 15.00, gross 115.00.
    """
    extended = money.extend(line.quantity, line.unit_price, cur) - line.discount_minor
    if prices_include_tax:
        tax = money.tax_included(extended, line.tax_rate)
        return LineFigures(extended - tax, tax, extended)
    tax = money.tax_on(extended, line.tax_rate)
    return LineFigures(extended, tax, extended + tax)


def check_sold_lines(lines: list[SoldLine], cur: money.Currency) -> None:
    bad: list[Violation] = []
    if not lines:
        bad.append(Violation("/lines", "validation_error", "an invoice needs at least one line"))
    for i, line in enumerate(lines):
        at = f"/lines/{i}"
        if line.quantity <= 0:
            bad.append(Violation(f"{at}/quantity", "validation_error", "quantity must be greater than zero"))
        if line.unit_price < 0:
            bad.append(Violation(f"{at}/unit_price", "validation_error", "unit_price must not be negative"))
        if line.discount_minor < 0:
            bad.append(Violation(f"{at}/discount", "validation_error", "discount must not be negative"))
        elif line.quantity > 0 and line.discount_minor > money.extend(line.quantity, line.unit_price, cur):
            bad.append(Violation(f"{at}/discount", "validation_error",
                                 "discount must not exceed quantity x unit_price"))
        if line.quantity > 0 and line.unit_price > 0:
            try:
                money.bounded(money.extend(line.quantity, line.unit_price, cur), cur, f"{at}/unit_price")
            except Invalid as error:
                bad.extend(error.violations)
    if bad:
        raise Invalid(bad)


def sale_rounding(total_minor: int, paid_minor: int, methods: list[PaymentMethod], policy: Policy) -> int:
    """The sale's own cash rounding (R5): where the tenant rounds cash and the sale was paid wholly
    in cash (or the tenant rounds every method), a payment that is a whole number of increments
    less than one increment away from the total was rounded by the till; the difference is the
    sale's rounding, posted to the rounding account. Otherwise 0 (what is unpaid is receivable).
    MYR at 0.05: 10.02 paid 10.00 -> -0.02; 10.03 paid 10.05 -> +0.02; 10.02 paid 9.00 -> 0."""
    increment = policy.cash_increment_minor
    if increment <= 1 or not methods or paid_minor == total_minor:
        return 0
    if not (policy.cash_rounding_all_methods or all(m.kind == "cash" for m in methods)):
        return 0
    if paid_minor % increment or abs(paid_minor - total_minor) >= increment:
        return 0
    return paid_minor - total_minor


# -- planning a sale ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SoldProduct:
    """A product as a sale sees it: its name (a line's default description), stock and cost."""

    code: str
    name: str
    stock_tracked: bool
    unit_cost: int = 0  # 1/10,000 currency units


@dataclass(frozen=True)
class PlannedInvoiceLine:
    """One line of the invoice as it is recorded (R4 figures, the cost of what leaves stock)."""

    line: int
    product: str | None
    description: str
    quantity: int
    unit_price: int
    discount_minor: int
    tax_rate: int
    net_minor: int
    tax_minor: int
    gross_minor: int
    unit_cost: int
    stock_tracked: bool
    cost_minor: int


@dataclass(frozen=True)
class InvoicePlan:
    """Every figure of a sale to record: lines, totals, the sale's rounding (R5), what stays
    receivable, the store credit its payments use and its journal entry (R14)."""

    prices_include_tax: bool
    lines: tuple[PlannedInvoiceLine, ...]
    net_minor: int
    tax_minor: int
    total_minor: int
    rounding_minor: int
    receivable_minor: int
    store_credit_minor: int
    postings: tuple[Posting, ...]

    def stock_issues(self) -> tuple[PlannedInvoiceLine, ...]:
        """The lines whose goods leave stock (stock-tracked products)."""
        return tuple(line for line in self.lines if line.stock_tracked)


def plan_invoice(command: RecordInvoice, *, policy: Policy, today: date,
                 products: Mapping[str, SoldProduct], methods: Mapping[str, PaymentMethod]) -> InvoicePlan:
    """The sale ``command`` as recorded, from the tenant's ``policy``, today's date in its time
    zone, the ``products`` its lines name (those that exist) and the tenant's payment ``methods``.
    Raises the first broken rule, in this order: the date (future, closed period), each line's
    product (exists) or description (given), the lines' figures, the totals' bounds, each payment's
    method (exists, active) and amount (> 0), payments over the total.

    Worked numbers (EUR, tax-exclusive): 3 x 10.00 at 15 % (stock-tracked, cost 6.00), 2 x 4.99 at
    15 % (cost 2.00) and 1 x 2.00 at 0 %, paid 47.98 by card: lines net 30.00, 9.98, 2.00, tax 4.50,
    1.50, 0.00; total 47.98, rounding 0, receivable 0; cost 18.00 + 4.00; entry Dr 1010 Card 47.98,
    Cr 4000 Sales 41.98, Cr 2100 Tax 6.00, Dr 5000 COGS 22.00, Cr 1200 Inventory 22.00."""
    cur = policy.currency
    if command.date > today:
        raise reject("posting_date_in_future", "/date", "the invoice date {day} is after today", day=command.date)
    if policy.is_closed(command.date):
        raise reject("period_closed", "/date", "the accounting period of {day} is closed", day=command.date)
    for i, line in enumerate(command.lines):
        if line.product is not None and line.product not in products:
            raise reject("product_not_found", f"/lines/{i}/product", "product {code} does not exist",
                         code=line.product)
        if line.product is None and not line.description:
            raise Invalid(Violation(f"/lines/{i}/description", "validation_error",
                                    "a line without a product needs a description"))
    sold = [SoldLine(line.product, line.description or products[line.product].name, line.quantity,
                     line.unit_price, line.discount_minor, line.tax_rate) for line in command.lines]
    check_sold_lines(sold, cur)
    include = policy.prices_include_tax if command.prices_include_tax is None else command.prices_include_tax
    figures = [line_figures(line, cur=cur, prices_include_tax=include) for line in sold]
    total = money.bounded(sum(f.gross_minor for f in figures), cur, "/lines")
    tracked = [line.product is not None and products[line.product].stock_tracked for line in sold]
    costs = [money.extend(line.quantity, products[line.product].unit_cost, cur) if on else 0
             for line, on in zip(sold, tracked)]
    money.bounded(sum(costs), cur, "/lines")
    for i, p in enumerate(command.payments):
        if p.method not in methods or not methods[p.method].active:
            raise reject("unknown_payment_method", f"/payments/{i}/method",
                         "payment method {method} does not exist or is not active", method=p.method)
        if p.amount_minor <= 0:
            raise Invalid(Violation(f"/payments/{i}/amount", "validation_error", "amount must be greater than zero"))
    paid = sum(p.amount_minor for p in command.payments)
    rounding = sale_rounding(total, paid, [methods[p.method] for p in command.payments], policy)
    if paid > total + rounding:
        raise reject("payments_do_not_match_total", "/payments",
                     "the payments ({paid}) exceed the invoice total ({total})",
                     paid=money.format_amount(paid, cur), total=money.format_amount(total, cur))
    lines = tuple(PlannedInvoiceLine(
        line=n, product=line.product, description=line.description[:500], quantity=line.quantity,
        unit_price=line.unit_price, discount_minor=line.discount_minor, tax_rate=line.tax_rate,
        net_minor=f.net_minor, tax_minor=f.tax_minor, gross_minor=f.gross_minor,
        unit_cost=products[line.product].unit_cost if line.product is not None else 0,
        stock_tracked=on, cost_minor=cost)
        for n, (line, f, on, cost) in enumerate(zip(sold, figures, tracked, costs), start=1))
    net, tax = sum(f.net_minor for f in figures), sum(f.tax_minor for f in figures)
    postings = journal.sale_entry(
        net_minor=net, tax_minor=tax, cost_minor=sum(costs), rounding_minor=rounding,
        payments=[(methods[p.method].account, p.amount_minor) for p in command.payments])
    return InvoicePlan(
        prices_include_tax=include, lines=lines, net_minor=net, tax_minor=tax, total_minor=total,
        rounding_minor=rounding, receivable_minor=total + rounding - paid,
        store_credit_minor=sum(p.amount_minor for p in command.payments if methods[p.method].kind == "store_credit"),
        postings=postings)
