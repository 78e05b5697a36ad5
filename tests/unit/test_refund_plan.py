"""plan_refund (R6-R13): every figure of a credit note decided from the invoice snapshot."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta

import pytest

from salesrefund.domain import errors, money
from salesrefund.domain.commands import ExpectedTotals, RefundLineRequest
from salesrefund.domain.errors import Invalid, RefundError
from salesrefund.domain.model import PaymentMethod, Policy, Product

from refund_builders import (INVOICE_DATE, METHODS, MYR, SAR, TODAY, amount, apply, assert_lines, invoice,
                             line, pay, plan, price, qty, refund)


def rejected(command, inv, **kwargs) -> RefundError:
    with pytest.raises(RefundError) as info:
        plan(command, inv, **kwargs)
    error = info.value
    codes = [v.code for v in error.violations]
    assert codes == sorted(codes, key=errors.rank), "violations must be in precedence order"
    return error


def three_for_ten(tax_rate="0", **kwargs):
    """3 units sold for 10.00 in all (3 x 3.3333 = 9.9999 -> 10.00)."""
    return invoice(f"""
        line  product  quantity  unit_price  tax_rate
        1     APPLE    3         3.3333      {tax_rate}
    """, **kwargs)


# ---------------------------------------------------------------------------------------------
# The telescoping rule (R8)


def test_three_units_for_ten_refunded_one_at_a_time():
    inv = three_for_ten()
    assert inv.total_minor == amount("10.00")
    pieces = []
    for _ in range(3):
        p = plan(refund(line(1, quantity="1")), inv)
        pieces.append(money.format_amount(p.gross_minor, SAR))
        inv = apply(inv, p)
    assert pieces == ["3.33", "3.34", "3.33"]
    sold = inv.lines[0]
    assert (sold.refunded_quantity, sold.refunded_gross_minor) == (qty("3"), amount("10.00"))


def test_three_units_for_ten_plus_vat_refunded_one_at_a_time():
    # tax-exclusive 15 %: net 10.00, tax 1.50, gross 11.50
    inv = three_for_ten(tax_rate="15")
    expected = ["""
        line  quantity  net   tax   gross
        1     1         3.33  0.50  3.83
    """, """
        line  quantity  net   tax   gross
        1     1         3.34  0.50  3.84
    """, """
        line  quantity  net   tax   gross
        1     1         3.33  0.50  3.83
    """]
    for table in expected:
        p = plan(refund(line(1, quantity="1")), inv)
        assert_lines(p, table)
        inv = apply(inv, p)
    sold = inv.lines[0]
    assert (sold.refunded_gross_minor, sold.refunded_tax_minor) == (sold.gross_minor, sold.tax_minor)


def test_two_then_one():
    inv = three_for_ten()
    first = plan(refund(line(1, quantity="2")), inv)
    assert first.gross_minor == amount("6.67")
    inv = apply(inv, first)
    second = plan(refund(line(1, quantity="1")), inv)
    assert second.gross_minor == amount("3.33")


def test_fractional_quantities_telescope():
    inv = three_for_ten()
    grosses = []
    for q in ["0.5", "1.25", "0.0001", "1.25"]:
        try:
            p = plan(refund(line(1, quantity=q)), inv)
        except RefundError as error:  # a slice worth nothing is no credit note (its own code)
            assert (q, error.code) == ("0.0001", "refund_is_zero")
            continue
        grosses.append(p.gross_minor)
        inv = apply(inv, p)
    # E(0.5)=1.67, E(1.75)=5.83, E(1.7501)=5.83 (zero: refused), E(3)=10.00
    assert grosses == [167, 416, 417]
    assert sum(grosses) == amount("10.00")


def test_line_only_refunds_the_whole_remaining_line():
    inv = three_for_ten()
    whole = plan(refund(line(1)), inv)
    assert_lines(whole, """
        line  quantity  net    tax   gross
        1     3         10.00  0.00  10.00
    """)
    inv = apply(inv, plan(refund(line(1, quantity="1")), inv))
    rest = plan(refund(line(1)), inv)
    assert_lines(rest, """
        line  quantity  net   tax   gross
        1     2         6.67  0.00  6.67
    """)


def test_line_only_on_a_fully_refunded_line():
    inv = three_for_ten()
    inv = apply(inv, plan(refund(line(1)), inv))
    error = rejected(refund(line(1)), inv)
    assert (error.code, error.first.field) == ("quantity_exceeds_refundable", "/lines/0/line")


def test_plan_figures_and_kinds():
    inv = three_for_ten(tax_rate="15")
    p = plan(refund(line(1, quantity="1")), inv)
    (pl,) = p.lines
    assert pl.kind == "line"
    assert (pl.invoice_line, pl.product, pl.unit_price, pl.tax_rate) == (1, "APPLE", price("3.3333"), 150_000)
    assert pl.net_minor + pl.tax_minor == pl.gross_minor
    assert (p.net_minor, p.tax_minor, p.gross_minor) == (333, 50, 383)
    assert p.rounding_minor == 0 and p.total_minor == p.gross_minor
    assert p.cap_increments() == {1: (qty("1"), 383, 50)}


# ---------------------------------------------------------------------------------------------
# Naming the line (R6)

FRUIT = """
    line  product  quantity  unit_price  tax_rate
    1     APPLE    3         10.00       15
    2     PEAR     2         5.00        15
    3     APPLE    1         1.00        15
    4     -        1         7.00        15
