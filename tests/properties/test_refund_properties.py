"""Properties of the refund domain, checked on generated invoices and refund sequences.

(a) allocate: parts sum to the whole, each within one minor unit of its exact share;
(b) the remainder rule (R8): however an invoice is refunded piece by piece, no piece exceeds what
    remains and the pieces sum exactly to the invoice per line, per tax rate and in total;
(c) every refund's journal entry balances, and a reversal of a reversal has the same totals.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesrefund.domain import money
from salesrefund.domain.commands import IssueRefund, RefundLineRequest
from salesrefund.domain.invoices import SoldLine, line_figures
from salesrefund.domain.journal import check_balanced, refund_entry, reversal
from salesrefund.domain.model import Invoice, InvoiceLine, PaymentMethod, Policy
from salesrefund.domain.errors import RefundError
from salesrefund.domain.refunds import RefundPlan, plan_refund, posted

PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEAVY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Q = money.QUANTITY_SCALE
TODAY = date(2026, 3, 15)
METHODS = {
    "cash": PaymentMethod("cash", "cash", "1000"),
    "card": PaymentMethod("card", "card", "1010"),
    "store_credit": PaymentMethod("store_credit", "store_credit", "2200"),
}
CURRENCIES = [money.currency("JPY"), money.currency("SAR"), money.currency("KWD")]


# ---------------------------------------------------------------------------------------------
# (a) allocate


@PROPERTY
@given(total=st.integers(-(10**15), 10**15),
       weights=st.lists(st.integers(0, 10**9), min_size=1, max_size=10))
def test_allocate_sums_to_the_whole_and_each_part_is_within_one_of_its_share(total, weights):
    parts = money.allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    basis = sum(weights) or len(weights)
    shares = weights if sum(weights) else [1] * len(weights)
    for part, w in zip(parts, shares):
        # |part - total * w / basis| < 1, in integers
        assert abs(part * basis - total * w) < basis
        # and the part is the floor or the ceiling of the exact share
        assert part in (total * w // basis, -((-total * w) // basis))


@PROPERTY
@given(total=st.integers(0, 10**12), weights=st.lists(st.integers(0, 1000), min_size=1, max_size=8))
def test_allocate_is_sign_symmetric(total, weights):
    assert money.allocate(-total, weights) == [-p for p in money.allocate(total, weights)]


@PROPERTY
@given(numerator=st.integers(-(10**20), 10**20), denominator=st.integers(1, 10**12))
def test_div_round_is_decimal_half_up(numerator, denominator):
    # Decimal's ROUND_HALF_UP rounds halves away from zero; exact with enough precision
    with localcontext() as ctx:
        ctx.prec = 80
        expected = int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert money.div_round(numerator, denominator) == expected


@PROPERTY
@given(minor=st.integers(-(10**13) + 1, 10**13 - 1), cur=st.sampled_from(CURRENCIES))
def test_amount_text_round_trip(minor, cur):
    text = money.format_amount(minor, cur)
    assert money.parse_amount(text, "/amount", cur) == minor


# ---------------------------------------------------------------------------------------------
# Generated invoices


@st.composite
def invoices(draw) -> tuple[Invoice, Policy]:
    cur = draw(st.sampled_from(CURRENCIES))
    inclusive = draw(st.booleans())
    lines = []
    for number in range(1, draw(st.integers(1, 8)) + 1):
        quantity = draw(st.one_of(st.integers(1, 12).map(lambda n: n * Q),      # whole units
                                  st.integers(1, 50 * Q)))                        # up to 4 decimals
        unit_price = draw(st.one_of(st.integers(0, 500 * Q),                      # up to 4 decimals
                                    st.integers(0, 2000).map(lambda n: n * Q // 100),
                                    st.integers(0, 10**6 * Q)))
        extended = money.extend(quantity, unit_price, cur)
        discount = draw(st.one_of(st.just(0), st.integers(0, extended)))
        tax_rate = draw(st.integers(0, 2700)) * 100          # 0 % .. 27 %, up to 2 decimals
        sold = SoldLine(f"P{number}", f"product {number}", quantity, unit_price, discount, tax_rate)
        f = line_figures(sold, cur=cur, prices_include_tax=inclusive)
        assert f.net_minor + f.tax_minor == f.gross_minor
        lines.append(InvoiceLine(line=number, product=sold.product, description=sold.description,
                                 quantity=quantity, unit_price=unit_price, discount_minor=discount,
                                 tax_rate=tax_rate, net_minor=f.net_minor, tax_minor=f.tax_minor,
                                 gross_minor=f.gross_minor, unit_cost=draw(st.integers(0, 100 * Q)),
                                 stock_tracked=draw(st.booleans())))
    total = sum(line.gross_minor for line in lines)
    paid_by = draw(st.sampled_from(["unpaid", "cash", "card", "split"]))
    if paid_by == "unpaid" or total == 0:
        payments = ()
    elif paid_by == "split":
        cash = draw(st.integers(0, total))
        payments = (("cash", cash), ("card", total - cash))
    else:
        payments = ((paid_by, total),)
    invoice = Invoice(number="INV-1", customer="C1", currency=cur, date=date(2026, 3, 1),
                      prices_include_tax=inclusive, location="MAIN", lines=tuple(lines), payments=payments)
    policy = Policy(currency=cur, prices_include_tax=inclusive,
                    cash_increment_minor=draw(st.sampled_from([0, 5, 10])) if cur.exponent else 0,
                    cash_rounding_all_methods=draw(st.booleans()))
    return invoice, policy


def post(invoice: Invoice, plan: RefundPlan) -> Invoice:
    """Apply a plan's increments, as the store does inside the write (R7, R8)."""
    return posted(invoice, plan)


