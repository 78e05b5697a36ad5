"""The invariants ``salesrefund check`` verifies (``service.check``): every check is one set-based
query over all tenants (the one part of the store that reads across tenants, and only reads);
each finding names the tenant and the row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Connection, String, Text, and_, case, func, or_, select

from ..domain.journal import ROLE_ACCOUNT
from ..domain.text import lone_surrogate_at
from . import tables as t


@dataclass(frozen=True)
class Finding:
    check: str
    tenant_id: int
    detail: str


def balanced_entries(conn: Connection):
    jl = t.journal_lines.c
    rows = conn.execute(select(jl.tenant_id, jl.entry_id, func.sum(jl.debit_minor), func.sum(jl.credit_minor))
                        .group_by(jl.tenant_id, jl.entry_id)
                        .having(func.sum(jl.debit_minor) != func.sum(jl.credit_minor)))
    for tenant_id, entry_id, debit, credit in rows:
        yield Finding("balanced_entries", tenant_id, f"journal entry {entry_id}: debit {debit} != credit {credit}")


def trial_balance(conn: Connection):
    jl = t.journal_lines.c
    rows = conn.execute(select(jl.tenant_id, func.sum(jl.debit_minor) - func.sum(jl.credit_minor))
                        .group_by(jl.tenant_id).having(func.sum(jl.debit_minor) != func.sum(jl.credit_minor)))
    for tenant_id, difference in rows:
        yield Finding("trial_balance", tenant_id, f"debits exceed credits by {difference} minor units")


def refunded_figures(conn: Connection):
    """Each invoice line's running refunded figures = the sum of its posted refunds' lines."""
    rl, r, il = t.refund_lines.c, t.refunds.c, t.invoice_lines.c
    sums = (select(rl.invoice_line_id, func.sum(rl.quantity).label("q"), func.sum(rl.gross_minor).label("g"),
                   func.sum(rl.tax_minor).label("x"))
            .join(t.refunds, t.refunds.c.id == rl.refund_id)
            .where(r.state == "posted", rl.invoice_line_id.is_not(None))
            .group_by(rl.invoice_line_id).subquery())
    q, g, x = (func.coalesce(sums.c.q, 0), func.coalesce(sums.c.g, 0), func.coalesce(sums.c.x, 0))
    rows = conn.execute(select(il.tenant_id, il.id, il.refunded_quantity, il.refunded_gross_minor,
                               il.refunded_tax_minor, q, g, x)
                        .outerjoin(sums, sums.c.invoice_line_id == il.id)
                        .where(or_(il.refunded_quantity != q, il.refunded_gross_minor != g,
                                   il.refunded_tax_minor != x)))
    for tenant_id, line_id, rq, rg, rx, sq, sg, sx in rows:
        yield Finding("refunded_figures", tenant_id,
                      f"invoice line {line_id}: refunded ({rq}, {rg}, {rx}) but posted refunds sum to ({sq}, {sg}, {sx})")


def invoice_refunded_totals(conn: Connection):
    """Every invoice's refunded total, what refunds paid back, and its free amounts equal the sums
    over its posted refunds."""
    r, i, rl = t.refunds.c, t.invoices.c, t.refund_lines.c
    sums = (select(r.invoice_id, func.sum(r.gross_minor).label("g"), func.sum(r.total_minor).label("p"))
            .where(r.state == "posted", r.invoice_id.is_not(None)).group_by(r.invoice_id).subquery())
    free = (select(r.invoice_id, func.sum(rl.gross_minor).label("f")).join(t.refunds, r.id == rl.refund_id)
            .where(r.state == "posted", r.invoice_id.is_not(None), rl.invoice_line_id.is_(None))
            .group_by(r.invoice_id).subquery())
    g, p, f = func.coalesce(sums.c.g, 0), func.coalesce(sums.c.p, 0), func.coalesce(free.c.f, 0)
    for tenant_id, invoice_id, refunded, paid_back, free_gross, total, paid, free_sum in conn.execute(
            select(i.tenant_id, i.id, i.refunded_total_minor, i.paid_back_minor, i.refunded_free_minor, g, p, f)
            .outerjoin(sums, sums.c.invoice_id == i.id).outerjoin(free, free.c.invoice_id == i.id)
            .where(or_(i.refunded_total_minor != g, i.paid_back_minor != p, i.refunded_free_minor != f))):
        yield Finding("invoice_refunded_totals", tenant_id,
                      f"invoice {invoice_id}: refunded total {refunded}, paid back {paid_back}, free amounts "
                      f"{free_gross} but posted refunds sum to {total}, {paid}, {free_sum}")


def posted_refunds_have_entries(conn: Connection):
    r = t.refunds.c
    rows = conn.execute(select(r.tenant_id, r.public_id, r.state).where(or_(
        and_(r.state.in_(("posted", "voided")), or_(r.journal_entry_id.is_(None), r.number.is_(None))),
        and_(r.state == "voided", r.void_entry_id.is_(None)),
        and_(r.state == "draft", r.journal_entry_id.is_not(None)))))
    for tenant_id, public_id, state in rows:
        yield Finding("posted_refunds_have_entries", tenant_id, f"refund {public_id} ({state}) lacks its entry or number")


def stock_returns(conn: Connection):
    """Each posted or voided refund moved exactly its restocked quantities in; a void moved them out."""
    rl, r, m = t.refund_lines.c, t.refunds.c, t.stock_moves.c
    restocked = (select(rl.refund_id, func.sum(rl.quantity).label("q")).where(rl.restock.is_(True))
                 .group_by(rl.refund_id).subquery())
    moved = (select(m.source_id, m.source_type, func.sum(m.quantity).label("q"))
             .where(m.source_type.in_(("refund", "void"))).group_by(m.source_id, m.source_type).subquery())
    into = moved.alias("into")
    out = moved.alias("out")
    rows = conn.execute(
        select(r.tenant_id, r.public_id, r.state, func.coalesce(restocked.c.q, 0), func.coalesce(into.c.q, 0),
               func.coalesce(out.c.q, 0))
        .outerjoin(restocked, restocked.c.refund_id == r.id)
        .outerjoin(into, and_(into.c.source_id == r.id, into.c.source_type == "refund"))
        .outerjoin(out, and_(out.c.source_id == r.id, out.c.source_type == "void"))
        .where(r.state.in_(("posted", "voided"))))
    for tenant_id, public_id, state, expected, moved_in, moved_out in rows:
        want_out = -expected if state == "voided" else 0
        if moved_in != expected or moved_out != want_out:
            yield Finding("stock_returns", tenant_id,
                          f"refund {public_id} ({state}): restocked {expected}, moved in {moved_in}, out {moved_out}")


def store_credit(conn: Connection):
    """Customers' store credit adds up to the customer-credit account's balance."""
    c, jl = t.customers.c, t.journal_lines.c
    owed = select(c.tenant_id, func.sum(c.credit_balance_minor).label("owed")).group_by(c.tenant_id).subquery()
    booked = (select(jl.tenant_id, (func.sum(jl.credit_minor) - func.sum(jl.debit_minor)).label("booked"))
              .where(jl.account_code == ROLE_ACCOUNT["store_credit"]).group_by(jl.tenant_id).subquery())
    rows = conn.execute(select(t.tenants.c.id, func.coalesce(owed.c.owed, 0), func.coalesce(booked.c.booked, 0))
                        .outerjoin(owed, owed.c.tenant_id == t.tenants.c.id)
                        .outerjoin(booked, booked.c.tenant_id == t.tenants.c.id))
    for tenant_id, customers_total, account in rows:
        if customers_total != account:
            yield Finding("store_credit", tenant_id,
                          f"customers are owed {customers_total} but account {ROLE_ACCOUNT['store_credit']} holds {account}")


def closed_periods(conn: Connection):
    """No entry dated in a closed period was written after the period was closed."""
    e, tn = t.journal_entries.c, t.tenants.c
    rows = conn.execute(select(e.tenant_id, e.id, e.date, e.created_at).join(t.tenants, tn.id == e.tenant_id)
                        .where(tn.closed_at.is_not(None), e.date <= tn.closed_through, e.created_at > tn.closed_at))
    for tenant_id, entry_id, day, created in rows:
        yield Finding("closed_periods", tenant_id, f"journal entry {entry_id} dated {day} was written at {created}, "
                                                   "after its period was closed")


def gapless_numbers(conn: Connection):
    """Posted credit notes of each series are numbered 1, 2, 3 ... without gaps (R16)."""
    r = t.refunds.c
    numbers: dict[tuple[int, str], list[int]] = {}
    for tenant_id, number in conn.execute(select(r.tenant_id, r.number).where(r.number.is_not(None))):
        series, _, sequence = number.rpartition("-")
        if sequence.isdigit():
            numbers.setdefault((tenant_id, series), []).append(int(sequence))
    for (tenant_id, series), sequence in sorted(numbers.items()):
        if sorted(sequence) != list(range(1, len(sequence) + 1)):
            yield Finding("gapless_numbers", tenant_id, f"series {series} is not 1..{len(sequence)} without gaps")


def _posted_refund_lines():
    rl, r = t.refund_lines.c, t.refunds.c
    return select(rl).join(t.refunds, r.id == rl.refund_id).where(r.state == "posted")


def restocked_and_retained(conn: Connection):
    """Each invoice line's running restocked quantity and cost, and what lower-price refunds left
    with the business, are the sums over its posted refunds; cost back never exceeds cost out."""
    lines = _posted_refund_lines().subquery()
    sums = (select(lines.c.invoice_line_id,
                   func.sum(case((lines.c.restock.is_(True), lines.c.quantity), else_=0)).label("q"),
                   func.sum(lines.c.cost_minor).label("c"), func.sum(lines.c.retained_gross_minor).label("kg"),
                   func.sum(lines.c.retained_tax_minor).label("kx"))
            .where(lines.c.invoice_line_id.is_not(None)).group_by(lines.c.invoice_line_id).subquery())
    il = t.invoice_lines.c
    q, c, kg, kx = (func.coalesce(sums.c.q, 0), func.coalesce(sums.c.c, 0), func.coalesce(sums.c.kg, 0),
                    func.coalesce(sums.c.kx, 0))
    rows = conn.execute(select(il.tenant_id, il.id, il.restocked_quantity, il.restocked_cost_minor, il.cost_minor,
                               il.retained_gross_minor, il.retained_tax_minor, q, c, kg, kx)
                        .outerjoin(sums, sums.c.invoice_line_id == il.id)
                        .where(or_(il.restocked_quantity != q, il.restocked_cost_minor != c, c > il.cost_minor,
                                   il.retained_gross_minor != kg, il.retained_tax_minor != kx)))
    for tenant_id, line_id, rq, rc, cost, rg, rx, sq, sc, sg, sx in rows:
        yield Finding("restocked_and_retained", tenant_id,
                      f"invoice line {line_id}: restocked ({rq}, cost {rc} of {cost} out), retained ({rg}, {rx}) "
                      f"but posted refunds sum to ({sq}, cost {sc}), ({sg}, {sx})")


def payments_within_paid(conn: Connection):
    """Per invoice and payment method (and the receivable): what posted refunds gave back equals
    the running figure and never exceeds what the sale took by it (R8 per payment method)."""
    r, p, ip, i = t.refunds.c, t.refund_payments.c, t.invoice_payments.c, t.invoices.c
    back = (select(r.tenant_id, r.invoice_id, p.method, func.sum(p.tender_minor).label("back"))
            .join(t.refunds, r.id == p.refund_id).where(r.state == "posted", r.invoice_id.is_not(None))
            .group_by(r.tenant_id, r.invoice_id, p.method))
    given = {(tenant, invoice, method): int(amount) for tenant, invoice, method, amount in conn.execute(back)}
    paid: dict[tuple, list[int]] = {}
    for tenant, invoice, method, amount, refunded in conn.execute(
            select(ip.tenant_id, ip.invoice_id, ip.method, ip.amount_minor, ip.refunded_minor)):
        figures = paid.setdefault((tenant, invoice, method), [0, 0])
        figures[0] += amount
        figures[1] += refunded
    for tenant, invoice, receivable, refunded in conn.execute(
            select(i.tenant_id, i.id, i.receivable_minor, i.refunded_receivable_minor)
            .where(or_(i.receivable_minor != 0, i.refunded_receivable_minor != 0))):
        paid[(tenant, invoice, "receivable")] = [receivable, refunded]
    for key in sorted(set(paid) | {k for k, v in given.items() if v}):
        took, running = paid.get(key, [0, 0])
        back_ = given.get(key, 0)
        if back_ != running or back_ > took:
            tenant, invoice, method = key
            yield Finding("payments_within_paid", tenant,
                          f"invoice {invoice}, {method}: took {took}, refunds gave back {back_}, running figure {running}")


def tax_within_charged(conn: Connection):
    """Per invoice and tax rate: tax refunded by posted refunds (lines and free amounts) never
    exceeds the tax charged at that rate (R8 per tax rate)."""
    r, rl, il = t.refunds.c, t.refund_lines.c, t.invoice_lines.c
    charged = {(tenant, invoice, rate): int(tax) for tenant, invoice, rate, tax in conn.execute(
        select(il.tenant_id, il.invoice_id, il.tax_rate, func.sum(il.tax_minor))
        .group_by(il.tenant_id, il.invoice_id, il.tax_rate))}
    rows = conn.execute(select(r.tenant_id, r.invoice_id, rl.tax_rate, func.sum(rl.tax_minor))
                        .join(t.refunds, r.id == rl.refund_id)
                        .where(r.state == "posted", r.invoice_id.is_not(None))
                        .group_by(r.tenant_id, r.invoice_id, rl.tax_rate))
    for tenant, invoice, rate, tax in rows:
        if int(tax) > charged.get((tenant, invoice, rate), 0):
            yield Finding("tax_within_charged", tenant, f"invoice {invoice}: {tax} of tax refunded at rate {rate}, "
                                                        f"{charged.get((tenant, invoice, rate), 0)} charged")


def cash_within_cash_taken(conn: Connection):
    """Per invoice of a tenant that refunds only by the methods an invoice was paid by: cash paid
    back (cash rounding included) never exceeds the cash the sale took (R5, R8 per cash)."""
    r, p, ip, pm, tn = t.refunds.c, t.refund_payments.c, t.invoice_payments.c, t.payment_methods.c, t.tenants.c
    cash_in = {(tenant, invoice): int(amount) for tenant, invoice, amount in conn.execute(
        select(ip.tenant_id, ip.invoice_id, func.sum(ip.amount_minor))
        .join(t.payment_methods, and_(pm.tenant_id == ip.tenant_id, pm.code == ip.method))
        .where(pm.kind == "cash").group_by(ip.tenant_id, ip.invoice_id))}
    rows = conn.execute(select(r.tenant_id, r.invoice_id, func.sum(p.amount_minor))
                        .join(t.refunds, r.id == p.refund_id).join(t.tenants, tn.id == r.tenant_id)
                        .where(r.state == "posted", r.invoice_id.is_not(None), p.kind == "cash",
                               tn.refund_to_other_methods.is_(False))
                        .group_by(r.tenant_id, r.invoice_id))
    for tenant, invoice, cash_out in rows:
        if int(cash_out) > cash_in.get((tenant, invoice), 0):
            yield Finding("cash_within_cash_taken", tenant, f"invoice {invoice}: {cash_out} paid back in cash, "
                                                            f"{cash_in.get((tenant, invoice), 0)} taken")
# -- issue 9, items 9 and 10 ---------------------------------------------------------------------------

# door -> [(field, where the refund keeps the number: its reference, or a key of its metadata)]
DOCUMENT_NUMBERS = {
    "snr2u": [("DocumentHeader.AcCusRefundNoteMID", None)],
    "internom": [("reference", None), ("reference_id", "reference_id")],
    "crmcom": [("back_office_code", None)],
}


def client_document_numbers(conn: Connection):
    """A client's document number (SnR2U's AcCusRefundNoteMID, Internom's reference and
    reference_id, CRM.COM's back_office_code) names one refund of its tenant, forever."""
    r = t.refunds.c
    users: dict[tuple, list[str]] = {}
    rows = conn.execute(select(r.tenant_id, r.channel, r.reference, r.metadata_json, r.public_id, r.number)
                        .where(r.channel.in_(list(DOCUMENT_NUMBERS))).order_by(r.id))
    for tenant_id, channel, reference, metadata_json, public_id, number in rows:
        metadata = None
        for field, key in DOCUMENT_NUMBERS[channel]:
            if key is None:
                value = reference
            else:
                if metadata is None:
                    try:
                        metadata = json.loads(metadata_json or "{}")
                    except ValueError:
                        metadata = {}
                value = metadata.get(key) if isinstance(metadata, dict) else None
            if value is not None:
                users.setdefault((tenant_id, channel, field, str(value)), []).append(number or public_id)
    for (tenant_id, channel, field, value), refunds in users.items():
        if len(refunds) > 1:
            yield Finding("client_document_numbers", tenant_id,
                          f"{channel} {field} {value!r} is used by {len(refunds)} refunds: {', '.join(refunds)}")


