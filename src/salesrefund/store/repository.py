"""The tenant-scoped store (R19).

A ``TenantStore`` wraps a connection inside a unit of work and a tenant id; callers never write a
``tenant_id`` filter themselves: every statement it runs names its tenant (``_where``, or
``scoped`` for the statements built once), updates and deletes by id included. It turns rows into
domain snapshots and writes a plan's effects. Caps are raised with one conditional UPDATE per
invoice line (R7): zero rows updated means another refund got there first, and the refund is
rejected. Its other parts: ``books.BooksQueries``, ``events.EventQueries``, ``payouts.PayoutQueries``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Iterable, NamedTuple

from functools import cache

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from ..domain import money
from ..domain.journal import Posting
from ..domain.refunds import RefundPlan
from ..domain.model import RECEIVABLE, Invoice, InvoiceLine, PaymentMethod, Policy, Product, Till
from . import prepared
from . import tables as t
from .books import INVOICE_SELECT, BooksQueries
from .events import EventQueries
from .payouts import PayoutQueries


TENANT = bindparam("tenant")  # not "tenant_id": a column's own name is reserved in INSERT and UPDATE


def scoped(table, *conditions):
    """``tenant_id = :tenant AND …``: the tenant filter of the statements built once below."""
    return and_(table.c.tenant_id == TENANT, *conditions)


# -- the refund path's statements, built once --------------------------------------------------
# Building a statement costs SQLAlchemy about five times what running its cached compiled form
# does, so the statements a refund runs are built here, with bound parameters, and only run.
_inv, _line, _cust, _loc = t.invoices.c, t.invoice_lines.c, t.customers.c, t.locations.c
_INVOICE_BY_NUMBER = INVOICE_SELECT.where(scoped(t.invoices, _inv.number == bindparam("number")))
_INVOICE_BY_NUMBER_LOCKED = _INVOICE_BY_NUMBER.with_for_update(of=t.invoices)  # PostgreSQL
_INVOICE_LINES = (select(t.invoice_lines, t.products.c.code.label("product_code"),
                         t.products.c.unit.label("product_unit"))
                  .outerjoin(t.products, t.products.c.id == _line.product_id)
                  .where(scoped(t.invoice_lines, _line.invoice_id == bindparam("invoice_id")))
                  .order_by(_line.line_no))
_INVOICE_PAYMENTS = (select(t.invoice_payments.c.id, t.invoice_payments.c.method, t.invoice_payments.c.amount_minor,
                            t.invoice_payments.c.refunded_minor)
                     .where(scoped(t.invoice_payments, t.invoice_payments.c.invoice_id == bindparam("invoice_id")))
                     .order_by(t.invoice_payments.c.id))
_TENANT_ROW = select(t.tenants).where(t.tenants.c.id == TENANT)
_TENANT_ROW_SHARED = _TENANT_ROW.with_for_update(read=True)  # PostgreSQL
_LOCATION_ID = select(_loc.id).where(scoped(t.locations, _loc.code == bindparam("code")))
_PAYMENT_METHODS = select(t.payment_methods).where(scoped(t.payment_methods))
_IDEMPOTENCY_RECORD = select(t.idempotency_keys).where(
    scoped(t.idempotency_keys, t.idempotency_keys.c.key == bindparam("key")))
_q, _g, _x = bindparam("q"), bindparam("g"), bindparam("x")
_rq, _rc, _r = bindparam("rq"), bindparam("rc"), bindparam("r")
_kg, _kx, _f, _p = bindparam("kg"), bindparam("kx"), bindparam("f"), bindparam("p")  # kept: what a lower-price refund leaves with the business
_RAISE_LINE = (update(t.invoice_lines)
               .where(scoped(t.invoice_lines, _line.id == bindparam("line_id")))
               .values(refunded_quantity=_line.refunded_quantity + _q,
                       refunded_gross_minor=_line.refunded_gross_minor + _g,
                       refunded_tax_minor=_line.refunded_tax_minor + _x,
                       restocked_quantity=_line.restocked_quantity + _rq,
                       restocked_cost_minor=_line.restocked_cost_minor + _rc,
                       retained_gross_minor=_line.retained_gross_minor + _kg,
                       retained_tax_minor=_line.retained_tax_minor + _kx))
_RAISE_LINE_GUARDED = _RAISE_LINE.where(  # R7: the cap holds in the statement that raises it
    _line.refunded_quantity + _q <= _line.quantity, _line.refunded_gross_minor + _g <= _line.gross_minor,
    _line.refunded_tax_minor + _x <= _line.tax_minor,
    (_line.refunded_gross_minor - _line.refunded_tax_minor) + (_g - _x) <= _line.net_minor,
    _line.restocked_quantity + _rq <= _line.refunded_quantity + _q,
    _line.restocked_cost_minor + _rc <= _line.cost_minor)
_RAISE_INVOICE = (update(t.invoices).where(scoped(t.invoices, _inv.id == bindparam("invoice_id")))
                  .values(refunded_total_minor=_inv.refunded_total_minor + _g,
                          refunded_receivable_minor=_inv.refunded_receivable_minor + _r,
                          refunded_free_minor=_inv.refunded_free_minor + _f,
                          paid_back_minor=_inv.paid_back_minor + _p))
_RAISE_INVOICE_GUARDED = _RAISE_INVOICE.where(_inv.refunded_total_minor + _g <= _inv.total_minor,
                                              _inv.refunded_receivable_minor + _r <= _inv.receivable_minor)
_pay = t.invoice_payments.c
_RAISE_PAYMENT = (update(t.invoice_payments).where(scoped(t.invoice_payments, _pay.id == bindparam("payment_id")))
                  .values(refunded_minor=_pay.refunded_minor + _x))
_RAISE_PAYMENT_GUARDED = _RAISE_PAYMENT.where(_pay.refunded_minor + _x <= _pay.amount_minor)
_TRY_KEY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))")
_SET_REFUND = update(t.refunds).where(scoped(t.refunds, t.refunds.c.id == bindparam("refund_id")))


@cache
def _insert_into(table):
    return insert(table)


@cache
def _insert_returning(table):
    """An INSERT that answers the row's id (a table without one answers nothing)."""
    return insert(table).returning(table.c.id) if "id" in table.c else insert(table)


