"""``salesrefund tenant move``: copy, verify, switch, with the tenant's writes fenced (issue 15).

Between two local databases of the engine under test: two SQLite files by default, two fresh
PostgreSQL databases with ``SALESREFUND_TEST_DATABASE_URL`` (created and dropped here).
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from salesrefund.bootstrap import engine_for
from salesrefund.cli import app as cli_app
from salesrefund.domain.errors import RefundError
from salesrefund.app import create_app
from salesrefund.service.check import run_checks
from salesrefund.service.moves import move_tenant, tenant_tables
from salesrefund.service.refunds import Settings
from salesrefund.service.tenants import create_tenant
from salesrefund.store import tables as t
from salesrefund.store.engine import normalize_url


@pytest.fixture
def databases(tmp_path):
    """``make()`` -> the URL of a new, empty, migrated database of the engine under test."""
    base = os.environ.get("SALESREFUND_TEST_DATABASE_URL", "")
    made, engines = [], []
    admin = None
    if base.startswith("postgres"):
        admin = create_engine(make_url(normalize_url(base)), isolation_level="AUTOCOMMIT")

    def make() -> str:
        if admin is None:
            url = f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.db'}"
        else:
            name = f"move_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            made.append(name)
            url = admin.url.set(database=name).render_as_string(hide_password=False)
        engines.append(engine_for(url))
        return url

    yield make
    for engine in engines:
        engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _client(engine, token: str) -> TestClient:
    client = TestClient(create_app(engine, settings=Settings()), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _fill(client: TestClient) -> dict:
    """Master data, an invoice, two posted refunds (one with a key), a voided one, a draft."""
    assert client.post("/v1/customers", json={"code": "C1", "name": "One"}).status_code == 201
    assert client.post("/v1/products", json={"code": "BOOK", "name": "Book", "stock_tracked": True,
                                             "cost": "6.00"}).status_code == 201
    r = client.post("/v1/invoices", json={
        "number": "INV-1", "customer": "C1", "date": "2026-01-05",
        "lines": [{"product": "BOOK", "quantity": "5", "unit_price": "10.00", "tax_rate": "15"}],
        "payments": [{"method": "card", "amount": "57.50"}]})
    assert r.status_code == 201, r.text
    body = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}
    first = client.post("/v1/refunds", json=body, headers={"Idempotency-Key": "before-move"})
    assert first.status_code == 201, first.text
    second = client.post("/v1/refunds", json=body)
    assert client.post(f"/v1/refunds/{second.json()['id']}/void", json={"reason": "x"}).status_code == 200
    draft = client.post("/v1/refunds", json={**body, "state": "draft"})
    assert draft.status_code == 201, draft.text
    return {"body": body, "first": first.json(), "draft": draft.json()}


def _counts(engine, tenant_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)
                                         .where(table.c.tenant_id == tenant_id)).scalar()
                for table in tenant_tables()}


def test_move_copies_verifies_switches_and_fences_writes(databases):
    source_url, target_url = databases(), databases()
    source, target = engine_for(source_url, run_migrations=False), engine_for(target_url, run_migrations=False)
    stays = create_tenant(source, f"stays-{uuid.uuid4().hex[:6]}", currency="EUR")  # ids before the mover's
    mover = create_tenant(source, f"mover-{uuid.uuid4().hex[:6]}", currency="EUR")
    resident = create_tenant(target, f"resident-{uuid.uuid4().hex[:6]}", currency="EUR")
    old = _client(source, mover["token"])
    made = _fill(old)
    _fill(_client(source, stays["token"]))
    counts_before = _counts(source, mover["id"])

    during = {}

    def while_fenced() -> None:  # the move calls this after fencing, before copying
        during["refund"] = old.post("/v1/refunds", json=made["body"], headers={"Idempotency-Key": "during"})
        during["customer"] = old.post("/v1/customers", json={"code": "C9", "name": "Late"})
        during["read"] = old.get("/v1/invoices/INV-1")
        during["stays"] = _client(source, stays["token"]).post("/v1/customers", json={"code": "C9", "name": "x"})

    report = move_tenant(source, target, mover["tenant"], on_fenced=while_fenced)

    # fenced: the tenant's writes refused with nothing written, its reads and other tenants go on
    for name in ("refund", "customer"):
        answer = during[name]
        assert answer.status_code == 503 and answer.json()["code"] == "service_unavailable", answer.text
        assert answer.headers.get("Retry-After")
    assert during["read"].status_code == 200
    assert during["stays"].status_code == 201
    assert report["rows"] == counts_before == _counts(target, mover["id"])
    assert report["rows"]["refunds"] == 3 and report["rows"]["idempotency_keys"] >= 1
    assert all(not found for found in run_checks(target).values())

    # switched: the old database refuses the tenant, the new one serves it with everything it had
    gone = old.get("/v1/invoices/INV-1")
    assert gone.status_code == 503 and "moved" in gone.json()["detail"]
    assert _client(source, stays["token"]).get("/v1/invoices/INV-1").status_code == 200
    new = _client(target, mover["token"])  # the same token: credentials moved with the tenant
    assert new.get(f"/v1/refunds/{made['first']['id']}").json() == made["first"]
    replay = new.post("/v1/refunds", json=made["body"], headers={"Idempotency-Key": "before-move"})
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == made["first"]  # exactly once
    assert new.get(f"/v1/refunds/{made['draft']['id']}").json()["state"] == "draft"
    after = new.post("/v1/refunds", json=made["body"], headers={"Idempotency-Key": "during"})
    assert after.status_code == 201, after.text
    year = made["first"]["number"][3:7]
    assert after.json()["number"] == f"CN-{year}-000003"  # the series goes on without a gap (R16)
    assert new.get("/v1/invoices/INV-1").json()["lines"][0]["refunded_quantity"] == "2"
    assert new.post("/v1/customers", json={"code": "C9", "name": "Late"}).status_code == 201  # new ids are free
    assert _client(target, resident["token"]).get("/v1/invoices?limit=5").json()["items"] == []
    assert all(not found for found in run_checks(target).values())
    with source.connect() as conn:
        assert conn.execute(select(t.tenants.c.status).where(t.tenants.c.id == mover["id"])).scalar() == "moved"


def test_a_move_that_fails_changes_nothing(databases):
    source_url, target_url = databases(), databases()
    source, target = engine_for(source_url, run_migrations=False), engine_for(target_url, run_migrations=False)
    mover = create_tenant(source, f"mover-{uuid.uuid4().hex[:6]}", currency="EUR")
    old = _client(source, mover["token"])
    made = _fill(old)
    counts = _counts(source, mover["id"])

    def broken() -> None:
        raise RuntimeError("the network to the target went down")

    with pytest.raises(RuntimeError):
        move_tenant(source, target, mover["tenant"], on_fenced=broken)
    assert _counts(target, mover["id"]) == {name: 0 for name in counts}
    assert old.post("/v1/refunds", json=made["body"]).status_code == 201  # unfenced again

    create_tenant(target, mover["tenant"], currency="EUR")  # the name is taken in the target
    with pytest.raises(RefundError) as refused:
        move_tenant(source, target, mover["tenant"])
    assert refused.value.code == "move_failed" and "already has tenant" in refused.value.first.text()
    assert old.post("/v1/customers", json={"code": "C2", "name": "Two"}).status_code == 201

    other = databases()  # a target whose rows already use the mover's ids
    crowded = engine_for(other, run_migrations=False)
    create_tenant(crowded, f"x-{uuid.uuid4().hex[:6]}", currency="EUR")
    create_tenant(crowded, f"y-{uuid.uuid4().hex[:6]}", currency="EUR")
    with pytest.raises(RefundError) as clash:
        move_tenant(source, crowded, mover["tenant"])
    assert "tenant id" in clash.value.first.text() or "ids" in clash.value.first.text()
    assert old.get("/v1/invoices/INV-1").status_code == 200


def test_the_command_line_moves_a_tenant(databases):
    source_url, target_url = databases(), databases()
    source = engine_for(source_url, run_migrations=False)
    mover = create_tenant(source, f"cli-{uuid.uuid4().hex[:6]}", currency="EUR")
    _fill(_client(source, mover["token"]))
    result = CliRunner().invoke(cli_app, ["tenant", "move", "--tenant", mover["tenant"], "--to", target_url,
                                          "--db", source_url, "--json"])
    assert result.exit_code == 0, (result.stdout, result.exception)
    report = json.loads(result.stdout)
    assert report["tenant"] == mover["tenant"] and report["checks"] == "ok" and report["rows"]["refunds"] == 3
    again = CliRunner().invoke(cli_app, ["tenant", "move", "--tenant", mover["tenant"], "--to", target_url,
                                         "--db", source_url])
    assert again.exit_code == 2 and "move_failed" in again.stderr
