"""The benchmark's books: one EUR tenant, customer C1, stock-tracked products P1..P3 (cost 0.50),
a pool of 3-line invoices (unit price 1.00, 19 % VAT, paid by card) and per-till API tokens.

The workload is the issue's: a posted refund of 1-3 units on each of the 3 lines of an invoice
(tax, one card payment, restock), with a distinct ``Idempotency-Key`` every time. The same body
generator feeds the HTTP load (through a data file read by the wrk script or the Python load
generator), the in-process runner and the growth builder.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from salesrefund.domain import money
from salesrefund.domain.commands import Context
from salesrefund.http import schemas
from salesrefund.http.problems import NativeResponder
from salesrefund.service.books import Books
from salesrefund.service.refunds import RefundService
from salesrefund.service.tenants import create_tenant, create_token
from salesrefund.service.uow import Clock
from salesrefund.store import tables as t

TENANT = "bench"
CURRENCY = money.Currency("EUR", 2)
PRODUCTS = ("P1", "P2", "P3")
UNIT_PRICE = "1.00"
TAX_RATE = "19"
COST = "0.50"
TILL_PERMISSIONS = ("refund:create", "refund:read")


@dataclass
class Fixture:
    url: str
    tenant: str
    tenant_id: int
    credential_id: int  # the admin credential (in-process calls record it as their caller)
    tokens: list[str] = field(default_factory=list)  # till tokens: refund:create refund:read
    invoices: list[str] = field(default_factory=list)
    units_per_line: int = 0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Fixture":
        return cls(**data)

    def write_data_file(self, path: Path) -> Path:
        """The data the load generators read: ``T <token>`` and ``I <invoice>`` lines."""
        lines = [f"T {tok}" for tok in self.tokens] + [f"I {inv}" for inv in self.invoices]
        path.write_text("\n".join(lines) + "\n")
        return path


def invoice_body(number: str, units: int, day) -> dict:
    net_minor = units * 100  # units x 1.00 EUR
    gross_line = net_minor + money.div_round(net_minor * 19, 100)
    total = 3 * gross_line
    return {"number": number, "customer": "C1", "date": day.isoformat(),
            "lines": [{"product": p, "quantity": str(units), "unit_price": UNIT_PRICE, "tax_rate": TAX_RATE}
                      for p in PRODUCTS],
            "payments": [{"method": "card", "amount": money.format_amount(total, CURRENCY)}]}


def setup_books(engine: Engine, *, tokens: int = 1, clock: Clock | None = None) -> Fixture:
    """Tenant, customer, products and ``tokens`` till tokens; no invoices yet."""
    clock = clock or Clock()
    created = create_tenant(engine, TENANT, currency="EUR", clock=clock)
    books = Books(engine, clock)
    books.create_customer(created["id"], code="C1", name="Bench Customer", tax_number="TX-BENCH")
    for code in PRODUCTS:
        books.create_product(created["id"], code=code, name=f"Product {code}", stock_tracked=True,
                             cost=money.parse_price(COST, "/cost"))
    fixture = Fixture(url=str(engine.url.render_as_string(hide_password=False)), tenant=TENANT,
                      tenant_id=created["id"], credential_id=created["credential_id"])
    for i in range(tokens):
        fixture.tokens.append(create_token(engine, TENANT, permissions=TILL_PERMISSIONS, name=f"till-{i}",
                                           clock=clock)["token"])
    return fixture


def add_invoices(engine: Engine, fixture: Fixture, count: int, units_per_line: int, *, prefix: str = "INV",
                 clock: Clock | None = None) -> list[str]:
    clock = clock or Clock()
    books = Books(engine, clock)
    day = clock.today_in("UTC") - timedelta(days=2)
    numbers = []
    for _ in range(count):
        number = f"{prefix}-{uuid.uuid4().hex[:12]}"
        body = schemas.InvoiceIn.model_validate(invoice_body(number, units_per_line, day))
        books.record_invoice(fixture.tenant_id, schemas.record_invoice(body, CURRENCY))
        numbers.append(number)
    fixture.invoices += numbers
    fixture.units_per_line = units_per_line
    return numbers


def refund_body(invoice: str, rng: random.Random) -> dict:
    """The workload's refund: 1-3 units of each of the invoice's 3 lines, restocked, paid back
    to the invoice's card (the default)."""
    return {"invoice": invoice, "lines": [{"line": n, "quantity": str(rng.randint(1, 3))} for n in (1, 2, 3)]}


class InProcess:
    """The refund service called as the native route calls it, without HTTP: the body validated
    by the same pydantic model, the same command, context, responder and idempotency key."""

    def __init__(self, engine: Engine, fixture: Fixture):
        self.service = RefundService(engine)
        self.fixture = fixture
        self.responder = NativeResponder()

    def refund(self, body: dict, key: str):
        model = schemas.RefundIn.model_validate(body)
        command = schemas.issue_refund(model, CURRENCY)
        ctx = Context(tenant_id=self.fixture.tenant_id, channel="native", credential_id=self.fixture.credential_id,
                      request_id=uuid.uuid4().hex, request=model.model_dump(mode="json"), idempotency_key=key)
        return self.service.issue(ctx, command, self.responder)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table the refund path writes (to compare the engine's write set with the baseline's)."""
    names = ["refunds", "refund_lines", "refund_payments", "refund_taxes", "journal_entries", "journal_lines",
             "stock_moves", "audit_events", "idempotency_keys", "sequences", "invoices", "invoice_lines"]
    counts = {}
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        for name in names:
            counts[name] = conn.execute(select(func.count()).select_from(t.metadata.tables[name])).scalar_one()
    return counts


def posted_refunds(engine: Engine) -> int:
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return conn.execute(select(func.count()).select_from(t.refunds).where(t.refunds.c.state == "posted")).scalar_one()


def save(fixture: Fixture, path: Path) -> None:
    path.write_text(json.dumps(fixture.to_json()))
