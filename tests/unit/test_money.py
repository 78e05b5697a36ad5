"""Exact money (R1-R5): parsing refuses anything inexact, arithmetic is integer and exact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesrefund.domain import money
from salesrefund.domain.errors import Invalid, RefundError

SAR = money.currency("SAR")
MYR = money.currency("MYR")
JPY = money.currency("JPY")
KWD = money.currency("KWD")


def refused(call, *args, field="/lines/0/quantity"):
    with pytest.raises(Invalid) as info:
        call(*args, field)
    error = info.value
    assert isinstance(error, RefundError)
    assert error.code == "validation_error"
    assert error.first.code == "validation_error"
    assert error.first.field == field
    assert error.status == 422
    # the message template renders with the last segment of the pointer as the field name
    assert error.first.text().startswith(field.rsplit("/", 1)[-1])
    return error


# ---------------------------------------------------------------------------------------------
# Currencies (R3)


@pytest.mark.parametrize("code, exponent, unit", [
    ("SAR", 2, 100), ("MYR", 2, 100), ("USD", 2, 100), ("EUR", 2, 100),
    ("JPY", 0, 1), ("KWD", 3, 1000), ("BHD", 3, 1000), ("XYZ", 2, 100),
])
def test_currency_knows_its_iso_exponent(code, exponent, unit):
    cur = money.currency(code)
    assert cur == (code, exponent)
    assert cur.unit == unit


def test_tenant_may_use_fewer_decimals_than_iso():
    assert money.currency("MNT", 0) == ("MNT", 0)
    assert money.currency("MNT", 0).unit == 1


@pytest.mark.parametrize("code, ok", [("SAR", True), ("sar", False), ("SA", False), ("SARX", False),
                                      (None, False), (123, False)])
def test_is_currency_code(code, ok):
    assert money.is_currency_code(code) is ok


# ---------------------------------------------------------------------------------------------
# Parsing refuses (R1)


NOT_NUMBERS = [
    pytest.param(12.5, id="float"),
    pytest.param(0.1, id="float-0.1"),
    pytest.param(1.0, id="float-whole"),
    pytest.param(True, id="True"),
    pytest.param(False, id="False"),
    pytest.param(None, id="None"),
    pytest.param(float("nan"), id="float-nan"),
    pytest.param(float("inf"), id="float-inf"),
    pytest.param("NaN", id="str-NaN"),
    pytest.param("nan", id="str-nan"),
    pytest.param("Infinity", id="str-Infinity"),
    pytest.param("-Infinity", id="str--Infinity"),
    pytest.param("inf", id="str-inf"),
    pytest.param(Decimal("NaN"), id="Decimal-NaN"),
    pytest.param(Decimal("sNaN"), id="Decimal-sNaN"),
    pytest.param(Decimal("Infinity"), id="Decimal-Infinity"),
    pytest.param(Decimal("-Infinity"), id="Decimal--Infinity"),
    pytest.param("1e5", id="str-1e5"),
    pytest.param("1E5", id="str-1E5"),
    pytest.param("1e999999", id="str-1e999999"),
    pytest.param(Decimal("1E+999999"), id="Decimal-1E+999999"),
    pytest.param(Decimal("-1E+999999"), id="Decimal--1E+999999"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("1,5", id="comma"),
    pytest.param("1.2.3", id="two-points"),
    pytest.param("12 50", id="inner-space"),
    pytest.param("0x10", id="hex"),
    pytest.param("1_000", id="underscore"),
    pytest.param("+", id="sign-only"),
    pytest.param(".", id="point-only"),
    pytest.param("12.50 SAR", id="with-currency"),
    pytest.param("1" * 41, id="41-chars"),
    pytest.param([1], id="list"),
    pytest.param({"value": "1"}, id="dict"),
    pytest.param(b"1", id="bytes"),
    pytest.param(10**13, id="int-10^13"),
    pytest.param(-(10**13), id="int--10^13"),
    pytest.param(10**400, id="int-huge"),
    pytest.param("10000000000000", id="str-10^13"),
    pytest.param("-10000000000000.00", id="str--10^13"),
    pytest.param(Decimal("1E+13"), id="Decimal-1E+13"),
    pytest.param(Decimal("10000000000000.0000"), id="Decimal-10^13-with-decimals"),
]


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_to_decimal_refuses(value):
    refused(money.to_decimal, value)


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_parse_quantity_refuses(value):
    refused(money.parse_quantity, value, field="/lines/3/quantity")


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_parse_amount_refuses(value):
    with pytest.raises(Invalid) as info:
        money.parse_amount(value, "/payments/1/amount", SAR)
    assert info.value.first.code == "validation_error"
    assert info.value.first.field == "/payments/1/amount"


@pytest.mark.parametrize("value", [Decimal("1E-999999"), Decimal("-1E-999999"), "0.00001",
                                   Decimal("0.00001"), "1.00001", "9999999999999.99995"])
def test_quantity_refuses_more_than_four_decimals(value):
    error = refused(money.parse_quantity, value, field="/lines/0/quantity")
    assert "4 decimals" in error.first.text()


@pytest.mark.parametrize("value", ["1.00001", Decimal("3.33333")])
def test_unit_price_refuses_more_than_four_decimals(value):
    refused(money.parse_price, value, field="/lines/0/unit_price")


@pytest.mark.parametrize("value, cur", [
    ("12.505", SAR), ("0.001", SAR), (Decimal("1.001"), SAR), (Decimal("1E-999999"), SAR),
    ("1.5", JPY), ("100.01", JPY), (Decimal("0.1"), JPY),
    ("1.2345", KWD),
])
def test_amount_refuses_more_decimals_than_the_currency_has(value, cur):
    with pytest.raises(Invalid) as info:
        money.parse_amount(value, "/lines/0/amount", cur)
    assert info.value.first.code == "validation_error"
    assert info.value.first.field == "/lines/0/amount"
    assert cur.code in info.value.first.text()


@pytest.mark.parametrize("value", [
    "1.000000000000000000000000000000000001",      # 36 decimals, under the 40-char limit
    "0.99999999999999999999999999999",             # 29 nines: rounds up to one whole unit
    Decimal("1.00000000000000000000000000000000000000000001"),
])
def test_quantity_refuses_long_decimals_beyond_context_precision(value):
    refused(money.parse_quantity, value)


def test_amount_refuses_long_decimals_beyond_context_precision():
    with pytest.raises(Invalid):
        money.parse_amount("12.000000000000000000000000000001", "/lines/0/amount", SAR)


@pytest.mark.parametrize("value", ["101", "100.0001", "-1", "-0.0001"])
def test_rate_refuses_outside_zero_to_hundred(value):
    refused(money.parse_rate, value, field="/lines/0/tax_rate")


def test_rate_refuses_more_than_four_decimals():
    refused(money.parse_rate, "15.00001", field="/lines/0/tax_rate")


# ---------------------------------------------------------------------------------------------
# Parsing accepts


@pytest.mark.parametrize("value, expected", [
    ("12.50", Decimal("12.50")), (12, Decimal(12)), (Decimal("1.10"), Decimal("1.10")),
    (" 7 ", Decimal(7)), ("-3.5", Decimal("-3.5")), ("+3.5", Decimal("3.5")), (".5", Decimal("0.5")),
    ("9999999999999.9999", Decimal("9999999999999.9999")), (10**13 - 1, Decimal(10**13 - 1)),
    (Decimal("1E+2"), Decimal(100)),  # a JSON number 1e2 decoded to Decimal by the door
    (Decimal("1E-999999"), Decimal("1E-999999")),  # finite and tiny; refused only by the scale
])
def test_to_decimal_accepts(value, expected):
    result = money.to_decimal(value, "/x")
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize("value, expected", [
    ("12.50", 125_000), (12, 120_000), (Decimal("1.10"), 11_000), ("1.10000", 11_000),
    ("1.1000000000", 11_000), ("0.0001", 1), ("3", 30_000), (Decimal("2.5000"), 25_000),
    ("0", 0), ("0.00000", 0), ("9999999999999.9999", 99_999_999_999_999_999),
    (Decimal("0E+999999"), 0), (Decimal("0E-999999"), 0), (Decimal("-0"), 0),
])
def test_parse_quantity(value, expected):
    assert money.parse_quantity(value, "/lines/0/quantity") == expected


@pytest.mark.parametrize("value, cur, expected", [
    ("12.50", SAR, 1250), (12, SAR, 1200), (Decimal("1.10"), SAR, 110), ("1.100", SAR, 110),
    ("0.05", MYR, 5), ("1500", JPY, 1500), ("1500.00", JPY, 1500), (Decimal("1.5E+3"), JPY, 1500),
    ("1.234", KWD, 1234), ("-0.01", SAR, -1),
])
def test_parse_amount(value, cur, expected):
    assert money.parse_amount(value, "/amount", cur) == expected


@pytest.mark.parametrize("value, expected", [("15", 150_000), ("7.25", 72_500), ("0", 0),
                                             ("100", 1_000_000), ("0.0001", 1), (Decimal("5.5"), 55_000)])
def test_parse_rate(value, expected):
    assert money.parse_rate(value, "/tax_rate") == expected


def test_parse_price():
    assert money.parse_price("3.3333", "/unit_price") == 33_333
    assert money.parse_price(Decimal("57.50"), "/unit_price") == 575_000


# ---------------------------------------------------------------------------------------------
# Formatting round trips


@pytest.mark.parametrize("text, cur", [
    ("12.50", SAR), ("0.05", SAR), ("-0.05", SAR), ("0.00", SAR), ("1234567.89", SAR),
    ("1500", JPY), ("-7", JPY), ("1.234", KWD), ("0.001", KWD), ("9999999999999.99", SAR),
])
def test_amount_round_trip(text, cur):
    minor = money.parse_amount(text, "/amount", cur)
    assert money.format_amount(minor, cur) == text
    assert money.to_decimal_amount(minor, cur) == Decimal(text)


@pytest.mark.parametrize("minor, cur, text", [(12345, SAR, "123.45"), (5, SAR, "0.05"), (-5, SAR, "-0.05"),
                                              (-12345, SAR, "-123.45"), (1500, JPY, "1500"),
                                              (1, KWD, "0.001")])
def test_format_amount(minor, cur, text):
    assert money.format_amount(minor, cur) == text


@pytest.mark.parametrize("text, printed", [("2.5000", "2.5"), ("3.0000", "3"), ("3", "3"), ("0.0001", "0.0001"),
                                           ("1.10000", "1.1"), ("10", "10"), ("-2.5", "-2.5"), ("0", "0")])
def test_quantity_round_trip(text, printed):
    units = money.parse_quantity(text, "/quantity")
    assert money.format_quantity(units) == printed
    assert money.parse_quantity(printed, "/quantity") == units


def test_format_scaled_and_rate():
    assert money.format_scaled(12345, 2) == "123.45"
    assert money.format_scaled(7, 0) == "7"
    assert money.format_scaled(7, 4) == "0.0007"
    assert money.format_rate(150_000) == "15"
    assert money.format_rate(72_500) == "7.25"


# ---------------------------------------------------------------------------------------------
# Integer arithmetic


@pytest.mark.parametrize("num, den, expected", [
    (5, 2, 3), (-5, 2, -3), (7, 2, 4), (-7, 2, -4),      # halves away from zero
    (1, 3, 0), (2, 3, 1), (-1, 3, 0), (-2, 3, -1),
    (0, 7, 0), (6, 3, 2), (-6, 3, -2), (149, 100, 1), (150, 100, 2), (-150, 100, -2), (-149, 100, -1),
    (10**30 + 1, 2, 5 * 10**29 + 1),
])
def test_div_round_half_away_from_zero(num, den, expected):
    assert money.div_round(num, den) == expected


@pytest.mark.parametrize("den", [0, -1])
def test_div_round_needs_a_positive_denominator(den):
    with pytest.raises(ZeroDivisionError):
        money.div_round(1, den)


@pytest.mark.parametrize("quantity, unit_price, cur, expected", [
    ("3", "0.3333", SAR, 100),       # 0.9999 -> 1.00
    ("3", "3.3333", SAR, 1000),      # 9.9999 -> 10.00
    ("1", "0.005", SAR, 1),          # half a halala rounds up
    ("1", "0.0049", SAR, 0),
    ("2", "57.50", SAR, 11500),
    ("2.5", "1", JPY, 3),            # 2.5 yen -> 3
    ("0.3333", "3", KWD, 1000),      # 0.9999 KWD -> 1.000
    ("1.5", "0.0001", SAR, 0),
])
def test_extend(quantity, unit_price, cur, expected):
    q = money.parse_quantity(quantity, "/q")
    p = money.parse_price(unit_price, "/p")
    assert money.extend(q, p, cur) == expected


@pytest.mark.parametrize("gross, pct, tax", [
    ("115.00", "15", "15.00"),
    ("100.00", "15", "13.04"),     # 100 x 15 / 115 = 13.0434...
    ("0.04", "15", "0.01"),        # 0.52 halala -> 1
    ("110.00", "10", "10.00"),
    ("100.00", "0", "0.00"),
    ("-115.00", "15", "-15.00"),
])
def test_tax_included(gross, pct, tax):
    assert money.tax_included(money.parse_amount(gross, "/g", SAR), money.parse_rate(pct, "/r")) \
        == money.parse_amount(tax, "/t", SAR)


@pytest.mark.parametrize("net, pct, tax", [
    ("100.00", "15", "15.00"),
    ("3.33", "15", "0.50"),        # 0.4995 -> 0.50
    ("0.03", "15", "0.00"),        # 0.0045 -> 0.00
    ("10.00", "7.25", "0.73"),     # 0.725 -> 0.73 (half up)
    ("-3.33", "15", "-0.50"),
])
def test_tax_on(net, pct, tax):
    assert money.tax_on(money.parse_amount(net, "/n", SAR), money.parse_rate(pct, "/r")) \
        == money.parse_amount(tax, "/t", SAR)


@pytest.mark.parametrize("amount, rounded", [
    ("1.00", "1.00"),
    ("1.01", "1.00"), ("1.02", "1.00"),    # 1, 2 sen down
    ("1.03", "1.05"), ("1.04", "1.05"),    # 3, 4 sen up
    ("1.05", "1.05"),
    ("1.06", "1.05"), ("1.07", "1.05"),    # 6, 7 sen down
    ("1.08", "1.10"), ("1.09", "1.10"),    # 8, 9 sen up
    ("1.10", "1.10"),
    ("0.02", "0.00"), ("0.03", "0.05"),
    ("-1.02", "-1.00"), ("-1.03", "-1.05"), ("-1.08", "-1.10"),
])
def test_round_to_increment_myr_five_sen(amount, rounded):
    minor = money.parse_amount(amount, "/a", MYR)
    assert money.round_to_increment(minor, 5) == money.parse_amount(rounded, "/a", MYR)


@pytest.mark.parametrize("increment", [0, 1, -5])
def test_round_to_increment_without_increment_is_identity(increment):
    assert money.round_to_increment(103, increment) == 103


def test_round_to_increment_other_increments():
    assert money.round_to_increment(149, 10) == 150   # half up
    assert money.round_to_increment(144, 10) == 140
    assert money.round_to_increment(1249, 100) == 1200  # JPY-like whole-unit rounding


@pytest.mark.parametrize("total, weights, parts", [
    (100, [1, 1, 1], [34, 33, 33]),
    (1000, [3, 3, 3], [334, 333, 333]),   # hordak test_extra_penny: 10.00 over 3 -> the extra cent
    (800, [3, 3, 3], [267, 267, 266]),    # hordak test_less_penny: 8.00 over 3 -> one cent less
    (3000, [3, 3, 3], [1000, 1000, 1000]),
    (1, [1, 1, 1], [1, 0, 0]),
    (2, [1, 1, 1], [1, 1, 0]),
    (2, [1, 2], [1, 1]),                  # exact 0.67 / 1.33: largest remainder goes to the first
    (1000, [1000, 2000], [333, 667]),
    (10, [1, 0, 1], [5, 0, 5]),
    (11, [1, 0, 1], [6, 0, 5]),
    (7, [0, 5], [0, 7]),
    (0, [1, 2, 3], [0, 0, 0]),
    (0, [0, 0], [0, 0]),
    (5, [0, 0], [3, 2]),                  # all-zero weights split evenly
    (5, [7], [5]),
    (-100, [1, 1, 1], [-34, -33, -33]),   # negatives mirror positives
    (-1000, [3, 3, 3], [-334, -333, -333]),
    (-1, [1, 3], [0, -1]),
])
def test_allocate(total, weights, parts):
    result = money.allocate(total, weights)
    assert result == parts
    assert sum(result) == total


def test_allocate_refuses_no_weights_and_negative_weights():
    with pytest.raises(ValueError):
        money.allocate(100, [])
    with pytest.raises(ValueError):
        money.allocate(100, [1, -1])
