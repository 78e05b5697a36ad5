"""Exact decimals on the wire (R1): strings or JSON numbers in, parsed exactly; strings out; every
malformed number is a validation_error naming its field, and nothing is written."""

from __future__ import annotations

import json

import pytest

from native_kit import ok, problem, state


def post_raw(api, path: str, text: str, key: str | None = None):
    headers = {**api.headers(key), "Content-Type": "application/json"}
    return api.client.post(path, content=text, headers=headers)


def refund_text(quantity: str, extra: str = "") -> str:
    return '{"invoice": "INV-1", "lines": [{"line": 1, "quantity": %s}]%s}' % (quantity, extra)


def test_json_number_0_1_is_parsed_exactly(books):
    api = books["api"]
    # 0.1 of a BOOK line (gross 34.50 for 3): 34.50 x 0.1 / 3 = 1.15 exactly, tax 0.15
    r = post_raw(api, "/v1/refunds", refund_text("0.1", ', "payments": [{"method": "card", "amount": 1.15}]'))
    created = ok(r, 201)
    assert [(l["quantity"], l["net"], l["tax"], l["gross"]) for l in created["lines"]] == [("0.1", "1.00", "0.15", "1.15")]
    assert created["payments"] == [{"method": "card", "amount": "1.15", "reference": None}]
    line = ok(api.get("/v1/invoices/INV-1"))["lines"][0]
    assert (line["refunded_quantity"], line["refundable_quantity"]) == ("0.1", "2.9")
    # 0.1 + 0.2 as numbers: exactly 0.3 refunded, never 0.30000000000000004
    ok(post_raw(api, "/v1/refunds", refund_text("0.2")), 201)
    assert ok(api.get("/v1/invoices/INV-1"))["lines"][0]["refunded_quantity"] == "0.3"


def test_numbers_are_never_passed_through_binary_floats(books):
    api = books["api"]
    # 2.675 and 1.005 are below .5 as floats (2.67499..., 1.00499...); exact half-up gives 2.68 and 1.01
    text = json.dumps({"number": "INV-F", "customer": "C1", "date": "2026-06-10", "lines": [
        {"product": "WRAP", "quantity": 1, "unit_price": "__A__", "tax_rate": 0},
        {"product": "WRAP", "quantity": 1, "unit_price": "__B__", "tax_rate": 0}]})
    text = text.replace('"__A__"', "2.675").replace('"__B__"', "1.005")
    invoice = ok(post_raw(api, "/v1/invoices", text), 201)
    assert [(l["unit_price"], l["gross"]) for l in invoice["lines"]] == [("2.675", "2.68"), ("1.005", "1.01")]
    assert invoice["total"] == "3.69"


@pytest.mark.parametrize("quantity", ['"1"', "1", '"1.0"', "1.0", '"1.0000"', "1E0", "1e0", "0.1e1"])
def test_equivalent_spellings_of_one(books, quantity):
    created = ok(post_raw(books["api"], "/v1/refunds", refund_text(quantity)), 201)
    assert created["lines"][0]["quantity"] == "1" and created["gross"] == "11.50"


BAD_QUANTITIES = [
    ('"1e5"', "exponent in a string"),
    ("1e999999", "exponent that explodes"),
    ("-1e999999", "negative exponent that explodes"),
    ('"NaN"', "NaN as a string"),
    ('"Infinity"', "Infinity as a string"),
    ('"0.00001"', "five decimals"),
    ("0.00001", "five decimals as a number"),
    ('"-1"', "negative"),
    ("-1", "negative number"),
    ('"0"', "zero"),
    ("0", "zero number"),
    ("0.0", "zero decimal"),
    ('"10000000000000"', "10^13"),
    ("10000000000000", "10^13 number"),
    ('""', "empty string"),
    ('"1,5"', "comma decimal"),
    ('"0x10"', "hex"),
    ("false", "boolean false"),
]


@pytest.mark.parametrize("quantity, why", BAD_QUANTITIES, ids=[b[1] for b in BAD_QUANTITIES])
def test_malformed_quantities_are_validation_errors_naming_the_field(books, quantity, why):
    api = books["api"]
    before = state(api)
    problem(post_raw(api, "/v1/refunds", refund_text(quantity)), 422, "validation_error", "/lines/0/quantity")
    problem(post_raw(api, "/v1/refunds/preview", refund_text(quantity)), 422, "validation_error", "/lines/0/quantity")
    assert state(api) == before


