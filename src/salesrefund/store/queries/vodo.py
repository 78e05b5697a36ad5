"""What the Vodo door shows beside a refund (issue 10): its credit notes read back as integers,
and the invoice as it stands, with what it received and what credit notes paid back in money.

Every statement is scoped by the store's tenant (``_mine``); the door calls these functions and
never sees SQL. Rows come back as mappings with the tables' integer columns (minor units,
quantities and prices in 1/10,000, rates in 1/10,000 of a percent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select

from ...domain.model import Invoice
from .. import tables as t
from ..repository import TenantStore

MONEY_KINDS = ("cash", "card", "bank")  # paid back in money: not to the customer's account


@dataclass(frozen=True)
class InvoiceStanding:
    """The invoice with every posted refund so far."""

    invoice: Invoice
    created_at: datetime
    received_minor: int  # what the sale was paid
    paid_out_minor: int  # what posted credit notes paid back in money


@dataclass(frozen=True)
class CreditNote:
    refund: dict  # the refunds row
    lines: tuple[dict, ...]  # its refund_lines rows, in line order
    payments: tuple[tuple[str, int], ...]  # (method, amount_minor), in the order written
    pos: str  # the till as the request named it
    pos_session: str
    standing: InvoiceStanding


def _mine(store: TenantStore, tables: tuple, *conditions):
    """``conditions``, with every one of ``tables`` held to the store's tenant."""
    return and_(*(table.c.tenant_id == store.tenant_id for table in tables), *conditions)


def invoice_standing(store: TenantStore, number: str) -> InvoiceStanding | None:
    """The tenant's invoice ``number`` as it stands now; None when the tenant has no such invoice."""
    row = store.invoice_row(number)
    if row is None:
        return None
    snapshot, _ = store.invoice_snapshot(row)
    r, p = t.refunds.c, t.refund_payments.c
    paid_out = store.conn.execute(
        select(func.coalesce(func.sum(p.amount_minor), 0))
        .select_from(t.refund_payments.join(t.refunds, r.id == p.refund_id))
        .where(_mine(store, (t.refunds, t.refund_payments), r.invoice_id == row["id"], r.state == "posted",
                     p.kind.in_(MONEY_KINDS)))).scalar()
    return InvoiceStanding(snapshot, row["created_at"], sum(amount for _, amount in snapshot.payments), int(paid_out))


def credit_note(store: TenantStore, public_id: str, standing: InvoiceStanding) -> CreditNote:
    """The refund ``public_id`` of the tenant (written in this transaction or before)."""
    refund = store.conn.execute(select(t.refunds).where(
        _mine(store, (t.refunds,), t.refunds.c.public_id == public_id))).mappings().one()
    return _note(store, dict(refund), standing)


def credit_notes(store: TenantStore, number: str) -> list[CreditNote] | None:
    """Every credit note (posted or voided refund, not a draft or payout) of the tenant's invoice
    ``number``, oldest first, each with the invoice as it stands now; None for an unknown invoice."""
    standing = invoice_standing(store, number)
    if standing is None:
        return None
    return [_note(store, dict(row), standing) for row in credit_note_rows(store, number)]


def credit_note_rows(store: TenantStore, number: str) -> list:
    """The refunds rows of the credit notes of the tenant's invoice ``number``, oldest first (the
    Vodo door renders each as its result, ``service.reads.RefundReads.credit_notes``)."""
    r = t.refunds.c
    return store.conn.execute(
        select(t.refunds).join(t.invoices, t.invoices.c.id == r.invoice_id)
        .where(_mine(store, (t.refunds, t.invoices), t.invoices.c.number == number, r.kind == "refund",
                     r.state != "draft")).order_by(r.id)).mappings().all()


def _note(store: TenantStore, refund: dict, standing: InvoiceStanding) -> CreditNote:
    rl, rp = t.refund_lines.c, t.refund_payments.c
    lines = store.conn.execute(select(t.refund_lines).where(
        _mine(store, (t.refund_lines,), rl.refund_id == refund["id"])).order_by(rl.line_no)).mappings().all()
    payments = store.conn.execute(select(rp.method, rp.amount_minor).where(
        _mine(store, (t.refund_payments,), rp.refund_id == refund["id"])).order_by(rp.id)).all()
    command = json.loads(refund["command_json"] or "{}")
    return CreditNote(refund, tuple(dict(line) for line in lines), tuple((m, a) for m, a in payments),
                      command.get("pos") or "", command.get("pos_session") or "", standing)
