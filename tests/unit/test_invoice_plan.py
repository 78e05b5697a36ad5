"""Planning a sale (``domain.invoices.plan_invoice``): every figure of the invoice to record, its
journal entry, and the first broken rule in a fixed order. Worked numbers, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from salesrefund.domain import money
from salesrefund.domain.commands import InvoiceLineRequest, PaymentRequest, RecordInvoice
from salesrefund.domain.errors import RefundError
from salesrefund.domain.invoices import SoldProduct, plan_invoice
from salesrefund.domain.journal import Posting
from salesrefund.domain.model import PaymentMethod, Policy

from refund_builders import MYR, amount, price, qty, rate

EUR = money.currency("EUR")
TODAY = date(2026, 6, 15)
METHODS = {
    "cash": PaymentMethod("cash", "cash", "1000"),
    "card": PaymentMethod("card", "card", "1010"),
    "store_credit": PaymentMethod("store_credit", "store_credit", "2200"),
    "old": PaymentMethod("old", "card", "1010", active=False),
}
PRODUCTS = {
    "BOOK": SoldProduct("BOOK", "Book", True, price("6.00")),
    "MUG": SoldProduct("MUG", "Mug", True, price("2.00")),
    "WRAP": SoldProduct("WRAP", "Gift wrap", False, 0),
}


def line(product, quantity, unit_price, tax_rate, description=None, discount="0", cur=EUR):
    return InvoiceLineRequest(quantity=qty(quantity), unit_price=price(unit_price), tax_rate=rate(tax_rate),
                              product=product, description=description, discount_minor=amount(discount, cur))


def sale(*lines, payments=(("card", "47.98"),), day=date(2026, 6, 1), cur=EUR, **options):
    return RecordInvoice(number="INV-1", customer="C1", date=day, lines=tuple(lines),
                         payments=tuple(PaymentRequest(m, amount(a, cur)) for m, a in payments), **options)


BOOKS = (line("BOOK", "3", "10.00", "15"), line("MUG", "2", "4.99", "15"), line("WRAP", "1", "2.00", "0"))


def plan(command, policy=Policy(currency=EUR), products=PRODUCTS, methods=METHODS, today=TODAY):
    return plan_invoice(command, policy=policy, today=today, products=products, methods=methods)


def fmt(minor, cur=EUR):
    return money.format_amount(minor, cur)


def test_a_tax_exclusive_sale_paid_by_card():
    p = plan(sale(*BOOKS))
    assert [(fmt(x.net_minor), fmt(x.tax_minor), fmt(x.gross_minor)) for x in p.lines] == [
        ("30.00", "4.50", "34.50"), ("9.98", "1.50", "11.48"), ("2.00", "0.00", "2.00")]
    assert [x.description for x in p.lines] == ["Book", "Mug", "Gift wrap"]  # the product's name by default
    assert [fmt(x.cost_minor) for x in p.lines] == ["18.00", "4.00", "0.00"]
    assert [x.line for x in p.stock_issues()] == [1, 2]  # the service is not stock-tracked
    assert (fmt(p.net_minor), fmt(p.tax_minor), fmt(p.total_minor)) == ("41.98", "6.00", "47.98")
    assert (p.rounding_minor, p.receivable_minor, p.store_credit_minor) == (0, 0, 0)
    assert p.prices_include_tax is False
    assert set(p.postings) == {Posting("1010", amount("47.98", EUR), 0), Posting("4000", 0, amount("41.98", EUR)),
                               Posting("2100", 0, amount("6.00", EUR)), Posting("5000", amount("22.00", EUR), 0),
                               Posting("1200", 0, amount("22.00", EUR))}


def test_prices_including_tax_from_the_command_or_the_policy():
    inclusive = sale(line("BOOK", "2", "57.50", "15"), payments=(("card", "115.00"),), prices_include_tax=True)
    p = plan(inclusive)
    assert (fmt(p.net_minor), fmt(p.tax_minor), fmt(p.total_minor)) == ("100.00", "15.00", "115.00")
    p = plan(replace(inclusive, prices_include_tax=None), policy=Policy(currency=EUR, prices_include_tax=True))
    assert p.prices_include_tax is True and fmt(p.tax_minor) == "15.00"


def test_a_part_left_unpaid_is_receivable():
    p = plan(sale(*BOOKS, payments=(("card", "20.00"),)))
    assert fmt(p.receivable_minor) == "27.98"
    assert Posting("1100", amount("27.98", EUR), 0) in p.postings


def test_a_cash_sale_rounded_by_the_till():
    """MYR at 0.05: 10.02 paid 10.00 in cash -> rounding -0.02, nothing receivable."""
    command = sale(line(None, "1", "10.02", "0", description="Service", cur=MYR),
                   payments=(("cash", "10.00"),), cur=MYR)
    p = plan(command, policy=Policy(currency=MYR, cash_increment_minor=5))
    assert (fmt(p.total_minor, MYR), fmt(p.rounding_minor, MYR), p.receivable_minor) == ("10.02", "-0.02", 0)
    assert set(p.postings) == {Posting("1000", amount("10.00", MYR), 0), Posting("6900", amount("0.02", MYR), 0),
                               Posting("4000", 0, amount("10.02", MYR))}


def test_store_credit_used_by_the_payments():
    p = plan(sale(*BOOKS, payments=(("store_credit", "7.98"), ("card", "40.00"))))
    assert fmt(p.store_credit_minor) == "7.98"


def code(command, **kw):
    with pytest.raises(RefundError) as raised:
        plan(command, **kw)
    v = raised.value.violations[0]
    return v.code, v.field


@pytest.mark.parametrize("command, options, expected", [
    (sale(*BOOKS, day=date(2026, 6, 16)), {}, ("posting_date_in_future", "/date")),
    (sale(*BOOKS), {"policy": Policy(currency=EUR, closed_through=date(2026, 6, 30))}, ("period_closed", "/date")),
    (sale(BOOKS[0], line("NOPE", "1", "1.00", "0")), {}, ("product_not_found", "/lines/1/product")),
    (sale(BOOKS[0], line(None, "1", "1.00", "0")), {}, ("validation_error", "/lines/1/description")),
    (sale(line("BOOK", "0", "10.00", "15")), {}, ("validation_error", "/lines/0/quantity")),
    (sale(*BOOKS, payments=(("cheque", "47.98"),)), {}, ("unknown_payment_method", "/payments/0/method")),
    (sale(*BOOKS, payments=(("old", "47.98"),)), {}, ("unknown_payment_method", "/payments/0/method")),
    (sale(*BOOKS, payments=(("card", "0"),)), {}, ("validation_error", "/payments/0/amount")),
    (sale(*BOOKS, payments=(("card", "47.99"),)), {}, ("payments_do_not_match_total", "/payments")),
])
def test_each_broken_rule(command, options, expected):
    assert code(command, **options) == expected


def test_the_first_broken_rule_wins():
    """The date before the lines, the lines before the payments."""
    bad_everything = sale(line("NOPE", "1", "1.00", "0"), payments=(("cheque", "1.00"),), day=date(2026, 7, 1))
    assert code(bad_everything) == ("posting_date_in_future", "/date")
    assert code(replace(bad_everything, date=date(2026, 6, 1))) == ("product_not_found", "/lines/0/product")
