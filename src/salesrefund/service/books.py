"""Master data, invoices, periods and the read-side reports of a tenant's books."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta
from typing import Callable, Iterator

from ..domain import journal, money
from ..domain.commands import RecordInvoice
from ..domain.errors import Invalid, Violation, reject
from ..domain.invoices import SoldProduct, plan_invoice
from ..domain.model import PAYMENT_KINDS
from ..store.engine import Engine, IntegrityError
from ..store.repository import TenantStore, policy_of
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
        with self._creating(tenant_id, lambda store: self._unique(store, "customer", code)) as uow:
            tenant = uow.store.tenant()
            if currency is not None and currency != tenant["currency"]:
                raise reject("currency_mismatch", "/currency", "this tenant keeps its books in {cur}",
                             cur=tenant["currency"])
            self._unique(uow.store, "customer", code)
            uow.store.insert_customer(code=code, name=name, tax_number=tax_number,
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
            self._unique(store, "product", code)
            for i, barcode in enumerate(barcodes):
                if store.product_by_barcode(barcode) is not None or barcodes.index(barcode) != i:
                    raise reject("duplicate", f"/barcodes/{i}", "barcode {barcode} is already in use",
                                 barcode=barcode)

        with self._creating(tenant_id, unique) as uow:
            store = uow.store
            unique(store)
            store.insert_product(code=code, name=name, unit=unit, stock_tracked=stock_tracked, unit_cost=cost,
                                 barcodes=barcodes)
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
        with self._creating(tenant_id, lambda store: self._unique(store, "location", code)) as uow:
            self._unique(uow.store, "location", code)
            uow.store.insert_location(code=code, name=name)
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
            move_id = store.insert_stock_move(product_id=row["id"], location_id=place["id"],
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
        with self._creating(tenant_id, lambda store: self._unique(store, "payment_method", code)) as uow:
            self._unique(uow.store, "payment_method", code)
            uow.store.insert_payment_method(code=code, name=name, kind=kind,
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
            store.set_till(pos, session, place["id"], state)
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

    def _unique(self, store: TenantStore, kind: str, code: str) -> None:
        if store.code_taken(kind, code):
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
        rows = {code: store.product(code) for code in dict.fromkeys(l.product for l in command.lines if l.product)}
        products = {code: SoldProduct(code, row["name"], bool(row["stock_tracked"]), row["unit_cost"])
                    for code, row in rows.items() if row is not None}
        plan = plan_invoice(command, policy=policy, today=self.clock.today_in(tenant["timezone"]),
                            products=products, methods=store.payment_methods())
        now = self.clock.now()
        product_ids = {code: row["id"] for code, row in rows.items() if row is not None}
        invoice_id = store.insert_invoice(
            number=command.number, customer_id=customer["id"], date=command.date,
            currency=cur.code, currency_exponent=cur.exponent, prices_include_tax=plan.prices_include_tax,
            location_id=location["id"], net_minor=plan.net_minor, tax_minor=plan.tax_minor,
            total_minor=plan.total_minor, refunded_total_minor=0, rounding_minor=plan.rounding_minor,
            receivable_minor=plan.receivable_minor, created_at=now, myinvois_uuid=command.myinvois_uuid,
            lines=[{"line_no": line.line, "product_id": product_ids.get(line.product),
                    "description": line.description, "quantity": line.quantity, "unit_price": line.unit_price,
                    "discount_minor": line.discount_minor, "tax_rate": line.tax_rate, "net_minor": line.net_minor,
                    "tax_minor": line.tax_minor, "gross_minor": line.gross_minor, "unit_cost": line.unit_cost,
                    "stock_tracked": line.stock_tracked, "cost_minor": line.cost_minor} for line in plan.lines],
            payments=[{"method": p.method, "amount_minor": p.amount_minor} for p in command.payments])
        store.insert_stock_moves([{
            "product_id": product_ids[line.product], "location_id": location["id"], "quantity": -line.quantity,
            "unit_cost": line.unit_cost, "date": command.date, "source_type": "invoice", "source_id": invoice_id}
            for line in plan.stock_issues()])
        if plan.store_credit_minor and not store.adjust_customer_credit(customer["id"], -plan.store_credit_minor):
            raise reject("customer_balance_insufficient", "/payments",
                         "the customer's store credit does not cover this payment")
        entry_id = store.write_entry(day=command.date, source_type="invoice", source_id=invoice_id,
                                     memo=f"Invoice {command.number}", postings=plan.postings, now=now)
        store.set_invoice_entry(invoice_id, entry_id)
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
            customer_id = None
            if customer is not None:
                row = store.customer(customer)
                customer_id = row["id"] if row else -1
            rows = store.invoices_page(views.decode_cursor(cursor), limit, customer_id=customer_id, number=number)
            return views.page([views.invoice_view(store, r) for r in rows], [r["id"] for r in rows], limit)

    # -- refunds (read) ---------------------------------------------------------------------
    def list_refunds(self, tenant_id: int, *, cursor: str | None, limit: int, invoice: str | None = None,
                     customer: str | None = None, state: str | None = None, date_from: date | None = None,
                     date_to: date | None = None, number: str | None = None) -> dict:
        with self.lagging_uow(tenant_id) as uow:
            store = uow.store
            invoice_id = customer_id = None
            if invoice is not None:
                row = store.invoice_row(invoice)
                invoice_id = row["id"] if row else -1
            if customer is not None:
                row = store.customer(customer)
                customer_id = row["id"] if row else -1
            rows = store.refunds_page(views.decode_cursor(cursor), limit, invoice_id=invoice_id,
                                      customer_id=customer_id, state=state, date_from=date_from, date_to=date_to,
                                      number=number)
            return views.page([views.refund_view(store, r) for r in rows], [r["id"] for r in rows], limit)

    def refund_journal(self, tenant_id: int, public_id: str) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            store = uow.store
            row = store.refund_by_public_id(public_id)
            if row is None:
                raise reject("not_found", "/id", "refund {id} does not exist", id=public_id)
            ids = [i for i in (row["journal_entry_id"], row["void_entry_id"]) if i is not None]
            entries = store.journal_entries_by_id(ids)
            cur = money.Currency(row["currency"], row["currency_exponent"])
            return {"items": views.entries_view(store, entries, cur), "next": None}

    # -- ledger and stock ---------------------------------------------------------------------
    def journal(self, tenant_id: int, *, cursor: str | None, limit: int, date_from: date | None = None,
                date_to: date | None = None) -> dict:
        with self.lagging_uow(tenant_id) as uow:
            store = uow.store
            rows = store.journal_page(views.decode_cursor(cursor), limit, date_from, date_to)
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
            first = uow.store.first_entry_date()
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
        uow.store.lock_tenant()

    def audit_trail(self, tenant_id: int, public_id: str) -> list[dict]:
        with self.uow(tenant_id, write=False) as uow:
            store = uow.store
            row = store.refund_by_public_id(public_id)
            if row is None:
                raise reject("not_found", "/id", "refund {id} does not exist", id=public_id)
            events = store.audit_events_of(row["id"])
            return [{"action": e["action"], "channel": e["channel"],  # the id as the tenant sees it (issue 10)
                     "credential_id": views.public_number("credential", tenant_id, e["credential_id"])
                     if e["credential_id"] is not None else None,
                     "request_id": e["request_id"], "at": views._iso(e["at"])} for e in events]