"""


def test_by_product_when_unambiguous():
    inv = invoice(FRUIT)
    p = plan(refund(RefundLineRequest(product="PEAR", quantity=qty("1"))), inv)
    assert_lines(p, """
        line  quantity  net   tax   gross
        2     1         5.00  0.75  5.75
    """)


def test_by_product_on_two_lines_is_ambiguous():
    error = rejected(refund(RefundLineRequest(product="APPLE", quantity=qty("1"))), invoice(FRUIT))
    assert (error.code, error.first.field) == ("product_ambiguous", "/lines/0/product")
    assert error.first.params["count"] == 2


def test_by_product_absent():
    error = rejected(refund(RefundLineRequest(product="KIWI", quantity=qty("1"))), invoice(FRUIT))
    assert (error.code, error.first.field) == ("line_not_found", "/lines/0/product")


@pytest.mark.parametrize("number", [5, 99])
def test_line_number_absent(number):
    error = rejected(refund(line(number, quantity="1")), invoice(FRUIT))
    assert (error.code, error.first.field) == ("line_not_found", "/lines/0/line")


def test_line_and_product_must_agree():
    inv = invoice(FRUIT)
    error = rejected(refund(line(1, product="PEAR", quantity="1")), inv)
    assert (error.code, error.first.field) == ("line_not_found", "/lines/0/product")
    ok = plan(refund(line(3, product="APPLE")), inv)   # a line number disambiguates the product
    assert ok.lines[0].invoice_line == 3


def test_free_text_line_by_number():
    p = plan(refund(line(4)), invoice(FRUIT))
    assert (p.lines[0].product, p.gross_minor) == (None, amount("8.05"))


def test_lines_found_when_not_numbered_by_position():
    inv = invoice("""
        line  product  quantity  unit_price
        10    APPLE    1         1.00
        20    PEAR     1         2.00
    """)
    assert plan(refund(line(20)), inv).gross_minor == amount("2.00")
    assert rejected(refund(line(2)), inv).code == "line_not_found"


# ---------------------------------------------------------------------------------------------
# Caps (R7) and prices (R9)


def test_quantity_exceeds_what_was_sold():
    error = rejected(refund(line(1, quantity="3.0001")), three_for_ten())
    assert (error.code, error.first.field) == ("quantity_exceeds_refundable", "/lines/0/quantity")
    assert error.first.params == {"quantity": "3.0001", "remaining": "3", "line": 1}


def test_quantity_exceeds_what_remains():
    inv = three_for_ten()
    inv = apply(inv, plan(refund(line(1, quantity="2")), inv))
    assert rejected(refund(line(1, quantity="2")), inv).code == "quantity_exceeds_refundable"
    assert plan(refund(line(1, quantity="1")), inv).gross_minor == amount("3.33")


def test_price_higher_than_sold():
    error = rejected(refund(line(1, quantity="1", unit_price="3.3334")), three_for_ten())
    assert (error.code, error.first.field) == ("price_exceeds_original", "/lines/0/unit_price")


def test_lower_price_refund_tax_exclusive():
    # 2 x 50.00 excl. 15 %: net 100.00, tax 15.00, gross 115.00; damaged unit refunded at 80 %
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     VASE     2         50.00       15
    """)
    low = plan(refund(line(1, quantity="1", unit_price="40.00")), inv)
    assert_lines(low, """
        line  quantity  net    tax   gross
        1     1         40.00  6.00  46.00
    """)
    assert low.lines[0].unit_price == price("40.00")
    inv = apply(inv, low)
    rest = plan(refund(line(1)), inv)   # the other unit at full price gets its own piece only
    assert_lines(rest, """
        line  quantity  net    tax   gross
        1     1         50.00  7.50  57.50
    """)
    inv = apply(inv, rest)
    sold = inv.lines[0]
    assert sold.refundable_quantity == 0
    assert sold.refundable_gross_minor == amount("11.50")   # the line keeps the difference
    assert rejected(refund(line(1, quantity="1")), inv).code == "quantity_exceeds_refundable"


def test_lower_price_refund_tax_inclusive():
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     VASE     2         57.50       15
    """, inclusive=True)
    p = plan(refund(line(1, quantity="1", unit_price="46.00")), inv)
    assert_lines(p, """
        line  quantity  net    tax   gross
        1     1         40.00  6.00  46.00
    """)


def test_zero_price_refund_is_refused():
    error = rejected(refund(line(1, quantity="1", unit_price="0")), three_for_ten(tax_rate="15"))
    assert (error.code, error.first.field) == ("refund_is_zero", "/lines")


def test_amount_only_refund_on_a_line():
    # 2 x 57.50 incl. 15 %: gross 115.00, tax 15.00; a 23.00 price adjustment carries 3.00 tax
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate  cost  stock
        1     VASE     2         57.50       15        30    yes
    """, inclusive=True)
    p = plan(refund(line(1, amount_="23.00")), inv)
    assert_lines(p, """
        line  quantity  net    tax   gross
        1     0         20.00  3.00  23.00
    """)
    (pl,) = p.lines
    assert (pl.kind, pl.unit_price, pl.restock, pl.cost_minor) == ("amount", None, False, 0)
    assert p.cap_increments() == {1: (0, amount("23.00"), amount("3.00"))}
    inv = apply(inv, p)
    # the goods come back later: the line's remainder is exactly what is left
    rest = plan(refund(line(1)), inv)
    assert_lines(rest, """
        line  quantity  net    tax    gross
        1     2         80.00  12.00  92.00
    """)
    inv = apply(inv, rest)
    assert inv.lines[0].refundable_gross_minor == 0 and inv.lines[0].refundable_tax_minor == 0


