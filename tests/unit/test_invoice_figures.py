"""An invoice line's figures as sold (R4): gross = q x p - discount; tax per line; net + tax = gross."""

from __future__ import annotations

import pytest

from salesrefund.domain import money
from salesrefund.domain.errors import Invalid
from salesrefund.domain.invoices import SoldLine, check_sold_lines, line_figures

from refund_builders import JPY, KWD, SAR, amount, price, qty, rate


def sold(quantity, unit_price, discount="0", tax_rate="0", cur=SAR):
    return SoldLine("P1", "Product 1", qty(quantity), price(unit_price), amount(discount, cur), rate(tax_rate))


def figures(line, cur, inclusive):
    f = line_figures(line, cur=cur, prices_include_tax=inclusive)
    assert f.net_minor + f.tax_minor == f.gross_minor
    return (money.format_amount(f.net_minor, cur), money.format_amount(f.tax_minor, cur),
            money.format_amount(f.gross_minor, cur))


# quantity  unit_price  discount  rate  ->  net  tax  gross
# 0.5 x 9.99 = 4.995 -> 5.00 (extended half up, then tax on the rounded gross)
INCLUSIVE = """
2       57.50     0       15     100.00   15.00   115.00
3       40.00     5.00    15     100.00   15.00   115.00
1       100.00    0       15      86.96   13.04   100.00
1       100.00    0        0     100.00    0.00   100.00
0.5     9.99      0       15       4.35    0.65     5.00
3       3.3333    0.01    15       8.69    1.30     9.99
1.25    8.00      0.50    5        9.05    0.45     9.50
1       0.04      0       15       0.03    0.01     0.04
4       25.00     100.00  15       0.00    0.00     0.00
"""

EXCLUSIVE = """
2       50.00     0       15     100.00   15.00   115.00
3       40.00     20.00   15     100.00   15.00   115.00
3       3.33      0       15       9.99    1.50    11.49
1       10.00     0       7.25    10.00    0.73    10.73
0.3333  3         0       15       1.00    0.15     1.15
2.5     4.00      1.00    27       9.00    2.43    11.43
4       25.00     100.00  15       0.00    0.00     0.00
"""


def _cases(table):
    return [tuple(row.split()) for row in table.strip().splitlines()]


@pytest.mark.parametrize("q, p, d, r, net, tax, gross", _cases(INCLUSIVE))
def test_line_figures_tax_inclusive(q, p, d, r, net, tax, gross):
    assert figures(sold(q, p, d, r), SAR, inclusive=True) == (net, tax, gross)


@pytest.mark.parametrize("q, p, d, r, net, tax, gross", _cases(EXCLUSIVE))
def test_line_figures_tax_exclusive(q, p, d, r, net, tax, gross):
    assert figures(sold(q, p, d, r), SAR, inclusive=False) == (net, tax, gross)


def test_line_figures_other_exponents():
    # JPY: 3 x 333 excl. 10 % -> net 999, tax round(99.9) = 100, gross 1099
    assert figures(sold("3", "333", tax_rate="10", cur=JPY), JPY, inclusive=False) == ("999", "100", "1099")
    # JPY: 1 x 1000 incl. 8 % -> tax round(74.07) = 74
    assert figures(sold("1", "1000", tax_rate="8", cur=JPY), JPY, inclusive=True) == ("926", "74", "1000")
    # KWD: 1 x 1.234 incl. 5 % -> tax round(58.76 fils) = 0.059
    assert figures(sold("1", "1.234", tax_rate="5", cur=KWD), KWD, inclusive=True) == ("1.175", "0.059", "1.234")
    # KWD: 2 x 0.5005 excl. 5 % -> net 1.001, tax round(50.05 fils) = 0.050
    assert figures(sold("2", "0.5005", tax_rate="5", cur=KWD), KWD, inclusive=False) == ("1.001", "0.050", "1.051")


def test_the_docstring_worked_numbers():
    assert figures(sold("2", "57.50", tax_rate="15"), SAR, inclusive=True) == ("100.00", "15.00", "115.00")
    assert figures(sold("2", "50.00", tax_rate="15"), SAR, inclusive=False) == ("100.00", "15.00", "115.00")


def test_check_sold_lines_accepts_a_good_invoice():
    check_sold_lines([sold("2", "50.00", "100.00", "15"), sold("1", "0")], SAR)


def test_check_sold_lines_reports_every_problem_with_its_pointer():
    lines = [
        sold("2", "50.00", "100.01", "15"),                                 # discount > q x p
        SoldLine("P", "P", 0, price("1"), 0, 0),                            # zero quantity
        SoldLine("P", "P", qty("1"), -1, 0, 0),                             # negative price
        SoldLine("P", "P", qty("1"), price("1"), -1, 0),                    # negative discount
    ]
    with pytest.raises(Invalid) as info:
        check_sold_lines(lines, SAR)
    assert {(v.field, v.code) for v in info.value.violations} == {
        ("/lines/0/discount", "validation_error"),
        ("/lines/1/quantity", "validation_error"),
        ("/lines/2/unit_price", "validation_error"),
        ("/lines/3/discount", "validation_error"),
    }


def test_check_sold_lines_needs_a_line():
    with pytest.raises(Invalid) as info:
        check_sold_lines([], SAR)
    assert info.value.first.field == "/lines"
