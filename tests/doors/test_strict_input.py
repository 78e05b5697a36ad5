"""One rule for every door (issue 10, "Security at the edges"):

* a JSON object with a key given twice is refused, naming the key, on the native API and every
  JSON door (Python's ``json`` kept the last value; another parser may keep the first);
* a number written as text with surrounding spaces (``" 10.00"`` in JSON, a JSV or form value) is
  read as the number without them, on every door (``docs/decisions.md``)."""

from __future__ import annotations

import json

from salesrefund.http.problems import json_text
from snr2u_helpers import FILLED, FILLED_JSV, as_json
from test_beansbooks import make_beans, sale_of
from test_crmcom import CREATE, LOGIN, build_tenant, minimal, raw
from test_internom import PATH as INTERNOM, example, make_shop
from test_snr2u import PATH as SNR2U, demo, post, status  # noqa: F401 (fixtures)
from test_vodo import form_of, make_vodo, send, success, vodo  # noqa: F401 (fixtures)

DUPLICATE = "the key {key} is given more than once in this object"


# -- duplicate keys ------------------------------------------------------------------------------------

def test_native_refuses_a_duplicate_key_naming_it(books):
    api = books["api"]
    body = '{"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1", "quantity": "3"}]}'
    response = api.client.post("/v1/refunds", content=body, headers={**api.headers(), "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["field"] == "/lines/0/quantity"
    assert problem["errors"][0]["message"] == DUPLICATE.format(key="quantity")
    assert api.get("/v1/refunds", invoice="INV-1").json()["items"] == []


def test_internom_refuses_a_duplicate_key_naming_it(engine, clock, api_for):
    shop = make_shop(engine, clock, api_for)
    text = json.dumps(example()).replace('"reference":', '"reference": "OTHER", "reference":', 1)
    response = shop["post"](None, raw=text)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "error" and body["errors"][0]["code"] == "validation_error"
    assert body["message"] == DUPLICATE.format(key="reference")


def test_crmcom_refuses_a_duplicate_key_naming_it(engine, clock, client):
    crm = build_tenant(engine, clock, client)
    login = '{"username": "%s", "password": "1234", "password": "wrong", "organisation": "CRMDEMO"}' % crm.username
    response = client.post(LOGIN, content=login, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["status"]["code"] == "INVALID_PARAMETER"
    assert "password" in response.json()["status"]["description"]
    text = raw({"token": crm.token, **minimal()}).replace('"refund_amount":', '"refund_amount": 1, "refund_amount":', 1)
    response = client.post(CREATE, content=text, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["status"]["code"] == "INVALID_PARAMETER", response.text
    assert DUPLICATE.format(key="refund_amount") in response.json()["status"]["description"]


def test_beansbooks_refuses_a_duplicate_key_naming_it(engine, clock, api_for):
    beans = make_beans(engine, clock, api_for)
    text = json.dumps(beans["body"]()).replace('"amount":', '"amount": "-1", "amount":', 1)
    response = beans["post"](raw=text)
    assert response.status_code == 200  # BeansBooks' envelope
    body = response.json()
    assert body["success"] is False and body["error_code"] == "validation_error"
    assert body["error"] == DUPLICATE.format(key="amount")
    assert beans["api"].get("/v1/refunds").json()["items"] == []


def test_snr2u_refuses_a_duplicate_key_in_json_naming_it(post):
    text = json_text(as_json(FILLED)).replace('"DocumentReason":', '"DocumentReason": "x", "DocumentReason":', 1)
    assert '"DocumentReason": "x"' in text or '"DocumentReason":"x"' in text
    response = post(text, fmt="json")
    assert response.status_code == 400, response.text
    first = status(response)["Errors"][0]
    assert first["FieldName"] == "DocumentHeader.DocumentReason" and first["Message"] == DUPLICATE.format(key="DocumentReason")


# -- numbers padded with spaces: read without them, on every door --------------------------------------

def test_native_reads_a_padded_decimal_string(books):
    response = books["api"].post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": " 1 "}]})
    assert response.status_code == 201, response.text
    assert response.json()["lines"][0]["quantity"] == "1"


def test_internom_reads_a_padded_number_string(engine, clock, api_for):
    shop = make_shop(engine, clock, api_for)
    body = example()
    body["order_line"][0]["price_unit"] = " 14900 "
    body["order_line"][0]["quantity"] = " 1"
    response = shop["post"](body)
    assert response.status_code == 200, response.text


def test_vodo_reads_padded_form_values(client, vodo):
    fields = form_of(item_price=[" 100 "], item_qty=[" 1"])
    data = success(send(client, vodo["headers"], fields))
    assert str(data["total"]) == "100.00"


def test_crmcom_reads_a_padded_amount_string(engine, clock, client):
    crm = build_tenant(engine, clock, client)
    text = raw({"token": crm.token, **minimal(refund_amount=" 50.00 ")})
    response = client.post(CREATE, content=text, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert str(response.json()["data"]["refund_amount"]) in ("50", "50.0", "50.00")


def test_beansbooks_reads_a_padded_amount_string(engine, clock, api_for):
    beans = make_beans(engine, clock, api_for)
    body = beans["body"]()
    body["lines"][0]["amount"] = " -49.99 "
    sale = sale_of(beans["post"](body))
    assert sale["subtotal"] == "-49.99"


def test_snr2u_reads_padded_numbers_in_json(post):
    body = as_json(FILLED)
    quantity = body["CustomerRefundNote"]["DocumentDetails"][0]["ItemQuantity"]
    body["CustomerRefundNote"]["DocumentDetails"][0]["ItemQuantity"] = f" {quantity} "
    response = post(json_text(body), fmt="json")
    assert response.status_code == 200, response.text


def test_snr2u_reads_padded_numbers_in_jsv(post):
    padded = FILLED_JSV.replace("ItemQuantity: 1.0000", 'ItemQuantity: " 1.0000 "', 1)
    assert padded != FILLED_JSV
    response = post(padded)
    assert response.status_code == 200, response.text