def test_amount_only_refund_of_exactly_what_remains_takes_the_remaining_tax():
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     VASE     3         3.3333      15
    """, inclusive=True)
    # gross 10.00, tax round(1000 x 15/115) = 1.30
    inv = apply(inv, plan(refund(line(1, amount_="3.33")), inv))   # tax round(333 x 130/1000)=0.43
    last = plan(refund(line(1, amount_="6.67")), inv)
    assert (last.gross_minor, last.tax_minor) == (amount("6.67"), amount("0.87"))


def test_amount_only_refund_beyond_the_line():
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     VASE     2         57.50       15
        2     BOWL     1         100.00      15
    """, inclusive=True)
    error = rejected(refund(line(1, amount_="115.01")), inv)
    assert (error.code, error.first.field) == ("amount_exceeds_refundable", "/lines/0/amount")


def test_quantity_with_an_amount():
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     VASE     2         57.50       15
    """, inclusive=True)
    # 1 unit is 57.50 incl. 7.50 tax; 50.00 of it carries round(5000 x 750 / 5750) = 6.52 tax
    p = plan(refund(line(1, quantity="1", amount_="50.00")), inv)
    assert_lines(p, """
        line  quantity  net    tax   gross
        1     1         43.48  6.52  50.00
    """)
    error = rejected(refund(line(1, quantity="1", amount_="57.51")), inv)
    assert (error.code, error.first.field) == ("price_exceeds_original", "/lines/0/amount")


R14_INVOICE = """
    line  product  quantity  unit_price  tax_rate
    1     WIDGET   1         100.00      15
"""


def test_free_amount_line():
    inv = invoice(R14_INVOICE, payments=(("cash", "115.00"),))
    p = plan(refund(RefundLineRequest(amount_minor=amount("20.00"), tax_rate=150_000,
                                      description="goodwill")), inv)
    # tax inside 20.00 at 15 %: round(2000 x 15 / 115) = 2.61
    assert_lines(p, """
        line  quantity  net    tax   gross
        -     0         17.39  2.61  20.00
    """)
    (pl,) = p.lines
    assert (pl.kind, pl.description, pl.restock) == ("free_amount", "goodwill", False)
    assert p.cap_increments() == {}


def test_free_amount_line_without_rate_has_no_tax():
    p = plan(refund(RefundLineRequest(amount_minor=amount("20.00"))), invoice(R14_INVOICE))
    assert (p.net_minor, p.tax_minor) == (amount("20.00"), 0)
    assert p.lines[0].description == "Refund"


def test_free_amount_capped_by_the_invoice_remaining_total():
    inv = replace(invoice(R14_INVOICE), refunded_total_minor=amount("100.00"))
    ok = plan(refund(RefundLineRequest(amount_minor=amount("15.00"))), inv)
    assert ok.gross_minor == amount("15.00")
    error = rejected(refund(RefundLineRequest(amount_minor=amount("15.01"))), inv)
    assert (error.code, error.first.field) == ("amount_exceeds_refundable", "/lines/0/amount")
    assert error.first.params["remaining"] == "15.00"


def test_free_amount_plus_line_refund_capped_together():
    inv = invoice(R14_INVOICE)
    error = rejected(refund(line(1), RefundLineRequest(amount_minor=amount("0.01"))), inv)
    assert (error.code, error.first.field) == ("amount_exceeds_refundable", "/lines/1/amount")
    assert error.first.params == {"amount": "115.01", "invoice": "INV-1", "remaining": "115.00"}


def test_amount_only_line_refund_capped_by_the_invoice_remaining_total():
    # an earlier free-amount refund used up part of the invoice; the line itself is untouched
    inv = replace(invoice(R14_INVOICE), refunded_total_minor=amount("20.00"))
    error = rejected(refund(line(1, amount_="115.00")), inv)
    assert error.code == "amount_exceeds_refundable"
    assert plan(refund(line(1, amount_="95.00")), inv).gross_minor == amount("95.00")


def test_two_request_lines_on_one_invoice_line_share_the_cap():
    inv = three_for_ten()
    p = plan(refund(line(1, quantity="1"), line(1, quantity="2")), inv)
    assert_lines(p, """
        line  quantity  net   tax   gross
        1     1         3.33  0.00  3.33
        1     2         6.67  0.00  6.67
    """)
    assert p.cap_increments() == {1: (qty("3"), amount("10.00"), 0)}
    error = rejected(refund(line(1, quantity="2"), line(1, quantity="2")), inv)
    assert (error.code, error.first.field) == ("quantity_exceeds_refundable", "/lines/1/quantity")
    error = rejected(refund(line(1), line(1)), inv)
    assert (error.code, error.first.field) == ("quantity_exceeds_refundable", "/lines/1/line")


def test_two_request_lines_line_only_takes_what_the_first_left():
    p = plan(refund(line(1, quantity="1"), line(1)), three_for_ten())
    assert [pl.quantity for pl in p.lines] == [qty("1"), qty("2")]
    assert p.gross_minor == amount("10.00")


def test_tax_summary_per_rate():
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     A        1         100.00      15
        2     B        2         10.00       5
        3     C        1         3.00        0
        4     D        1         20.00       15
    """)
    p = plan(refund(line(1), line(2), line(3), line(4)), inv)
    assert p.tax_summary() == [(0, 300, 0), (50_000, 2000, 100), (150_000, 12000, 1800)]


# ---------------------------------------------------------------------------------------------
# Restock (R15)

