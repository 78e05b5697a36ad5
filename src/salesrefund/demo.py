"""Demo data: a tenant a new user can try every endpoint on at once. Loading is idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from .domain import money
from .domain.commands import Context, InvoiceLineRequest, IssueRefund, PaymentRequest, RecordInvoice, RefundLineRequest
from .service.books import Books
from .service.refunds import RefundService
from .seeds import load_seed_tenants, load_tenant_once
from .service.tenants import tenant_id_by_name
from .service.uow import Clock

DEMO_TENANT = "demo"
DEMO_TOKEN = "sr_demo_token_change_me"


class _Quiet:
    """A responder for the demo loader: results are read back through the API anyway."""

    def success(self, result, status, reads=None):
        return result

    def failure(self, error):
        raise error


def load_demo(engine: Engine, clock: Clock | None = None) -> dict:
    """The native demo tenant and one tenant per seed door, each loaded once (idempotent)."""
    clock = clock or Clock()
    created = load_tenant_once(engine, DEMO_TENANT, token=DEMO_TOKEN, clock=clock,
                               build=lambda tenant_id, _name: _load_books(engine, tenant_id, clock),
                               currency="EUR", country="DE", timezone="Europe/Berlin")
    seeds = load_seed_tenants(engine, clock)
    return {"tenant": DEMO_TENANT, "token": DEMO_TOKEN, "created": created,
            "tenant_id": tenant_id_by_name(engine, DEMO_TENANT), "seeds": seeds}


def load_books_for_tests(engine: Engine, clock: Clock | None = None) -> None:
    """Only the native demo tenant (no seed tenants): sound books to test checks against."""
    clock = clock or Clock()
    load_tenant_once(engine, DEMO_TENANT, token=DEMO_TOKEN, clock=clock,
                     build=lambda tenant_id, _name: _load_books(engine, tenant_id, clock),
                     currency="EUR", country="DE", timezone="Europe/Berlin")


def _load_books(engine: Engine, tenant_id: int, clock: Clock) -> None:
    books, refunds = Books(engine, clock), RefundService(engine, clock)
    today = clock.today_in("Europe/Berlin")
    first_of_month = today.replace(day=1)
    last_month = (first_of_month - timedelta(days=1)).replace(day=10)
    two_months_ago = (last_month.replace(day=1) - timedelta(days=1)).replace(day=15)

    books.create_location(tenant_id, code="WH2", name="Warehouse 2")
    books.create_customer(tenant_id, code="C001", name="Alice Retail GmbH", tax_number="DE123456789",
                          email="alice@example.com")
    books.create_customer(tenant_id, code="C002", name="Bob's Bistro", tax_number="DE987654321")
    q, p = money.parse_quantity, money.parse_price
    books.create_product(tenant_id, code="BOOK-1", name="Field guide to refunds", barcodes=["9780000000001"],
                         stock_tracked=True, cost=p("6.00", "/cost"))
    books.create_product(tenant_id, code="MUG-1", name="Enamel mug", stock_tracked=True, cost=p("2.50", "/cost"))
    books.create_product(tenant_id, code="TSHIRT-1", name="T-shirt", stock_tracked=True, cost=p("4.00", "/cost"))
    books.create_product(tenant_id, code="WRAP", name="Gift wrapping (service)", stock_tracked=False)

    opening = two_months_ago.replace(day=1)
    for product, location, quantity in (("BOOK-1", "main", "40"), ("MUG-1", "main", "60"), ("MUG-1", "WH2", "20"),
                                        ("TSHIRT-1", "WH2", "30")):
        books.receive_stock(tenant_id, product=product, location=location, quantity=q(quantity, "/q"), day=opening)

    def line(product, quantity, price, rate, discount="0"):
        return InvoiceLineRequest(quantity=q(quantity, "/q"), unit_price=p(price, "/p"), tax_rate=q(rate, "/r"),
                                  product=product, discount_minor=money.parse_amount(discount, "/d", money.currency("EUR")))

    def cents(text):
        return money.parse_amount(text, "/a", money.currency("EUR"))

    books.record_invoice(tenant_id, RecordInvoice(
        number="INV-1001", customer="C001", date=two_months_ago,
        lines=(line("BOOK-1", "2", "12.50", "19"), line("MUG-1", "4", "8.00", "19", discount="2.00"),
               line("WRAP", "1", "3.00", "19")),
        payments=(PaymentRequest("card", cents("69.02")),)))
    books.record_invoice(tenant_id, RecordInvoice(
        number="INV-1002", customer="C002", date=last_month, prices_include_tax=True, location="WH2",
        lines=(line("TSHIRT-1", "3", "19.99", "19"), line("MUG-1", "1", "9.60", "7")),
        payments=(PaymentRequest("cash", cents("50.00")), PaymentRequest("card", cents("19.57")))))
    books.record_invoice(tenant_id, RecordInvoice(
        number="INV-1003", customer="C001", date=today,
        lines=(line("BOOK-1", "5", "12.50", "19"), line("WRAP", "1", "3.00", "19"))))

    ctx = Context(tenant_id=tenant_id, channel="cli")
    quiet = _Quiet()
    refunds.issue(ctx, IssueRefund(invoice="INV-1001", reason="Damaged in transit", posting_date=two_months_ago,
                                   lines=(RefundLineRequest(line=1, quantity=q("1", "/q")),)), quiet)
    refunds.issue(ctx, IssueRefund(invoice="INV-1002", reason="Wrong size", posting_date=last_month,
                                   lines=(RefundLineRequest(line=1, quantity=q("1", "/q")),)), quiet)
    refunds.issue(ctx, IssueRefund(invoice="INV-1002", reason="Customer changed mind", state="draft",
                                   lines=(RefundLineRequest(line=2),)), quiet)
    refunds.issue(ctx, IssueRefund(invoice="INV-1003", reason="Goodwill for late delivery",
                                   lines=(RefundLineRequest(amount_minor=cents("5.00"), tax_rate=q("19", "/r"),
                                                            description="Goodwill credit"),)), quiet)
    books.close_periods(tenant_id, last_month.replace(day=1) - timedelta(days=1))


def first_curl(base_url: str) -> str:
    return (f"curl -s {base_url}/v1/invoices/INV-1001 -H 'Authorization: Bearer {DEMO_TOKEN}'")


def demo_credentials() -> list[dict]:
    """Every demo tenant with the credentials its clients use: the native admin token of each, and
    each door's own (Internom's bearer token, Vodo's headers, CRM.COM's login, BeansBooks' auth
    fields, SnR2U's API key). All are public demo values; change them before real use."""
    from .seeds import beansbooks, crmcom, internom, snr2u, vodo
    return [
        {"tenant": DEMO_TENANT, "door": "native", "token": DEMO_TOKEN, "credentials": {}},
        {"tenant": internom.TENANT, "door": "internom", "token": internom.TOKEN,
         "credentials": {"Authorization": f"Bearer {internom.TOKEN}"}},
        {"tenant": vodo.TENANT, "door": "vodo", "token": vodo.TOKEN, "credentials": dict(vodo.CREDENTIALS)},
        {"tenant": crmcom.TENANT, "door": "crmcom", "token": crmcom.TOKEN,
         "credentials": {"username": crmcom.USERNAME, "password": crmcom.PASSWORD,
                         "organisation": crmcom.ORGANISATION}},
        {"tenant": beansbooks.TENANT, "door": "beansbooks", "token": beansbooks.ADMIN_TOKEN,
         "credentials": {"auth_uid": beansbooks.AUTH_UID, "auth_key": beansbooks.AUTH_KEY,
                         "auth_expiration": beansbooks.AUTH_EXPIRATION}},
        {"tenant": snr2u.TENANT, "door": "snr2u", "token": snr2u.TOKEN,
         "credentials": {"Authorization": f"Bearer {snr2u.API_KEY}"}},
    ]
