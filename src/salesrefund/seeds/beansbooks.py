"""Demo tenant for the BeansBooks door (seed document 003): the data a BeansBooks refund refers to.

Tenant ``beansbooks`` (USD, tax-exclusive) with customer ``1`` and sale ``1`` (our invoice number
"1", dated a week before the load, on account: no payment) of two lines, 2 x 49.99 "Coffee beans,
1 kg" and 1 x 15.00 "Shipping", both under BeansBooks tax 1 (8.25 %). The door credential is
``auth_uid`` 1, ``auth_key`` ``beans-demo-key``, ``auth_expiration`` 1700000000; its settings hold
the expiration, the tax and the receivable account (id 1). A refund of one 49.99 item comes to
net 49.99 and tax 4.12 (round(49.99 x 8.25 %)).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from ..domain import money
from ..domain.commands import InvoiceLineRequest, RecordInvoice
from ..service.books import Books
from ..service.doors import create_door_credential
from ..service.uow import Clock
from . import load_tenant_once
from ..service.door_defaults import INCOME_ACCOUNT_ID, RECEIVABLE_ACCOUNT_ID, TAX_ID, TAX_PERCENT  # noqa: F401

TENANT = "beansbooks"
CHANNEL = "beansbooks"  # the door of the credential
ADMIN_TOKEN = "sr_beansbooks_demo_token_change_me"  # the tenant's admin token for the native API
AUTH_UID = 1
AUTH_KEY = "beans-demo-key"
AUTH_EXPIRATION = 1700000000
CUSTOMER = "1"
SALE = "1"
LINES = (("Coffee beans, 1 kg", "2", "49.99"), ("Shipping", "1", "15.00"))
TENANT_OPTIONS = {"currency": "USD", "country": "US", "timezone": "UTC"}


PERMISSIONS = ("refund:create", "refund:read", "refund:void")


from ..service.door_defaults import beansbooks_settings as settings  # noqa: E402,F401


def load(engine: Engine, clock: Clock) -> bool:
    """The ``beansbooks`` demo tenant, once (idempotent). True when it was created now."""
    return create(engine, clock)


def create(engine: Engine, clock: Clock, *, name: str = TENANT, token: str = ADMIN_TOKEN,
           auth_uid: int = AUTH_UID, auth_key: str = AUTH_KEY, auth_expiration: int = AUTH_EXPIRATION) -> bool:
    """The demo tenant under ``name`` (tests use their own name, token and ``auth_uid``)."""
    def build(tenant_id: int, loading: str) -> None:
        _build(engine, clock, tenant_id)
        # refund, look a refund up and cancel it (issue 13): BeansBooks' user may do all three
        create_door_credential(engine, loading, CHANNEL, login=str(auth_uid), secret=auth_key,
                               permissions=PERMISSIONS, settings=settings(auth_expiration), clock=clock)

    return load_tenant_once(engine, name, token=token, clock=clock, build=build, **TENANT_OPTIONS)



def _build(engine: Engine, clock: Clock, tenant_id: int) -> None:
    books = Books(engine, clock)
    cur = money.currency("USD")
    books.create_customer(tenant_id, code=CUSTOMER, name="Bean There Coffee Co.", tax_number="US-84-1234567",
                          email="accounts@beanthere.example")
    day = clock.today_in(TENANT_OPTIONS["timezone"]) - timedelta(days=7)
    books.record_invoice(tenant_id, RecordInvoice(
        number=SALE, customer=CUSTOMER, date=day, currency=cur.code, prices_include_tax=False,
        lines=tuple(InvoiceLineRequest(quantity=money.parse_quantity(quantity, "/quantity"),
                                       unit_price=money.parse_price(price, "/unit_price"),
                                       tax_rate=money.parse_rate(TAX_PERCENT, "/tax_rate"), description=text)
                    for text, quantity, price in LINES)))
