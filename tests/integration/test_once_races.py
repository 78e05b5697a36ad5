"""Issue 9, items 11 and 12: races on the tenant's period close and on master data.

Both engines run these; SQLite serializes writers (``BEGIN IMMEDIATE``), so the races bite on
PostgreSQL, where they were found: a close through D-10 racing a close through D-40 sometimes
ended closed through D-40 only, and 16 concurrent creates of one customer, product, location or
barcode answered 500 for most losers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from salesrefund.domain.errors import RefundError
from salesrefund.service.books import Books
from salesrefund.store.repository import TenantStore

TODAY = date(2026, 6, 15)
THREADS = 16


def _tenant(make_tenant, api_for) -> tuple[dict, object]:
    tenant = make_tenant()
    return tenant, api_for(tenant["token"])


# -- item 11: closed_through never moves back --------------------------------------------------------

def test_a_later_close_is_never_overwritten_by_an_earlier_one_that_read_first(make_tenant, engine, clock,
                                                                             monkeypatch):
    """Each round: the closes through D-10 and D-40 both read the tenant, then D-40 waits a moment
    so D-10 commits first. Reading before the lock, D-40 then wrote over D-10."""
    books = Books(engine, clock)
    barrier = threading.Barrier(2, timeout=0.5)
    waiting = threading.local()
    original = TenantStore.tenant

    def tenant(self, **kwargs):
        row = original(self, **kwargs)
        if getattr(waiting, "once", False):
            waiting.once = False
            try:
                barrier.wait()  # both closes have read (before the fix); after it, the lock holder times out
            except threading.BrokenBarrierError:
                pass
            time.sleep(waiting.after)
        return row

    monkeypatch.setattr(TenantStore, "tenant", tenant)

    def close(tenant_id: int, days: int, after: float) -> None:
        waiting.once, waiting.after = True, after
        books.close_periods(tenant_id, TODAY - timedelta(days=days))

    for _ in range(3):
        tenant = make_tenant()
        barrier.reset()
        with ThreadPoolExecutor(2) as pool:
            later = pool.submit(close, tenant["id"], 10, 0)
            earlier = pool.submit(close, tenant["id"], 40, 0.2)
            later.result(), earlier.result()
        assert books.periods(tenant["id"])["closed_through"] == str(TODAY - timedelta(days=10))


def test_concurrent_closes_end_at_the_latest_date(make_tenant, engine, clock):
    books = Books(engine, clock)
    tenant = make_tenant()
    days = list(range(5, 5 + THREADS))
    start = threading.Barrier(THREADS)

    def close(n: int) -> None:
        start.wait()
        books.close_periods(tenant["id"], TODAY - timedelta(days=n))

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(close, n) for n in days]:
            future.result()
    assert books.periods(tenant["id"])["closed_through"] == str(TODAY - timedelta(days=min(days)))


# -- item 12: concurrent creates answer 409 naming the one that exists ----------------------------------

CREATES = {
    "customer": (lambda books, tid, i: books.create_customer(tid, code="C-RACE", name=f"n{i}"), "/code", "C-RACE"),
    "product": (lambda books, tid, i: books.create_product(tid, code="P-RACE", name=f"n{i}"), "/code", "P-RACE"),
    "location": (lambda books, tid, i: books.create_location(tid, code="L-RACE", name=f"n{i}"), "/code", "L-RACE"),
    "barcode": (lambda books, tid, i: books.create_product(tid, code=f"P-{i}", name="x", barcodes=["BC-RACE"]),
                "/barcodes/0", "BC-RACE"),
}


@pytest.mark.parametrize("kind", list(CREATES))
def test_concurrent_creates_of_one_code_answer_409_naming_it(make_tenant, engine, clock, kind):
    create, field, code = CREATES[kind]
    books = Books(engine, clock)
    tenant = make_tenant()
    start = threading.Barrier(THREADS)

    def attempt(i: int):
        start.wait()
        try:
            create(books, tenant["id"], i)
            return "created"
        except RefundError as error:
            return error

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))  # anything else (IntegrityError: a 500) raises here
    assert outcomes.count("created") == 1, outcomes
    for error in outcomes:
        if error != "created":
            assert (error.code, error.status, error.first.field) == ("duplicate", 409, field)
            assert code in error.first.text()


def test_a_concurrent_duplicate_answers_409_over_http(make_tenant, api_for, app):
    """The same race through the API: one 201, the rest 409 ``duplicate`` naming the code."""
    from fastapi.testclient import TestClient

    tenant = make_tenant()
    start = threading.Barrier(8)

    def attempt(_):
        with TestClient(app, raise_server_exceptions=False) as client:
            start.wait()
            return client.post("/v1/customers", json={"code": "C-HTTP", "name": "x"},
                               headers={"Authorization": f"Bearer {tenant['token']}"})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(attempt, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            body = response.json()
            assert body["code"] == "duplicate" and body["errors"][0]["field"] == "/code"
            assert "C-HTTP" in body["detail"]
