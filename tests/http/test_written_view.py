"""The answer to a refund is rendered from the rows the refund path has just written, not read back
(issue 5: nothing read that can be kept). It must be exactly what GET /v1/refunds/{id} reads back
later, whatever the refund carries: several tax rates (summary order), services that are not
restocked, locations, store credit, drafts, metadata, unlinked refunds, a tax-inclusive tenant with
cash rounding. On PostgreSQL too (timestamps come back in the session's time zone there)."""

from __future__ import annotations

import pytest

from native_kit import ok, seed_books

CASES = {
    "posted, all lines, two tax rates": {"invoice": "INV-1", "lines": [
        {"line": 3, "quantity": "1"}, {"line": 1, "quantity": "2"}, {"line": 2, "quantity": "1"}]},
    "posted at a location, without restock, reason and metadata": {
        "invoice": "INV-1", "location": "BACK", "reason": "late delivery", "metadata": {"ticket": "T-9", "n": 3},
        "lines": [{"line": 1, "quantity": "1", "restock": False}, {"line": 2, "quantity": "1", "location": "BACK"}]},
    "store credit and card, with a reference": {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "2"}],
                                                "payments": [{"method": "store_credit", "amount": "3.00"},
                                                             {"method": "card", "amount": "20.00",
                                                              "reference": "AUTH-1"}]},
    "amount only": {"invoice": "INV-1", "lines": [{"line": 2, "amount": "3.33"}]},
    "draft": {"invoice": "INV-1", "state": "draft", "lines": [{"line": 1, "quantity": "1"}]},
    "draft with dates": {"invoice": "INV-1", "state": "draft", "posting_date": "2026-06-14",
                         "document_date": "2026-06-13", "lines": [{"line": 2, "quantity": "2"}]},
    "unlinked, a stocked product and a service": {"customer": "C1", "lines": [
        {"product": "BOOK", "quantity": "1", "unit_price": "9.50", "tax_rate": "15"},
        {"product": "WRAP", "description": "gift wrap", "quantity": "2", "unit_price": "1.25", "tax_rate": "0"}]},
}


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_the_answer_to_a_refund_is_what_reading_it_back_shows(make_tenant, api_for, body):
    tenant = make_tenant(allow_unlinked_refunds=True, tax_rates=["15"])
    api = api_for(tenant["token"])
    seed_books(api)
    ok(api.post("/v1/locations", {"code": "BACK", "name": "Back room"}), 201)
    created = ok(api.post("/v1/refunds", body, key="k-1"), 201)
    assert ok(api.get(f"/v1/refunds/{created['id']}")) == created
    assert ok(api.post("/v1/refunds", body, key="k-1"), 201) == created  # the stored replay too


def test_tax_inclusive_cash_rounded_refund_answers_what_it_stored(make_tenant, api_for):
    tenant = make_tenant(prices_include_tax=True, cash_rounding="0.05")
    api = api_for(tenant["token"])
    ok(api.post("/v1/customers", {"code": "C1", "name": "Customer One"}), 201)
    ok(api.post("/v1/products", {"code": "MUG", "name": "Mug", "stock_tracked": True, "cost": "2.00"}), 201)
    ok(api.post("/v1/invoices", {"number": "INV-1", "customer": "C1", "date": "2026-06-01", "lines": [
        {"product": "MUG", "quantity": "2", "unit_price": "4.99", "tax_rate": "15"}],
        "payments": [{"method": "cash", "amount": "9.98"}]}), 201)
    created = ok(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}), 201)
    assert created["rounding"] != "0.00"
    assert ok(api.get(f"/v1/refunds/{created['id']}")) == created
