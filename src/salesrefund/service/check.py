"""`salesrefund check`: verify a database end to end. Every check is one set-based query over all
tenants; each finding names the tenant and the row. Operators can run it at any time: it only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Connection, Engine, and_, func, or_, select

from ..domain.journal import ROLE_ACCOUNT
from ..store import tables as t


@dataclass(frozen=True)
class Finding:
    check: str
    tenant_id: int
    detail: str


def run_checks(engine: Engine) -> dict[str, list[Finding]]:
    """{check name: findings}; an empty list means the check passed."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return {name: list(check(conn)) for name, check in CHECKS.items()}


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
    r, i = t.refunds.c, t.invoices.c
    sums = (select(r.invoice_id, func.sum(r.gross_minor).label("g"))
            .where(r.state == "posted", r.invoice_id.is_not(None)).group_by(r.invoice_id).subquery())
    g = func.coalesce(sums.c.g, 0)
    for tenant_id, invoice_id, refunded, total in conn.execute(
            select(i.tenant_id, i.id, i.refunded_total_minor, g).outerjoin(sums, sums.c.invoice_id == i.id)
            .where(i.refunded_total_minor != g)):
        yield Finding("invoice_refunded_totals", tenant_id,
                      f"invoice {invoice_id}: refunded total {refunded} but posted refunds sum to {total}")


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
}


def zatca_chain(conn: Connection):
    """Each tenant's ZATCA hash chain holds: counters 1, 2, 3 …, each PIH the previous document's
    hash, each stored document unchanged and its signature valid (issue 11)."""
    from .zatca_chain import chain_findings
    for tenant_id, detail in chain_findings(conn):
        yield Finding("zatca_chain", tenant_id, detail)


CHECKS["zatca_chain"] = zatca_chain
