"""The bulk tool's reads (issue 13, moved here by issue 10): one tenant's rows to export, read a page
at a time by key, and the natural keys an import checks so a file can be imported again. Every
statement goes through ``TenantStore._where``: scoped to the tenant by construction."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from . import tables as t
from .repository import TenantStore


def _window(column, date_from, date_to) -> list:
    return [c for c in (column >= date_from if date_from else None, column <= date_to if date_to else None)
            if c is not None]


def _refunds(store: TenantStore, date_from, date_to):
    r, i, c = t.refunds.c, t.invoices.c, t.customers.c
    return (select(r.id.label("key"), r.public_id, r.number, r.kind, r.state, r.posting_date, i.number.label("invoice"),
                   c.code.label("customer"), r.currency, r.net_minor, r.tax_minor, r.gross_minor, r.rounding_minor,
                   r.total_minor, r.reason, r.channel, r.created_at, r.voided_at)
            .outerjoin(t.invoices, i.id == r.invoice_id).join(t.customers, c.id == r.customer_id)
            .where(store._where(t.refunds, r.state != "draft", *_window(r.posting_date, date_from, date_to))))


def _journal(store: TenantStore, date_from, date_to):
    e, line = t.journal_entries.c, t.journal_lines.c
    return (select(line.id.label("key"), e.id.label("entry"), e.date, e.source_type, e.memo, line.account_code,
                   line.debit_minor, line.credit_minor)
            .join(t.journal_entries, e.id == line.entry_id)
            .where(store._where(t.journal_lines, *_window(e.date, date_from, date_to))))


def _stock(store: TenantStore, date_from, date_to):
    m, p, loc = t.stock_moves.c, t.products.c, t.locations.c
    return (select(m.id.label("key"), m.date, p.code.label("product"), loc.code.label("location"), m.quantity,
                   m.unit_cost, m.source_type, m.source_id)
            .join(t.products, p.id == m.product_id).join(t.locations, loc.id == m.location_id)
            .where(store._where(t.stock_moves, *_window(m.date, date_from, date_to))))


_BASES = {"refunds": (_refunds, t.refunds.c.id), "journal": (_journal, t.journal_lines.c.id),
          "stock": (_stock, t.stock_moves.c.id)}


def count(store: TenantStore, what: str, date_from: date | None, date_to: date | None) -> int:
    """How many rows of ``what`` (refunds, journal, stock) the range holds."""
    base, _ = _BASES[what]
    return store.conn.execute(select(func.count()).select_from(base(store, date_from, date_to).subquery())).scalar()


def page(store: TenantStore, what: str, date_from: date | None, date_to: date | None, after: int, limit: int) -> list:
    """The next ``limit`` rows of ``what`` with a key above ``after``, by key (each row's ``key``)."""
    base, key = _BASES[what]
    stmt = base(store, date_from, date_to).where(key > after).order_by(key).limit(limit)
    return store.conn.execute(stmt).mappings().all()


def has_code(store: TenantStore, kind: str, value: str) -> bool:
    """An invoice with this number, or a customer, product or location with this code."""
    table = {"invoices": t.invoices, "customers": t.customers, "products": t.products, "locations": t.locations}[kind]
    column = table.c.number if kind == "invoices" else table.c.code
    return store._one(table, column == value, columns=[table.c.id]) is not None


def received(store: TenantStore, product: str, location: str, day: date) -> bool:
    """Opening stock's natural key: a receipt of the product at the location on that day."""
    m, p, loc = t.stock_moves.c, t.products.c, t.locations.c
    return store.conn.execute(
        select(m.id).join(t.products, p.id == m.product_id).join(t.locations, loc.id == m.location_id)
        .where(store._where(t.stock_moves, m.source_type == "receipt", m.date == day, p.code == product,
                            loc.code == location)).limit(1)).first() is not None
