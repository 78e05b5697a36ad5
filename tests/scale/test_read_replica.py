"""Reads that may lag on a streaming replica, writes and read-your-write paths on the primary
(issue 15).

The setup starts a private primary (initdb) and a streaming replica of it (``pg_basebackup -R``
into a temporary directory, a second postmaster on another port). With the replica's replay
paused, a refund is written: its answer, its idempotent replay, ``GET /v1/refunds/{id}`` and the
invoice's figures come from the primary at once, while the refund lists, the journal, the trial
balance and stock (served by the replica) do not show it yet; once replay resumes, they do.
``salesrefund check`` reads the replica when ``SALESREFUND_READ_DATABASE_URL`` is set.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from scale_kit import Cluster, postgres_available, run
from sqlalchemy import text

from salesrefund.app import create_app
from salesrefund.service.refunds import Settings
from salesrefund.service.tenants import create_tenant
from salesrefund.store.engine import make_engine
from salesrefund.store.migrate import migrate

pytestmark = pytest.mark.skipif(not postgres_available(), reason="needs the PostgreSQL server binaries")


@pytest.fixture(scope="module")
def pair():
    primary = Cluster().init().start()
    replica = None
    try:
        run(["psql", primary.url(), "-qc", "CREATE DATABASE salesrefund"])
        replica = Cluster().replica_of(primary).start()
        yield primary, replica
    finally:
        if replica is not None:
            replica.stop()
        primary.stop()


@pytest.fixture(scope="module")
def engines(pair):
    primary, replica = pair
    writer = make_engine(primary.url("salesrefund"), pool_size=2)
    migrate(writer)
    reader = make_engine(replica.url("salesrefund"), pool_size=2)
    yield writer, reader
    writer.dispose()
    reader.dispose()


def caught_up(writer, reader, seconds: float = 30.0) -> None:
    with writer.connect() as conn:
        target = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with reader.connect() as conn:
            if conn.execute(text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"), {"t": target}).scalar():
                return
        time.sleep(0.05)
    raise AssertionError(f"the replica did not replay up to {target} in {seconds}s")


def replay(reader, paused: bool) -> None:
    with reader.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()"))


def salesrefund(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from salesrefund.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_lagging_reads_on_the_replica_writes_and_their_answers_on_the_primary(engines, pair, monkeypatch):
    writer, reader = engines
    tenant = create_tenant(writer, f"rr-{uuid.uuid4().hex[:8]}", currency="EUR")
    client = TestClient(create_app(writer, settings=Settings(), read_engine=reader), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {tenant['token']}"
    assert client.post("/v1/customers", json={"code": "C1", "name": "One"}).status_code == 201
    assert client.post("/v1/products", json={"code": "BOOK", "name": "Book", "stock_tracked": True,
                                             "cost": "6.00"}).status_code == 201
    r = client.post("/v1/invoices", json={
        "number": "INV-1", "customer": "C1", "date": "2026-01-05",
        "lines": [{"product": "BOOK", "quantity": "3", "unit_price": "10.00", "tax_rate": "15"}],
        "payments": [{"method": "card", "amount": "34.50"}]})
    assert r.status_code == 201, r.text
    caught_up(writer, reader)
    entries_before = len(client.get("/v1/journal").json()["items"])
    assert entries_before == 1  # the invoice's entry, read on the replica

    replay(reader, paused=True)
    try:
        body = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}
        created = client.post("/v1/refunds", json=body, headers={"Idempotency-Key": "r-1"})
        assert created.status_code == 201, created.text  # written on the primary (the replica is read-only)
        refund = created.json()
        again = client.post("/v1/refunds", json=body, headers={"Idempotency-Key": "r-1"})
        assert again.headers["Idempotent-Replayed"] == "true" and again.json() == refund  # primary
        assert client.get(f"/v1/refunds/{refund['id']}").json() == refund  # read your write
        assert client.get("/v1/invoices/INV-1").json()["lines"][0]["refunded_quantity"] == "1"
        assert client.get(f"/v1/refunds/{refund['id']}/journal").status_code == 200
        # the same second refund is refused by caps computed on the primary, never on stale figures
        rest = client.post("/v1/refunds", json={"invoice": "INV-1", "lines": [{"line": 1, "quantity": "3"}]})
        assert rest.json()["code"] == "quantity_exceeds_refundable"

        # the lagging reads: the replica has not replayed the refund yet
        assert client.get("/v1/refunds", params={"invoice": "INV-1"}).json()["items"] == []
        assert len(client.get("/v1/journal").json()["items"]) == entries_before
        stock = client.get("/v1/stock", params={"product": "BOOK"}).json()["items"]
        assert [s["on_hand"] for s in stock] == ["-3"]  # sold 3, the return not replayed yet
        tb = client.get("/v1/ledger/trial-balance").json()
        assert tb["total_debit"] == "52.50"  # 34.50 sale + 18.00 cost, not the refund's 17.50
    finally:
        replay(reader, paused=False)
    caught_up(writer, reader)
    listed = client.get("/v1/refunds", params={"invoice": "INV-1"}).json()["items"]
    assert [item["id"] for item in listed] == [refund["id"]]
    assert len(client.get("/v1/journal").json()["items"]) == entries_before + 1
    assert [s["on_hand"] for s in client.get("/v1/stock", params={"product": "BOOK"}).json()["items"]] == ["-2"]

    # salesrefund check reads the replica when one is configured, the primary with --primary
    primary, replica = pair
    env = {**__import__("os").environ, "SALESREFUND_DATABASE_URL": primary.url("salesrefund"),
           "SALESREFUND_READ_DATABASE_URL": replica.url("salesrefund")}
    done = salesrefund("check", "--json", env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["ok"], done.stdout + done.stderr
    env["SALESREFUND_READ_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/nowhere"
    refused = salesrefund("check", "--json", env=env)
    assert refused.returncode != 0 and "127.0.0.1" in refused.stderr + refused.stdout  # it went there
    assert salesrefund("check", "--json", "--primary", env=env).returncode == 0


def test_serve_builds_the_replica_engine_from_the_environment(pair, monkeypatch):
    from salesrefund.bootstrap import app_from_environment

    primary, replica = pair
    monkeypatch.setenv("SALESREFUND_DATABASE_URL", primary.url("salesrefund"))
    monkeypatch.setenv("SALESREFUND_READ_DATABASE_URL", replica.url("salesrefund"))
    app = app_from_environment()
    assert app.state.books.reader.url.port == replica.port
    assert app.state.books.engine.url.port == primary.port
    assert app.state.refunds.engine.url.port == primary.port
    monkeypatch.delenv("SALESREFUND_READ_DATABASE_URL")
    app = app_from_environment()
    assert app.state.books.reader is app.state.books.engine
