"""The tenant's books as the service reads and keeps them: master data, invoices, lists, the
journal, reports and the tenant's own settings row.

``BooksQueries`` is a part of ``TenantStore`` (``store.repository``): every statement here is
scoped to the store's tenant (``_where``), updates and deletes by id included. The refund path's
statements stay in ``repository.py``, built once.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable

from sqlalchemy import func, or_, select

from . import tables as t

_inv, _cust, _loc = t.invoices.c, t.customers.c, t.locations.c
INVOICE_SELECT = (select(t.invoices, _cust.code.label("customer_code"), _loc.code.label("location_code"))
                  .join(t.customers, _cust.id == _inv.customer_id)
                  .outerjoin(t.locations, _loc.id == _inv.location_id))

# the master data kinds whose codes are unique in a tenant
_MASTER = {"customer": t.customers, "product": t.products, "location": t.locations,
           "payment_method": t.payment_methods}


class BooksQueries:
    """Master data, invoices, lists, journal and reports of one tenant (mixed into TenantStore)."""

    # -- master data ------------------------------------------------------------------------
    def code_taken(self, kind: str, code: str) -> bool:
        """Whether a customer, product, location or payment method ``kind`` has ``code`` already."""
        table = _MASTER[kind]
        return self._one(table, table.c.code == code, columns=[table.c.id]) is not None

    def insert_customer(self, **values) -> int:
        return self._insert(t.customers, **values)

    def insert_product(self, *, barcodes: Iterable[str] = (), **values) -> int:
        product_id = self._insert(t.products, **values)
        self._insert_many(t.product_barcodes, [{"product_id": product_id, "barcode": b} for b in barcodes])
        return product_id

    def insert_location(self, **values) -> int:
        return self._insert(t.locations, **values)

    def insert_payment_method(self, **values) -> int:
        return self._insert(t.payment_methods, **values)

    def set_till(self, pos: str, session: str, location_id: int, state: str) -> None:
        """Open, move or close a point-of-sale session (inserted when it is new)."""
        p = t.pos_sessions.c
        updated = self.conn.execute(t.pos_sessions.update().where(self._where(
            t.pos_sessions, p.pos == pos, p.session == session)).values(state=state, location_id=location_id))
        if updated.rowcount == 0:
            self._insert(t.pos_sessions, pos=pos, session=session, location_id=location_id, state=state)

    def product_codes(self, ids: Iterable[int | None]) -> dict[int, str]:
        return self.codes_by_id(t.products, ids)

    def location_codes(self, ids: Iterable[int | None]) -> dict[int, str]:
        return self.codes_by_id(t.locations, ids)

    def first_customer_code_with_tax_number(self, tax_number: str) -> str | None:
        """The code of the customer with this tax number (the first one, when several share it)."""
        c = t.customers.c
        row = self.conn.execute(select(c.code).where(self._where(t.customers, c.tax_number == tax_number))
                                .order_by(c.id)).first()
        return row[0] if row else None

    def payment_method_rows(self):
        return self.conn.execute(select(t.payment_methods).where(self._where(t.payment_methods))
                                 .order_by(t.payment_methods.c.id)).mappings().all()

    def customers_page(self, after: int, limit: int, q: str | None = None):
        c = t.customers.c
        conditions = [or_(c.code.contains(q, autoescape=True), c.name.contains(q, autoescape=True),
                          c.tax_number == q)] if q else []
        return self._page(t.customers, after, limit, conditions)

    def products_page(self, after: int, limit: int, product_id: int | None = None):
        conditions = [t.products.c.id == product_id] if product_id is not None else []
        return self._page(t.products, after, limit, conditions)

    def locations_page(self, after: int, limit: int):
        return self._page(t.locations, after, limit, [])

    def _page(self, table, after: int, limit: int, conditions: list):
        """Up to ``limit + 1`` rows after the row id ``after``, in id order (the lists' cursor)."""
        c = table.c
        return self.conn.execute(select(table).where(self._where(table, c.id > after, *conditions))
                                 .order_by(c.id).limit(limit + 1)).mappings().all()

    # -- the tenant's own row -----------------------------------------------------------------
    def update_tenant(self, **values) -> None:
        """Change this tenant's settings (only its own row)."""
        if values:
            self.conn.execute(t.tenants.update().where(t.tenants.c.id == self.tenant_id).values(**values))

    def lock_tenant(self) -> None:
        """PostgreSQL: lock the tenant row FOR UPDATE until commit (SQLite writers are serialized)."""
        if self.postgres:
            self.conn.execute(select(t.tenants.c.id).where(t.tenants.c.id == self.tenant_id).with_for_update())

    # -- invoices -------------------------------------------------------------------------------
    def insert_invoice(self, *, lines: list[dict], payments: list[dict], **values) -> int:
        """An invoice with its lines and payments (rows without ``invoice_id``: it is set here)."""
        invoice_id = self._insert(t.invoices, **values)
        self._insert_many(t.invoice_lines, [{"invoice_id": invoice_id, **row} for row in lines])
        self._insert_many(t.invoice_payments, [{"invoice_id": invoice_id, **row} for row in payments])
        return invoice_id

    def set_invoice_entry(self, invoice_id: int, entry_id: int) -> None:
        self.conn.execute(t.invoices.update().where(self._where(t.invoices, _inv.id == invoice_id))
                          .values(journal_entry_id=entry_id))

    def invoice_by_id(self, invoice_id: int):
        return self._one(t.invoices, _inv.id == invoice_id)

    def invoices_page(self, after: int, limit: int, *, customer_id: int | None = None, number: str | None = None,
                      number_starts: str | None = None, customer_like: str | None = None,
                      product_id: int | None = None, day: date | None = None):
        """Up to ``limit + 1`` invoices (``INVOICE_SELECT`` rows) after the row id ``after``: by
        customer id, number (exact or its start), a customer's code, name (part) or tax number,
        a product on one of the lines, or date."""
        conditions = [_inv.id > after]
        if customer_id is not None:
            conditions.append(_inv.customer_id == customer_id)
        if number is not None:
            conditions.append(_inv.number == number)
        if number_starts:
            conditions.append(_inv.number.startswith(number_starts, autoescape=True))
        if customer_like:
            ids = select(_cust.id).where(self._where(t.customers, or_(
                _cust.code == customer_like, _cust.name.contains(customer_like, autoescape=True),
                _cust.tax_number == customer_like)))
            conditions.append(_inv.customer_id.in_(ids))
        if product_id is not None:
            il = t.invoice_lines.c
            conditions.append(_inv.id.in_(select(il.invoice_id).where(self._where(
                t.invoice_lines, il.product_id == product_id))))
        if day:
            conditions.append(_inv.date == day)
        return self.conn.execute(INVOICE_SELECT.where(self._where(t.invoices, *conditions))
                                 .order_by(_inv.id).limit(limit + 1)).mappings().all()

    def sale_lines(self, invoice_id: int):
        """An invoice's lines as a door recognises them: number, description, figures, product code."""
        il = t.invoice_lines.c
        return self.conn.execute(
            select(il.line_no, il.description, il.quantity, il.unit_price, il.tax_rate,
                   t.products.c.code.label("product"))
            .outerjoin(t.products, t.products.c.id == il.product_id)
            .where(self._where(t.invoice_lines, il.invoice_id == invoice_id))
            .order_by(il.line_no)).mappings().all()

    def sold_by_rate(self, invoice_id: int):
        """Per tax rate of an invoice: net, tax, gross sold and gross, tax refunded."""
        il = t.invoice_lines.c
        return self.conn.execute(
            select(il.tax_rate, func.sum(il.net_minor), func.sum(il.tax_minor), func.sum(il.gross_minor),
                   func.sum(il.refunded_gross_minor), func.sum(il.refunded_tax_minor))
            .where(self._where(t.invoice_lines, il.invoice_id == invoice_id))
            .group_by(il.tax_rate).order_by(il.tax_rate)).all()

    def paid_by_method(self, invoice_id: int):
        """(method, amount) of an invoice's payments, in the order paid."""
        ip = t.invoice_payments.c
        return self.conn.execute(select(ip.method, ip.amount_minor).where(
            self._where(t.invoice_payments, ip.invoice_id == invoice_id)).order_by(ip.id)).all()

    def paid_back_by_method(self, invoice_id: int):
        """(method, amount) paid back by the invoice's posted refunds."""
        rp, r = t.refund_payments.c, t.refunds.c
        return self.conn.execute(
            select(rp.method, func.sum(rp.amount_minor)).join(t.refunds, r.id == rp.refund_id)
            .where(self._where(t.refund_payments), self._where(t.refunds, r.invoice_id == invoice_id,
                                                               r.state == "posted"))
            .group_by(rp.method)).all()

    # -- refunds (read) ---------------------------------------------------------------------------
    def refunds_page(self, after: int, limit: int, *, invoice_id: int | None = None,
                     customer_id: int | None = None, state: str | None = None, date_from: date | None = None,
                     date_to: date | None = None, number: str | None = None):
        r = t.refunds.c
        conditions = [r.id > after]
        for column, value in ((r.invoice_id, invoice_id), (r.customer_id, customer_id), (r.state, state),
                              (r.number, number)):
            if value is not None:
                conditions.append(column == value)
        if date_from is not None:
            conditions.append(r.posting_date >= date_from)
        if date_to is not None:
            conditions.append(r.posting_date <= date_to)
        return self.conn.execute(select(t.refunds).where(self._where(t.refunds, *conditions))
                                 .order_by(r.id).limit(limit + 1)).mappings().all()

    def refund_public_id(self, key: str) -> str | None:
        """The public id of the refund whose public id or credit-note number is ``key``."""
        r = t.refunds.c
        row = self.conn.execute(select(r.public_id).where(self._where(
            t.refunds, or_(r.public_id == key, r.number == key)))).first()
        return row[0] if row else None

    def door_refunds(self, invoice_id: int, channel: str):
        """(public id, state, created at, command) of an invoice's refunds through ``channel``."""
        r = t.refunds.c
        return self.conn.execute(
            select(r.public_id, r.state, r.created_at, r.command_json)
            .where(self._where(t.refunds, r.invoice_id == invoice_id, r.channel == channel))
            .order_by(r.id)).all()

    def audit_events_of(self, refund_id: int):
        a = t.audit_events.c
        return self.conn.execute(select(t.audit_events).where(
            self._where(t.audit_events, a.refund_id == refund_id)).order_by(a.id)).mappings().all()

    def refund_and_void_moves(self, refund_id: int):
        """The stock moves a refund and its void made, in order."""
        m = t.stock_moves.c
        return self.conn.execute(select(t.stock_moves).where(self._where(
            t.stock_moves, m.source_id == refund_id, m.source_type.in_(("refund", "void")))).order_by(m.id)
        ).mappings().all()

    # -- journal and reports ----------------------------------------------------------------------
    def journal_entries_by_id(self, ids: list[int]):
        je = t.journal_entries
        if not ids:
            return []
        return self.conn.execute(select(je).where(self._where(je, je.c.id.in_(ids)))
                                 .order_by(je.c.id)).mappings().all()

    def journal_page(self, after: int, limit: int, date_from: date | None = None, date_to: date | None = None):
        c = t.journal_entries.c
        conditions = [c.id > after]
        if date_from is not None:
            conditions.append(c.date >= date_from)
        if date_to is not None:
            conditions.append(c.date <= date_to)
        return self.conn.execute(select(t.journal_entries).where(self._where(t.journal_entries, *conditions))
                                 .order_by(c.id).limit(limit + 1)).mappings().all()

    def journal_lines_of(self, entry_ids: list[int]):
        jl = t.journal_lines.c
        return self.conn.execute(select(t.journal_lines).where(
            self._where(t.journal_lines, jl.entry_id.in_(entry_ids))).order_by(jl.id)).mappings()

    def first_entry_date(self) -> date | None:
        return self.conn.execute(select(func.min(t.journal_entries.c.date)).where(
            self._where(t.journal_entries))).scalar()

    def account_totals(self):
        """(account, debit, credit) per account over the whole journal."""
        jl = t.journal_lines.c
        return self.conn.execute(
            select(jl.account_code, func.sum(jl.debit_minor), func.sum(jl.credit_minor))
            .where(self._where(t.journal_lines)).group_by(jl.account_code).order_by(jl.account_code)).all()

    def account_names(self) -> dict[str, str]:
        return dict(self.conn.execute(select(t.accounts.c.code, t.accounts.c.name)
                                      .where(self._where(t.accounts))).all())

    # -- the dashboard --------------------------------------------------------------------------
    def refunds_per_day(self, start: date, end: date) -> dict[date, tuple[int, int]]:
        """Posted refunds (not payouts) per posting day: (count, total)."""
        r = t.refunds.c
        return {row[0]: (int(row[1]), int(row[2] or 0)) for row in self.conn.execute(
            select(r.posting_date, func.count(), func.sum(r.total_minor))
            .where(self._where(t.refunds, r.state == "posted", r.kind == "refund", r.posting_date >= start,
                               r.posting_date <= end))
            .group_by(r.posting_date))}

    def sold_and_refunded_by_product(self):
        """(code, name, quantity sold, quantity refunded) per product, by code."""
        il, p = t.invoice_lines.c, t.products.c
        return self.conn.execute(
            select(p.code, p.name, func.sum(il.quantity), func.sum(il.refunded_quantity))
            .join(t.products, p.id == il.product_id)
            .where(self._where(t.invoice_lines)).group_by(p.code, p.name).order_by(p.code)).all()

    def refunds_by_reason(self):
        """(reason, count, total) of posted refunds (not payouts), the largest total first."""
        r = t.refunds.c
        return self.conn.execute(
            select(r.reason, func.count(), func.sum(r.total_minor))
            .where(self._where(t.refunds, r.state == "posted", r.kind == "refund"))
            .group_by(r.reason).order_by(func.sum(r.total_minor).desc())).all()