def plan_or_zero(command: IssueRefund, invoice: Invoice, policy: Policy) -> RefundPlan | None:
    """The plan, or None when the refund is worth nothing and returns no goods (refund_is_zero)."""
    try:
        return plan_refund(command, policy=policy, invoice=invoice, customer="C1", methods=METHODS,
                           products={}, today=TODAY)
    except RefundError as error:
        assert error.code == "refund_is_zero", error
        return None


def closable(sold: InvoiceLine) -> bool:
    """A line still refundable: units left, and money left or goods to return."""
    return sold.refundable_quantity > 0 and (sold.refundable_gross_minor > 0 or sold.stock_tracked)


def check_pieces(before: Invoice, plan: RefundPlan) -> None:
    """No piece exceeds what remained on its line, even counting earlier pieces of the same refund."""
    remaining = {sold.line: [sold.refundable_quantity, sold.refundable_gross_minor,
                             sold.refundable_tax_minor, sold.net_minor - sold.refunded_net_minor]
                 for sold in before.lines}
    for piece in plan.lines:
        assert piece.net_minor + piece.tax_minor == piece.gross_minor
        assert piece.quantity >= 0 and piece.gross_minor >= 0 and piece.tax_minor >= 0 and piece.net_minor >= 0
        left = remaining[piece.invoice_line]
        assert piece.quantity <= left[0], "quantity beyond what remains"
        assert piece.gross_minor <= left[1], "gross beyond what remains"
        assert piece.tax_minor <= left[2], "tax beyond what remains"
        assert piece.net_minor <= left[3], "net beyond what remains"
        left[0] -= piece.quantity
        left[1] -= piece.gross_minor
        left[2] -= piece.tax_minor
        left[3] -= piece.net_minor


