"""Demo tenant for the SnR2U door (seed document 004): the data its example request refers to.

Tenant ``snr2u`` (MYR, Malaysia, no tax, cash refunds rounded to 5 sen) with customer ``300-C001``,
location ``HQ``, stock items ``ITEM-001`` and ``ITEM-002`` counted in ``UNIT``, payment methods
``CASH`` and ``CARD``, and the cash invoice ``IV-00001`` (4 x ITEM-001 at 12.50 and 2 x ITEM-002 at
7.90 = 65.80 MYR), dated a week before the load. The API key ``snr2u-demo-key`` holds
``refund:create`` (SnR2U's ``CustomerRefundNote-Transaction.ADD``) and ``refund:read``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from ..domain import money
from ..domain.commands import InvoiceLineRequest, PaymentRequest, RecordInvoice
from ..service.books import Books
from ..service.tenants import create_token
from ..service.uow import Clock
from . import load_tenant_once

TENANT = "snr2u"
TOKEN = "sr_snr2u_admin_token_change_me"  # the tenant's admin token for the native API
API_KEY = "snr2u-demo-key"  # the SnR2U client's bearer API key: refund:create and refund:read
TIMEZONE = "Asia/Kuala_Lumpur"
TENANT_OPTIONS = {"currency": "MYR", "country": "MY", "timezone": TIMEZONE, "cash_rounding": "0.05"}

CUSTOMER, CUSTOMER_NAME, CUSTOMER_TIN = "300-C001", "Kedai Runcit Maju Sdn. Bhd.", "C20880050010"
LOCATION = "HQ"
INVOICE = "IV-00001"
UOM = "UNIT"
# (stock id, name, quantity sold, unit price, unit cost, opening stock)
ITEMS = (
    ("ITEM-001", "Thermos flask 1.5 L", "4", "12.50", "8.00", "20"),
    ("ITEM-002", "Enamel mug", "2", "7.90", "4.20", "30"),
)
METHODS = (("CASH", "Cash", "cash"), ("CARD", "Credit/debit card", "card"))
INVOICE_AGE_DAYS = 7


def load(engine: Engine, clock: Clock) -> bool:
    """The ``snr2u`` demo tenant, once (idempotent). True when it was created now."""
    return create(engine, clock)


def create(engine: Engine, clock: Clock, *, name: str = TENANT, token: str = TOKEN,
           api_key: str = API_KEY) -> bool:
    """The demo tenant under ``name`` with admin ``token`` and the client ``api_key`` (tests use
    their own name and keys: tokens are unique across tenants)."""
    return load_tenant_once(engine, name, token=token, clock=clock,
                            build=lambda tenant_id, loading: _build(engine, clock, tenant_id, loading, api_key),
                            **TENANT_OPTIONS)


def _build(engine: Engine, clock: Clock, tenant_id: int, tenant_name: str, api_key: str) -> None:
    books = Books(engine, clock)
    cur = money.currency("MYR")
    day = clock.today_in(TIMEZONE) - timedelta(days=INVOICE_AGE_DAYS)
    books.create_location(tenant_id, code=LOCATION, name="Headquarters (Kuala Lumpur)")
    books.create_customer(tenant_id, code=CUSTOMER, name=CUSTOMER_NAME, tax_number=CUSTOMER_TIN)
    for code, label, kind in METHODS:
        books.create_payment_method(tenant_id, code=code, name=label, kind=kind)
    lines = []
    for code, label, sold, price, cost, opening in ITEMS:
        books.create_product(tenant_id, code=code, name=label, unit=UOM, stock_tracked=True,
                             cost=money.parse_price(cost, "/cost"))
        books.receive_stock(tenant_id, product=code, location=LOCATION, day=day,
                            quantity=money.parse_quantity(opening, "/quantity"))
        lines.append(InvoiceLineRequest(quantity=money.parse_quantity(sold, "/quantity"),
                                        unit_price=money.parse_price(price, "/unit_price"), tax_rate=0,
                                        product=code))
    total = sum(money.extend(line.quantity, line.unit_price, cur) for line in lines)
    books.record_invoice(tenant_id, RecordInvoice(number=INVOICE, customer=CUSTOMER, date=day, location=LOCATION,
                                                  lines=tuple(lines), payments=(PaymentRequest("CASH", total),)))
    create_token(engine, tenant_name, permissions=("refund:create", "refund:read"), name="snr2u API key",
                 token=api_key, clock=clock)
