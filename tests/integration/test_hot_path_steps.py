"""Issue 14's cheaper steps keep their meaning, on both engines: the driver-level savepoint undoes
exactly what ran inside it, authentication is one read outside any transaction (it never waits for
a writer, and a revoked token is refused at once), and the fingerprint is the one ``asdict`` gave
(stored idempotency records keep matching their replays)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from salesrefund.domain.commands import ExpectedLine, ExpectedTotals, IssueRefund, PaymentRequest, RefundLineRequest
from salesrefund.service.idempotency import fingerprint
from salesrefund.service.tenants import authenticate, revoke_token
from salesrefund.service.uow import UnitOfWork
from salesrefund.store import prepared
from salesrefund.store import tables as t


def _names(engine, tenant_id: int) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(t.customers.c.code).where(t.customers.c.tenant_id == tenant_id)
                            .order_by(t.customers.c.code)).scalars().all()
    return list(rows)


def _add_customer(uow: UnitOfWork, tenant_id: int, code: str) -> None:
    uow.conn.execute(t.customers.insert().values(tenant_id=tenant_id, code=code, name=code))


def test_a_savepoint_rolled_back_undoes_only_what_ran_inside_it(engine, make_tenant):
    tenant = make_tenant()
    tid = tenant["id"]
    with UnitOfWork(engine, tid) as uow:
        _add_customer(uow, tid, "A")
        outer = uow.savepoint()
        _add_customer(uow, tid, "B")
        inner = uow.savepoint()
        _add_customer(uow, tid, "C")
        inner.rollback()
        _add_customer(uow, tid, "D")
        outer.commit()
        dropped = uow.savepoint()
        _add_customer(uow, tid, "E")
        dropped.rollback()
        uow.commit()
    assert _names(engine, tid) == ["A", "B", "D"]


def test_a_savepoint_left_open_by_an_error_goes_with_the_transaction(engine, make_tenant):
    tenant = make_tenant()
    tid = tenant["id"]
    try:
        with UnitOfWork(engine, tid) as uow:
            uow.savepoint()
            _add_customer(uow, tid, "X")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _names(engine, tid) == []
    with UnitOfWork(engine, tid) as uow:  # the pooled connection is clean: a new savepoint works
        point = uow.savepoint()
        _add_customer(uow, tid, "Y")
        point.commit()
        uow.commit()
    assert _names(engine, tid) == ["Y"]


@pytest.mark.parametrize("path", ["prepared", "sqlalchemy"])
def test_authentication_is_one_read_that_never_waits_for_a_writer(engine, make_tenant, clock, monkeypatch, path):
    if path == "sqlalchemy":  # the prepared cache is full: the statement runs through SQLAlchemy
        monkeypatch.setattr(prepared, "_cache", {})
        monkeypatch.setattr(prepared, "MAX_PREPARED", 0)
    tenant = make_tenant()
    held = threading.Event()
    release = threading.Event()

    def writer():
        with UnitOfWork(engine, tenant["id"]) as uow:  # SQLite: BEGIN IMMEDIATE, the write lock
            uow.conn.execute(text("UPDATE tenants SET name = name WHERE id = :t"), {"t": tenant["id"]})
            held.set()
            release.wait(10)
            uow.commit()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(10)
        found = []
        reader = threading.Thread(target=lambda: found.append(authenticate(engine, tenant["token"], clock)))
        reader.start()
        reader.join(10)
        assert not reader.is_alive(), "authentication waited for the writer"
        assert found[0] is not None and found[0].tenant_id == tenant["id"]
    finally:
        release.set()
        thread.join(10)


def test_a_revoked_token_is_refused_on_the_next_request(engine, make_tenant, clock):
    tenant = make_tenant()
    principal = authenticate(engine, tenant["token"], clock)
    assert principal is not None
    assert revoke_token(engine, principal.credential_id, clock)
    assert authenticate(engine, tenant["token"], clock) is None


def test_the_fingerprint_is_the_one_asdict_gave():
    command = IssueRefund(
        invoice="INV-1", lines=(RefundLineRequest(line=1, quantity=20000), RefundLineRequest(line=2, amount_minor=499, restock=False)),
        payments=(PaymentRequest(method="card", amount_minor=1234),), reason="damaged", reference="R-1",
        posting_date=date(2026, 6, 15), metadata={"till": "3", "nested": {"a": [1, 2]}},
        expected=ExpectedTotals(lines=(ExpectedLine(total_minor=100),), net_minor=Decimal("12.34")))
    canonical = json.dumps(["refund.issue", "native", dataclasses.asdict(command)], sort_keys=True, default=str,
                           separators=(",", ":"))
    assert fingerprint("refund.issue", "native", command) == hashlib.sha256(canonical.encode()).hexdigest()
    plain = {"invoice": "INV-1", "lines": [1, 2]}
    assert fingerprint("x", "vodo", plain) == hashlib.sha256(
        json.dumps(["x", "vodo", plain], sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


def test_a_posted_refunds_two_events_carry_one_encoding_of_it_byte_for_byte(books, engine):
    api = books["api"]
    r = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}, key="ev-1")
    assert r.status_code == 201, r.text
    with engine.connect() as conn:
        rows = conn.execute(select(t.events.c.type, t.events.c.payload_json)
                            .where(t.events.c.tenant_id == books["tenant"]["id"], t.events.c.subject.like("refund:%"))
                            .order_by(t.events.c.id)).all()
    assert [row.type for row in rows] == ["refund.created", "refund.posted"]
    bodies = [json.loads(row.payload_json) for row in rows]
    for row, body in zip(rows, bodies):
        assert row.payload_json == json.dumps(body)  # what json.dumps writes for the whole body
        assert list(body) == ["id", "type", "created_at", "data"]
    assert bodies[0]["data"] == bodies[1]["data"]
    assert bodies[0]["data"]["id"] == r.json()["id"] and bodies[0]["data"]["total"] == r.json()["total"]
    assert bodies[0]["id"] != bodies[1]["id"]