def check_plan(plan: RefundPlan, policy: Policy, before: Invoice) -> None:
    assert plan.total_minor == plan.gross_minor + plan.rounding_minor
    assert sum(p.amount_minor for p in plan.payments) == plan.total_minor
    assert all(p.amount_minor > 0 for p in plan.payments)
    closing = plan.gross_minor == before.refundable_total_minor
    if closing:  # the refund that closes the invoice pays back exactly what it still owes
        assert plan.total_minor == max(0, before.owed_minor)
    elif plan.rounding_minor:
        increment = policy.cash_increment_minor
        held = sum(t.remaining_minor for t in before.tenders)
        assert plan.total_minor % increment == 0 or plan.total_minor == held
        assert 2 * abs(plan.rounding_minor) <= increment or plan.total_minor <= held
        assert policy.cash_rounding_all_methods or all(p.kind == "cash" for p in plan.payments)
    # (c) the entry balances, and reversing twice gives the same totals
    e = refund_entry(plan)
    check_balanced(e)
    debit = sum(p.debit_minor for p in e)
    assert debit == sum(p.credit_minor for p in e)
    cost = sum(line.cost_minor for line in plan.lines)
    assert debit == plan.net_minor + plan.tax_minor + max(plan.rounding_minor, 0) + cost
    r = reversal(e)
    assert sum(p.debit_minor for p in r) == sum(p.credit_minor for p in e)
    rr = reversal(r)
    assert (sum(p.debit_minor for p in rr), sum(p.credit_minor for p in rr)) == \
        (debit, sum(p.credit_minor for p in e))
    assert sorted(rr, key=repr) == sorted(e, key=repr)


def per_rate(figures) -> dict[int, tuple[int, int]]:
    """(net, tax) per rate, rates whose figures are all zero left out."""
    out: dict[int, tuple[int, int]] = {}
    for rate, net, tax in figures:
        n, t = out.get(rate, (0, 0))
        out[rate] = (n + net, t + tax)
    return {rate: figures for rate, figures in out.items() if figures != (0, 0)}


# ---------------------------------------------------------------------------------------------
# (b) the remainder rule


@HEAVY
@given(data=st.data(), generated=invoices())
def test_partial_refunds_sum_exactly_to_the_invoice(data, generated):
    invoice, policy = generated
    original = invoice
    plans: list[RefundPlan] = []
    for step in range(40):
        open_lines = [sold for sold in invoice.lines if closable(sold)]
        if not open_lines:
            break
        requests = []
        taken: dict[int, int] = {}
        last_round = step >= 8   # then finish the lines off, several at a time
        for _ in range(data.draw(st.integers(1, 3), label="request lines")):
            candidates = [s for s in open_lines if s.refundable_quantity - taken.get(s.line, 0) > 0]
            if not candidates:
                break
            sold = data.draw(st.sampled_from(candidates), label="line")
            left = sold.refundable_quantity - taken.get(sold.line, 0)
            whole = last_round or data.draw(st.integers(0, 4), label="whole?") == 0
            if whole:
                requests.append(RefundLineRequest(line=sold.line))
                taken[sold.line] = taken.get(sold.line, 0) + left
            else:
                quantity = data.draw(st.integers(1, left), label="quantity")
                by_product = data.draw(st.booleans(), label="by product")
                requests.append(RefundLineRequest(line=None if by_product else sold.line,
                                                  product=sold.product if by_product else None,
                                                  quantity=quantity))
                taken[sold.line] = taken.get(sold.line, 0) + quantity
        command = IssueRefund(lines=tuple(requests), invoice=invoice.number)
        plan = plan_or_zero(command, invoice, policy)
        if plan is None:
            continue
        check_pieces(invoice, plan)
        check_plan(plan, policy, invoice)
        running = {sold.line: sold for sold in invoice.lines}
        for piece in plan.lines:
            sold = running[piece.invoice_line]
            base_total = sold.gross_minor if invoice.prices_include_tax else sold.net_minor
            base = piece.gross_minor if invoice.prices_include_tax else piece.net_minor
            # the base telescopes: within one minor unit of its exact share
            assert abs(base * sold.quantity - base_total * piece.quantity) <= sold.quantity
            # the tax is R4's on the piece's base, unless the piece finished the line (then it is
            # exactly what remained) or R4's tax or net was more than remained (then that is clamped
            # to what remained)
            r4 = money.tax_included(base, sold.tax_rate) if invoice.prices_include_tax else money.tax_on(base, sold.tax_rate)
            finished = sold.refunded_quantity + piece.quantity == sold.quantity
            net_left = sold.net_minor - sold.refunded_net_minor
            assert piece.tax_minor == r4 or piece.tax_minor == sold.refundable_tax_minor or \
                piece.net_minor == net_left or \
                (finished and piece.gross_minor == sold.refundable_gross_minor), (piece, r4)
            running[sold.line] = replace(sold, refunded_quantity=sold.refunded_quantity + piece.quantity,
                                         refunded_gross_minor=sold.refunded_gross_minor + piece.gross_minor,
                                         refunded_tax_minor=sold.refunded_tax_minor + piece.tax_minor)
        plans.append(plan)
        invoice = post(invoice, plan)
    else:
        raise AssertionError("the sequence did not finish")

    for sold in invoice.lines:
        assert sold.refunded_quantity == sold.quantity or not closable(sold)
        assert sold.refunded_gross_minor == sold.gross_minor, f"line {sold.line} gross"
        assert sold.refunded_tax_minor == sold.tax_minor, f"line {sold.line} tax"
        assert sold.refunded_net_minor == sold.net_minor, f"line {sold.line} net"
    # independently of the running figures: sum the pieces themselves
    for sold in original.lines:
        pieces = [pl for plan in plans for pl in plan.lines if pl.invoice_line == sold.line]
        assert sum(pl.quantity for pl in pieces) == sold.quantity or sum(pl.gross_minor for pl in pieces) == 0 or \
            invoice.line_numbered(sold.line).refundable_gross_minor == 0
        assert sum(pl.gross_minor for pl in pieces) == sold.gross_minor
        assert sum(pl.tax_minor for pl in pieces) == sold.tax_minor
        assert sum(pl.net_minor for pl in pieces) == sold.net_minor
    assert per_rate(row for plan in plans for row in plan.tax_summary()) == \
        per_rate((sold.tax_rate, sold.net_minor, sold.tax_minor) for sold in original.lines)
    assert sum(plan.gross_minor for plan in plans) == original.total_minor
    assert invoice.refundable_total_minor == 0


