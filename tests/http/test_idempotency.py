"""Exactly once (R17): the Idempotency-Key contract of the native API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from native_kit import ok, problem, refund, seed_books, state

BODY = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}


def post_raw(api, text_body: str, key: str):
    return api.client.post("/v1/refunds", content=text_body,
                           headers={**api.headers(key), "Content-Type": "application/json"})


def replayed(response) -> bool:
    return response.headers.get("Idempotent-Replayed") == "true"


def test_same_key_same_body_gets_the_same_response_and_one_refund(books):
    api = books["api"]
    first = api.post("/v1/refunds", BODY, key="k-1")
    assert first.status_code == 201 and not replayed(first)
    after_first = state(api)
    again = api.post("/v1/refunds", BODY, key="k-1")
    assert again.status_code == 201 and replayed(again)
    assert again.headers["content-type"].startswith("application/json")
    assert again.json() == first.json()
    assert state(api) == after_first
    refunds = ok(api.get("/v1/refunds"))["items"]
    assert [r["id"] for r in refunds] == [first.json()["id"]]
    assert ok(api.get("/v1/invoices/INV-1"))["lines"][0]["refunded_quantity"] == "1"


def test_equivalent_spellings_are_the_same_request(books):
    api = books["api"]
    first = post_raw(api, '{"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}', "k-spell")
    assert first.status_code == 201, first.text
    for spelling in ('{"invoice": "INV-1", "lines": [{"line": 1, "quantity": 1}]}',
                     '{"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1.0"}]}',
                     '{"invoice": "INV-1", "lines": [{"line": 1, "quantity": 1.0}]}',
                     '{"lines": [{"quantity": "1.00", "line": 1}], "invoice": "INV-1"}'):
        again = post_raw(api, spelling, "k-spell")
        assert again.status_code == 201 and replayed(again), (spelling, again.text)
        assert again.json() == first.json()
    assert len(ok(api.get("/v1/refunds"))["items"]) == 1


@pytest.mark.parametrize("other", [
    {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "2"}]},
    {"invoice": "INV-1", "lines": [{"line": 2, "quantity": "1"}]},
    {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}], "reason": "changed my mind"},
    {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}], "state": "draft"},
    {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}], "payments": [{"method": "cash", "amount": "11.50"}]},
], ids=["quantity", "line", "reason", "draft", "payments"])
def test_same_key_different_body_is_refused_and_writes_nothing(books, other):
    api = books["api"]
    first = ok(api.post("/v1/refunds", BODY, key="k-2"), 201)
    before = state(api)
    problem(api.post("/v1/refunds", other, key="k-2"), 422, "idempotency_key_reused")
    assert state(api) == before
    # the key still replays its own request
    again = api.post("/v1/refunds", BODY, key="k-2")
    assert replayed(again) and again.json() == first


def test_idempotency_key_reused_points_at_the_header(books):
    api = books["api"]
    ok(api.post("/v1/refunds", BODY, key="k-3"), 201)
    problem(api.post("/v1/refunds", {**BODY, "reason": "x"}, key="k-3"), 422, "idempotency_key_reused",
            "/headers/Idempotency-Key")


def test_a_business_rule_rejection_is_stored_and_replayed(books):
    api = books["api"]
    ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    body = {**BODY, "posting_date": "2026-06-05"}
    before = state(api)
    first = api.post("/v1/refunds", body, key="k-closed")
    problem(first, 422, "period_closed", "/posting_date")
    assert not replayed(first)
    ok(api.post("/v1/periods/reopen"))
    # the period is open now, but the key answers what happened the first time
    again = api.post("/v1/refunds", body, key="k-closed")
    problem(again, 422, "period_closed", "/posting_date")
    assert replayed(again) and again.json() == first.json()
    assert state(api)["refunds"] == before["refunds"]
    # a new key is a new request
    assert ok(api.post("/v1/refunds", body, key="k-open"), 201)["posting_date"] == "2026-06-05"


def test_a_cap_rejection_is_replayed_even_after_the_cap_is_released(books):
    api = books["api"]
    taken = refund(api, [{"line": 1, "quantity": "3"}])
    first = api.post("/v1/refunds", BODY, key="k-cap")
    problem(first, 422, "quantity_exceeds_refundable", "/lines/0/quantity")
    ok(api.post(f"/v1/refunds/{taken['id']}/void"))
    again = api.post("/v1/refunds", BODY, key="k-cap")
    assert replayed(again) and again.status_code == 422 and again.json() == first.json()
    assert ok(api.get("/v1/invoices/INV-1"))["lines"][0]["refunded_quantity"] == "0"


@pytest.mark.parametrize("bad", [
    {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "abc"}]},   # refused while decoding
    {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "0"}]},     # refused by the planner's shape check
    {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1", "net": "10.00"}]},  # unknown field
    {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}],
     "payments": [{"method": "card", "amount": "11.505"}]},           # too many decimals
], ids=["text", "zero", "unknown-field", "decimals"])
def test_a_validation_error_is_not_stored_so_a_corrected_retry_goes_through(books, bad):
    api = books["api"]
    before = state(api)
    problem(api.post("/v1/refunds", bad, key="k-fix"), 422, "validation_error")
    assert state(api) == before
    fixed = api.post("/v1/refunds", BODY, key="k-fix")
    assert fixed.status_code == 201 and not replayed(fixed), fixed.text
    assert replayed(api.post("/v1/refunds", BODY, key="k-fix"))


def test_the_same_key_in_two_tenants_is_independent(books, make_tenant, api_for):
    a = books["api"]
    other = make_tenant()
    b = api_for(other["token"])
    seed_books(b)
    ra = a.post("/v1/refunds", BODY, key="shared-key")
    rb = b.post("/v1/refunds", {**BODY, "lines": [{"line": 2, "quantity": "1"}]}, key="shared-key")
    assert ra.status_code == 201 and rb.status_code == 201, (ra.text, rb.text)
    assert not replayed(ra) and not replayed(rb)
    assert ra.json()["id"] != rb.json()["id"]
    assert ra.json()["number"] == rb.json()["number"] == "CN-2026-000001"
    assert [r["id"] for r in ok(b.get("/v1/refunds"))["items"]] == [rb.json()["id"]]
    assert [r["id"] for r in ok(a.get("/v1/refunds"))["items"]] == [ra.json()["id"]]


def test_keys_belong_to_the_tenant_not_the_credential(books, make_token, api_for):
    api = books["api"]
    first = ok(api.post("/v1/refunds", BODY, key="k-cred"), 201)
    clerk = api_for(make_token(books["tenant"], "refund:create", "refund:read"))
    again = clerk.post("/v1/refunds", BODY, key="k-cred")
    assert replayed(again) and again.json() == first


def test_post_void_and_edit_replay_with_their_keys(books):
    api = books["api"]
    draft = refund(api, [{"line": 1, "quantity": "1"}], state="draft")
    edit = api.patch(f"/v1/refunds/{draft['id']}", {"reason": "late"}, key="k-edit")
    assert edit.status_code == 200 and not replayed(edit)
    edit_again = api.patch(f"/v1/refunds/{draft['id']}", {"reason": "late"}, key="k-edit")
    assert replayed(edit_again) and edit_again.json() == edit.json()

    post = api.post(f"/v1/refunds/{draft['id']}/post", key="k-post")
    assert post.status_code == 200 and not replayed(post)
    post_again = api.post(f"/v1/refunds/{draft['id']}/post", key="k-post")
    assert post_again.status_code == 200 and replayed(post_again) and post_again.json() == post.json()

    void = api.post(f"/v1/refunds/{draft['id']}/void", key="k-void")
    assert void.status_code == 200 and void.json()["state"] == "voided"
    after = state(api)
    void_again = api.post(f"/v1/refunds/{draft['id']}/void", key="k-void")
    assert void_again.status_code == 200 and replayed(void_again) and void_again.json() == void.json()
    assert state(api) == after
    # without a key a second void is a new request, and is refused
    problem(api.post(f"/v1/refunds/{draft['id']}/void"), 422, "invalid_state")
    # a key is bound to its operation: the void key cannot create a refund
    problem(api.post("/v1/refunds", BODY, key="k-void"), 422, "idempotency_key_reused")
    assert state(api) == after


def test_a_key_still_replays_after_71_hours(books, clock):
    api = books["api"]
    first = ok(api.post("/v1/refunds", BODY, key="k-old"), 201)
    clock.current += timedelta(hours=71)
    again = api.post("/v1/refunds", BODY, key="k-old")
    assert replayed(again) and again.json() == first


@pytest.mark.parametrize("key", ["   ", "k" * 256])
def test_an_empty_or_overlong_key_is_a_validation_error(books, key):
    api = books["api"]
    before = state(api)
    problem(api.post("/v1/refunds", BODY, key=key), 422, "validation_error", "/headers/Idempotency-Key")
    assert state(api) == before


def test_a_key_in_flight_answers_409_with_retry_after(books, monkeypatch):
    from salesrefund.store.repository import TenantStore
    api = books["api"]
    before = state(api)
    monkeypatch.setattr(TenantStore, "try_lock_key", lambda self, key: False)
    busy = api.post("/v1/refunds", BODY, key="k-busy")
    problem(busy, 409, "idempotency_key_in_use")
    assert int(busy.headers["Retry-After"]) >= 1
    monkeypatch.undo()
    assert state(api) == before
    done = api.post("/v1/refunds", BODY, key="k-busy")
    assert done.status_code == 201 and not replayed(done)


def test_a_key_held_by_another_transaction_answers_409_on_postgresql(books, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers; a key cannot be in flight concurrently")
    api = books["api"]
    before = state(api)
    lock_name = f"{books['tenant']['id']}:k-pg-busy"
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": lock_name})
        busy = api.post("/v1/refunds", BODY, key="k-pg-busy")
        problem(busy, 409, "idempotency_key_in_use")
        assert busy.headers.get("Retry-After")
    assert state(api) == before
    assert api.post("/v1/refunds", BODY, key="k-pg-busy").status_code == 201