STOCKED = """
    line  product  quantity  unit_price  tax_rate  cost  stock
    1     CHAIR    3         100.00      15        60    yes
    2     SETUP    1         50.00       15        0     no
"""


def test_restock_at_original_cost_into_the_invoice_location():
    p = plan(refund(line(1, quantity="2"), line(2)), invoice(STOCKED))
    chair, setup = p.lines
    assert (chair.restock, chair.location, chair.unit_cost, chair.cost_minor) == (True, "MAIN", price("60"),
                                                                                  amount("120.00"))
    assert (setup.restock, setup.location, setup.cost_minor) == (False, None, 0)
    assert p.stock_returns() == [chair]


def test_restock_location_precedence():
    inv = invoice(STOCKED)
    assert plan(refund(line(1, location="BR2"), location="BR3"), inv).lines[0].location == "BR2"
    nowhere = replace(inv, location=None)
    assert plan(refund(line(1), location="BR3"), nowhere).lines[0].location == "BR3"
    assert plan(refund(line(1)), nowhere, default_location="BR4").lines[0].location == "BR4"


def test_no_restock_when_asked_or_not_stocked():
    inv = invoice(STOCKED)
    p = plan(refund(line(1, restock=False), line(2, restock=True)), inv)
    assert [(pl.restock, pl.cost_minor, pl.location) for pl in p.lines] == [(False, 0, None), (False, 0, None)]
    assert p.stock_returns() == []


# ---------------------------------------------------------------------------------------------
# Parties (R6)


def test_customer_mismatch():
    error = rejected(refund(line(1), customer="C2"), three_for_ten())
    assert (error.code, error.first.field) == ("customer_mismatch", "/customer")
    assert plan(refund(line(1), customer="C1"), three_for_ten()).gross_minor == amount("10.00")


def test_currency_mismatch():
    error = rejected(refund(line(1), currency="USD"), three_for_ten())
    assert (error.code, error.first.field) == ("currency_mismatch", "/currency")
    assert error.first.params == {"expected": "SAR", "given": "USD"}
    assert plan(refund(line(1), currency="SAR"), three_for_ten()).gross_minor == amount("10.00")


def test_customer_mismatch_precedes_currency_mismatch():
    assert rejected(refund(line(1), customer="C2", currency="USD"), three_for_ten()).code == "customer_mismatch"


# ---------------------------------------------------------------------------------------------
# Dates (R13)


def test_posting_date_defaults_to_today_and_document_date_to_posting_date():
    p = plan(refund(line(1)), three_for_ten())
    assert (p.posting_date, p.document_date) == (TODAY, TODAY)
    day = date(2026, 3, 5)
    p = plan(refund(line(1), posting_date=day), three_for_ten())
    assert (p.posting_date, p.document_date) == (day, day)
    p = plan(refund(line(1), posting_date=day, document_date=date(2026, 3, 4)), three_for_ten())
    assert (p.posting_date, p.document_date) == (day, date(2026, 3, 4))


def test_posting_date_in_future():
    error = rejected(refund(line(1), posting_date=TODAY + timedelta(days=1)), three_for_ten())
    assert (error.code, error.first.field) == ("posting_date_in_future", "/posting_date")


def test_posting_date_before_invoice():
    error = rejected(refund(line(1), posting_date=INVOICE_DATE - timedelta(days=1)), three_for_ten())
    assert (error.code, error.first.field) == ("posting_date_before_invoice", "/posting_date")
    assert plan(refund(line(1), posting_date=INVOICE_DATE), three_for_ten()).posting_date == INVOICE_DATE


def test_period_closed():
    policy = Policy(currency=SAR, closed_through=date(2026, 3, 10))
    error = rejected(refund(line(1), posting_date=date(2026, 3, 10)), three_for_ten(), policy=policy)
    assert (error.code, error.first.field) == ("period_closed", "/posting_date")
    assert plan(refund(line(1), posting_date=date(2026, 3, 11)), three_for_ten(), policy=policy)
    closed_today = Policy(currency=SAR, closed_through=TODAY)
    assert rejected(refund(line(1)), three_for_ten(), policy=closed_today).code == "period_closed"


# ---------------------------------------------------------------------------------------------
# Unlinked refunds (R10)

PRODUCTS = {
    "APPLE": Product("APPLE", stock_tracked=True, unit_cost=price("6.00")),
    "SERVICE": Product("SERVICE", stock_tracked=False),
}
UNLINKED = Policy(currency=SAR, allow_unlinked_refunds=True, tax_rates=frozenset({money.parse_rate("15", "/r")}))


def unlinked(*lines, **kwargs):
    return refund(*lines, invoice_number=None, **kwargs)


def test_unlinked_not_allowed_by_default():
    cmd = unlinked(line(product="APPLE", quantity="2", unit_price="5.00"))
    error = rejected(cmd, None, customer="C9", products=PRODUCTS)
    assert (error.code, error.first.field) == ("unlinked_refunds_not_allowed", "/invoice")


def test_unlinked_allowed():
    cmd = unlinked(line(product="APPLE", quantity="2", unit_price="5.00", tax_rate="15"),
                   line(product="SERVICE", quantity="1", unit_price="20.00"), location="BR1")
    p = plan(cmd, None, policy=UNLINKED, customer="C9", products=PRODUCTS)
    assert_lines(p, """
        line  quantity  net    tax   gross
        -     2         10.00  1.50  11.50
        -     1         20.00  0.00  20.00
    """)
    apple, service = p.lines
    assert (apple.kind, apple.product, apple.restock, apple.location, apple.cost_minor) == (
        "unlinked", "APPLE", True, "BR1", amount("12.00"))
    assert (service.restock, service.location, service.cost_minor) == (False, None, 0)
    assert p.cap_increments() == {}
    # no invoice and no payment named: cash
    assert [(pp.method, pp.amount_minor) for pp in p.payments] == [("cash", amount("31.50"))]


