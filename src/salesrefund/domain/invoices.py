"""An invoice's figures as sold (R4): each line's net, tax and gross, derived once and frozen."""

from __future__ import annotations

from dataclasses import dataclass

from . import money
from .errors import Invalid, Violation
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
