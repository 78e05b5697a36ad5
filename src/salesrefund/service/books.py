"""Master data, invoices, periods and the read-side reports of a tenant's books."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta
from typing import Callable, Iterator

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from ..domain import journal, money
from ..domain.commands import RecordInvoice
from ..domain.errors import Invalid, Violation, reject
from ..domain.invoices import SoldLine, check_sold_lines, line_figures, sale_rounding
from ..domain.model import PAYMENT_KINDS
from ..store import tables as t
from ..store.repository import INVOICE_SELECT, TenantStore, policy_of
from . import events, views
from .uow import Clock, UnitOfWork, with_retries


class Books:
    def __init__(self, engine: Engine, clock: Clock | None = None, *, read_engine: Engine | None = None):
        self.engine = engine
        self.clock = clock or Clock()
        self.reader = read_engine or engine  # a read replica when configured (issue 15)

    def uow(self, tenant_id: int, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self.engine, tenant_id, write=write)

    def lagging_uow(self, tenant_id: int) -> UnitOfWork:
        """A read that may lag behind the latest commits (lists, the journal, reports): on the
        read replica when one is configured. A single object by its id or number, anything a
        write decides on, and every answer to a write stay on the primary (read your writes)."""
        return UnitOfWork(self.reader, tenant_id, write=False)

    # -- master data ----------------------------------------------------------------------
    def create_customer(self, tenant_id: int, *, code: str, name: str, tax_number: str | None = None,
                        currency: str | None = None, email: str | None = None) -> dict:
        with self._creating(tenant_id, lambda store: self._unique(store, t.customers, code)) as uow:
            tenant = uow.store.tenant()
            if currency is not None and currency != tenant["currency"]:
                raise reject("currency_mismatch", "/currency", "this tenant keeps its books in {cur}",
                             cur=tenant["currency"])
            self._unique(uow.store, t.customers, code)
            uow.store.insert_row(t.customers, code=code, name=name, tax_number=tax_number,
                                 currency=currency or tenant["currency"], email=email)
            view = self._customer_view(uow.store, uow.store.customer(code))
            uow.commit()
        return view

    def get_customer(self, tenant_id: int, code: str) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            row = uow.store.customer(code)
            if row is None:
                raise reject("not_found", "/code", "customer {code} does not exist", code=code)
            return self._customer_view(uow.store, row)

    def _customer_view(self, store: TenantStore, row) -> dict:
        cur = store.policy().currency
        return {"code": row["code"], "name": row["name"], "tax_number": row["tax_number"],
                "currency": row["currency"], "email": row["email"],
                "credit_balance": money.format_amount(row["credit_balance_minor"], cur)}

    def create_product(self, tenant_id: int, *, code: str, name: str, barcodes: list[str] = (),
                       unit: str = "unit", stock_tracked: bool = False, cost: int = 0) -> dict:
        def unique(store: TenantStore) -> None:
            self._unique(store, t.products, code)
            for i, barcode in enumerate(barcodes):
                if store.product_by_barcode(barcode) is not None or barcodes.index(barcode) != i:
                    raise reject("duplicate", f"/barcodes/{i}", "barcode {barcode} is already in use",
                                 barcode=barcode)

        with self._creating(tenant_id, unique) as uow:
            store = uow.store
            unique(store)
            product_id = store.insert_row(t.products, code=code, name=name, unit=unit,
                                          stock_tracked=stock_tracked, unit_cost=cost)
            store.insert_rows(t.product_barcodes, [{"product_id": product_id, "barcode": b} for b in barcodes])
            view = self._product_view(store, store.product(code))
            uow.commit()
        return view

    def get_product(self, tenant_id: int, code: str) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            row = uow.store.product(code)
            if row is None:
                raise reject("not_found", "/code", "product {code} does not exist", code=code)
            return self._product_view(uow.store, row)

    def _product_view(self, store: TenantStore, row) -> dict:
        return {"code": row["code"], "name": row["name"], "barcodes": store.barcodes(row["id"]),
                "unit": row["unit"], "stock_tracked": row["stock_tracked"],
                "cost": money.format_price(row["unit_cost"], store.policy().currency)}  # the currency's decimals

    def create_location(self, tenant_id: int, *, code: str, name: str) -> dict:
        with self._creating(tenant_id, lambda store: self._unique(store, t.locations, code)) as uow:
            self._unique(uow.store, t.locations, code)
            uow.store.insert_row(t.locations, code=code, name=name)
            uow.commit()
        return {"code": code, "name": name}

    def receive_stock(self, tenant_id: int, *, product: str, quantity: int, location: str | None = None,
                      day: date | None = None) -> dict:
        """Goods received (opening stock, a delivery): a stock move in at the product's cost and
        its entry (Dr inventory, Cr opening balance equity)."""
        if quantity <= 0:
            raise Invalid(Violation("/quantity", "validation_error", "quantity must be greater than zero"))
        with self.uow(tenant_id) as uow:
            store = uow.store
            tenant = store.tenant(share_lock=True)
            policy = policy_of(tenant)
            day = day or self.clock.today_in(tenant["timezone"])
            row = store.product(product)
            if row is None:
                raise reject("product_not_found", "/product", "product {code} does not exist", code=product)
            if not row["stock_tracked"]:
                raise Invalid(Violation("/product", "validation_error", "product {code} is not stock-tracked",
                                        {"code": product}))
            place = store.location(location or "main")
            if place is None:
                raise reject("location_not_found", "/location", "location {code} does not exist", code=location)
            if day > self.clock.today_in(tenant["timezone"]):
                raise reject("posting_date_in_future", "/date", "the date {day} is after today", day=day)
            if policy.is_closed(day):
                raise reject("period_closed", "/date", "the accounting period of {day} is closed", day=day)
            cost = money.bounded(money.extend(quantity, row["unit_cost"], policy.currency), policy.currency, "/quantity")
            move_id = store.insert_row(t.stock_moves, product_id=row["id"], location_id=place["id"],
                                       quantity=quantity, unit_cost=row["unit_cost"], date=day,
                                       source_type="receipt", source_id=0)
            if cost:
                store.write_entry(day=day, source_type="receipt", source_id=move_id, memo=f"Stock receipt {product}",
                                  postings=journal.receipt_entry(cost), now=self.clock.now())
            uow.commit()
        return {"product": product, "location": place["code"], "quantity": money.format_quantity(quantity),
                "date": day.isoformat()}

    def create_payment_method(self, tenant_id: int, *, code: str, name: str, kind: str) -> dict:
        """A payment method of one of the kinds cash, card, bank, store_credit (its account follows)."""
        if kind not in PAYMENT_KINDS:
            raise Invalid(Violation("/kind", "validation_error", "kind must be one of {kinds}",
                                    {"kinds": ", ".join(PAYMENT_KINDS)}))
        with self._creating(tenant_id, lambda store: self._unique(store, t.payment_methods, code)) as uow:
            self._unique(uow.store, t.payment_methods, code)
            uow.store.insert_row(t.payment_methods, code=code, name=name, kind=kind,
                                 account_code=journal.ROLE_ACCOUNT[kind], active=True)
            uow.commit()
        return {"code": code, "name": name, "kind": kind}

    def set_till(self, tenant_id: int, *, pos: str, session: str, location: str = "main",
                 state: str = "open") -> None:
        """Open (or record) a point-of-sale session at a location; ``state="closed"`` closes it."""
        with self.uow(tenant_id) as uow:
            store = uow.store
            place = store.location(location)
            if place is None:
                raise reject("location_not_found", "/location", "location {code} does not exist", code=location)
            p = t.pos_sessions.c
            updated = store.conn.execute(t.pos_sessions.update().where(store._where(
                t.pos_sessions, p.pos == pos, p.session == session)).values(state=state, location_id=place["id"]))
            if updated.rowcount == 0:
                store.insert_row(t.pos_sessions, pos=pos, session=session, location_id=place["id"], state=state)
            uow.commit()

    @contextmanager
    def _creating(self, tenant_id: int, unique: Callable[[TenantStore], None]) -> Iterator[UnitOfWork]:
        """A unit of work that creates master data whose codes must be unique (issue 9, item 12).
        ``unique`` raises ``duplicate`` naming the field and the existing code; it runs before the
        insert and, when a concurrent request inserted the same code between that check and this
        insert (the unique index refuses it: IntegrityError), again in a fresh transaction that
        sees the winner, so the loser answers 409 naming what exists, never 500."""
        try:
            with self.uow(tenant_id) as uow:
                yield uow
        except IntegrityError:
            with self.uow(tenant_id, write=False) as fresh:
                unique(fresh.store)
            raise

    def _unique(self, store: TenantStore, table, code: str) -> None:
        if store._one(table, table.c.code == code, columns=[table.c.id]) is not None:
            raise reject("duplicate", "/code", "{code} already exists", code=code)

    # -- invoices -------------------------------------------------------------------------
    def record_invoice(self, tenant_id: int, command: RecordInvoice) -> dict:
        """Record a sale as posted: its lines' figures (R4), journal entry and stock issue."""
        def attempt():
            with self.uow(tenant_id) as uow:
                view = self._record_invoice(uow.store, command)
                uow.commit()
                return view

        try:
            return with_retries(attempt)
        except IntegrityError:  # a concurrent request recorded the same number first
            raise reject("duplicate", "/number", "invoice {number} already exists", number=command.number)

    def _record_invoice(self, store: TenantStore, command: RecordInvoice) -> dict:
        tenant = store.tenant(share_lock=True)
        policy = policy_of(tenant)
        cur = policy.currency
        if command.currency is not None and command.currency != cur.code:
            raise reject("currency_mismatch", "/currency", "this tenant keeps its books in {cur}", cur=cur.code)
        if store.invoice_row(command.number) is not None:
            raise reject("duplicate", "/number", "invoice {number} already exists", number=command.number)
        customer = store.customer(command.customer)
        if customer is None:
            raise reject("customer_not_found", "/customer", "customer {code} does not exist", code=command.customer)
        location_code = command.location or "main"
        location = store.location(location_code)
        if location is None:
            raise reject("location_not_found", "/location", "location {code} does not exist", code=location_code)
        today = self.clock.today_in(tenant["timezone"])
        if command.date > today:
            raise reject("posting_date_in_future", "/date", "the invoice date {day} is after today", day=command.date)
        if policy.is_closed(command.date):
            raise reject("period_closed", "/date", "the accounting period of {day} is closed", day=command.date)
        products = {}
        for i, line in enumerate(command.lines):
            if line.product is not None and line.product not in products:
                row = store.product(line.product)
                if row is None:
                    raise reject("product_not_found", f"/lines/{i}/product", "product {code} does not exist",
                                 code=line.product)
                products[line.product] = row
            if line.product is None and not line.description:
                raise Invalid(Violation(f"/lines/{i}/description", "validation_error",
                                        "a line without a product needs a description"))
        sold = [SoldLine(line.product, line.description or products[line.product]["name"], line.quantity,
                         line.unit_price, line.discount_minor, line.tax_rate) for line in command.lines]
        check_sold_lines(sold, cur)
        include = policy.prices_include_tax if command.prices_include_tax is None else command.prices_include_tax
        figures = [line_figures(line, cur=cur, prices_include_tax=include) for line in sold]
        total = money.bounded(sum(f.gross_minor for f in figures), cur, "/lines")
        money.bounded(sum(money.extend(line.quantity, products[line.product]["unit_cost"], cur) for line in sold
                          if line.product is not None and products[line.product]["stock_tracked"]), cur, "/lines")
        methods = store.payment_methods()
        for i, p in enumerate(command.payments):
            if p.method not in methods or not methods[p.method].active:
                raise reject("unknown_payment_method", f"/payments/{i}/method",
                             "payment method {method} does not exist or is not active", method=p.method)
            if p.amount_minor <= 0:
                raise Invalid(Violation(f"/payments/{i}/amount", "validation_error", "amount must be greater than zero"))
        paid = sum(p.amount_minor for p in command.payments)
        rounding = sale_rounding(total, paid, [methods[p.method] for p in command.payments], policy)
        if paid > total + rounding:
            raise reject("payments_do_not_match_total", "/payments",
                         "the payments ({paid}) exceed the invoice total ({total})",
                         paid=money.format_amount(paid, cur), total=money.format_amount(total, cur))
        now = self.clock.now()
        invoice_id = store.insert_row(
            t.invoices, number=command.number, customer_id=customer["id"], date=command.date,
            currency=cur.code, currency_exponent=cur.exponent, prices_include_tax=include,
            location_id=location["id"], net_minor=sum(f.net_minor for f in figures),
            tax_minor=sum(f.tax_minor for f in figures), total_minor=total, refunded_total_minor=0,
            rounding_minor=rounding, receivable_minor=total + rounding - paid, created_at=now,
            myinvois_uuid=command.myinvois_uuid)
        costs = []
        rows = []
        for n, (line, f) in enumerate(zip(sold, figures), start=1):
            product = products.get(line.product)
            tracked = bool(product and product["stock_tracked"])
            unit_cost = product["unit_cost"] if product else 0
            costs.append(money.extend(line.quantity, unit_cost, cur) if tracked else 0)
            rows.append({"invoice_id": invoice_id, "line_no": n, "product_id": product["id"] if product else None,
                         "description": line.description[:500], "quantity": line.quantity,
                         "unit_price": line.unit_price, "discount_minor": line.discount_minor,
                         "tax_rate": line.tax_rate, "net_minor": f.net_minor, "tax_minor": f.tax_minor,
                         "gross_minor": f.gross_minor, "unit_cost": unit_cost, "stock_tracked": tracked,
                         "cost_minor": costs[-1]})
        store.insert_rows(t.invoice_lines, rows)
        store.insert_rows(t.invoice_payments, [{"invoice_id": invoice_id, "method": p.method,
                                                "amount_minor": p.amount_minor} for p in command.payments])
        store.insert_rows(t.stock_moves, [{
            "product_id": r["product_id"], "location_id": location["id"], "quantity": -r["quantity"],
            "unit_cost": r["unit_cost"], "date": command.date, "source_type": "invoice", "source_id": invoice_id}
            for r in rows if r["stock_tracked"]])
        store_credit = sum(p.amount_minor for p in command.payments if methods[p.method].kind == "store_credit")
        if store_credit and not store.adjust_customer_credit(customer["id"], -store_credit):
            raise reject("customer_balance_insufficient", "/payments",
                         "the customer's store credit does not cover this payment")
        postings = journal.sale_entry(
            net_minor=sum(f.net_minor for f in figures), tax_minor=sum(f.tax_minor for f in figures),
            cost_minor=sum(costs), payments=[(methods[p.method].account, p.amount_minor) for p in command.payments],
            rounding_minor=rounding)
        entry_id = store.write_entry(day=command.date, source_type="invoice", source_id=invoice_id,
                                     memo=f"Invoice {command.number}", postings=postings, now=now)
        store.conn.execute(t.invoices.update().where(t.invoices.c.id == invoice_id).values(journal_entry_id=entry_id))
        view = views.invoice_view(store, store.invoice_row(command.number))
        events.emit(store, "invoice.created", f"invoice:{command.number}", view, now)  # the outbox, same transaction
        return view

    def get_invoice(self, tenant_id: int, number: str) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            row = uow.store.invoice_row(number)
            if row is None:
                raise reject("not_found", "/number", "invoice {number} does not exist", number=number)
            return views.invoice_view(uow.store, row)

    def list_invoices(self, tenant_id: int, *, cursor: str | None, limit: int, customer: str | None = None,
                      number: str | None = None) -> dict:
        with self.lagging_uow(tenant_id) as uow:
            store = uow.store
            c = t.invoices.c
            conditions = [c.id > views.decode_cursor(cursor)]
            if customer is not None:
                row = store.customer(customer)
                conditions.append(c.customer_id == (row["id"] if row else -1))
            if number is not None:
                conditions.append(c.number == number)
            rows = store.conn.execute(INVOICE_SELECT.where(store._where(t.invoices, *conditions))
                                      .order_by(c.id).limit(limit + 1)).mappings().all()
            return views.page([views.invoice_view(store, r) for r in rows], [r["id"] for r in rows], limit)

    # -- refunds (read) ---------------------------------------------------------------------
    def list_refunds(self, tenant_id: int, *, cursor: str | None, limit: int, invoice: str | None = None,
                     customer: str | None = None, state: str | None = None, date_from: date | None = None,
                     date_to: date | None = None, number: str | None = None) -> dict:
        with self.lagging_uow(tenant_id) as uow:
            store = uow.store
            c = t.refunds.c
            conditions = [c.id > views.decode_cursor(cursor)]
            if invoice is not None:
                row = store.invoice_row(invoice)
                conditions.append(c.invoice_id == (row["id"] if row else -1))
            if customer is not None:
                row = store.customer(customer)
                conditions.append(c.customer_id == (row["id"] if row else -1))
            if state is not None:
                conditions.append(c.state == state)
            if date_from is not None:
                conditions.append(c.posting_date >= date_from)
            if date_to is not None:
                conditions.append(c.posting_date <= date_to)
            if number is not None:
                conditions.append(c.number == number)
            rows = store.conn.execute(select(t.refunds).where(store._where(t.refunds, *conditions))
                                      .order_by(c.id).limit(limit + 1)).mappings().all()
            return views.page([views.refund_view(store, r) for r in rows], [r["id"] for r in rows], limit)

    def refund_journal(self, tenant_id: int, public_id: str) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            store = uow.store
            row = store._one(t.refunds, t.refunds.c.public_id == public_id)
            if row is None:
                raise reject("not_found", "/id", "refund {id} does not exist", id=public_id)
            ids = [i for i in (row["journal_entry_id"], row["void_entry_id"]) if i is not None]
            entries = store.conn.execute(select(t.journal_entries).where(
                store._where(t.journal_entries, t.journal_entries.c.id.in_(ids)))
                .order_by(t.journal_entries.c.id)).mappings().all() if ids else []
            cur = money.Currency(row["currency"], row["currency_exponent"])
            return {"items": views.entries_view(store, entries, cur), "next": None}

    # -- ledger and stock ---------------------------------------------------------------------
    def journal(self, tenant_id: int, *, cursor: str | None, limit: int, date_from: date | None = None,
                date_to: date | None = None) -> dict:
        with self.lagging_uow(tenant_id) as uow:
            store = uow.store
            c = t.journal_entries.c
            conditions = [c.id > views.decode_cursor(cursor)]
            if date_from is not None:
                conditions.append(c.date >= date_from)
            if date_to is not None:
                conditions.append(c.date <= date_to)
            rows = store.conn.execute(select(t.journal_entries).where(store._where(t.journal_entries, *conditions))
                                      .order_by(c.id).limit(limit + 1)).mappings().all()
            items = views.entries_view(store, rows[:limit], store.policy().currency)
            more = len(rows) > limit
            return {"items": items, "next": views.encode_cursor(rows[limit - 1]["id"]) if more else None}

    def trial_balance(self, tenant_id: int) -> dict:
        with self.lagging_uow(tenant_id) as uow:
            return views.trial_balance(uow.store, uow.store.policy().currency)

    def stock(self, tenant_id: int, *, product: str | None = None, location: str | None = None) -> dict:
        with self.lagging_uow(tenant_id) as uow:
            store = uow.store
            product_id = location_id = None
            if product is not None:
                row = store.product(product)
                product_id = row["id"] if row else -1
            if location is not None:
                row = store.location(location)
                location_id = row["id"] if row else -1
            rows = store.stock_on_hand(product_id, location_id)
            return {"items": [{"product": p, "location": loc, "on_hand": money.format_quantity(int(q or 0))}
                              for p, loc, q in rows], "next": None}

    # -- periods (R13) ------------------------------------------------------------------------
    def periods(self, tenant_id: int) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            tenant = uow.store.tenant()
            today = self.clock.today_in(tenant["timezone"])
            first = uow.conn.execute(select(func.min(t.journal_entries.c.date)).where(
                t.journal_entries.c.tenant_id == tenant_id)).scalar()
            first = min(d for d in (first, tenant["created_at"].date(), tenant["closed_through"]) if d)
            return views.periods_view(first, today, tenant["closed_through"])

    def close_periods(self, tenant_id: int, through: date) -> dict:
        """Close every period up to and including ``through``; a posting in flight either
        committed before (its date is then in the closed range legitimately) or waits (R13)."""
        with self.uow(tenant_id) as uow:
            self._lock_tenant(uow)
            tenant = uow.store.tenant()  # read under the lock: a close that committed meanwhile is seen
            today = self.clock.today_in(tenant["timezone"])
            if through >= today:
                raise Invalid(Violation("/through", "validation_error",
                                        "only past dates can be closed (today is {today})", {"today": today}))
            current = tenant["closed_through"]
            if current is None or through > current:
                uow.store.advance_closed_through(through, closed_at=self.clock.now())
            uow.commit()
        return self.periods(tenant_id)

    def reopen_periods(self, tenant_id: int, reopen_from: date | None = None) -> dict:
        """Reopen every period from ``reopen_from`` on (all of them when not given)."""
        with self.uow(tenant_id) as uow:
            self._lock_tenant(uow)
            tenant = uow.store.tenant()
            current = tenant["closed_through"]
            if current is not None:
                # reopening from the first day there is (0001-01-01) reopens everything
                new = None if reopen_from is None or reopen_from == date.min else reopen_from - timedelta(days=1)
                uow.store.set_closed_through(new if new is None or new < current else current)
            uow.commit()
        return self.periods(tenant_id)

    @staticmethod
    def _lock_tenant(uow: UnitOfWork) -> None:
        """Closes and reopens of a tenant one at a time, each deciding on what the last committed
        (issue 9, item 11: reading ``closed_through`` before the lock let a close through D-40
        that read before a close through D-10 committed write D-40 over it). On PostgreSQL the
        tenant row is locked FOR UPDATE; SQLite's ``BEGIN IMMEDIATE`` already serializes writers."""
        if uow.store.postgres:
            uow.conn.execute(select(t.tenants.c.id).where(t.tenants.c.id == uow.tenant_id).with_for_update())

    def audit_trail(self, tenant_id: int, public_id: str) -> list[dict]:
        with self.uow(tenant_id, write=False) as uow:
            store = uow.store
            row = store._one(t.refunds, t.refunds.c.public_id == public_id)
            if row is None:
                raise reject("not_found", "/id", "refund {id} does not exist", id=public_id)
            a = t.audit_events.c
            events = store.conn.execute(select(t.audit_events).where(
                store._where(t.audit_events, a.refund_id == row["id"])).order_by(a.id)).mappings().all()
            return [{"action": e["action"], "channel": e["channel"], "credential_id": e["credential_id"],
                     "request_id": e["request_id"], "at": views._iso(e["at"])} for e in events]


