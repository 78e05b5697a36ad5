"""A per-credential rate limit answers 429 with Retry-After (issue 4, item 10); the counts live in
the database, so every server process shares them."""

from __future__ import annotations

from datetime import timedelta

import pytest

import uuid

from salesrefund.seeds import internom

from salesrefund.service import limits


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
