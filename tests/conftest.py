"""Shared fixtures. One database per test session; each test makes its own tenant(s), so tests
are isolated by the same tenancy rules the product enforces (R19).

The engine is SQLite by default; ``SALESREFUND_TEST_DATABASE_URL=postgresql://...`` runs the very
same tests on PostgreSQL (its ``public`` schema is recreated at session start).
"""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import date, datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from salesrefund.app import create_app
from salesrefund.service.refunds import Settings
from salesrefund.service.tenants import create_tenant, create_token
from salesrefund.service.uow import Clock
from salesrefund.store.engine import make_engine
from salesrefund.store.migrate import migrate

TEST_DATABASE_URL = "SALESREFUND_TEST_DATABASE_URL"
FIXED_NOW = datetime(2026, 6, 15, 10, 0, tzinfo=timezone.utc)


class FixedClock(Clock):
    """A clock tests can set: ``clock.set(date(2026, 7, 1))``."""

    def __init__(self, now: datetime = FIXED_NOW):
        self.current = now

    def now(self) -> datetime:
        return self.current

    def set(self, day: date, hour: int = 10) -> None:
        self.current = datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get(TEST_DATABASE_URL)
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def app(engine, clock):
    return create_app(engine, clock=clock, settings=Settings())


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


_names = itertools.count(1)


@pytest.fixture
def make_tenant(engine, clock):
    """``make_tenant(currency="SAR", prices_include_tax=True, ...)`` -> dict with name, id, token."""

    def make(currency: str = "EUR", **options) -> dict:
        name = f"t{next(_names)}-{uuid.uuid4().hex[:8]}"
        return create_tenant(engine, name, currency=currency, clock=clock, **options)

    return make


@pytest.fixture
def make_token(engine, clock):
    def make(tenant: dict, *permissions: str, **options) -> str:
        return create_token(engine, tenant["tenant"], permissions=permissions, clock=clock, **options)["token"]

    return make


class Api:
    """A tiny client for one credential: ``api.post("/v1/refunds", {...}, key="k1")``."""

    def __init__(self, client: TestClient, token: str):
        self.client = client
        self.token = token

    def headers(self, key: str | None = None, extra: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return {**headers, **(extra or {})}

    def get(self, path: str, **params):
        return self.client.get(path, headers=self.headers(), params=params or None)

    def post(self, path: str, body: dict | None = None, *, key: str | None = None, headers: dict | None = None):
        return self.client.post(path, json=body, headers=self.headers(key, headers))

    def patch(self, path: str, body: dict, *, key: str | None = None):
        return self.client.patch(path, json=body, headers=self.headers(key))

    def delete(self, path: str):
        return self.client.delete(path, headers=self.headers())


@pytest.fixture
def api_for(client):
    return lambda token: Api(client, token)


@pytest.fixture
def books(make_tenant, api_for):
    """A ready tenant (EUR, tax-exclusive) with customer C1, products, and invoice INV-1:
    line 1: 3 x BOOK at 10.00, 15 %  (stock-tracked, cost 6.00)  -> net 30.00 tax 4.50 gross 34.50
    line 2: 2 x MUG  at  4.99, 15 %  (stock-tracked, cost 2.00)  -> net  9.98 tax 1.50 gross 11.48
    line 3: 1 x WRAP at  2.00,  0 %  (service)                   -> net  2.00 tax 0.00 gross  2.00
    paid 47.98 by card; dated 2026-06-01 (today is 2026-06-15)."""
    tenant = make_tenant()
    api = api_for(tenant["token"])
    assert api.post("/v1/customers", {"code": "C1", "name": "Customer One", "tax_number": "TX1"}).status_code == 201
    for code, tracked, cost in (("BOOK", True, "6.00"), ("MUG", True, "2.00"), ("WRAP", False, "0")):
        r = api.post("/v1/products", {"code": code, "name": code.title(), "stock_tracked": tracked, "cost": cost,
                                      "barcodes": [f"BC-{code}"]})
        assert r.status_code == 201, r.text
    r = api.post("/v1/invoices", {
        "number": "INV-1", "customer": "C1", "date": "2026-06-01",
        "lines": [{"product": "BOOK", "quantity": "3", "unit_price": "10.00", "tax_rate": "15"},
                  {"product": "MUG", "quantity": "2", "unit_price": "4.99", "tax_rate": "15"},
                  {"product": "WRAP", "quantity": "1", "unit_price": "2.00", "tax_rate": "0"}],
        "payments": [{"method": "card", "amount": "47.98"}]})
    assert r.status_code == 201, r.text
    return {"tenant": tenant, "api": api, "invoice": r.json()}
