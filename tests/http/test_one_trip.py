"""A native request crosses into the thread pool once (issue 14): the caller is authorized in the
endpoint's own trip. R18's precedence holds: whatever fails before the endpoint (a malformed
body, a validation error), a missing or wrong credential is answered 401 and a missing permission
403, and a wrong token counts as one failed sign-in, not two."""

from __future__ import annotations

import anyio.to_thread
import pytest

from salesrefund.service import limits

REFUND = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}


@pytest.fixture
def trips(monkeypatch):
    counted = []
    original = anyio.to_thread.run_sync

    async def counting(func, *args, **kwargs):
        counted.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return counted


def test_a_refund_is_one_thread_pool_trip(books, trips):
    r = books["api"].post("/v1/refunds", REFUND, key="one-trip-1")
    assert r.status_code == 201, r.text
    assert len(trips) == 1, trips


def test_a_read_is_one_thread_pool_trip(books, trips):
    r = books["api"].get("/v1/invoices/INV-1")
    assert r.status_code == 200, r.text
    assert len(trips) == 1, trips


@pytest.mark.parametrize("body", [b"{not json", b'{"invoice": "INV-1", "lines": "x"}', b"[]"])
def test_a_wrong_token_with_a_bad_body_is_401(books, client, body):
    r = client.post("/v1/refunds", content=body, headers={"Authorization": "Bearer sr_wrong_token_123456",
                                                          "Content-Type": "application/json"})
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "unauthorized"


@pytest.mark.parametrize("body", [b"{not json", b'{"invoice": "INV-1", "lines": "x"}'])
def test_a_credential_without_the_permission_with_a_bad_body_is_403(books, client, make_token, body):
    reader = make_token(books["tenant"], "refund:read")
    r = client.post("/v1/refunds", content=body, headers={"Authorization": f"Bearer {reader}",
                                                          "Content-Type": "application/json"})
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "forbidden"


@pytest.mark.parametrize("body", [REFUND, {"invoice": "INV-1", "lines": "x"}])
def test_a_wrong_token_is_one_failed_sign_in(books, client, monkeypatch, body):
    failures = []
    original = limits.failed
    monkeypatch.setattr(limits, "failed", lambda engine, attempt: (failures.append(attempt), original(engine, attempt)))
    r = client.post("/v1/refunds", json=body, headers={"Authorization": "Bearer sr_wrong_token_abcdef"})
    assert r.status_code == 401, r.text
    assert len(failures) == 1
