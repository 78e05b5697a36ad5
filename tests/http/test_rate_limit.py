"""A per-credential rate limit answers 429 with Retry-After (issue 4, item 10); the counts live in
the database, so every server process shares them."""

from __future__ import annotations

from datetime import timedelta

import pytest

import uuid

from salesrefund.seeds import internom

from salesrefund.domain.errors import RefundError
from salesrefund.service import limits
from salesrefund.service.tenants import authenticate


@pytest.fixture
def limit_of_three(monkeypatch):
    monkeypatch.setattr(limits, "PER_MINUTE", 3)


def test_over_the_limit_answers_429_with_retry_after(books, make_token, api_for, clock, limit_of_three):
    # the fixture's own requests ran before the limit was lowered; start a new window
    clock.current += timedelta(minutes=1)
    clock.current = clock.current.replace(second=10)
    api = books["api"]
    for _ in range(3):
        assert api.get("/v1/invoices/INV-1").status_code == 200
    response = api.get("/v1/invoices/INV-1")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response.headers["Retry-After"] == "50"
    refused = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]})
    assert refused.status_code == 429  # and nothing was written
    other = api_for(make_token(books["tenant"], "refund:read"))
    assert other.get("/v1/invoices/INV-1").status_code == 200  # another credential has its own count
    clock.current += timedelta(seconds=60)
    assert api.get("/v1/invoices/INV-1").status_code == 200  # a new window
    assert api.get("/v1/refunds", invoice="INV-1").json()["items"] == []


def test_a_door_answers_429_in_its_own_shape(client, engine, clock, limit_of_three):
    token = f"sr_rate_{uuid.uuid4().hex}"
    internom.create(engine, clock, name=f"internom-rate-{uuid.uuid4().hex[:8]}", token=token)
    clock.current += timedelta(minutes=1)
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):
        client.post("/api/internom/refund/sale", json={}, headers=headers)
    response = client.post("/api/internom/refund/sale", json={}, headers=headers)
    assert response.status_code == 429
    assert response.json()["status"] == "error"
    assert response.headers["Retry-After"]


def _shared_count(engine, credential_id: int, window: int) -> int:
    """The count every process sees (a read: adds 0)."""
    return limits.store.count_request(limits.counts_engine(engine), credential_id, window, 0)


def _fresh_credential(engine, clock, make_tenant) -> int:
    """A real credential (the counts refer to it on PostgreSQL), then a window of its own."""
    credential_id = authenticate(engine, make_tenant()["token"], clock).credential_id
    clock.current += timedelta(minutes=1)
    return credential_id


def test_a_busy_credential_is_counted_in_batches_and_exactly_near_its_limit(engine, clock, make_tenant, monkeypatch):
    """Issue 14: not one write per request. The first request of a window is counted in the
    database, then every FLUSH_REQUESTS; from NEAR_LIMIT of the limit on, every request, so the
    limit holds exactly: request 101 of a limit of 100 is refused."""
    monkeypatch.setattr(limits, "FLUSH_SECONDS", 3600)  # batches by count only: deterministic
    monkeypatch.setattr(limits, "_tallies", {})
    credential = _fresh_credential(engine, clock, make_tenant)
    window = int(clock.now().timestamp()) // limits.WINDOW_SECONDS
    writes = []
    real = limits._count
    monkeypatch.setattr(limits, "_count", lambda *args: writes.append(args[-1]) or real(*args))
    limits.hit(engine, credential, clock, limit=100)
    assert _shared_count(engine, credential, window) == 1  # the window's first request
    for _ in range(24):
        limits.hit(engine, credential, clock, limit=100)
    assert _shared_count(engine, credential, window) == 1  # 24 requests not yet added
    limits.hit(engine, credential, clock, limit=100)  # the 25th since: one write adds them all
    assert _shared_count(engine, credential, window) == 26 and writes == [1, 25]
    for _ in range(74):
        limits.hit(engine, credential, clock, limit=100)  # 100 in all; from the 90th, each counted
    assert _shared_count(engine, credential, window) == 100
    assert len(writes) < 20  # 100 requests, a dozen writes (the first, two batches, the last 11)
    with pytest.raises(RefundError) as refused:
        limits.hit(engine, credential, clock, limit=100)
    assert refused.value.code == "rate_limited"


def test_another_process_count_is_seen_at_its_next_batch(engine, clock, make_tenant, monkeypatch):
    """Two processes (two tallies) on one database share the count: what one added, the other's
    next write reads back, and over the limit it refuses."""
    monkeypatch.setattr(limits, "FLUSH_SECONDS", 3600)
    credential = _fresh_credential(engine, clock, make_tenant)
    monkeypatch.setattr(limits, "_tallies", {})
    for _ in range(60):
        limits.hit(engine, credential, clock, limit=60)  # process one: 60, all in the database by now
    monkeypatch.setattr(limits, "_tallies", {})  # process two, fresh: its first request is written
    with pytest.raises(RefundError) as refused:
        limits.hit(engine, credential, clock, limit=60)
    assert refused.value.code == "rate_limited"