def test_unlinked_prices_include_tax_by_policy():
    policy = replace(UNLINKED, prices_include_tax=True)
    cmd = unlinked(line(product="APPLE", quantity="2", unit_price="5.00", tax_rate="15", restock=False))
    assert_lines(plan(cmd, None, policy=policy, customer="C9", products=PRODUCTS), """
        line  quantity  net   tax   gross
        -     2         8.70  1.30  10.00
    """)


def test_unlinked_unknown_product():
    cmd = unlinked(line(product="APPLE", quantity="1", unit_price="5.00"),
                   line(product="KIWI", quantity="1", unit_price="5.00"))
    error = rejected(cmd, None, policy=UNLINKED, customer="C9", products=PRODUCTS)
    assert (error.code, error.first.field) == ("product_not_found", "/lines/1/product")


@pytest.mark.parametrize("request_line, field", [
    (RefundLineRequest(amount_minor=100), "/lines/0/product"),
    (RefundLineRequest(product="APPLE", unit_price=10_000), "/lines/0/quantity"),
    (RefundLineRequest(product="APPLE", quantity=10_000), "/lines/0/unit_price"),
])
def test_unlinked_line_needs_product_quantity_and_price(request_line, field):
    error = rejected(unlinked(request_line), None, policy=UNLINKED, customer="C9", products=PRODUCTS)
    assert (error.code, error.first.field) == ("validation_error", field)
    assert isinstance(error, Invalid)


def test_unlinked_needs_a_customer():
    cmd = unlinked(line(product="APPLE", quantity="1", unit_price="5.00"))
    with pytest.raises(Invalid) as info:
        plan(cmd, None, policy=UNLINKED, customer=None, products=PRODUCTS)
    assert info.value.first.field == "/customer"


def test_unlinked_currency_is_the_policy_currency():
    cmd = unlinked(line(product="APPLE", quantity="1", unit_price="5.00"), currency="USD")
    error = rejected(cmd, None, policy=UNLINKED, customer="C9", products=PRODUCTS)
    assert error.code == "currency_mismatch"


# ---------------------------------------------------------------------------------------------
# Payments (R11)

SPLIT_PAID = dict(payments=(("cash", "10.00"), ("card", "20.00")))
THIRTY = """
    line  product  quantity  unit_price
    1     BOOK     3         10.00
"""


def paid(p):
    return [(pp.method, pp.kind, pp.account, money.format_amount(pp.amount_minor, SAR)) for pp in p.payments]


def test_explicit_payments_must_sum_to_the_total():
    inv = invoice(THIRTY, **SPLIT_PAID)
    p = plan(refund(line(1, quantity="1"), payments=(pay("cash", "4.00"), pay("card", "6.00"))), inv)
    assert paid(p) == [("cash", "cash", "1000", "4.00"), ("card", "card", "1010", "6.00")]
    error = rejected(refund(line(1, quantity="1"), payments=(pay("cash", "9.99"),)), inv)
    assert (error.code, error.first.field) == ("payments_do_not_match_total", "/payments")
    assert error.first.params == {"paid": "9.99", "total": "10.00"}


def test_explicit_payment_keeps_its_reference():
    inv = invoice(THIRTY, payments=(("bank", "30.00"),))
    cmd = refund(line(1, quantity="1"), payments=(replace(pay("bank", "10.00"), reference="TX-9"),))
    assert plan(cmd, inv).payments[0].reference == "TX-9"


def test_unknown_and_inactive_payment_methods():
    methods = {**METHODS, "card": replace(METHODS["card"], active=False)}
    inv = invoice(THIRTY)
    cmd = refund(line(1, quantity="1"), payments=(pay("bitcoin", "5.00"), pay("card", "5.00")))
    error = rejected(cmd, inv, methods=methods)
    assert [(v.code, v.field) for v in error.violations] == [
        ("unknown_payment_method", "/payments/0/method"), ("unknown_payment_method", "/payments/1/method")]


def test_unknown_method_precedes_a_wrong_sum():
    cmd = refund(line(1, quantity="1"), payments=(pay("bitcoin", "1.00"), pay("cash", "1.00")))
    assert rejected(cmd, invoice(THIRTY)).code == "unknown_payment_method"


def test_default_payments_follow_the_invoice_in_proportion():
    inv = invoice(THIRTY, **SPLIT_PAID)
    # 10.00 over cash 10.00 / card 20.00: 3.333.. / 6.666.. -> largest remainder gives card the cent
    assert paid(plan(refund(line(1, quantity="1")), inv)) == [("cash", "cash", "1000", "3.33"),
                                                              ("card", "card", "1010", "6.67")]
    assert paid(plan(refund(line(1)), inv)) == [("cash", "cash", "1000", "10.00"),
                                                ("card", "card", "1010", "20.00")]


def test_default_payments_three_ways_sum_to_the_total():
    inv = invoice(THIRTY, payments=(("cash", "10.00"), ("card", "10.00"), ("bank", "10.00")))
    assert paid(plan(refund(line(1, quantity="1")), inv)) == [
        ("cash", "cash", "1000", "3.34"), ("card", "card", "1010", "3.33"), ("bank", "bank", "1020", "3.33")]


