"""Credit note numbers (R16): CN-YYYY-NNNNNN, increasing per tenant, independent per tenant, and
no gap left by rejected refunds or drafts."""

from __future__ import annotations

from datetime import date

from native_kit import ok, problem, refund, seed_books

LINE = [{"line": 1, "quantity": "1"}]


def test_numbers_increase_per_tenant_without_gaps_after_rejections(books):
    api = books["api"]
    assert refund(api, LINE)["number"] == "CN-2026-000001"
    # rejected: by a business rule, by validation, with and without a key, and a draft
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "5"}]}),
            422, "quantity_exceeds_refundable")
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "5"}]}, key="k-no"),
            422, "quantity_exceeds_refundable")
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": LINE,
                                     "payments": [{"method": "card", "amount": "1.00"}]}),
            422, "payments_do_not_match_total")
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "x"}]}),
            422, "validation_error")
    draft = refund(api, LINE, state="draft")
    assert draft["number"] is None
    assert refund(api, LINE)["number"] == "CN-2026-000002"
    assert ok(api.post(f"/v1/refunds/{draft['id']}/post"))["number"] == "CN-2026-000003"
    numbers = [r["number"] for r in ok(api.get("/v1/refunds"))["items"]]
    assert sorted(numbers) == ["CN-2026-000001", "CN-2026-000002", "CN-2026-000003"]


def test_a_deleted_draft_or_a_void_does_not_take_a_number(books):
    api = books["api"]
    draft = refund(api, LINE, state="draft")
    assert api.delete(f"/v1/refunds/{draft['id']}").status_code == 204
    first = refund(api, LINE)
    assert first["number"] == "CN-2026-000001"
    ok(api.post(f"/v1/refunds/{first['id']}/void"))
    assert refund(api, LINE)["number"] == "CN-2026-000002"


def test_each_tenant_has_its_own_series(books, make_tenant, api_for):
    a = books["api"]
    other = make_tenant()
    b = api_for(other["token"])
    seed_books(b)
    assert [refund(a, LINE)["number"] for _ in range(2)] == ["CN-2026-000001", "CN-2026-000002"]
    assert refund(b, LINE)["number"] == "CN-2026-000001"
    assert refund(a, LINE)["number"] == "CN-2026-000003"
    assert refund(b, [{"line": 2}])["number"] == "CN-2026-000002"


def test_the_series_follows_the_posting_year(books, clock):
    api = books["api"]
    assert refund(api, LINE)["number"] == "CN-2026-000001"
    clock.set(date(2027, 1, 4))
    assert refund(api, LINE)["number"] == "CN-2027-000001"
    # a posting dated back in 2026 continues the 2026 series
    assert refund(api, LINE, posting_date="2026-12-31")["number"] == "CN-2026-000002"
