"""Faults inside the transaction (issue 4, proof 3).

For each statement of the refund write path, a failure is injected right after it (and once more
at commit): the request fails, the database is left exactly as it was (every table's rows, hashed),
and a retry with the same Idempotency-Key then succeeds exactly once. The hook is test-only:
SQLAlchemy event listeners on the engine; the failure kinds are drawn from a seeded generator.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError

from salesrefund.store import tables as t

SEED = 20261121


class Injector:
    """Counts statements while armed; raises right after statement number ``fail_at``."""

    def __init__(self, engine, rng: random.Random):
        self.engine = engine
        self.rng = rng
        self.fail_at: int | None = None
        self.at_commit = False
        self.count = 0
        self.fired = False
        event.listen(engine, "after_cursor_execute", self._after_statement)
        event.listen(engine, "commit", self._before_commit)

    def arm(self, fail_at: int | None = None, *, at_commit: bool = False) -> None:
        self.fail_at, self.at_commit, self.count, self.fired = fail_at, at_commit, 0, False

    def disarm(self) -> None:
        self.fail_at, self.at_commit = None, False

    def close(self) -> None:
        event.remove(self.engine, "after_cursor_execute", self._after_statement)
        event.remove(self.engine, "commit", self._before_commit)

    def _fault(self):
        self.fired = True
        if self.rng.random() < 0.5:
            return OperationalError("injected", {}, Exception("injected I/O error"))
        return RuntimeError("injected fault")

    def _after_statement(self, conn, cursor, statement, parameters, context, executemany):
        if self.fail_at is None:
            return
        self.count += 1
        if self.count == self.fail_at:
            raise self._fault()

    def _before_commit(self, conn):
        if self.at_commit:
            self.at_commit = False
            raise self._fault()


def fingerprint(engine) -> str:
    """Every row of every table, in key order, hashed: equal means the database did not change.
    The rate-limit counters are left out: a failed request is still a request, counted before it
    reaches the refund's transaction."""
    digest = hashlib.sha256()
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        for table in t.metadata.sorted_tables:
            if table is t.rate_windows:
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest.update(f"{table.name}:{len(rows)}:{rows!r}".encode())
    return digest.hexdigest()


@pytest.fixture
def injector(engine):
    hook = Injector(engine, random.Random(SEED))
    yield hook
    hook.close()


def new_invoice(api, number: str) -> None:
    response = api.post("/v1/invoices", {
        "number": number, "customer": "C1", "date": "2026-06-01",
        "lines": [{"product": "BOOK", "quantity": "3", "unit_price": "10.00", "tax_rate": "15"},
                  {"product": "MUG", "quantity": "2", "unit_price": "4.99", "tax_rate": "15"}],
        "payments": [{"method": "cash", "amount": "20.00"}]})
    assert response.status_code == 201, response.text


def refund_body(number: str) -> dict:
    # touches every effect: two lines, restock, a free amount, a store-credit payment, numbering;
    # 1 x 10.00 + 15 % = 11.50, 1 x 4.99 + 15 % = 5.74, goodwill 1.00: 18.24
    return {"invoice": number, "reason": "fault test",
            "lines": [{"line": 1, "quantity": "1"}, {"line": 2, "quantity": "1"},
                      {"amount": "1.00", "tax_rate": "15", "description": "goodwill"}],
            "payments": [{"method": "cash", "amount": "10.00"}, {"method": "store_credit", "amount": "8.24"}]}


def test_a_failure_after_any_statement_changes_nothing_and_the_retry_succeeds_once(books, engine, injector):
    api = books["api"]
    statements_seen = []
    for fail_at in range(1, 200):
        number = f"FLT-{fail_at}"
        new_invoice(api, number)
        key = f"fault-{fail_at}"
        before = fingerprint(engine)
        injector.arm(fail_at)
        response = api.post("/v1/refunds", refund_body(number), key=key)
        injector.disarm()
        if not injector.fired:  # the request has fewer statements than fail_at: all were covered
            assert response.status_code == 201, response.text
            statements_seen.append(injector.count)
            break
        assert response.status_code in (500, 503), (fail_at, response.status_code, response.text)
        assert fingerprint(engine) == before, f"a failure after statement {fail_at} left changes behind"
        retry = api.post("/v1/refunds", refund_body(number), key=key)
        assert retry.status_code == 201, retry.text
        again = api.post("/v1/refunds", refund_body(number), key=key)
        assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == retry.json()
        assert len(api.get("/v1/refunds", invoice=number).json()["items"]) == 1
    else:
        pytest.fail("the refund path never completed within 200 statements")
    print(f"\nfaults injected after each of {statements_seen[0]} statements of the refund path; "
          "each rolled back completely and each retry succeeded once")
    assert statements_seen[0] >= 10


def test_a_failure_at_commit_changes_nothing_and_the_retry_succeeds_once(books, engine, injector):
    api = books["api"]
    new_invoice(api, "FLT-C")
    before = fingerprint(engine)
    injector.arm(None, at_commit=True)
    response = api.post("/v1/refunds", refund_body("FLT-C"), key="fault-commit")
    injector.disarm()
    assert injector.fired and response.status_code in (500, 503)
    assert fingerprint(engine) == before
    assert api.post("/v1/refunds", refund_body("FLT-C"), key="fault-commit").status_code == 201
    assert len(api.get("/v1/refunds", invoice="FLT-C").json()["items"]) == 1


def test_the_database_guard_survives_injected_faults(books, engine, injector):
    """After many injected faults the books still pass every end-to-end check of this tenant."""
    from salesrefund.service.check import run_checks
    api = books["api"]
    for fail_at in (3, 7, 11):
        new_invoice(api, f"FLT-G{fail_at}")
        injector.arm(fail_at)
        api.post("/v1/refunds", refund_body(f"FLT-G{fail_at}"), key=f"g{fail_at}")
        injector.disarm()
    tenant_id = books["tenant"]["id"]
    findings = [f for found in run_checks(engine).values() for f in found if f.tenant_id == tenant_id]
    assert findings == []