@pytest.mark.parametrize("text, field", [
    ('{"invoice": "INV-1", "lines": [{"line": 1, "quantity": true}]}', "/lines/0/quantity"),
    ('{"invoice": "INV-1", "lines": [{"line": true, "quantity": "1"}]}', "/lines/0/line"),
    ('{"invoice": "INV-1", "lines": [{"amount": "1.00"}], "payments": [{"method": "card", "amount": true}]}',
     "/payments/0/amount"),
], ids=["quantity", "line", "payment-amount"])
def test_boolean_true_for_a_number_is_refused(books, text, field):
    api = books["api"]
    before = state(api)
    problem(post_raw(api, "/v1/refunds", text), 422, "validation_error", field)
    assert state(api) == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_name_the_field(books, literal):
    api = books["api"]
    before = state(api)
    problem(post_raw(api, "/v1/refunds", refund_text(literal)), 422, "validation_error", "/lines/0/quantity")
    assert state(api) == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused_and_write_nothing(books, literal):
    api = books["api"]
    before = state(api)
    problem(post_raw(api, "/v1/refunds", refund_text(literal)), 422, "validation_error")
    assert state(api) == before


@pytest.mark.parametrize("value", ["[1]", '{"value": 1}'])
def test_wrong_json_type_for_a_decimal_names_the_field(books, value):
    body = problem(post_raw(books["api"], "/v1/refunds", refund_text(value)), 422, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"/lines/0/quantity"}


@pytest.mark.parametrize("extra, field", [
    (', "payments": [{"method": "card", "amount": "11.505"}]', "/payments/0/amount"),  # EUR has 2 decimals
    (', "payments": [{"method": "card", "amount": 11.505}]', "/payments/0/amount"),
    (', "payments": [{"method": "card", "amount": "1e1"}]', "/payments/0/amount"),
    (', "payments": [{"method": "card", "amount": "0"}]', "/payments/0/amount"),
])
def test_amounts_beyond_the_currency_minor_units_are_refused(books, extra, field):
    api = books["api"]
    before = state(api)
    problem(post_raw(api, "/v1/refunds", refund_text('"1"', extra)), 422, "validation_error", field)
    assert state(api) == before


@pytest.mark.parametrize("line, field", [
    ({"line": 1, "quantity": "1", "unit_price": "9.99999"}, "/lines/0/unit_price"),
    ({"line": 1, "quantity": "1", "unit_price": "-1"}, "/lines/0/unit_price"),
    ({"line": 1, "amount": "1.001"}, "/lines/0/amount"),
    ({"line": 1, "amount": "-1.00"}, "/lines/0/amount"),
    ({"amount": "1.00", "tax_rate": "101"}, "/lines/0/tax_rate"),
    ({"amount": "1.00", "tax_rate": "15.00001"}, "/lines/0/tax_rate"),
])
def test_prices_amounts_and_rates_are_checked(books, line, field):
    api = books["api"]
    before = state(api)
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [line]}), 422, "validation_error", field)
    assert state(api) == before


def test_jpy_amounts_have_no_decimals(make_tenant, api_for):
    tenant = make_tenant(currency="JPY")
    api = api_for(tenant["token"])
    ok(api.post("/v1/customers", {"code": "C1", "name": "One"}), 201)
    invoice = ok(api.post("/v1/invoices", {"number": "J-1", "customer": "C1", "date": "2026-06-10", "lines": [
        {"description": "Tea", "quantity": "3", "unit_price": "333", "tax_rate": "10"}]}), 201)
    # 999 + 10 % = 99.9 -> 100 tax, gross 1099; amounts print without decimals
    assert (invoice["net"], invoice["tax"], invoice["total"]) == ("999", "100", "1099")
    problem(api.post("/v1/refunds", {"invoice": "J-1", "lines": [{"line": 1, "quantity": "1"}],
                                     "payments": [{"method": "cash", "amount": "366.5"}]}),
            422, "validation_error", "/payments/0/amount")
    created = ok(api.post("/v1/refunds", {"invoice": "J-1", "lines": [{"line": 1, "quantity": "1"}]}), 201)
    # E(1) = round(1099 / 3) = 366, tax round(100 / 3) = 33; unpaid invoice -> store credit
    assert (created["net"], created["tax"], created["gross"]) == ("333", "33", "366")
    assert created["payments"] == [{"method": "receivable", "amount": "366", "reference": None}]
