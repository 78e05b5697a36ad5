"""Demo tenant for the CRM.COM door: the data a refunds/create request of its document refers to.

Tenant ``crmcom`` (EUR, Cyprus, Asia/Nicosia). Log in with ``mpadministrator`` / ``1234``,
organisation ``CRMDEMO``. The accounts receivable ``ACR0000001`` (customer "Andreas Georgiou",
alternative code = tax number ``CY10000001X``) is owed 500.00: an invoice of 500.00 (420.17 + 19 %
VAT) paid in cash last month was refunded in full to store credit, so the ledger holds it on 2200
Customer credit exactly as the customer's credit balance says. The financial transaction type
``Refund`` defaults to the ``Cash`` method; ``Card`` is processed by a payment gateway and needs a
payment preference (``Visa ending 4242`` belongs to ACR0000001); ``Bank Transfer`` pays by bank;
category ``General``. Last month is closed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from ..domain import money
from ..domain.commands import Context, InvoiceLineRequest, IssueRefund, PaymentRequest, RecordInvoice, RefundLineRequest
from ..service.books import Books
from ..service.doors import create_door_credential
from ..service.refunds import RefundService
from ..service.uow import Clock
from . import load_tenant_once

TENANT = "crmcom"
TOKEN = "sr_crmcom_demo_token_change_me"
USERNAME = "mpadministrator"
PASSWORD = "1234"
ORGANISATION = "CRMDEMO"
ACCOUNT = "ACR0000001"
TENANT_OPTIONS = {"currency": "EUR", "country": "CY", "timezone": "Asia/Nicosia"}

# The organisation's configuration, kept in the door credential's settings (CRM.COM-style ids).
from ..service.door_defaults import (  # noqa: E402,F401  (the defaults of every new CRM.COM credential)
    BANK_ID, CARD_ID, CASH_ID, GENERAL_ID, REFUND_TYPE_ID, VISA_PREFERENCE_ID, crmcom_settings as settings,
)

class _Quiet:
    def success(self, result, status, reads=None):
        return result

    def failure(self, error):
        raise error


def build(engine: Engine, clock: Clock, tenant_id: int, tenant_name: str, *, username: str = USERNAME,
          password: str = PASSWORD, organisation: str = ORGANISATION) -> None:
    """Build the demo books in tenant ``tenant_name`` (reusable by tests under other names/logins)."""
    books, refunds = Books(engine, clock), RefundService(engine, clock)
    cur = money.currency("EUR")
    today = clock.today_in(TENANT_OPTIONS["timezone"])
    last_month_end = today.replace(day=1) - timedelta(days=1)
    sold_on, credited_on = last_month_end.replace(day=10), last_month_end.replace(day=20)

    books.create_customer(tenant_id, code=ACCOUNT, name="Andreas Georgiou", tax_number="CY10000001X",
                          email="andreas@example.com")
    books.create_customer(tenant_id, code="ACR0000002", name="Maria Ioannou", tax_number="CY10000002Y")
    books.record_invoice(tenant_id, RecordInvoice(
        number="INV-0000001", customer=ACCOUNT, date=sold_on,
        lines=(InvoiceLineRequest(quantity=money.parse_quantity("1", "/q"),
                                  unit_price=money.parse_price("420.17", "/p"),
                                  tax_rate=money.parse_rate("19", "/r"), description="Annual subscription"),),
        payments=(PaymentRequest("cash", money.parse_amount("500.00", "/a", cur)),)))
    refunds.issue(Context(tenant_id=tenant_id, channel="native"), IssueRefund(
        invoice="INV-0000001", reason="Subscription cancelled: credited to the customer's account",
        posting_date=credited_on, lines=(RefundLineRequest(line=1),),
        payments=(PaymentRequest("store_credit", money.parse_amount("500.00", "/a", cur)),)), _Quiet())
    books.close_periods(tenant_id, last_month_end)
    create_door_credential(engine, tenant_name, "crmcom", login=username, secret=password,
                           settings=settings(organisation), clock=clock)


def load(engine: Engine, clock: Clock) -> bool:
    return load_tenant_once(engine, TENANT, token=TOKEN, clock=clock,
                            build=lambda tenant_id, name: build(engine, clock, tenant_id, name), **TENANT_OPTIONS)