def test_default_payments_skip_methods_the_tenant_does_not_have():
    inv = invoice(THIRTY, payments=(("voucher", "10.00"), ("card", "20.00")))
    assert paid(plan(refund(line(1, quantity="1")), inv)) == [("card", "card", "1010", "10.00")]


def test_default_payment_for_an_unpaid_invoice_lowers_the_receivable():
    p = plan(refund(line(1, quantity="1")), invoice(THIRTY))
    assert paid(p) == [("receivable", "receivable", "1100", "10.00")]


def test_default_payment_for_a_partly_paid_invoice_splits_paid_and_unpaid_in_proportion():
    inv = invoice(THIRTY, payments=(("cash", "10.00"),))   # 30.00 sold, 10.00 paid in cash
    p = plan(refund(line(1, quantity="1")), inv)           # 10.00 back: 1/3 cash, 2/3 receivable
    assert paid(p) == [("cash", "cash", "1000", "3.33"), ("receivable", "receivable", "1100", "6.67")]


def test_no_payment_method_at_all():
    paid_by_card = invoice(THIRTY, payments=(("card", "30.00"),))
    error = rejected(refund(line(1)), paid_by_card, methods={})
    assert (error.code, error.first.field) == ("unknown_payment_method", "/payments")


def test_default_payments_never_use_an_inactive_method():
    methods = {**METHODS, "card": replace(METHODS["card"], active=False)}
    inv = invoice(THIRTY, payments=(("card", "30.00"),))
    try:
        p = plan(refund(line(1, quantity="1")), inv, methods=methods)
    except RefundError as error:
        assert error.code == "unknown_payment_method"
    else:
        assert all(methods[pp.method].active for pp in p.payments), paid(p)


# ---------------------------------------------------------------------------------------------
# Cash rounding (R5)

CASH_5 = Policy(currency=MYR, cash_increment_minor=5)


def myr_invoice(unit_price, paid_by=("cash",)):
    """Two units of TEA, paid (in equal parts, by each method named) twice the unit price: a refund
    of one unit is a partial refund, rounded per document (R5)."""
    paid = money.parse_amount(unit_price, "/p", MYR) * 2
    parts = money.allocate(paid, [1] * len(paid_by))
    return invoice(f"""
        line  product  quantity  unit_price
        1     TEA      2         {unit_price}
    """, cur=MYR, payments=tuple((method, money.format_amount(part, MYR)) for method, part in zip(paid_by, parts)))


ONE = line(1, quantity="1")


def myr(p):
    return (money.format_amount(p.gross_minor, MYR), money.format_amount(p.rounding_minor, MYR),
            money.format_amount(p.total_minor, MYR),
            [(pp.method, money.format_amount(pp.amount_minor, MYR)) for pp in p.payments])


@pytest.mark.parametrize("gross, rounding, total", [
    ("1.01", "-0.01", "1.00"), ("1.02", "-0.02", "1.00"),
    ("1.03", "0.02", "1.05"), ("1.04", "0.01", "1.05"),
    ("1.05", "0.00", "1.05"),
    ("1.06", "-0.01", "1.05"), ("1.07", "-0.02", "1.05"),
    ("1.08", "0.02", "1.10"), ("1.09", "0.01", "1.10"),
])
def test_cash_refund_is_rounded_to_five_sen(gross, rounding, total):
    p = plan(refund(ONE), myr_invoice(gross), policy=CASH_5)
    assert myr(p) == (gross, rounding, total, [("cash", total)])
    assert p.total_minor == p.gross_minor + p.rounding_minor


def test_explicit_cash_payment_must_pay_the_rounded_total():
    inv = myr_invoice("1.02")
    p = plan(refund(ONE, payments=(pay("cash", "1.00", MYR),)), inv, policy=CASH_5)
    assert myr(p) == ("1.02", "-0.02", "1.00", [("cash", "1.00")])
    error = rejected(refund(ONE, payments=(pay("cash", "1.02", MYR),)), inv, policy=CASH_5)
    assert error.code == "payments_do_not_match_total"
    assert error.first.params == {"paid": "1.02", "total": "1.00"}


def test_card_refund_is_not_rounded_unless_all_methods():
    inv = myr_invoice("1.03", paid_by=("card",))
    assert myr(plan(refund(ONE), inv, policy=CASH_5)) == ("1.03", "0.00", "1.03", [("card", "1.03")])
    all_methods = replace(CASH_5, cash_rounding_all_methods=True)
    assert myr(plan(refund(ONE), inv, policy=all_methods)) == ("1.03", "0.02", "1.05", [("card", "1.05")])


def test_mixed_cash_and_card_is_not_rounded_unless_all_methods():
    inv = myr_invoice("1.03", paid_by=("cash", "card"))
    mixed = (pay("cash", "0.50", MYR), pay("card", "0.53", MYR))
    assert myr(plan(refund(ONE, payments=mixed), inv, policy=CASH_5))[1] == "0.00"
    all_methods = replace(CASH_5, cash_rounding_all_methods=True)
    rounded = (pay("cash", "0.50", MYR), pay("card", "0.55", MYR))
    assert myr(plan(refund(ONE, payments=rounded), inv, policy=all_methods))[1:3] == ("0.02", "1.05")
    assert rejected(refund(ONE, payments=mixed), inv, policy=all_methods).code == \
        "payments_do_not_match_total"


def test_no_rounding_without_an_increment():
    p = plan(refund(ONE), myr_invoice("1.03"), policy=Policy(currency=MYR, cash_increment_minor=1))
    assert myr(p) == ("1.03", "0.00", "1.03", [("cash", "1.03")])