@HEAVY
@given(data=st.data(), generated=invoices())
def test_lower_price_and_amount_refunds_never_exceed_what_remains(data, generated):
    """Mixing R9 lower-price refunds and amount-only refunds: caps always hold, nothing goes negative."""
    invoice, policy = generated
    for _ in range(12):
        sold = data.draw(st.sampled_from(invoice.lines), label="line")
        kind = data.draw(st.sampled_from(["quantity", "lower", "amount", "whole"]), label="kind")
        if kind == "amount":
            if sold.refundable_gross_minor <= 0:
                continue
            request = RefundLineRequest(line=sold.line,
                                        amount_minor=data.draw(st.integers(1, sold.refundable_gross_minor)))
        elif sold.refundable_quantity <= 0:
            continue
        elif kind == "whole":
            request = RefundLineRequest(line=sold.line)
        else:
            quantity = data.draw(st.integers(1, sold.refundable_quantity), label="quantity")
            price = data.draw(st.integers(0, sold.unit_price), label="price") if kind == "lower" else None
            request = RefundLineRequest(line=sold.line, quantity=quantity, unit_price=price)
        command = IssueRefund(lines=(request,), invoice=invoice.number)
        plan = plan_or_zero(command, invoice, policy)
        if plan is None:
            continue
        check_pieces(invoice, plan)
        check_plan(plan, policy, invoice)
        invoice = post(invoice, plan)
        for line in invoice.lines:
            assert 0 <= line.refunded_quantity <= line.quantity
            assert 0 <= line.refunded_gross_minor <= line.gross_minor
            assert 0 <= line.refunded_tax_minor <= line.tax_minor
            assert 0 <= line.refunded_net_minor <= line.net_minor
        assert 0 <= invoice.refunded_total_minor <= invoice.total_minor
