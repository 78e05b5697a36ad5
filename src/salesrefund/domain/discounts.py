"""Line discounts and net unit prices (issue 10: Vodo's arithmetic, moved out of its door).

A line's discount is either a percentage of ``quantity x unit price`` or a fixed amount for the
whole line. The discounted amount is rounded once, half up, to the currency, so a refund gives
back exactly what the customer paid for those units. Scales as in ``money``: quantities and unit
prices in 1/10,000, rates in 1/10,000 of a percent, amounts in minor units.
"""

from __future__ import annotations

from . import money

PERCENTAGE, FIXED = "percentage", "fixed"


def discounted_amount(quantity: int, unit_price: int, discount: int | None, kind: str,
                      cur: money.Currency) -> int:
    """``quantity x unit_price`` less the line's discount, in minor units.

    ``kind`` PERCENTAGE: ``discount`` is a rate (10 % = 100_000) of the extended price, rounded
    once: 3 x 33.33 less 12.5 % = 87.49125 -> 87.49. FIXED: ``discount`` is an amount in minor
    units off the rounded extended price: 2 x 100.00 less 30.00 = 170.00. No discount (``None``
    or 0): the extended price, rounded half up."""
    if not discount:
        return money.extend(quantity, unit_price, cur)
    if kind == PERCENTAGE:
        scale = money.QUANTITY_SCALE * money.QUANTITY_SCALE * money.PERCENT
        return money.div_round(quantity * unit_price * cur.unit * (money.PERCENT - discount), scale)
    if kind == FIXED:
        return money.extend(quantity, unit_price, cur) - discount
    raise ValueError(f"unknown discount kind {kind!r}")


def net_unit_price(unit_price: int, rate: int, prices_include_tax: bool, cur: money.Currency) -> int:
    """A unit price (1/10,000) net of tax, in minor units, rounded half up: 3000.00 with 15 % VAT
    inside -> 2608.70; a price without tax inside is only rounded to the currency."""
    if prices_include_tax:
        return money.div_round(unit_price * cur.unit * money.PERCENT,
                               money.QUANTITY_SCALE * (money.PERCENT + rate))
    return money.div_round(unit_price * cur.unit, money.QUANTITY_SCALE)
