"""Authentication, permissions and tenant isolation (R19)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from native_kit import PROBLEM, ok, problem, refund, seed_books, state
from salesrefund.service.tenants import revoke_token

REFUND = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}


def test_missing_or_malformed_authorization_is_401_problem(books, client):
    for authorization in (None, "", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Token abc",
                          "Bearer not-a-real-token", "sr_abc", books["tenant"]["token"]):
        headers = {} if authorization is None else {"Authorization": authorization}
        for response in (client.get("/v1/refunds", headers=headers),
                         client.get("/v1/invoices/INV-1", headers=headers),
                         client.post("/v1/refunds", json=REFUND, headers=headers)):
            body = problem(response, 401, "unauthorized", "/headers/Authorization")
            assert response.headers["WWW-Authenticate"] == "Bearer", authorization
            assert body["title"] == "Unauthorized"
    assert state(books["api"])["refunds"]["items"] == []


def test_the_scheme_is_case_insensitive(books, client):
    token = books["tenant"]["token"]
    assert client.get("/v1/periods", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_unauthenticated_malformed_body_is_still_401(client):
    response = client.post("/v1/refunds", content="{not json", headers={"Content-Type": "application/json"})
    problem(response, 401, "unauthorized")


def test_a_revoked_token_is_refused_on_the_next_request(books, engine):
    api = books["api"]
    assert ok(api.get("/v1/periods"))
    assert revoke_token(engine, books["tenant"]["credential_id"]) is True
    problem(api.get("/v1/periods"), 401, "unauthorized", "/headers/Authorization")
    problem(api.post("/v1/refunds", REFUND), 401, "unauthorized")


def test_an_expired_token_is_refused(books, make_token, api_for):
    expired = api_for(make_token(books["tenant"], "refund:read", expires_at=datetime(2026, 6, 1, tzinfo=timezone.utc)))
    problem(expired.get("/v1/refunds"), 401, "unauthorized")
    valid = api_for(make_token(books["tenant"], "refund:read", expires_at=datetime(2099, 1, 1, tzinfo=timezone.utc)))
    assert ok(valid.get("/v1/refunds"))["items"] == []


def test_a_read_only_token_can_read_and_nothing_else(books, make_token, api_for):
    admin = books["api"]
    posted = refund(admin, REFUND["lines"])
    draft = refund(admin, [{"line": 2, "quantity": "1"}], state="draft")
    reader = api_for(make_token(books["tenant"], "refund:read"))
    before = state(admin)

    writes = [
        reader.post("/v1/refunds", REFUND),
        reader.post("/v1/refunds", REFUND, key="k-reader"),
        reader.post("/v1/refunds/preview", REFUND),
        reader.post(f"/v1/refunds/{draft['id']}/post"),
        reader.patch(f"/v1/refunds/{draft['id']}", {"reason": "x"}),
        reader.delete(f"/v1/refunds/{draft['id']}"),
        reader.post(f"/v1/refunds/{posted['id']}/void"),
        reader.post("/v1/periods/close", {"through": "2026-06-10"}),
        reader.post("/v1/periods/reopen"),
        reader.post("/v1/customers", {"code": "C9", "name": "Nine"}),
        reader.post("/v1/products", {"code": "P9", "name": "Nine"}),
        reader.post("/v1/locations", {"code": "L9", "name": "Nine"}),
        reader.post("/v1/invoices", {"number": "INV-9", "customer": "C1", "date": "2026-06-10", "lines": [
            {"product": "WRAP", "quantity": "1", "unit_price": "2.00", "tax_rate": "0"}]}),
    ]
    for response in writes:
        body = problem(response, 403, "forbidden", "/headers/Authorization")
        assert body["title"] == "Forbidden"
    assert state(admin) == before

    reads = ["/v1/refunds", f"/v1/refunds/{posted['id']}", f"/v1/refunds/{posted['id']}/journal",
             f"/v1/refunds/{posted['id']}/audit", "/v1/invoices", "/v1/invoices/INV-1", "/v1/customers/C1",
             "/v1/products/BOOK", "/v1/journal", "/v1/ledger/trial-balance", "/v1/stock", "/v1/periods"]
    for path in reads:
        assert reader.get(path).status_code == 200, path
    # and the key the reader sent was not consumed: the admin may use it for its own request
    assert admin.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 3}]}, key="k-reader").status_code == 201


def test_each_refund_action_needs_its_own_permission(books, make_token, api_for):
    tenant = books["tenant"]
    clerk = api_for(make_token(tenant, "refund:create", "refund:read"))
    draft = ok(clerk.post("/v1/refunds", {**REFUND, "state": "draft"}), 201)
    problem(clerk.post(f"/v1/refunds/{draft['id']}/post"), 403, "forbidden")
    poster = api_for(make_token(tenant, "refund:post"))
    assert ok(poster.post(f"/v1/refunds/{draft['id']}/post"))["state"] == "posted"
    problem(poster.get(f"/v1/refunds/{draft['id']}"), 403, "forbidden")
    problem(clerk.post(f"/v1/refunds/{draft['id']}/void"), 403, "forbidden")
    voider = api_for(make_token(tenant, "refund:void"))
    assert ok(voider.post(f"/v1/refunds/{draft['id']}/void"))["state"] == "voided"
    problem(clerk.post("/v1/customers", {"code": "C9", "name": "Nine"}), 403, "forbidden")
    master = api_for(make_token(tenant, "masterdata:write"))
    ok(master.post("/v1/customers", {"code": "C9", "name": "Nine"}), 201)


# -- tenancy -------------------------------------------------------------------------------------

@pytest.fixture
def two_tenants(books, make_tenant, api_for):
    """Tenant A (books: INV-1, C1, BOOK...) with a posted refund, and tenant B with its own
    INV-B / CB and no refund; B also has a customer C1 of its own."""
    a = books["api"]
    ok(a.post("/v1/customers", {"code": "CA", "name": "Only in A"}), 201)
    ok(a.post("/v1/products", {"code": "PA", "name": "Only in A"}), 201)
    ok(a.post("/v1/invoices", {"number": "INV-A", "customer": "CA", "date": "2026-06-02", "lines": [
        {"product": "PA", "quantity": "1", "unit_price": "9.00", "tax_rate": "0"}],
        "payments": [{"method": "cash", "amount": "9.00"}]}), 201)
    posted = refund(a, REFUND["lines"], payments=[{"method": "store_credit", "amount": "11.50"}])
    draft = refund(a, [{"line": 2, "quantity": "1"}], state="draft")
    other = make_tenant()
    b = api_for(other["token"])
    seed_books(b, customer="CB", invoice="INV-B")
    ok(b.post("/v1/customers", {"code": "C1", "name": "B's own C1"}), 201)
    return {"a": a, "b": b, "posted": posted, "draft": draft}


def test_another_tenants_ids_answer_404(two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    before = state(a)
    for refund_id in (two_tenants["posted"]["id"], two_tenants["draft"]["id"]):
        for response in (b.get(f"/v1/refunds/{refund_id}"), b.get(f"/v1/refunds/{refund_id}/journal"),
                         b.get(f"/v1/refunds/{refund_id}/audit"), b.post(f"/v1/refunds/{refund_id}/post"),
                         b.post(f"/v1/refunds/{refund_id}/void"), b.patch(f"/v1/refunds/{refund_id}", {"reason": "x"}),
                         b.delete(f"/v1/refunds/{refund_id}")):
            problem(response, 404, "not_found")
    for path in ("/v1/invoices/INV-A", "/v1/invoices/INV-1"):
        problem(b.get(path), 404, "not_found")
    assert state(a) == before
    # B's own C1 is B's, with none of A's store credit
    c1 = ok(b.get("/v1/customers/C1"))
    assert (c1["name"], c1["credit_balance"]) == ("B's own C1", "0.00")
    assert ok(a.get("/v1/customers/C1"))["credit_balance"] == "11.50"


@pytest.mark.parametrize("path", ["/v1/customers/CA", "/v1/products/PA"])
def test_another_tenants_customer_and_product_answer_404(two_tenants, path):
    problem(two_tenants["b"].get(path), 404, "not_found")


def test_another_tenants_customer_and_product_cannot_be_invoiced(two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    before_a, before_b = state(a), state(b, "INV-B")
    problem(b.post("/v1/invoices", {"number": "INV-X", "customer": "CA", "date": "2026-06-10", "lines": [
        {"product": "BOOK", "quantity": "1", "unit_price": "1.00", "tax_rate": "0"}]}), 422, "customer_not_found",
        "/customer")
    problem(b.post("/v1/invoices", {"number": "INV-X", "customer": "CB", "date": "2026-06-10", "lines": [
        {"product": "PA", "quantity": "1", "unit_price": "1.00", "tax_rate": "0"}]}), 422, "product_not_found",
        "/lines/0/product")
    assert state(a) == before_a and state(b, "INV-B") == before_b


def test_refunding_another_tenants_invoice_is_answered_as_if_it_did_not_exist(two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    before_a, before_b = state(a), state(b, "INV-B")
    foreign = b.post("/v1/refunds", {"invoice": "INV-A", "lines": [{"line": 1, "quantity": "1"}]})
    missing = b.post("/v1/refunds", {"invoice": "INV-ZZ", "lines": [{"line": 1, "quantity": "1"}]})
    body = problem(foreign, missing.status_code, "invoice_not_found", "/invoice")
    assert foreign.status_code in (404, 422)
    assert body["detail"].replace("INV-A", "X") == missing.json()["detail"].replace("INV-ZZ", "X")
    problem(b.post("/v1/refunds/preview", {"invoice": "INV-A", "lines": [{"line": 1}]}), missing.status_code,
            "invoice_not_found", "/invoice")
    # a refund naming A's customer on B's own invoice is a mismatch, never A's data
    problem(b.post("/v1/refunds", {"invoice": "INV-B", "customer": "CA", "lines": [{"line": 1, "quantity": "1"}]}),
            422, "customer_mismatch", "/customer")
    assert state(a) == before_a and state(b, "INV-B") == before_b


def test_lists_and_reports_show_no_foreign_rows(two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    assert ok(b.get("/v1/refunds"))["items"] == []
    assert ok(b.get("/v1/refunds", invoice="INV-A"))["items"] == []
    assert ok(b.get("/v1/refunds", customer="CA"))["items"] == []
    assert [i["number"] for i in ok(b.get("/v1/invoices"))["items"]] == ["INV-B"]
    assert ok(b.get("/v1/invoices", customer="CA"))["items"] == []
    assert [e["memo"] for e in ok(b.get("/v1/journal"))["items"]] == ["Invoice INV-B"]
    assert ok(b.get("/v1/stock", product="PA"))["items"] == []
    tb_b = ok(b.get("/v1/ledger/trial-balance"))
    assert tb_b["total_debit"] == "69.98"  # only B's invoice: 47.98 + cost 22.00
    assert "2200" not in {acc["account"] for acc in tb_b["accounts"]}
    assert [i["number"] for i in ok(a.get("/v1/invoices"))["items"]] == ["INV-1", "INV-A"]
    assert len(ok(a.get("/v1/refunds"))["items"]) == 2


def test_a_refund_in_b_leaves_a_untouched(two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    before = state(a)
    created = refund(b, [{"line": 1, "quantity": "3"}], invoice="INV-B")
    assert created["number"] == "CN-2026-000001"
    assert state(a) == before


def test_error_responses_are_problem_json(books, client):
    r = client.get("/v1/refunds")
    assert r.headers["content-type"].startswith(PROBLEM)
