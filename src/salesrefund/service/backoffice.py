"""Read queries and settings for newcomers and the back office page (issue 12).

Everything here is tenant-scoped through ``store.repository.TenantStore`` and decides no refund
rule: the page and the API both issue, post, void and preview through ``RefundService``; these
functions only read (lists of master data, a refund found by its credit-note number, invoice
search, dashboard figures) or change the tenant's settings.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..domain import money
from ..domain.errors import Invalid, Violation, reject
from ..store.engine import Engine
from . import views
from .uow import Clock, UnitOfWork


def _paged(items, rows, limit):
    return views.page(items, [r["id"] for r in rows], limit)


class BackOffice:
    """Tenant reads the native API lists and the page share."""

    def __init__(self, engine: Engine, clock: Clock | None = None):
        self.engine = engine
        self.clock = clock or Clock()

    def _read(self, tenant_id: int) -> UnitOfWork:
        return UnitOfWork(self.engine, tenant_id, write=False)

    # -- master data lists ----------------------------------------------------------------
    def list_customers(self, tenant_id: int, *, cursor=None, limit=50, q: str | None = None) -> dict:
        with self._read(tenant_id) as uow:
            store = uow.store
            cur = store.policy().currency
            rows = store.customers_page(views.decode_cursor(cursor), limit, q)
            items = [{"code": r["code"], "name": r["name"], "tax_number": r["tax_number"], "currency": r["currency"],
                      "email": r["email"], "credit_balance": money.format_amount(r["credit_balance_minor"], cur)}
                     for r in rows]
            return _paged(items, rows, limit)

    def list_products(self, tenant_id: int, *, cursor=None, limit=50, barcode: str | None = None) -> dict:
        with self._read(tenant_id) as uow:
            store = uow.store
            cur = store.policy().currency
            product_id = None
            if barcode is not None:
                found = store.product_by_barcode(barcode)
                product_id = found["id"] if found else -1
            rows = store.products_page(views.decode_cursor(cursor), limit, product_id)
            items = [product_view(store, r, cur) for r in rows]
            return _paged(items, rows, limit)

    def list_locations(self, tenant_id: int, *, cursor=None, limit=50) -> dict:
        with self._read(tenant_id) as uow:
            rows = uow.store.locations_page(views.decode_cursor(cursor), limit)
            return _paged([{"code": r["code"], "name": r["name"]} for r in rows], rows, limit)

    def get_location(self, tenant_id: int, code: str) -> dict:
        with self._read(tenant_id) as uow:
            row = uow.store.location(code)
            if row is None:
                raise reject("not_found", "/code", "location {code} does not exist", code=code)
            return {"code": row["code"], "name": row["name"]}

    def list_payment_methods(self, tenant_id: int) -> dict:
        with self._read(tenant_id) as uow:
            rows = uow.store.payment_method_rows()
            return {"items": [{"code": r["code"], "name": r["name"], "kind": r["kind"], "account": r["account_code"],
                               "active": r["active"]} for r in rows], "next": None}

    # -- settings ---------------------------------------------------------------------------
    def settings(self, tenant_id: int) -> dict:
        with self._read(tenant_id) as uow:
            return settings_view(uow.store.tenant())

    def change_settings(self, tenant_id: int, changes: dict) -> dict:
        """Apply the given settings (validated here; anything not given stays as it was)."""
        with UnitOfWork(self.engine, tenant_id, write=True) as uow:
            row = uow.store.tenant()
            cur = money.Currency(row["currency"], row["currency_exponent"])
            values = {}
            for key in ("prices_include_tax", "cash_rounding_all_methods", "allow_unlinked_refunds"):
                if key in changes:
                    values[key] = changes[key]
            if "country" in changes:
                country = changes["country"]
                if country is not None and (not isinstance(country, str) or len(country) != 2
                                            or not country.isascii() or not country.isupper()):
                    raise Invalid(Violation("/country", "validation_error", "country must be an ISO 3166 code like DE"))
                values["country"] = country
            if "timezone" in changes:
                try:
                    ZoneInfo(changes["timezone"])
                except (ZoneInfoNotFoundError, ValueError, TypeError):
                    raise Invalid(Violation("/timezone", "validation_error", "unknown time zone {tz}",
                                            {"tz": changes["timezone"]}))
                values["timezone"] = changes["timezone"]
            if "cash_rounding" in changes:
                given = changes["cash_rounding"]
                increment = money.parse_amount(given, "/cash_rounding", cur) if given not in (None, "") else 0
                if increment < 0:
                    raise Invalid(Violation("/cash_rounding", "validation_error", "cash rounding must not be negative"))
                values["cash_increment_minor"] = increment
            uow.store.update_tenant(**values)
            view = settings_view(uow.store.tenant())
            uow.commit()
        return view

    # -- refunds by number ------------------------------------------------------------------
    def refund_id(self, tenant_id: int, key: str) -> str:
        """The public id of the refund whose id or credit-note number is ``key`` (else ``key``:
        the caller's read then answers its own 404)."""
        with self._read(tenant_id) as uow:
            return uow.store.refund_public_id(key) or key

    # -- invoice search -----------------------------------------------------------------------
    def search_invoices(self, tenant_id: int, *, number: str | None = None, customer: str | None = None,
                        barcode: str | None = None, day: date | None = None, cursor=None, limit: int = 20) -> dict:
        """Invoices by number (exact or starting with), customer (code or name), a product's barcode
        or code on one of their lines, or date; newest first is what a counter wants, but the cursor
        walks ids upward like every other list, so the page shows them in id order."""
        with self._read(tenant_id) as uow:
            store = uow.store
            product_id = None
            if barcode:
                product = store.product_by_barcode(barcode) or store.product(barcode)
                product_id = product["id"] if product else -1
            rows = store.invoices_page(views.decode_cursor(cursor), limit, number_starts=number or None,
                                       customer_like=customer or None, product_id=product_id, day=day)
            return views.page([views.invoice_view(store, r) for r in rows[:limit]], [r["id"] for r in rows], limit)

    # -- an invoice's figures per tax rate and payment method --------------------------------
    def invoice_figures(self, tenant_id: int, number: str) -> dict:
        """Sold, refunded and refundable per tax rate (from the lines' own running figures) and per
        payment method (paid on the invoice, paid back by its posted refunds)."""
        with self._read(tenant_id) as uow:
            store = uow.store
            invoice = store.invoice_row(number)
            if invoice is None:
                raise reject("not_found", "/number", "invoice {number} does not exist", number=number)
            cur = money.Currency(invoice["currency"], invoice["currency_exponent"])
            rates = []
            for rate, net, tax, gross, r_gross, r_tax in store.sold_by_rate(invoice["id"]):
                net, tax, gross, r_gross, r_tax = (int(x or 0) for x in (net, tax, gross, r_gross, r_tax))
                rates.append({"tax_rate": money.format_rate(int(rate)),
                              "sold_net": money.format_amount(net, cur), "sold_tax": money.format_amount(tax, cur),
                              "refunded_net": money.format_amount(r_gross - r_tax, cur),
                              "refunded_tax": money.format_amount(r_tax, cur),
                              "refundable_net": money.format_amount(net - (r_gross - r_tax), cur),
                              "refundable_tax": money.format_amount(tax - r_tax, cur)})
            paid: dict[str, int] = {}
            for method, amount in store.paid_by_method(invoice["id"]):
                paid[method] = paid.get(method, 0) + int(amount)
            back: dict[str, int] = {}
            for method, amount in store.paid_back_by_method(invoice["id"]):
                back[method] = int(amount or 0)
            methods = [{"method": m, "paid": money.format_amount(paid.get(m, 0), cur),
                        "refunded": money.format_amount(back.get(m, 0), cur)} for m in [*paid, *(k for k in back if k not in paid)]]
            return {"rates": rates, "methods": methods}

    # -- what a refund's page shows beside the refund ------------------------------------------
    def refund_extras(self, tenant_id: int, public_id: str) -> dict:
        """The stock moves a refund (and its void) made, and the names of the tenant's accounts."""
        with self._read(tenant_id) as uow:
            store = uow.store
            row = store.refund_by_public_id(public_id)
            if row is None:
                raise reject("not_found", "/id", "refund {id} does not exist", id=public_id)
            moves = store.refund_and_void_moves(row["id"])
            products = store.product_codes([x["product_id"] for x in moves])
            locations = store.location_codes([x["location_id"] for x in moves])
            names = store.account_names()
            return {"stock_moves": [{"date": x["date"].isoformat(), "product": products.get(x["product_id"]),
                                     "location": locations.get(x["location_id"]), "source": x["source_type"],
                                     "quantity": money.format_quantity(x["quantity"])} for x in moves],
                    "accounts": names}

    # -- dashboard ------------------------------------------------------------------------------
    def dashboard(self, tenant_id: int, days: int = 30) -> dict:
        """Posted refunds per day (count and total), and refund rates by product (refunded / sold
        quantity) and the refund total by reason, over the last ``days`` days."""
        with self._read(tenant_id) as uow:
            store = uow.store
            tenant = store.tenant()
            cur = money.Currency(tenant["currency"], tenant["currency_exponent"])
            today = self.clock.today_in(tenant["timezone"])
            start = today - timedelta(days=days - 1)
            per_day = store.refunds_per_day(start, today)
            daily = []
            for i in range(days):
                day = start + timedelta(days=i)
                count, total = per_day.get(day, (0, 0))
                daily.append({"date": day.isoformat(), "refunds": count, "amount": money.format_amount(total, cur),
                              "amount_minor": total})
            products = []
            for code, name, sold, refunded in store.sold_and_refunded_by_product():
                sold, refunded = int(sold or 0), int(refunded or 0)
                rate = money.div_round(refunded * 1000, sold) if sold else 0  # per mille
                products.append({"product": code, "name": name, "sold": money.format_quantity(sold),
                                 "refunded": money.format_quantity(refunded),
                                 "rate": money.format_scaled(rate, 1), "rate_permille": rate})
            reasons = [{"reason": reason or "—", "refunds": int(count), "amount": money.format_amount(int(total or 0), cur),
                        "amount_minor": int(total or 0)}
                       for reason, count, total in store.refunds_by_reason()]
            return {"currency": cur.code, "from": start.isoformat(), "to": today.isoformat(), "daily": daily,
                    "products": products, "reasons": reasons}


def product_view(store, row, cur: money.Currency) -> dict:
    """A product with its cost carrying at least the currency's decimals (``"4.00"``, not ``"4"``)."""
    return {"code": row["code"], "name": row["name"], "barcodes": store.barcodes(row["id"]), "unit": row["unit"],
            "stock_tracked": row["stock_tracked"], "cost": money.format_price(row["unit_cost"], cur)}


def settings_view(row) -> dict:
    cur = money.Currency(row["currency"], row["currency_exponent"])
    return {"tenant": row["name"], "currency": row["currency"], "currency_exponent": row["currency_exponent"],
            "country": row["country"], "timezone": row["timezone"], "prices_include_tax": row["prices_include_tax"],
            "cash_rounding": money.format_amount(row["cash_increment_minor"], cur),
            "cash_rounding_all_methods": row["cash_rounding_all_methods"],
            "allow_unlinked_refunds": row["allow_unlinked_refunds"],
            "closed_through": row["closed_through"].isoformat() if row["closed_through"] else None}