def encodable_text(conn: Connection):
    """Every stored text can be sent as UTF-8. A column cannot hold a lone UTF-16 surrogate (the
    drivers refuse to write one), but JSON kept as text can hold one escaped (``\\ud800``):
    metadata, commands, requests, stored responses. Such a row made every later read of it fail."""
    for table in t.metadata.sorted_tables:
        if "tenant_id" not in table.c:
            continue
        key = table.c.id if "id" in table.c else table.c.tenant_id
        for column in table.columns:
            if not isinstance(column.type, (String, Text)) or not (column.name.endswith("_json") or column.name == "body"):
                continue
            escaped = or_(column.contains("\\ud"), column.contains("\\uD"))
            for tenant_id, ident, value in conn.execute(select(table.c.tenant_id, key, column).where(escaped)):
                try:
                    bad = lone_surrogate_at(json.loads(value)) is not None
                except ValueError:
                    bad = False
                if bad:
                    yield Finding("encodable_text", tenant_id, f"{table.name}.{column.name} of row {ident} holds a "
                                                               "lone UTF-16 surrogate: it cannot be sent as UTF-8")


CHECKS: dict[str, Callable] = {
    "balanced_entries": balanced_entries,
    "trial_balance": trial_balance,
    "refunded_figures": refunded_figures,
    "invoice_refunded_totals": invoice_refunded_totals,
    "posted_refunds_have_entries": posted_refunds_have_entries,
    "stock_returns": stock_returns,
    "store_credit": store_credit,
    "closed_periods": closed_periods,
    "gapless_numbers": gapless_numbers,
    "restocked_and_retained": restocked_and_retained,
    "payments_within_paid": payments_within_paid,
    "tax_within_charged": tax_within_charged,
    "cash_within_cash_taken": cash_within_cash_taken,
    "client_document_numbers": client_document_numbers,
    "encodable_text": encodable_text,
}
