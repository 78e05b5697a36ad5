"""Every business-rule error code through HTTP, with its field pointer, and nothing written (R18)."""

from __future__ import annotations

import pytest

from native_kit import PROBLEM, ok, problem, refund, state

LINE1 = [{"line": 1, "quantity": "1"}]

# (code, request body, expected field); each body is otherwise a valid refund of INV-1
CASES = [
    ("invoice_not_found", {"invoice": "NOPE", "lines": LINE1}, "/invoice"),
    ("line_not_found", {"invoice": "INV-1", "lines": [{"line": 9, "quantity": "1"}]}, "/lines/0/line"),
    ("line_not_found", {"invoice": "INV-1", "lines": [{"product": "NOPE", "quantity": "1"}]}, "/lines/0/product"),
    ("line_not_found", {"invoice": "INV-1", "lines": [{"line": 1, "product": "MUG", "quantity": "1"}]},
     "/lines/0/product"),
    ("quantity_exceeds_refundable", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "3.0001"}]},
     "/lines/0/quantity"),
    ("quantity_exceeds_refundable", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "2"},
                                                                   {"line": 1, "quantity": "2"}]},
     "/lines/1/quantity"),
    ("amount_exceeds_refundable", {"invoice": "INV-1", "lines": [{"line": 1, "amount": "34.51"}]}, "/lines/0/amount"),
    ("amount_exceeds_refundable", {"invoice": "INV-1", "lines": [{"amount": "47.99"}]}, "/lines/0/amount"),
    ("price_exceeds_original", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1", "unit_price": "10.01"}]},
     "/lines/0/unit_price"),
    ("price_exceeds_original", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1", "amount": "11.51"}]},
     "/lines/0/amount"),
    ("customer_mismatch", {"invoice": "INV-1", "customer": "C2", "lines": LINE1}, "/customer"),
    ("currency_mismatch", {"invoice": "INV-1", "currency": "USD", "lines": LINE1}, "/currency"),
    ("payments_do_not_match_total", {"invoice": "INV-1", "lines": LINE1,
                                     "payments": [{"method": "card", "amount": "11.49"}]}, "/payments"),
    ("payments_do_not_match_total", {"invoice": "INV-1", "lines": LINE1, "payments": []}, "/payments"),
    ("unknown_payment_method", {"invoice": "INV-1", "lines": LINE1,
                                "payments": [{"method": "card", "amount": "1.50"},
                                             {"method": "bitcoin", "amount": "10.00"}]}, "/payments/1/method"),
    ("posting_date_in_future", {"invoice": "INV-1", "lines": LINE1, "posting_date": "2026-06-16"}, "/posting_date"),
    ("posting_date_before_invoice", {"invoice": "INV-1", "lines": LINE1, "posting_date": "2026-05-31"},
     "/posting_date"),
    ("period_closed", {"invoice": "INV-1", "lines": LINE1, "posting_date": "2026-06-05"}, "/posting_date"),
    ("unlinked_refunds_not_allowed", {"customer": "C1", "lines": [
        {"product": "BOOK", "quantity": "1", "unit_price": "10.00"}]}, "/invoice"),
    ("validation_error", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "one"}]}, "/lines/0/quantity"),
    ("validation_error", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1", "amount": "1.00",
                                                         "unit_price": "1.00"}]}, "/lines/0/amount"),
    ("validation_error", {"invoice": "INV-1", "lines": []}, "/lines"),
    ("validation_error", {"invoice": "INV-1"}, "/lines"),
    ("validation_error", {"invoice": "INV-1", "lines": LINE1, "state": "voided"}, "/state"),
    ("validation_error", {"invoice": "INV-1", "lines": LINE1, "posting_date": "15/06/2026"}, "/posting_date"),
    ("validation_error", {"invoice": "INV-1", "lines": LINE1,
                          "payments": [{"method": "card", "amount": "-11.50"}]}, "/payments/0/amount"),
]


