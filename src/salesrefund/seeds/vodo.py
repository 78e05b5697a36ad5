"""Demo tenant for the Vodo door: the data its seed document's example refers to.

Tenant ``vodo`` (SAR, Saudi Arabia, prices include 15 % VAT) with point of sale ``181`` whose
session ``8511111`` is open (and an earlier session ``8511110``, closed) at location ``RUH-1``, and
the POS invoice ``121052`` of the document's response: six items, 7,850.00 SAR paid in cash. The
door credential carries the document's own header values, so its curl example, with the invoice id
filled in, works as printed.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from ..domain import money
from ..domain.commands import InvoiceLineRequest, PaymentRequest, RecordInvoice
from ..service.books import Books
from ..service.doors import create_door_credential
from ..service.uow import Clock
from . import load_tenant_once

TENANT = "vodo"
TOKEN = "sr_vodo_demo_token_change_me"  # the tenant's admin token for the native API
CREDENTIALS = {  # the header values of the document's curl example
    "secure-business-key": "4765066450c0bd66325.48403130",
    "platform-key": "1234567",
    "platform": "web",
    "apikey": "efe2db322a53",
    "userToken": "425889726d580780d94cb542c9bb683318f41ce13a8749fd092b43075a4107ce",
}
from ..service.door_defaults import VODO_VAT_RATE as VAT_RATE  # noqa: E402
INVOICE = "121052"
INVOICE_DATE = date(2025, 3, 26)  # as the document's response shows
POS, SESSION, CLOSED_SESSION = "181", "8511111", "8511110"
LOCATION = "RUH-1"
CUSTOMER = "WALK-IN"

# (item id = product code, description, quantity, tax-inclusive unit price, VAT %, unit cost, opening stock)
ITEMS = (
    ("3025", "iPhone 15 (Apple, 17th generation iPhone)", "2", "3000", "15", "2400", "10"),
    ("2945", "Kevin Murphy Shimmer Me Blonde 100ml", "1", "1500", "15", "900", "12"),
    ("2944", "Kevin Murphy Blonde Angel Colour Enhancing Treatment 250ml", "1", "100", "15", "55", "20"),
    ("2943", "Kevin Murphy Blonde Angel Wash 1000ml", "1", "150", "15", "80", "20"),
    ("2941", "Kevin Murphy Treatment Elixir Flacon 50ml", "1", "100", "15", "50", "20"),
    ("2942", "Kevin Murphy Blonde Angel Treatment 1000ml (gift)", "1", "0", "0", "60", "20"),
)


def load(engine: Engine, clock: Clock, *, name: str = TENANT, token: str = TOKEN,
         credentials: dict | None = None) -> bool:
    """Load the demo tenant once (idempotent). Tests pass their own ``name``, ``token`` and
    ``credentials`` to build the same books in a tenant of their own."""
    credentials = credentials or CREDENTIALS
    return load_tenant_once(engine, name, token=token, clock=clock,
                            build=lambda tenant_id, loading: _build(engine, clock, tenant_id, loading, credentials),
                            currency="SAR", country="SA", timezone="Asia/Riyadh", prices_include_tax=True,
                            tax_rates=("15",), refund_to_other_methods=True)  # Vodo's tender split names any method


def _build(engine: Engine, clock: Clock, tenant_id: int, tenant: str, credentials: dict) -> None:
    books = Books(engine, clock)
    sar = money.currency("SAR")
    q, p = money.parse_quantity, money.parse_price
    books.create_location(tenant_id, code=LOCATION, name="Riyadh showroom")
    books.set_till(tenant_id, pos=POS, session=CLOSED_SESSION, location=LOCATION, state="closed")
    books.set_till(tenant_id, pos=POS, session=SESSION, location=LOCATION, state="open")
    books.create_customer(tenant_id, code=CUSTOMER, name="Walk-in customer")
    opening = INVOICE_DATE.replace(day=1)
    for code, description, _, _, _, cost, stock in ITEMS:
        books.create_product(tenant_id, code=code, name=description, stock_tracked=True, cost=p(cost, "/cost"))
        books.receive_stock(tenant_id, product=code, quantity=q(stock, "/quantity"), location=LOCATION, day=opening)
    lines = tuple(InvoiceLineRequest(quantity=q(quantity, "/q"), unit_price=p(price, "/p"), tax_rate=q(rate, "/r"),
                                     product=code, description=description)
                  for code, description, quantity, price, rate, _, _ in ITEMS)
    books.record_invoice(tenant_id, RecordInvoice(
        number=INVOICE, customer=CUSTOMER, date=INVOICE_DATE, lines=lines, prices_include_tax=True,
        location=LOCATION, payments=(PaymentRequest("cash", money.parse_amount("7850.00", "/amount", sar)),)))
    create_door_credential(engine, tenant, "vodo", login=credentials["secure-business-key"],
                           secret=credentials["userToken"], clock=clock,
                           settings={"apikey": credentials["apikey"], "platform_key": credentials["platform-key"],
                                     "vat_rate": VAT_RATE})
