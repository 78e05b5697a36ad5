"""Closure in every dimension a refund is split along (issue 9, R5, R8), on generated invoices.

Each example: an invoice of 1-4 lines (quantities and prices to 4 decimals, several tax rates,
stock-tracked lines with 4-decimal costs), paid by cash, card, both, or in part (the rest on the
receivable), in a currency with cash rounding or without; then a random run of partial refunds,
price adjustments, free amounts at rates the invoice charged, and voids of earlier refunds, in any
order, through the real planner and ``posted`` (what the store's guarded updates do). After every
step no dimension has given back more than it took: per line (quantity, gross, tax, net), per tax
rate, per payment method and the receivable, per cost, per cash. At the end (free amounts voided,
every line refunded whole) each closes exactly, and one minor unit more is refused.
"""

from __future__ import annotations

import os
from datetime import date

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from salesrefund.domain import money
from salesrefund.domain.commands import IssueRefund, RefundLineRequest
from salesrefund.domain.errors import RefundError
from salesrefund.domain.invoices import SoldLine, line_figures
from salesrefund.domain.model import Invoice, InvoiceLine, PaymentMethod, Policy
from salesrefund.domain.refunds import RefundPlan, plan_refund, posted

LONG = os.environ.get("SALESREFUND_LONG_TESTS") == "1"
SETTINGS = settings(max_examples=2_000 if LONG else 150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
Q = money.QUANTITY_SCALE
TODAY = date(2026, 6, 15)
METHODS = {"cash": PaymentMethod("cash", "cash", "1000"), "card": PaymentMethod("card", "card", "1010"),
           "store_credit": PaymentMethod("store_credit", "store_credit", "2200")}
RATES = [0, 50_000, 100_000, 190_000, 210_000]


@st.composite
def sales(draw) -> tuple[Invoice, Policy]:
    cur = draw(st.sampled_from([money.currency("EUR"), money.currency("MYR"), money.currency("JPY")]))
    inclusive = draw(st.booleans())
    increment = 5 if cur.code == "MYR" else 0
    policy = Policy(cur, prices_include_tax=inclusive, cash_increment_minor=increment)
    lines = []
    for n in range(1, draw(st.integers(1, 4)) + 1):
        quantity = draw(st.one_of(st.integers(1, 6).map(lambda k: k * Q), st.integers(1, 6 * Q)))
        price = draw(st.one_of(st.integers(1, 200 * Q), st.integers(1, 2_000).map(lambda k: k * Q // 100)))
        rate = draw(st.sampled_from(RATES))
        stock = draw(st.booleans())
        cost = draw(st.integers(0, 100 * Q)) if stock else 0
        sold = SoldLine(f"P{n}", f"line {n}", quantity, price, 0, rate)
        f = line_figures(sold, cur=cur, prices_include_tax=inclusive)
        lines.append(InvoiceLine(n, sold.product, sold.description, quantity, price, 0, rate, f.net_minor,
                                 f.tax_minor, f.gross_minor, unit_cost=cost, stock_tracked=stock,
                                 cost_minor=money.extend(quantity, cost, cur) if stock else 0))
    total = sum(line.gross_minor for line in lines)
    how = draw(st.sampled_from(["cash", "card", "cash+card", "cash+unpaid", "card+unpaid", "unpaid"]))
    payments, rounding = [], 0
    if how == "cash" and increment:
        paid = money.round_to_increment(total, increment)  # the till rounded the sale (R5)
        payments, rounding = [("cash", paid)], paid - total
    elif how in ("cash", "card"):
        payments = [(how, total)]
    elif how == "cash+card":
        cash = draw(st.integers(0, total))
        payments = [("cash", cash), ("card", total - cash)]
    elif how != "unpaid":
        payments = [(how.split("+")[0], draw(st.integers(0, total)))]
    invoice = Invoice("INV", "C", cur, date(2026, 6, 1), inclusive, None, tuple(lines),
                      payments=tuple((m, a) for m, a in payments if a > 0), rounding_minor=rounding)
    return invoice, policy


def plan(invoice: Invoice, policy: Policy, *lines: RefundLineRequest) -> RefundPlan | None:
    try:
        return plan_refund(IssueRefund(lines=lines, invoice="INV"), policy=policy, invoice=invoice,
                           customer="C", methods=METHODS, products={}, today=TODAY)
    except RefundError as error:
        if error.code != "refund_is_zero":  # worth less than a minor unit, and no goods back
            raise
        return None


def cash_out(plans: list[RefundPlan]) -> int:
    return sum(p.amount_minor for pl in plans for p in pl.payments if p.kind == "cash")


def check_within(invoice: Invoice, plans: list[RefundPlan]) -> None:
    """No dimension has given back more than it took, and the running figures are the plans' sums."""
    for sold in invoice.lines:
        assert 0 <= sold.refunded_quantity <= sold.quantity
        assert 0 <= sold.refunded_gross_minor <= sold.gross_minor
        assert 0 <= sold.refunded_tax_minor <= sold.tax_minor
        assert 0 <= sold.refunded_net_minor <= sold.net_minor
        assert 0 <= sold.restocked_quantity <= sold.refunded_quantity
        assert 0 <= sold.restocked_cost_minor <= sold.cost_minor
    for rate, (charged, refunded) in invoice.tax_by_rate().items():
        assert 0 <= refunded <= charged, f"tax at {rate}"
    for tender in invoice.tenders:
        assert 0 <= tender.refunded_minor <= tender.paid_minor, tender
        assert tender.refunded_minor == sum(p.tender_minor for pl in plans for p in pl.payments
                                            if p.method == tender.method)
    cash_in = sum(amount for method, amount in invoice.payments if method == "cash")
    assert cash_out(plans) <= cash_in
    assert invoice.paid_back_minor == sum(pl.total_minor for pl in plans)
    assert 0 <= invoice.refunded_total_minor == sum(pl.gross_minor for pl in plans) <= invoice.total_minor


@SETTINGS
@given(data=st.data(), sale=sales())
def test_every_dimension_closes_whatever_order_refunds_and_voids_come_in(data, sale):
    invoice, policy = sale
    original = invoice
    plans: list[RefundPlan] = []
    for _ in range(data.draw(st.integers(0, 12), label="steps")):
        kind = data.draw(st.sampled_from(["slice", "slice", "whole", "adjust", "free", "void"]), label="kind")
        sold = data.draw(st.sampled_from(invoice.lines), label="line")
        if kind == "void":
            if plans:
                voided = plans.pop(data.draw(st.integers(0, len(plans) - 1), label="which"))
                invoice = posted(invoice, voided, -1)
            continue
        if kind == "free":
            room = invoice.refundable_total_minor
            if room <= 0:
                continue
            rate = data.draw(st.sampled_from(sorted({line.tax_rate for line in invoice.lines})), label="rate")
            request = RefundLineRequest(amount_minor=data.draw(st.integers(1, room), label="amount"), tax_rate=rate)
        elif kind == "adjust":
            room = min(sold.refundable_gross_minor, invoice.refundable_total_minor)
            if room <= 0:
                continue
            request = RefundLineRequest(line=sold.line, amount_minor=data.draw(st.integers(1, room), label="amount"))
        else:
            if sold.refundable_quantity <= 0:
                continue
            quantity = None if kind == "whole" else data.draw(st.integers(1, sold.refundable_quantity), label="q")
            request = RefundLineRequest(line=sold.line, quantity=quantity)
        try:
            made = plan(invoice, policy, request)
        except RefundError as error:  # free amounts count against the invoice: a line may no longer fit
            assert error.code == "amount_exceeds_refundable", error
            continue
        if made is not None:
            note(f"{kind} {request} -> {[(pl.invoice_line, pl.quantity, pl.gross_minor, pl.tax_minor) for pl in made.lines]}")
            plans.append(made)
            invoice = posted(invoice, made)
            check_within(invoice, plans)

    note(f"sale {original}")
    # close: void the free amounts (they hold part of the invoice's total), then every line whole
    for free in [pl for pl in plans if any(line.invoice_line is None for line in pl.lines)]:
        plans.remove(free)
        invoice = posted(invoice, free, -1)
    for sold in original.lines:
        left = invoice.line_numbered(sold.line)
        if left.refundable_quantity > 0 or left.refundable_gross_minor > 0:
            made = plan(invoice, policy, RefundLineRequest(line=sold.line))
            if made is not None:
                plans.append(made)
                invoice = posted(invoice, made)
                check_within(invoice, plans)

    for sold, before in zip(invoice.lines, original.lines):  # per line, and per cost
        assert (sold.refunded_gross_minor, sold.refunded_tax_minor) == (before.gross_minor, before.tax_minor)
        if sold.stock_tracked:
            assert sold.refunded_quantity == sold.restocked_quantity == sold.quantity
            assert sold.restocked_cost_minor == sold.cost_minor
    for rate, (charged, refunded) in invoice.tax_by_rate().items():  # per tax rate
        assert refunded == charged, f"tax at {rate}"
    for tender in invoice.tenders:  # per payment method and the receivable
        assert tender.refunded_minor == tender.paid_minor, tender
    cash_in = sum(amount for method, amount in invoice.payments if method == "cash")
    assert cash_out(plans) == cash_in  # per cash, the sale's own rounding included
    assert invoice.paid_back_minor == original.total_minor + original.rounding_minor
    assert invoice.refundable_total_minor == 0
    for one_more in (RefundLineRequest(amount_minor=1), RefundLineRequest(line=1, amount_minor=1)):
        try:
            plan_refund(IssueRefund(lines=(one_more,), invoice="INV"), policy=policy, invoice=invoice,
                        customer="C", methods=METHODS, products={}, today=TODAY)
        except RefundError as error:
            assert error.code == "amount_exceeds_refundable"
        else:
            raise AssertionError("one minor unit more was accepted")
