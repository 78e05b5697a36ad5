"""salesrefund through PgBouncer in transaction pooling mode (issue 15).

A private PostgreSQL cluster and a real PgBouncer (Debian's package) with two server
connections, so consecutive transactions of one client land on different server connections and
clients share them. Shown here: psycopg's named prepared statements break behind it (the
control), ``SALESREFUND_DB_POOLER=transaction`` fixes that; the refund path, idempotent replays,
the advisory lock on an idempotency key held by a transaction in flight, voids, period closes and
``salesrefund check`` all work through it. The existing suite runs through it too:
``python tests/scale/scale_kit.py with-pgbouncer -- pytest ...`` (README; CI runs a subset).

PgBouncer is installed by ``.ci/run``; elsewhere the tests are skipped when it is missing,
unless ``SALESREFUND_REQUIRE_PGBOUNCER=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import os
import threading
import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient
from scale_kit import Cluster, PgBouncer, pgbouncer_available, postgres_available, run

from salesrefund.app import create_app
from salesrefund.service.check import run_checks
from salesrefund.service.refunds import Settings
from salesrefund.service.tenants import create_tenant
from salesrefund.service.uow import UnitOfWork
from salesrefund.store.engine import ENV_POOLER, make_engine
from salesrefund.store.migrate import migrate

if os.environ.get("SALESREFUND_REQUIRE_PGBOUNCER") != "1":
    pytestmark = pytest.mark.skipif(not (pgbouncer_available() and postgres_available()),
                                    reason="needs pgbouncer (apt-get install pgbouncer) and PostgreSQL")


@pytest.fixture(scope="module")
def bouncer():
    cluster = Cluster().init().start()
    pool = None
    try:
        run(["psql", cluster.url(), "-qc", "CREATE DATABASE salesrefund"])
        pool = PgBouncer(cluster.host, cluster.port, pool_size=2).start()
        yield pool
    finally:
        if pool is not None:
            pool.stop()
        cluster.stop()


@pytest.fixture
def pooled_engine(bouncer, monkeypatch):
    monkeypatch.setenv(ENV_POOLER, "transaction")
    engine = make_engine(bouncer.url("salesrefund"), pool_size=3)
    migrate(engine)
    yield engine
    engine.dispose()


def test_named_prepared_statements_break_behind_transaction_pooling(bouncer):
    """The control: psycopg's default (prepare a statement by name after 5 runs) fails through
    PgBouncer 1.18 in transaction mode, because the next transaction may run on a server
    connection where that name was never prepared, or was prepared by another client."""
    errors = []
    conns = [psycopg.connect(bouncer.url("salesrefund")) for _ in range(3)]
    try:
        for i in range(12):
            for conn in conns:
                try:
                    conn.execute("SELECT %s::int + 1", (i,)).fetchone()
                    conn.commit()
                except psycopg.errors.Error as error:
                    errors.append(type(error).__name__)
                    conn.rollback()
    finally:
        for conn in conns:
            conn.close()
    assert {"DuplicatePreparedStatement", "InvalidSqlStatementName"} & set(errors), errors

    # the same traffic without named statements (what SALESREFUND_DB_POOLER=transaction sets)
    conns = [psycopg.connect(bouncer.url("salesrefund"), prepare_threshold=None) for _ in range(3)]
    try:
        for i in range(12):
            for conn in conns:
                assert conn.execute("SELECT %s::int + 1", (i,)).fetchone() == (i + 1,)
                conn.commit()
    finally:
        for conn in conns:
            conn.close()


def _books(engine) -> tuple[TestClient, dict]:
    tenant = create_tenant(engine, f"pgb-{uuid.uuid4().hex[:8]}", currency="EUR")
    client = TestClient(create_app(engine, settings=Settings()), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {tenant['token']}"
    assert client.post("/v1/customers", json={"code": "C1", "name": "One"}).status_code == 201
    assert client.post("/v1/products", json={"code": "BOOK", "name": "Book", "stock_tracked": True,
                                             "cost": "6.00"}).status_code == 201
    r = client.post("/v1/invoices", json={
        "number": "INV-1", "customer": "C1", "date": "2026-01-05",
        "lines": [{"product": "BOOK", "quantity": "40", "unit_price": "10.00", "tax_rate": "15"}],
        "payments": [{"method": "card", "amount": "460.00"}]})
    assert r.status_code == 201, r.text
    return client, tenant


def test_refunds_replays_voids_and_check_through_pgbouncer(pooled_engine):
    client, tenant = _books(pooled_engine)
    answers = {}
    for i in range(12):  # every statement of the path runs many times (psycopg would prepare it)
        key = f"k-{i}"
        r = client.post("/v1/refunds", json={"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]},
                        headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.text
        answers[key] = r.json()
    for key, first in answers.items():
        again = client.post("/v1/refunds", json={"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]},
                            headers={"Idempotency-Key": key})
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first
    reused = client.post("/v1/refunds", json={"invoice": "INV-1", "lines": [{"line": 1, "quantity": "2"}]},
                         headers={"Idempotency-Key": "k-0"})
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    numbers = sorted(a["number"] for a in answers.values())
    assert numbers == [f"CN-{numbers[0][3:7]}-{n:06d}" for n in range(1, 13)]  # gapless (R16)
    one = next(iter(answers.values()))
    voided = client.post(f"/v1/refunds/{one['id']}/void", json={"reason": "test"})
    assert voided.status_code == 200 and voided.json()["state"] == "voided", voided.text
    invoice = client.get("/v1/invoices/INV-1").json()
    assert invoice["lines"][0]["refunded_quantity"] == "11"
    over = client.post("/v1/refunds", json={"invoice": "INV-1", "lines": [{"line": 1, "quantity": "30"}]})
    assert over.status_code == 422 and over.json()["code"] == "quantity_exceeds_refundable"
    assert client.post("/v1/periods/close", json={"through": "2026-01-31"}).status_code == 200
    assert all(not findings for findings in run_checks(pooled_engine).values())


def test_a_key_in_flight_is_locked_across_pooled_connections(pooled_engine):
    """The idempotency key's advisory lock is transaction-scoped, so it lives exactly as long as
    the transaction holding it, on whichever server connection PgBouncer gave that transaction."""
    client, tenant = _books(pooled_engine)
    body = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}
    holding, release = threading.Event(), threading.Event()

    def hold_the_key() -> None:
        with UnitOfWork(pooled_engine, tenant["id"]) as uow:
            assert uow.store.try_lock_key("busy-key")
            holding.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_the_key)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        busy = client.post("/v1/refunds", json=body, headers={"Idempotency-Key": "busy-key"})
        assert busy.status_code == 409 and busy.json()["code"] == "idempotency_key_in_use", busy.text
        assert busy.headers.get("Retry-After")
    finally:
        release.set()
        holder.join(timeout=30)
    done = client.post("/v1/refunds", json=body, headers={"Idempotency-Key": "busy-key"})
    assert done.status_code == 201, done.text  # the lock ended with its transaction
    again = client.post("/v1/refunds", json=body, headers={"Idempotency-Key": "busy-key"})
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == done.json()


def test_an_unknown_pooler_mode_is_refused(monkeypatch):
    monkeypatch.setenv(ENV_POOLER, "statement")
    with pytest.raises(ValueError, match="SALESREFUND_DB_POOLER"):
        make_engine("postgresql://postgres@127.0.0.1:1/none")