@cache
def _next_number(dialect: str):
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = build(t.sequences).values(tenant_id=TENANT, series=bindparam("series"), last_value=1)
    return stmt.on_conflict_do_update(
        index_elements=[t.sequences.c.tenant_id, t.sequences.c.series],
        set_={"last_value": t.sequences.c.last_value + 1},
    ).returning(t.sequences.c.last_value)


class CapExceeded(Exception):
    """A conditional cap update matched no row: (invoice line number or None for the invoice)."""

    def __init__(self, line_no: int | None):
        super().__init__(line_no)
        self.line_no = line_no


class TenantStore(BooksQueries, EventQueries, PayoutQueries):
    def __init__(self, conn: Connection, tenant_id: int):
        self.conn = conn
        self.tenant_id = tenant_id

    # -- helpers --------------------------------------------------------------------------
    def _where(self, table, *conditions):
        return and_(table.c.tenant_id == self.tenant_id, *conditions)

    def _one(self, table, *conditions, columns=None):
        stmt = select(*(columns or [table])).where(self._where(table, *conditions))
        return self.conn.execute(stmt).mappings().first()

    def _run(self, stmt, **params):
        """Run a statement built once (above) for this tenant: prepared on the driver when it can
        be (``prepared``), else through SQLAlchemy."""
        return prepared.run(self.conn, stmt, {"tenant": self.tenant_id, **params})

    def _insert(self, table, **values) -> int:
        values = {"tenant_id": self.tenant_id, **values}
        ready = prepared.prepare(self.conn, _insert_returning(table), tuple(values))
        if ready is None:
            return self.conn.execute(_insert_into(table), values).inserted_primary_key[0]
        result = prepared.execute(self.conn, ready, prepared.parameters(ready, values))
        return result.scalar_one() if ready.keys else values[next(iter(table.primary_key.columns)).name]

    def _insert_many(self, table, rows: list[dict]) -> None:
        if not rows:
            return
        rows = [{"tenant_id": self.tenant_id, **row} for row in rows]
        names = tuple(rows[0])
        ready = prepared.prepare(self.conn, _insert_into(table), names)
        if ready is None or any(tuple(row) != names for row in rows):
            self.conn.execute(_insert_into(table), rows)
        else:
            prepared.execute(self.conn, ready, [prepared.parameters(ready, row) for row in rows], many=True)

    @property
    def postgres(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    # -- tenant ---------------------------------------------------------------------------
    def tenant(self, *, share_lock: bool = False):
        """The tenant row. With ``share_lock`` a posting holds the period check against a
        concurrent close (R13): on PostgreSQL FOR SHARE; SQLite writers are serialized anyway."""
        return self._run(_TENANT_ROW_SHARED if share_lock and self.postgres else _TENANT_ROW).mappings().one()

    def policy(self, *, share_lock: bool = False) -> Policy:
        row = self.tenant(share_lock=share_lock)
        return policy_of(row)

    def set_closed_through(self, day: date | None, closed_at: datetime | None = None) -> None:
        values = {"closed_through": day}
        if closed_at is not None:
            values["closed_at"] = closed_at
        self.conn.execute(update(t.tenants).where(t.tenants.c.id == self.tenant_id).values(**values))

    def advance_closed_through(self, day: date, closed_at: datetime) -> bool:
        """Move ``closed_through`` forward to ``day``, never back (the condition holds on the row as
        committed, whatever the caller read): only a reopen moves it back. True if it moved."""
        c = t.tenants.c
        result = self.conn.execute(update(t.tenants).where(
            c.id == self.tenant_id, or_(c.closed_through.is_(None), c.closed_through < day)
        ).values(closed_through=day, closed_at=closed_at))
        return result.rowcount == 1

    # -- master data ------------------------------------------------------------------------
    def customer(self, code: str):
        return self._one(t.customers, t.customers.c.code == code)

    def customer_by_id(self, customer_id: int):
        return self._one(t.customers, t.customers.c.id == customer_id)

    def customer_by_tax_number(self, tax_number: str):
        return self._one(t.customers, t.customers.c.tax_number == tax_number)

    def product(self, code: str):
        return self._one(t.products, t.products.c.code == code)

    def product_by_barcode(self, barcode: str):
        row = self._one(t.product_barcodes, t.product_barcodes.c.barcode == barcode)
        return self._one(t.products, t.products.c.id == row["product_id"]) if row else None

    def barcodes(self, product_id: int) -> list[str]:
        stmt = (select(t.product_barcodes.c.barcode)
                .where(self._where(t.product_barcodes, t.product_barcodes.c.product_id == product_id))
                .order_by(t.product_barcodes.c.id))
        return list(self.conn.execute(stmt).scalars())

    def location(self, code: str):
        return self._one(t.locations, t.locations.c.code == code)

    def codes_by_id(self, table, ids: Iterable[int | None]) -> dict[int, str]:
        ids = {i for i in ids if i is not None}
        if not ids:
            return {}
        stmt = select(table.c.id, table.c.code).where(self._where(table, table.c.id.in_(ids)))
        return dict(self.conn.execute(stmt).all())

    def location_ids(self, codes: Iterable[str | None]) -> dict[str, int]:
        """The row ids of the locations ``codes`` names that exist (one short query each: a
        refund names one or two)."""
        found = {}
        for code in {c for c in codes if c is not None}:
            location_id = self._run(_LOCATION_ID, code=code).scalar()
            if location_id is not None:
                found[code] = location_id
        return found

    def till(self, pos: str | None, session: str | None):
        """The point-of-sale session as a domain ``Till``, or None when there is no such session."""
        p = t.pos_sessions.c
        row = self.conn.execute(
            select(p.pos, p.session, p.state, t.locations.c.code)
            .join(t.locations, t.locations.c.id == p.location_id)
            .where(self._where(t.pos_sessions, p.pos == (pos or ""), p.session == (session or "")))).first()
        return Till(*row) if row else None

    def payment_methods(self) -> dict[str, PaymentMethod]:
        rows = self._run(_PAYMENT_METHODS).mappings()
        return {r["code"]: PaymentMethod(r["code"], r["kind"], r["account_code"], r["active"]) for r in rows}

    def products_for(self, codes: Iterable[str | None]) -> tuple[dict[str, Product], dict[str, int]]:
        """The products of ``codes`` as domain snapshots, and their row ids."""
        codes = {c for c in codes if c}
        if not codes:
            return {}, {}
        stmt = select(t.products).where(self._where(t.products, t.products.c.code.in_(codes)))
        rows = self.conn.execute(stmt).mappings().all()
        return ({r["code"]: Product(r["code"], r["stock_tracked"], r["unit_cost"], r["unit"]) for r in rows},
                {r["code"]: r["id"] for r in rows})

    def insert_row(self, table, **values) -> int:
        return self._insert(table, **values)

    def insert_rows(self, table, rows: list[dict]) -> None:
        self._insert_many(table, rows)

    def set_refund(self, refund_id: int, values: dict) -> None:
        self._run(_SET_REFUND, refund_id=refund_id, **values)

    def adjust_customer_credit(self, customer_id: int, delta_minor: int) -> bool:
        """Raise or lower store credit; lowering below zero matches no row and returns False."""
        c = t.customers.c
        stmt = (update(t.customers).where(self._where(t.customers, c.id == customer_id,
                                                      c.credit_balance_minor + delta_minor >= 0))
                .values(credit_balance_minor=c.credit_balance_minor + delta_minor))
        return self.conn.execute(stmt).rowcount == 1

    # -- invoices ---------------------------------------------------------------------------
    def invoice_row(self, number: str, *, lock: bool = False):
        """The invoice with its customer's and location's codes (``INVOICE_SELECT``); with
        ``lock`` (posting on PostgreSQL) its row is locked so the snapshot the plan is made from
        stays current until commit. SQLite writers are serialized already."""
        stmt = _INVOICE_BY_NUMBER_LOCKED if lock and self.postgres else _INVOICE_BY_NUMBER
        return self._run(stmt, number=number).mappings().first()

    def lock_invoice(self, invoice_id: int) -> None:
        """Serialize with refunds of the same invoice (PostgreSQL; SQLite is serialized already)."""
        if self.postgres:
            self.conn.execute(select(t.invoices.c.id).where(self._where(t.invoices, t.invoices.c.id == invoice_id))
                              .with_for_update())

    def invoice_snapshot(self, invoice) -> tuple[Invoice, "InvoiceRows"]:
        """The invoice (a row of ``INVOICE_SELECT``) as a domain snapshot, and the row ids of its
        lines and products."""
        lines = self._run(_INVOICE_LINES, invoice_id=invoice["id"]).mappings().all()
        payments = self._run(_INVOICE_PAYMENTS, invoice_id=invoice["id"]).all()
        back: dict[str, int] = {RECEIVABLE.code: invoice["refunded_receivable_minor"]}
        for _, method, _, refunded in payments:
            back[method] = back.get(method, 0) + refunded
        snapshot = Invoice(
            number=invoice["number"], customer=invoice["customer_code"],
            currency=money.Currency(invoice["currency"], invoice["currency_exponent"]),
            date=invoice["date"], prices_include_tax=invoice["prices_include_tax"],
            location=invoice["location_code"], lines=tuple(invoice_line_of(r) for r in lines),
            payments=tuple((m, a) for _, m, a, _ in payments),
            refunded_total_minor=invoice["refunded_total_minor"], rounding_minor=invoice["rounding_minor"],
            refunded_free_minor=invoice["refunded_free_minor"], paid_back_minor=invoice["paid_back_minor"],
            refunded_by_method=tuple(back.items()))
        return snapshot, InvoiceRows(line_ids={r["line_no"]: r["id"] for r in lines},
                                     product_ids={r["product_code"]: r["product_id"] for r in lines
                                                  if r["product_code"] is not None},
                                     payment_rows=[tuple(p) for p in payments])

    def free_amount_tax(self, invoice_id: int) -> tuple[tuple[int, int], ...]:
        """(rate, tax) refunded by free-amount lines of the invoice's posted refunds (R8 per rate)."""
        rl, r = t.refund_lines.c, t.refunds.c
        rows = self.conn.execute(
            select(rl.tax_rate, func.sum(rl.tax_minor)).join(t.refunds, r.id == rl.refund_id)
            .where(self._where(t.refund_lines, rl.invoice_line_id.is_(None)),
                   r.invoice_id == invoice_id, r.state == "posted", r.tenant_id == self.tenant_id)
            .group_by(rl.tax_rate)).all()
        return tuple((rate, int(tax)) for rate, tax in rows)

    def raise_caps(self, invoice_id: int, rows: "InvoiceRows", plan: RefundPlan, *, guarded: bool = True) -> None:
        """Add a refund's figures to the invoice's running figures, each in one conditional UPDATE
        (R7, R8): per line (quantity, gross, tax, restocked quantity and cost), per payment (what
        it got back), per invoice (gross and receivable). ``guarded=False`` exists only for the
        test that proves the guard is needed."""
        raise_line = _RAISE_LINE_GUARDED if guarded else _RAISE_LINE
        restocks, kept = plan.restock_increments(), plan.retained_increments()
        for line_no, (q, g, x) in sorted(plan.cap_increments().items()):
            rq, rc = restocks.get(line_no, (0, 0))
            kg, kx = kept.get(line_no, (0, 0))
            if self._run(raise_line, line_id=rows.line_ids[line_no], q=q, g=g, x=x, rq=rq, rc=rc,
                         kg=kg, kx=kx).rowcount != 1:
                raise CapExceeded(line_no)
        tenders = plan.tender_increments()
        raise_payment = _RAISE_PAYMENT_GUARDED if guarded else _RAISE_PAYMENT
        for payment_id, amount in _spread(rows.payment_rows, tenders):
            if self._run(raise_payment, payment_id=payment_id, x=amount).rowcount != 1:
                raise CapExceeded(None)
        raise_invoice = _RAISE_INVOICE_GUARDED if guarded else _RAISE_INVOICE
        if self._run(raise_invoice, invoice_id=invoice_id, g=plan.gross_minor, f=plan.free_gross_minor,
                     p=plan.total_minor, r=tenders.get(RECEIVABLE.code, 0)).rowcount != 1:
            raise CapExceeded(None)

    def release_caps(self, invoice_id: int, lines: list, payments: list, gross_minor: int, total_minor: int) -> None:
        """Undo ``raise_caps`` for a voided refund, from the rows it wrote (the CHECK constraints
        keep every figure >= 0)."""
        for line in lines:
            if line["invoice_line_no"] is None:
                continue
            restocked = line["quantity"] if line["restock"] else 0
            self._run(_RAISE_LINE, line_id=line["invoice_line_id"], q=-line["quantity"], g=-line["gross_minor"],
                      x=-line["tax_minor"], rq=-restocked, rc=-line["cost_minor"],
                      kg=-line["retained_gross_minor"], kx=-line["retained_tax_minor"])
        given = {}
        for payment in payments:
            given[payment["method"]] = given.get(payment["method"], 0) + payment["tender_minor"]
        rows = self._run(_INVOICE_PAYMENTS, invoice_id=invoice_id).all()
        for payment_id, amount in _spread(rows, given, release=True):
            self._run(_RAISE_PAYMENT, payment_id=payment_id, x=-amount)
        free = sum(line["gross_minor"] for line in lines if line["invoice_line_no"] is None)
        self._run(_RAISE_INVOICE, invoice_id=invoice_id, g=-gross_minor, r=-given.get(RECEIVABLE.code, 0), f=-free,
                  p=-total_minor)

    # -- refunds: the rows of one refund ------------------------------------------------------
    def insert_refund(self, **header) -> int:
        return self._insert(t.refunds, **header)

    def insert_refund_parts(self, lines: list[dict], payments: list[dict], taxes: list[dict]) -> None:
        """A refund's lines, payments and tax summary (each row carries its ``refund_id``)."""
        self._insert_many(t.refund_lines, lines)
        self._insert_many(t.refund_payments, payments)
        self._insert_many(t.refund_taxes, taxes)

    def delete_refund_parts(self, refund_id: int) -> None:
        """A draft's lines, payments and tax summary, before they are written anew."""
        for table in (t.refund_lines, t.refund_payments, t.refund_taxes):
            self.conn.execute(table.delete().where(self._where(table, table.c.refund_id == refund_id)))

    def delete_refund(self, refund_id: int) -> None:
        """A draft and everything that points to it (its client document numbers too)."""
        self.delete_refund_parts(refund_id)
        d = t.document_numbers
        self.conn.execute(d.delete().where(self._where(d, d.c.refund_id == refund_id)))
        self.conn.execute(t.refunds.delete().where(self._where(t.refunds, t.refunds.c.id == refund_id)))

    def refund_by_public_id(self, public_id: str, *, lock: bool = False):
        """The refund row, or None; with ``lock`` (PostgreSQL) locked until commit."""
        stmt = select(t.refunds).where(self._where(t.refunds, t.refunds.c.public_id == public_id))
        if lock and self.postgres:
            stmt = stmt.with_for_update()
        return self.conn.execute(stmt).mappings().first()

    def refund_by_id(self, refund_id: int):
        return self._one(t.refunds, t.refunds.c.id == refund_id)

    def refund_lines(self, refund_id: int):
        rl = t.refund_lines
        return self.conn.execute(select(rl).where(self._where(rl, rl.c.refund_id == refund_id))
                                 .order_by(rl.c.line_no)).mappings().all()

    def refund_payments(self, refund_id: int):
        rp = t.refund_payments
        return self.conn.execute(select(rp).where(self._where(rp, rp.c.refund_id == refund_id))
                                 .order_by(rp.c.id)).mappings().all()

    def refund_taxes(self, refund_id: int):
        rt = t.refund_taxes
        return self.conn.execute(select(rt).where(self._where(rt, rt.c.refund_id == refund_id))
                                 .order_by(rt.c.tax_rate)).mappings().all()

    def record_document_numbers(self, rows: list[dict]) -> None:
        """A client's document numbers of a refund (``door``, ``field``, ``number``, ``refund_id``)."""
        self._insert_many(t.document_numbers, rows)

    def insert_stock_moves(self, rows: list[dict]) -> None:
        self._insert_many(t.stock_moves, rows)

    def insert_stock_move(self, **values) -> int:
        return self._insert(t.stock_moves, **values)

    def stock_moves_of(self, source_type: str, source_id: int):
        m = t.stock_moves.c
        return self.conn.execute(select(t.stock_moves).where(self._where(
            t.stock_moves, m.source_type == source_type, m.source_id == source_id)).order_by(m.id)).mappings().all()

    # -- journal and stock -------------------------------------------------------------------
    def write_entry(self, *, day: date, source_type: str, source_id: int, memo: str,
                    postings: Iterable[Posting], now: datetime) -> int:
        entry_id = self._insert(t.journal_entries, date=day, source_type=source_type,
                                source_id=source_id, memo=memo[:200], created_at=now)
        self._insert_many(t.journal_lines, [
            {"entry_id": entry_id, "account_code": p.account, "debit_minor": p.debit_minor,
             "credit_minor": p.credit_minor} for p in postings])
        return entry_id

    def entry_postings(self, entry_id: int) -> list[Posting]:
        jl = t.journal_lines.c
        rows = self.conn.execute(select(jl.account_code, jl.debit_minor, jl.credit_minor)
                                 .where(self._where(t.journal_lines, jl.entry_id == entry_id))
                                 .order_by(jl.id)).all()
        return [Posting(a, d, c) for a, d, c in rows]

    def next_number(self, series: str) -> int:
        """The next number of a series, inside the caller's transaction: a rollback returns it,
        so posted documents stay gapless (R16)."""
        return self._run(_next_number(self.conn.dialect.name), series=series).scalar_one()

    def stock_on_hand(self, product_id: int | None = None, location_id: int | None = None):
        m = t.stock_moves.c
        conditions = []
        if product_id is not None:
            conditions.append(m.product_id == product_id)
        if location_id is not None:
            conditions.append(m.location_id == location_id)
        stmt = (select(t.products.c.code, t.locations.c.code, func.sum(m.quantity))
                .join(t.products, t.products.c.id == m.product_id)
                .join(t.locations, t.locations.c.id == m.location_id)
                .where(self._where(t.stock_moves, *conditions))
                .group_by(t.products.c.code, t.locations.c.code)
                .order_by(t.products.c.code, t.locations.c.code))
        return self.conn.execute(stmt).all()

    # -- idempotency (R17) -------------------------------------------------------------------
    def idempotency_record(self, key: str):
        return self._run(_IDEMPOTENCY_RECORD, key=key).mappings().first()

    def forget_key(self, key: str) -> None:
        k = t.idempotency_keys.c
        self.conn.execute(t.idempotency_keys.delete().where(and_(k.tenant_id == self.tenant_id, k.key == key)))

    def document_number_user(self, door: str, field: str, number: str) -> str | None:
        """The number (or id, for a draft) of the refund that used a client's document number."""
        d, r = t.document_numbers.c, t.refunds.c
        row = self.conn.execute(
            select(r.number, r.public_id).select_from(t.document_numbers.join(t.refunds, r.id == d.refund_id))
            .where(d.tenant_id == self.tenant_id, d.door == door, d.field == field, d.number == number)).first()
        return None if row is None else (row.number or row.public_id)

    def store_response(self, key: str, *, fingerprint: str, status_code: int, content_type: str,
                       body: str, now: datetime, expires_at: datetime) -> None:
        self._insert(t.idempotency_keys, key=key, fingerprint=fingerprint, status_code=status_code,
                     content_type=content_type, body=body, created_at=now, expires_at=expires_at)

    def try_lock_key(self, key: str) -> bool:
        """PostgreSQL: take a transaction-scoped advisory lock on the key, or learn it is busy.
        SQLite: writers are already serialized by BEGIN IMMEDIATE."""
        if not self.postgres:
            return True
        return bool(self.conn.execute(_TRY_KEY_LOCK, {"k": f"{self.tenant_id}:{key}"}).scalar())

    def audit(self, *, refund_id: int | None, action: str, channel: str, credential_id: int | None,
              request_id: str | None, now: datetime, payload: dict | None = None) -> None:
        self._insert(t.audit_events, refund_id=refund_id, action=action, channel=channel,
                     credential_id=credential_id, request_id=request_id, at=now,
                     payload_json=json.dumps(payload, default=str) if payload is not None else None)


class InvoiceRows(NamedTuple):
    line_ids: dict[int, int]  # line number -> invoice_lines.id
    product_ids: dict[str, int]  # product code -> products.id
    payment_rows: list = []  # (invoice_payments.id, method, amount, refunded) in the order paid


def _spread(rows, amounts: dict[str, int], *, release: bool = False) -> list[tuple[int, int]]:
    """Per invoice payment row: the part of each method's amount it takes (what is left to give
    back, in the order paid) or, with ``release``, gives up (what it got back, newest first)."""
    left = dict(amounts)
    parts = []
    for payment_id, method, amount, refunded in (reversed(rows) if release else rows):
        room = refunded if release else amount - refunded
        part = min(left.get(method, 0), room)
        if part > 0:
            parts.append((payment_id, part))
            left[method] -= part
    return parts


def policy_of(row) -> Policy:
    return Policy(
        currency=money.Currency(row["currency"], row["currency_exponent"]),
        prices_include_tax=row["prices_include_tax"],
        cash_increment_minor=row["cash_increment_minor"],
        cash_rounding_all_methods=row["cash_rounding_all_methods"],
        allow_unlinked_refunds=row["allow_unlinked_refunds"],
        closed_through=row["closed_through"],
        tax_rates=frozenset(int(rate) for rate in (row["tax_rates"] or "").split()),
        refund_to_other_methods=row["refund_to_other_methods"])


def invoice_line_of(r) -> InvoiceLine:
    return InvoiceLine(
        line=r["line_no"], product=r["product_code"], description=r["description"],
        quantity=r["quantity"], unit_price=r["unit_price"], discount_minor=r["discount_minor"],
        tax_rate=r["tax_rate"], net_minor=r["net_minor"], tax_minor=r["tax_minor"],
        gross_minor=r["gross_minor"], unit_cost=r["unit_cost"], stock_tracked=r["stock_tracked"],
        refunded_quantity=r["refunded_quantity"], refunded_gross_minor=r["refunded_gross_minor"],
        refunded_tax_minor=r["refunded_tax_minor"], unit=r.get("product_unit"), cost_minor=r["cost_minor"],
        restocked_quantity=r["restocked_quantity"], restocked_cost_minor=r["restocked_cost_minor"],
        retained_gross_minor=r["retained_gross_minor"], retained_tax_minor=r["retained_tax_minor"])