# ---------------------------------------------------------------------------------------------
# Shape (validation_error) and error precedence (R18)


def test_shape_errors_are_all_reported():
    cmd = refund(
        RefundLineRequest(line=1, quantity=0),
        RefundLineRequest(line=1, unit_price=-1),
        RefundLineRequest(line=1, amount_minor=0),
        RefundLineRequest(line=1, unit_price=1, amount_minor=1),
        RefundLineRequest(line=0),
        RefundLineRequest(quantity=1),
        payments=(pay("cash", "0.00"),), state="voided")
    with pytest.raises(Invalid) as info:
        plan(cmd, three_for_ten())
    assert {v.field for v in info.value.violations} == {
        "/state", "/lines/0/quantity", "/lines/1/unit_price", "/lines/2/amount", "/lines/3/amount",
        "/lines/4/line", "/lines/5", "/payments/0/amount"}
    assert {v.code for v in info.value.violations} == {"validation_error"}
    assert info.value.status == 422


def test_a_refund_needs_lines():
    with pytest.raises(Invalid) as info:
        plan(refund(), three_for_ten())
    assert info.value.first.field == "/lines"


def test_draft_is_planned_like_a_posted_refund():
    assert plan(refund(line(1), state="draft"), three_for_ten()).gross_minor == amount("10.00")


PRECEDENCE_INVOICE = invoice(FRUIT, payments=(("cash", "100.00"),))
DATE_PROBLEMS = {
    None: ({}, None),
    "future": ({"posting_date": TODAY + timedelta(days=1)}, "posting_date_in_future"),
    "before": ({"posting_date": INVOICE_DATE - timedelta(days=1)}, "posting_date_before_invoice"),
    "closed": ({"posting_date": date(2026, 3, 5)}, "period_closed"),
}
LINE_PROBLEMS = {
    "shape": (RefundLineRequest(line=2, quantity=0), "validation_error"),
    "line_not_found": (line(9, quantity="1"), "line_not_found"),
    "ambiguous": (RefundLineRequest(product="APPLE", quantity=qty("1")), "product_ambiguous"),
    "price": (line(1, quantity="1", unit_price="10.01"), "price_exceeds_original"),
    "quantity": (line(2, quantity="2"), "quantity_exceeds_refundable"),
    "amount": (RefundLineRequest(amount_minor=amount("100.00")), "amount_exceeds_refundable"),
}


def build(problems: set[str], date_problem: str | None, reverse: bool = False):
    lines = [line(2, quantity="1")] + [LINE_PROBLEMS[k][0] for k in sorted(problems) if k in LINE_PROBLEMS]
    if reverse:
        lines.reverse()
    kwargs = dict(DATE_PROBLEMS[date_problem][0])
    if "customer" in problems:
        kwargs["customer"] = "C2"
    if "currency" in problems:
        kwargs["currency"] = "USD"
    payments = []
    if "payment" in problems:
        payments.append(pay("bitcoin", "1.00"))
    if "payments_sum" in problems:
        payments.append(pay("cash", "0.01"))
    if payments:
        kwargs["payments"] = tuple(payments)
    policy = Policy(currency=SAR, closed_through=date(2026, 3, 5) if date_problem == "closed" else None)
    return refund(*lines, **kwargs), policy


OTHER_PROBLEMS = {"customer": "customer_mismatch", "currency": "currency_mismatch",
                  "payment": "unknown_payment_method", "payments_sum": "payments_do_not_match_total"}
ALL_PROBLEMS = sorted([*LINE_PROBLEMS, *OTHER_PROBLEMS])


def expected_code(problem: str) -> str:
    return LINE_PROBLEMS[problem][1] if problem in LINE_PROBLEMS else OTHER_PROBLEMS[problem]


@pytest.mark.parametrize("problem", ALL_PROBLEMS)
def test_each_problem_alone_reports_its_code(problem):
    cmd, policy = build({problem}, None)
    assert rejected(cmd, PRECEDENCE_INVOICE, policy=policy).code == expected_code(problem)


@pytest.mark.parametrize("date_problem", [k for k in DATE_PROBLEMS if k])
def test_each_date_problem_alone_reports_its_code(date_problem):
    cmd, policy = build(set(), date_problem)
    assert rejected(cmd, PRECEDENCE_INVOICE, policy=policy).code == DATE_PROBLEMS[date_problem][1]


def test_the_base_request_is_fine():
    cmd, policy = build(set(), None)
    assert plan(cmd, PRECEDENCE_INVOICE, policy=policy).gross_minor == amount("5.75")


@pytest.mark.parametrize("date_problem", list(DATE_PROBLEMS))
def test_several_problems_report_the_first_by_precedence(date_problem):
    """Every combination of problems reports the highest-precedence code, whatever the line order."""
    checked = 0
    for size in range(1, len(ALL_PROBLEMS) + 1):
        for combo in itertools.combinations(ALL_PROBLEMS, size):
            codes = [expected_code(k) for k in combo]
            if date_problem:
                codes.append(DATE_PROBLEMS[date_problem][1])
            want = min(codes, key=errors.rank)
            for reverse in (False, True):
                cmd, policy = build(set(combo), date_problem, reverse)
                got = rejected(cmd, PRECEDENCE_INVOICE, policy=policy).code
                assert got == want, (combo, date_problem, reverse)
                checked += 1
    assert checked == 2 * (2 ** len(ALL_PROBLEMS) - 1)


