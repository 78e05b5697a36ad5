"""Demo tenant for the Internom door (seed document 000): the data its example request refers to.

Tenant ``internom`` (MNT priced in whole tugrik, unlinked refunds allowed) with the branch
``5044251-export``, a customer whose tax number is ``8218528``, a stock-tracked book whose
barcode (ACS code) is ``9789919517953`` (sold at 14900, cost 9000, 20 in stock at the branch),
and the document's bearer token ``SW50ZXJub20hQCM=`` as the tenant's admin token. The document's
example request, sent verbatim, succeeds; sent again, it answers the same ``sale_name``.
"""

from __future__ import annotations

from sqlalchemy import Engine

from ..domain import money
from ..service.books import Books
from ..service.uow import Clock
from . import load_tenant_once

TENANT = "internom"
TOKEN = "SW50ZXJub20hQCM="  # the document's example bearer token
BRANCH = "5044251-export"
TAX_NUMBER = "8218528"
CUSTOMER = "C-8218528"
BARCODE = "9789919517953"
PRODUCT = "BOOK-9789919517953"
PRICE = "14900"  # the document's price_unit (products carry no price here: refunds say it)
COST = "9000"
OPENING_STOCK = "20"
TENANT_OPTIONS = {"currency": "MNT", "currency_exponent": 0, "allow_unlinked_refunds": True,
                  "country": "MN", "timezone": "Asia/Ulaanbaatar", "tax_rates": ("10",)}


def load(engine: Engine, clock: Clock) -> bool:
    """The ``internom`` demo tenant, once (idempotent). True when it was created now."""
    return create(engine, clock)


def create(engine: Engine, clock: Clock, *, name: str = TENANT, token: str = TOKEN) -> bool:
    """The demo tenant under ``name`` with admin ``token`` (tests use their own name and token)."""
    return load_tenant_once(engine, name, token=token, clock=clock,
                            build=lambda tenant_id, _loading: _build(engine, clock, tenant_id), **TENANT_OPTIONS)


def _build(engine: Engine, clock: Clock, tenant_id: int) -> None:
    books = Books(engine, clock)
    books.create_location(tenant_id, code=BRANCH, name="Internom branch 5044251 (export)")
    books.create_customer(tenant_id, code=CUSTOMER, name="Internom online customer", tax_number=TAX_NUMBER)
    books.create_product(tenant_id, code=PRODUCT, name="Book (ACS 9789919517953)", barcodes=[BARCODE],
                         stock_tracked=True, cost=money.parse_price(COST, "/cost"))
    books.receive_stock(tenant_id, product=PRODUCT, location=BRANCH,
                        quantity=money.parse_quantity(OPENING_STOCK, "/quantity"))
