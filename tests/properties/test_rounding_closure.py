"""Rounding closure (issue 4, proof 6).

Thousands of generated invoices — 1 to 30 lines, quantities and unit prices to 4 decimals, tax 0 to
27 %, prices with and without tax, line discounts, currencies with 0, 2 and 3 decimals, cash
rounding — each refunded in random partial slices until nothing remains, through the real planner.
Per slice: nothing exceeds what remained by even one minor unit. Per invoice at the end: the refunds
sum exactly to the invoice per line, per tax rate and in total. Seeded: the same run every time;
SALESREFUND_LONG_TESTS=1 runs ten times as many invoices.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import replace
from datetime import date

from salesrefund.domain import money
from salesrefund.domain.commands import IssueRefund, RefundLineRequest
from salesrefund.domain.invoices import SoldLine, line_figures
from salesrefund.domain.model import Invoice, InvoiceLine, PaymentMethod, Policy
from salesrefund.domain.errors import RefundError
from salesrefund.domain.refunds import plan_refund

INVOICES = 20_000 if os.environ.get("SALESREFUND_LONG_TESTS") == "1" else 2_000
CURRENCIES = (money.Currency("JPY", 0), money.Currency("EUR", 2), money.Currency("MYR", 2),
              money.Currency("KWD", 3))
METHODS = {"cash": PaymentMethod("cash", "cash", "1000"), "card": PaymentMethod("card", "card", "1010")}
TODAY = date(2026, 6, 15)


def random_invoice(rng: random.Random) -> tuple[Invoice, Policy]:
    cur = rng.choice(CURRENCIES)
    inclusive = rng.random() < 0.5
    lines = []
    for n in range(1, rng.randint(1, 30) + 1):
        quantity = rng.choice([rng.randint(1, 20) * 10_000, rng.randint(1, 200_000)])
        price = rng.choice([rng.randint(0, 100_000_000), rng.randint(0, 99_999)])
        rate = rng.choice([0, 50_000, 150_000, 190_000, 270_000, rng.randint(0, 270_000)])
        extended = money.extend(quantity, price, cur)
        discount = rng.randint(0, extended) if extended and rng.random() < 0.3 else 0
        sold = SoldLine(f"P{n}", f"line {n}", quantity, price, discount, rate)
        f = line_figures(sold, cur=cur, prices_include_tax=inclusive)
        lines.append(InvoiceLine(n, f"P{n}", f"line {n}", quantity, price, discount, rate,
                                 f.net_minor, f.tax_minor, f.gross_minor))
    total = sum(line.gross_minor for line in lines)
    invoice = Invoice("INV", "C", cur, date(2026, 6, 1), inclusive, None, tuple(lines),
                      payments=(("cash", total),) if total else ())
    increment = {0: 0, 2: 5, 3: 50}[cur.exponent] if rng.random() < 0.5 else 0
    return invoice, Policy(cur, prices_include_tax=inclusive, cash_increment_minor=increment)


def refund_until_full(invoice: Invoice, policy: Policy, rng: random.Random, tally: Counter) -> None:
    original = invoice
    pieces: dict[int, list] = {line.line: [] for line in invoice.lines}
    for _ in range(200):
        open_lines = [line for line in invoice.lines if line.refundable_quantity > 0 and line.refundable_gross_minor > 0]
        if not open_lines:  # a line worth nothing more and returning no goods has nothing to credit
            break
        chosen = rng.sample(open_lines, k=min(len(open_lines), rng.randint(1, 4)))
        requests = []
        for line in chosen:
            left = line.refundable_quantity
            quantity = left if rng.random() < 0.25 else rng.randint(1, left)
            requests.append(RefundLineRequest(line=line.line, quantity=quantity))
        try:
            plan = plan_refund(IssueRefund(lines=tuple(requests), invoice="INV"), policy=policy, invoice=invoice,
                               customer="C", methods=METHODS, products={}, today=TODAY)
        except RefundError as error:  # slices worth less than a minor unit: no credit note for nothing
            assert error.code == "refund_is_zero"
            tally["zero slices refused"] += 1
            continue
        tally["slices"] += 1
        assert plan.total_minor == plan.gross_minor + plan.rounding_minor
        assert sum(p.amount_minor for p in plan.payments) == plan.total_minor
        lines = {line.line: line for line in invoice.lines}
        for piece in plan.lines:
            before = lines[piece.invoice_line]
            assert 0 <= piece.quantity <= before.refundable_quantity
            assert 0 <= piece.gross_minor <= before.refundable_gross_minor, (piece, before)
            assert 0 <= piece.tax_minor <= before.refundable_tax_minor, (piece, before)
            assert 0 <= piece.net_minor <= before.net_minor - before.refunded_net_minor, (piece, before)
            assert piece.net_minor + piece.tax_minor == piece.gross_minor
            pieces[piece.invoice_line].append(piece)
            lines[piece.invoice_line] = replace(
                before, refunded_quantity=before.refunded_quantity + piece.quantity,
                refunded_gross_minor=before.refunded_gross_minor + piece.gross_minor,
                refunded_tax_minor=before.refunded_tax_minor + piece.tax_minor)
        invoice = replace(invoice, lines=tuple(lines[n] for n in sorted(lines)),
                          refunded_total_minor=invoice.refunded_total_minor + plan.gross_minor)
    else:
        raise AssertionError("not fully refunded after 200 slices")
    rates: dict[int, list[int]] = {}
    for line in original.lines:
        got = pieces[line.line]
        assert sum(p.gross_minor for p in got) == line.gross_minor
        assert sum(p.tax_minor for p in got) == line.tax_minor
        assert sum(p.net_minor for p in got) == line.net_minor
        expected = rates.setdefault(line.tax_rate, [0, 0])
        expected[0] += line.tax_minor
        expected[1] -= sum(p.tax_minor for p in got)
    assert all(sum(pair) == 0 for pair in rates.values()), "per tax rate"
    assert invoice.refunded_total_minor == original.total_minor
    tally["invoices"] += 1
    tally["lines"] += len(original.lines)


def test_partial_refunds_close_exactly_on_thousands_of_invoices():
    rng = random.Random(4217)
    tally: Counter = Counter()
    for _ in range(INVOICES):
        invoice, policy = random_invoice(rng)
        refund_until_full(invoice, policy, rng, tally)
    print(f"\nrounding closure: {tally['invoices']} invoices, {tally['lines']} lines, {tally['slices']} "
          "partial refunds; every slice within what remained, every invoice closed exactly")
    assert tally["invoices"] == INVOICES