def test_same_request_same_first_error_every_time():
    cmd, policy = build({"price", "quantity", "line_not_found", "payment"}, "future")
    seen = {tuple((v.code, v.field) for v in rejected(cmd, PRECEDENCE_INVOICE, policy=policy).violations)
            for _ in range(5)}
    assert len(seen) == 1


def test_line_violations_are_collected_and_sorted():
    cmd = refund(line(2, quantity="3"), line(1, quantity="1", unit_price="99"), line(9))
    error = rejected(cmd, PRECEDENCE_INVOICE)
    assert [(v.code, v.field) for v in error.violations] == [
        ("line_not_found", "/lines/2/line"),
        ("price_exceeds_original", "/lines/1/unit_price"),
        ("quantity_exceeds_refundable", "/lines/0/quantity"),
    ]


def test_one_line_with_two_problems_reports_by_precedence():
    error = rejected(refund(line(1, quantity="4", unit_price="10.01")), PRECEDENCE_INVOICE)
    assert error.code == "price_exceeds_original"


@pytest.mark.parametrize("extra", [{"posting_date": TODAY + timedelta(days=1)}, {"currency": "USD"}])
def test_unlinked_unknown_product_precedes_later_codes(extra):
    cmd = unlinked(line(product="KIWI", quantity="1", unit_price="5.00"), **extra)
    error = rejected(cmd, None, policy=UNLINKED, customer="C9", products=PRODUCTS)
    assert error.code == "product_not_found"


# ---------------------------------------------------------------------------------------------
# Cash paid back never exceeds the cash taken (R5, R8 per cash; issue 9 item 4)

def test_small_cash_refunds_round_down_once_the_cash_is_given_back():
    inv = invoice("""
        line  product  quantity  unit_price
        1     TEA      1         0.60
    """, cur=MYR, payments=(("cash", "0.60"),))
    totals = []
    for _ in range(20):
        p = plan(refund(line(1, amount_="0.03", cur=MYR)), inv, policy=CASH_5)
        totals.append(p.total_minor)
        inv = apply(inv, p)
    assert totals == [5] * 12 + [0] * 8  # 0.05 per note while cash is held, then nothing: 0.60 in all
    assert inv.tenders[0].remaining_minor == 0 and inv.refundable_total_minor == 0


def test_a_client_cent_balance_against_the_rule_is_named():
    inv = invoice("""
        line  product  quantity  unit_price
        1     TEA      1         0.60
    """, cur=MYR, payments=(("cash", "0.60"),))
    for _ in range(12):
        inv = apply(inv, plan(refund(line(1, amount_="0.03", cur=MYR)), inv, policy=CASH_5))
    client = ExpectedTotals(rounding_minor=2, total_minor=5)  # nearest 5 sen: what a till would say
    error = rejected(refund(line(1, amount_="0.03", cur=MYR), payments=(pay("cash", "0.05", MYR),),
                            expected=client), inv, policy=CASH_5)
    assert (error.code, error.first.field) == ("total_mismatch", "/expected/rounding")
    assert error.first.params["computed"] == "-0.03"


def test_a_client_final_amount_without_its_right_cent_balance_is_named():
    """20.38 of cash back rounds to 20.40 (5 sen); a client with the right cent balance (0.02) but
    a final amount and payment of 20.38 has its final amount named, not its payments (issue 10)."""
    inv = invoice("""
        line  product  quantity  unit_price
        1     TEA      2         20.38
    """, cur=MYR, payments=(("cash", "40.76"),))
    client = ExpectedTotals(net_minor=2038, rounding_minor=2, total_minor=2038)
    error = rejected(refund(line(1, amount_="20.38", cur=MYR), payments=(pay("cash", "20.38", MYR),),
                            expected=client), inv, policy=CASH_5)
    assert (error.code, error.first.field) == ("total_mismatch", "/expected/total")
    assert (error.first.params["computed"], error.first.params["given"]) == ("20.40", "20.38")


def test_the_refund_that_closes_the_invoice_pays_back_exactly_the_cash_held():
    inv = replace(invoice("""
        line  product  quantity  unit_price
        1     TEA      3         1.01
    """, cur=MYR, payments=(("cash", "3.05"),)), rounding_minor=2)  # 3.03 sold, the till took 3.05
    first = plan(refund(line(1, quantity="1")), inv, policy=CASH_5)
    assert (first.gross_minor, first.total_minor) == (101, 100)
    inv = apply(inv, first)
    last = plan(refund(line(1)), inv, policy=CASH_5)
    assert (last.gross_minor, last.rounding_minor, last.total_minor) == (202, 3, 205)


def test_a_cash_refund_that_closes_an_invoice_on_account_pays_its_gross_unrounded():
    """Found by the documents' property test: a 0.03 sale on account, closed by a cash refund where
    cash rounds to 0.05, pays back 0.03 (R5: the closing refund pays exactly what the sale still
    holds); 0.05, the rounded figure, would pay back more than the sale took."""
    inv = invoice("""
        line  product  quantity  unit_price
        1     TEA      1         0.03
    """, cur=MYR)
    policy = replace(CASH_5, refund_to_other_methods=True)
    closing = plan(refund(line(1), payments=(pay("cash", "0.03", MYR),)), inv, policy=policy)
    assert (closing.gross_minor, closing.rounding_minor, closing.total_minor) == (3, 0, 3)
    error = rejected(refund(line(1), payments=(pay("cash", "0.05", MYR),)), inv, policy=policy)
    assert error.code == "payments_do_not_match_total"