@pytest.mark.parametrize("code, body, field", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_business_errors_name_the_field_and_write_nothing(books, code, body, field):
    api = books["api"]
    ok(api.post("/v1/customers", {"code": "C2", "name": "Two"}), 201)
    if code == "period_closed":
        ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    refund(api, [{"line": 2, "quantity": "1"}])  # so "nothing written" is checked over real figures
    before = state(api)
    problem(api.post("/v1/refunds", body), 422, code, field)
    # the same answer through preview, which shares the rules
    problem(api.post("/v1/refunds/preview", body), 422, code, field)
    assert state(api) == before
    # and the next refund gets the next number: the rejection burned none
    assert refund(api, [{"line": 3}])["number"] == "CN-2026-000002"


def test_several_violations_are_reported_first_by_precedence(books):
    api = books["api"]
    before = state(api)
    body = problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [
        {"line": 1, "quantity": "4"}, {"line": 9, "quantity": "1"}]}), 422, "line_not_found", "/lines/1/line")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("/lines/1/line", "line_not_found"), ("/lines/0/quantity", "quantity_exceeds_refundable")]
    assert state(api) == before


def test_invalid_state_on_a_posted_refund(books):
    api = books["api"]
    posted = refund(api, LINE1)
    before = state(api)
    problem(api.post(f"/v1/refunds/{posted['id']}/post"), 422, "invalid_state", "/state")
    problem(api.patch(f"/v1/refunds/{posted['id']}", {"reason": "edited"}), 422, "invalid_state", "/state")
    problem(api.delete(f"/v1/refunds/{posted['id']}"), 422, "invalid_state", "/state")
    assert state(api) == before
    assert ok(api.get(f"/v1/refunds/{posted['id']}")) == posted


def test_unknown_ids_answer_404_not_found(books):
    api = books["api"]
    before = state(api)
    for method, path in [
            ("get", "/v1/refunds/{id}"), ("get", "/v1/refunds/{id}/journal"), ("get", "/v1/refunds/{id}/audit"),
            ("post", "/v1/refunds/{id}/post"), ("post", "/v1/refunds/{id}/void"), ("patch", "/v1/refunds/{id}"),
            ("delete", "/v1/refunds/{id}"), ("get", "/v1/invoices/NOPE"), ("get", "/v1/customers/NOPE"),
            ("get", "/v1/products/NOPE")]:
        url = path.format(id="00000000-0000-0000-0000-000000000000")
        response = api.patch(url, {"reason": "x"}) if method == "patch" else getattr(api, method)(url)
        problem(response, 404, "not_found")
    assert state(api) == before


def test_unknown_route_is_a_problem_too(books):
    r = books["api"].get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["code"] == "not_found"


@pytest.mark.parametrize("path, body, field", [
    ("/v1/customers", {"code": "C1", "name": "Again"}, "/code"),
    ("/v1/products", {"code": "BOOK", "name": "Again"}, "/code"),
    ("/v1/products", {"code": "NEW", "name": "New", "barcodes": ["BC-MUG"]}, "/barcodes/0"),
    ("/v1/products", {"code": "NEW", "name": "New", "barcodes": ["X1", "X1"]}, "/barcodes/1"),
    ("/v1/locations", {"code": "main", "name": "Again"}, "/code"),
    ("/v1/invoices", {"number": "INV-1", "customer": "C1", "date": "2026-06-02",
                      "lines": [{"product": "BOOK", "quantity": "1", "unit_price": "1", "tax_rate": "0"}]}, "/number"),
])
def test_duplicates_answer_409(books, path, body, field):
    api = books["api"]
    before = state(api)
    problem(api.post(path, body), 409, "duplicate", field)
    assert state(api) == before


def test_problem_body_shape(books):
    r = books["api"].post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 9}]},
                          headers={"X-Request-ID": "trace-42"})
    body = problem(r, 422, "line_not_found", "/lines/0/line")
    assert body["type"].endswith("line_not_found")
    assert body["detail"] == body["errors"][0]["message"]
    assert "INV-1" in body["detail"] and "9" in body["detail"]
    assert body["request_id"] == "trace-42" and r.headers["x-request-id"] == "trace-42"


@pytest.mark.parametrize("path, body", [
    ("/v1/refunds", {"invoice": "INV-1", "currency": "eur", "lines": [{"line": 1, "quantity": "1"}]}),
    ("/v1/invoices", {"number": "INV-9", "customer": "C1", "date": "2026-06-10", "currency": "eur",
                      "lines": [{"product": "WRAP", "quantity": "1", "unit_price": "2.00", "tax_rate": "0"}]}),
])
def test_a_malformed_currency_code_is_a_validation_error(books, path, body):
    api = books["api"]
    before = state(api)
    problem(api.post(path, body), 422, "validation_error", "/currency")
    assert state(api) == before
