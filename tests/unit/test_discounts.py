"""Line discounts and net unit prices (domain.discounts, issue 10), with the worked numbers of
docs/doors/vodo.md ("Discounts")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from salesrefund.domain import money
from salesrefund.domain.discounts import FIXED, PERCENTAGE, discounted_amount, net_unit_price

SAR = money.currency("SAR")
JPY = money.currency("JPY")
q, p, r = money.parse_quantity, money.parse_price, money.parse_rate


def sar(text: str) -> int:
    return money.parse_amount(text, "x", SAR)


@pytest.mark.parametrize("quantity, price, discount, kind, expected", [
    ("2", "3000", r("10", "d"), PERCENTAGE, "5400.00"),      # 6000.00 less 10 %
    ("1", "1500", sar("250"), FIXED, "1250.00"),             # 1500.00 less 250.00
    ("2", "100", sar("30"), FIXED, "170.00"),                # 200.00 less 30.00
    ("3", "33.33", r("12.5", "d"), PERCENTAGE, "87.49"),     # 99.99 x 0.875 = 87.49125, rounded once
    ("3", "33.335", r("50", "d"), PERCENTAGE, "50.00"),      # 100.005 x 0.5 = 50.0025 (not 100.01 x 0.5)
    ("1", "80", None, FIXED, "80.00"),                       # no discount: the extended price
    ("3", "0.3333", 0, PERCENTAGE, "1.00"),                  # 0.9999 rounded half up
    ("1", "100", r("100", "d"), PERCENTAGE, "0.00"),         # all of it
])
def test_worked_numbers(quantity, price, discount, kind, expected):
    amount = discounted_amount(q(quantity, "q"), p(price, "p"), discount, kind, SAR)
    assert money.format_amount(amount, SAR) == expected


def test_a_fixed_discount_above_the_line_gives_a_negative_amount_for_the_engine_to_refuse():
    assert discounted_amount(q("1", "q"), p("10", "p"), sar("15"), FIXED, SAR) == -500


def test_an_unknown_kind_is_a_bug():
    with pytest.raises(ValueError):
        discounted_amount(1, 1, 1, "coupon", SAR)


@pytest.mark.parametrize("price, rate, inclusive, cur, expected", [
    ("3000", "15", True, SAR, "2608.70"),   # 3000 / 1.15 = 2608.695...
    ("1500", "15", True, SAR, "1304.35"),
    ("100", "15", True, SAR, "86.96"),
    ("0", "0", True, SAR, "0.00"),
    ("100", "15", False, SAR, "100.00"),    # no tax inside: only rounded to the halala
    ("12.3456", "0", False, SAR, "12.35"),
    ("1150", "15", True, JPY, "1000"),
])
def test_net_unit_prices(price, rate, inclusive, cur, expected):
    assert money.format_amount(net_unit_price(p(price, "p"), r(rate, "r"), inclusive, cur), cur) == expected


@given(quantity=st.integers(1, 10**8), price=st.integers(0, 10**10), percent=st.integers(0, money.PERCENT))
def test_a_percentage_discount_is_the_exactly_rounded_fraction(quantity, price, percent):
    exact = Decimal(quantity) * price * (money.PERCENT - percent) / (money.QUANTITY_SCALE ** 2 * money.PERCENT)
    amount = discounted_amount(quantity, price, percent, PERCENTAGE, SAR)
    assert abs(Decimal(amount) - exact * SAR.unit) <= Decimal("0.5")
    assert 0 <= amount <= money.extend(quantity, price, SAR)


@given(quantity=st.integers(1, 10**8), price=st.integers(0, 10**10), off=st.integers(0, 10**12))
def test_a_fixed_discount_is_exactly_the_amount_off(quantity, price, off):
    assert money.extend(quantity, price, SAR) - discounted_amount(quantity, price, off, FIXED, SAR) == off
