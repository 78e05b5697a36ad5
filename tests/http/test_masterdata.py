"""Customers, products, locations and invoices through the native API."""

from __future__ import annotations

import pytest

from native_kit import ok, problem, state


def test_customers_are_created_and_read(books):
    api = books["api"]
    created = ok(api.post("/v1/customers", {"code": "C2", "name": "Two", "tax_number": "TX2",
                                            "email": "two@example.com", "currency": "EUR"}), 201)
    assert created == {"code": "C2", "name": "Two", "tax_number": "TX2", "currency": "EUR",
                       "email": "two@example.com", "credit_balance": "0.00"}
    assert ok(api.get("/v1/customers/C2")) == created
    # codes may contain a slash
    ok(api.post("/v1/customers", {"code": "B2B/7", "name": "Slash"}), 201)
    assert ok(api.get("/v1/customers/B2B/7"))["name"] == "Slash"


def test_products_and_locations(books):
    api = books["api"]
    created = ok(api.post("/v1/products", {"code": "LAMP", "name": "Lamp", "barcodes": ["111", "222"], "unit": "pc",
                                           "stock_tracked": True, "cost": "12.5"}), 201)
    assert (created["code"], created["barcodes"], created["unit"], created["stock_tracked"]) == (
        "LAMP", ["111", "222"], "pc", True)
    assert created["cost"] in ("12.5", "12.50")
    assert ok(api.get("/v1/products/LAMP")) == created
    assert ok(api.post("/v1/locations", {"code": "shop", "name": "Shop"}), 201) == {"code": "shop", "name": "Shop"}


@pytest.mark.parametrize("path, body, code, field", [
    ("/v1/customers", {"code": "", "name": "x"}, "validation_error", "/code"),
    ("/v1/customers", {"code": "C9"}, "validation_error", "/name"),
    pytest.param("/v1/customers", {"code": "C9", "name": "x", "currency": "eur"}, "validation_error", "/currency"),
    ("/v1/customers", {"code": "C9", "name": "x", "currency": "USD"}, "currency_mismatch", "/currency"),
    ("/v1/customers", {"code": "C9", "name": "x", "credit_balance": "100.00"}, "validation_error", "/credit_balance"),
    ("/v1/products", {"code": "P9", "name": "x", "cost": "-1"}, "validation_error", "/cost"),
    ("/v1/products", {"code": "P9", "name": "x", "cost": "1.00001"}, "validation_error", "/cost"),
    ("/v1/products", {"code": "P9", "name": "x", "id": 5}, "validation_error", "/id"),
    ("/v1/locations", {"code": "L9", "name": "x", "stock": "1"}, "validation_error", "/stock"),
])
def test_master_data_errors(books, path, body, code, field):
    api = books["api"]
    problem(api.post(path, body), 422, code, field)
    # nothing was written: the code is still free
    code_value = body["code"] or "C9"
    ok(api.post(path, {"code": code_value, "name": "Now valid"}), 201)


INVOICE = {"number": "INV-2", "customer": "C1", "date": "2026-06-10",
           "lines": [{"product": "BOOK", "quantity": "2", "unit_price": "10.00", "discount": "1.00", "tax_rate": "15"},
                     {"description": "Gift wrap service", "quantity": "1", "unit_price": "0.99", "tax_rate": "0"}],
           "payments": [{"method": "cash", "amount": "10.00"}]}


def test_invoice_with_discount_and_partial_payment(books):
    api = books["api"]
    invoice = ok(api.post("/v1/invoices", INVOICE), 201)
    # 2 x 10.00 - 1.00 = 19.00 net, 15 % = 2.85 tax, 21.85 gross; + 0.99 untaxed = 22.84
    assert [(l["line"], l["product"], l["discount"], l["net"], l["tax"], l["gross"]) for l in invoice["lines"]] == [
        (1, "BOOK", "1.00", "19.00", "2.85", "21.85"), (2, None, "0.00", "0.99", "0.00", "0.99")]
    assert (invoice["net"], invoice["tax"], invoice["total"]) == ("19.99", "2.85", "22.84")
    assert invoice["payments"] == [{"method": "cash", "amount": "10.00"}]
    assert ok(api.get("/v1/invoices/INV-2")) == invoice
    # the unpaid 12.84 sits in receivable
    tb = ok(api.get("/v1/ledger/trial-balance"))
    assert {a["account"]: a["balance"] for a in tb["accounts"]}["1100"] == "12.84"
    # its refund: 1 BOOK = E(1) of 21.85 -> round(10.925) = 10.93, tax round(1.425) = 1.43, net 9.50
    created = ok(api.post("/v1/refunds", {"invoice": "INV-2", "lines": [{"line": 1, "quantity": "1"}]}), 201)
    assert (created["net"], created["tax"], created["gross"]) == ("9.50", "1.43", "10.93")
    assert sum(int(p["amount"].replace(".", "")) for p in created["payments"]) == 1093


@pytest.mark.parametrize("change, code, field", [
    ({"customer": "NOPE"}, "customer_not_found", "/customer"),
    ({"location": "NOPE"}, "location_not_found", "/location"),
    ({"date": "2026-06-16"}, "posting_date_in_future", "/date"),
    ({"currency": "USD"}, "currency_mismatch", "/currency"),
    ({"payments": [{"method": "cash", "amount": "22.85"}]}, "payments_do_not_match_total", "/payments"),
    ({"payments": [{"method": "cheque", "amount": "1.00"}]}, "unknown_payment_method", "/payments/0/method"),
    ({"lines": [{"product": "NOPE", "quantity": "1", "unit_price": "1", "tax_rate": "0"}]}, "product_not_found",
     "/lines/0/product"),
    ({"lines": [{"quantity": "1", "unit_price": "1", "tax_rate": "0"}]}, "validation_error", "/lines/0/description"),
    ({"lines": [{"product": "BOOK", "quantity": "1", "unit_price": "1", "tax_rate": "15", "net": "1"}]},
     "validation_error", "/lines/0/net"),
    ({"lines": []}, "validation_error", "/lines"),
    ({"total": "22.84"}, "validation_error", "/total"),
])
def test_invoice_errors_write_nothing(books, change, code, field):
    api = books["api"]
    before = state(api)
    problem(api.post("/v1/invoices", {**INVOICE, **change}), 422, code, field)
    assert state(api) == before
    problem(api.get("/v1/invoices/INV-2"), 404, "not_found")


def test_list_invoices_pages_and_filters(books):
    api = books["api"]
    ok(api.post("/v1/customers", {"code": "C2", "name": "Two"}), 201)
    for n, customer in ((2, "C2"), (3, "C1"), (4, "C2")):
        ok(api.post("/v1/invoices", {**INVOICE, "number": f"INV-{n}", "customer": customer, "payments": []}), 201)
    everything = ok(api.get("/v1/invoices"))
    assert [i["number"] for i in everything["items"]] == ["INV-1", "INV-2", "INV-3", "INV-4"]
    assert everything["next"] is None
    assert [i["number"] for i in ok(api.get("/v1/invoices", customer="C2"))["items"]] == ["INV-2", "INV-4"]
    first = ok(api.get("/v1/invoices", limit=3))
    assert [i["number"] for i in first["items"]] == ["INV-1", "INV-2", "INV-3"] and first["next"]
    second = ok(api.get("/v1/invoices", limit=3, cursor=first["next"]))
    assert [i["number"] for i in second["items"]] == ["INV-4"] and second["next"] is None
