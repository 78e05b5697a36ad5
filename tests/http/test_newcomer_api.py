"""Issue 12, the API a newcomer can use: offline /docs and /redoc, the bearer scheme and valid
examples in the OpenAPI document, refunds by credit-note number, master-data lists, settings,
door credentials over the admin API, the empty Authorization header, and costs with decimals."""

from __future__ import annotations

import re

import pytest



def test_docs_and_redoc_are_served_offline_with_their_assets(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert client.get(page).status_code == 200
        urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert urls, html
        assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls  # no CDN, no fonts
        for url in urls:
            if url.startswith("/docs-assets/"):
                asset = client.get(url)
                assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert "fonts.googleapis" not in client.get("/redoc").text


def test_openapi_declares_bearer_auth_and_every_native_route_uses_it(client):
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"]}
    for path, operations in doc["paths"].items():
        if path.startswith("/v1/"):
            for operation in operations.values():
                assert operation["security"] == [{"bearerAuth": []}], path


def test_every_native_example_is_a_request_the_api_accepts(client, books, make_token):
    """The examples are written for `serve --demo`; on a fresh tenant with the same codes each one
    must at least pass validation (no SFM currency, no line+product+amount together)."""
    doc = client.get("/openapi.json").json()
    examples = {(m, p): op["requestBody"]["content"]["application/json"]["example"]
                for p, ops in doc["paths"].items() for m, op in ops.items()
                if "example" in op.get("requestBody", {}).get("content", {}).get("application/json", {})}
    assert ("post", "/v1/refunds") in examples and ("post", "/v1/refunds/preview") in examples
    refund = examples[("post", "/v1/refunds")]
    assert "currency" not in refund and all(not {"product", "amount"} & set(line) for line in refund["lines"])
    api = books["api"]
    for (method, path), example in examples.items():
        if "{" in path:
            continue
        answer = api.client.request(method.upper(), path, json=example, headers=api.headers())
        assert answer.status_code != 422 or answer.json()["code"] != "validation_error", (path, answer.text)


def test_door_routes_have_request_body_schemas(client):
    doc = client.get("/openapi.json").json()
    for path, operations in doc["paths"].items():
        if not path.startswith(("/v1/", "/healthz")):
            for method, operation in operations.items():
                if method == "post":
                    content = operation["requestBody"]["content"]
                    assert any(c.get("schema", {}).get("properties") or c.get("schema", {}).get("$ref")
                               for c in content.values()), path


def test_a_refund_is_read_by_its_credit_note_number_and_lists_filter_by_number(books):
    api = books["api"]
    first = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}).json()
    second = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 2, "quantity": "1"}]}).json()
    assert first["number"] != second["number"]
    by_number = api.get(f"/v1/refunds/{second['number']}")
    assert by_number.status_code == 200 and by_number.json()["id"] == second["id"]
    assert api.get(f"/v1/refunds/{second['number']}/journal").json()["items"][0]["lines"]
    listed = api.get("/v1/refunds", number=first["number"]).json()["items"]
    assert [r["id"] for r in listed] == [first["id"]]
    assert api.get("/v1/refunds", number="CN-1999-000001").json()["items"] == []
    assert api.get("/v1/refunds/CN-1999-000001").status_code == 404
    assert [i["number"] for i in api.get("/v1/invoices", number="INV-1").json()["items"]] == ["INV-1"]
    voided = api.post(f"/v1/refunds/{first['number']}/void", {"reason": "by number"})
    assert voided.status_code == 200 and voided.json()["state"] == "voided"


def test_a_credit_note_number_of_another_tenant_is_not_found(books, make_tenant, api_for):
    refund = books["api"].post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}).json()
    other = api_for(make_tenant()["token"])
    assert other.get(f"/v1/refunds/{refund['number']}").status_code == 404


def test_master_data_lists_and_payment_methods(books):
    api = books["api"]
    customers = api.get("/v1/customers").json()
    assert [c["code"] for c in customers["items"]] == ["C1"] and customers["next"] is None
    assert customers["items"][0]["credit_balance"] == "0.00"
    products = api.get("/v1/products", limit=2).json()
    assert [p["code"] for p in products["items"]] == ["BOOK", "MUG"] and products["next"]
    rest = api.get("/v1/products", limit=2, cursor=products["next"]).json()
    assert [p["code"] for p in rest["items"]] == ["WRAP"] and rest["next"] is None
    assert [p["code"] for p in api.get("/v1/products", barcode="BC-MUG").json()["items"]] == ["MUG"]
    assert [c["code"] for c in api.get("/v1/customers", q="One").json()["items"]] == ["C1"]
    assert [loc["code"] for loc in api.get("/v1/locations").json()["items"]] == ["main"]
    assert api.get("/v1/locations/main").json() == {"code": "main", "name": "Main location"}
    methods = {m["code"]: m["kind"] for m in api.get("/v1/payment-methods").json()["items"]}
    assert methods == {"cash": "cash", "card": "card", "bank": "bank", "store_credit": "store_credit"}


def test_product_cost_has_the_currency_decimals(books, make_tenant, api_for):
    api = books["api"]
    assert api.get("/v1/products/BOOK").json()["cost"] == "6.00"
    assert api.get("/v1/products/WRAP").json()["cost"] == "0.00"
    made = api.post("/v1/products", {"code": "PEN", "name": "Pen", "cost": "4"}).json()
    assert made["cost"] == "4.00"
    assert api.post("/v1/products", {"code": "TINY", "name": "Tiny", "cost": "0.1234"}).json()["cost"] == "0.1234"
    mnt = api_for(make_tenant("MNT", currency_exponent=0)["token"])
    assert mnt.post("/v1/products", {"code": "P", "name": "P", "cost": "9000"}).json()["cost"] == "9000"


def test_settings_are_read_by_readers_and_changed_by_admins_only(books, make_token, api_for):
    admin = books["api"]
    settings = admin.get("/v1/settings").json()
    assert settings["currency"] == "EUR" and settings["allow_unlinked_refunds"] is False
    assert settings["cash_rounding"] == "0.00"
    reader = api_for(make_token(books["tenant"], "refund:read"))
    assert reader.get("/v1/settings").json() == settings
    refused = reader.patch("/v1/settings", {"allow_unlinked_refunds": True})
    assert refused.status_code == 403
    changed = admin.patch("/v1/settings", {"allow_unlinked_refunds": True, "cash_rounding": "0.05",
                                           "timezone": "Europe/Berlin"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["allow_unlinked_refunds"] is True and changed.json()["cash_rounding"] == "0.05"
    assert admin.get("/v1/settings").json()["timezone"] == "Europe/Berlin"
    bad = admin.patch("/v1/settings", {"timezone": "Mars/Olympus", "allow_unlinked_refunds": False})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "/timezone"
    assert admin.get("/v1/settings").json()["allow_unlinked_refunds"] is True  # a refusal changed nothing
    assert admin.patch("/v1/settings", {"currency": "USD"}).status_code == 422


def test_door_credentials_are_created_listed_and_revoked_by_an_admin(books, client, make_token, api_for):
    admin = books["api"]
    created = admin.post("/v1/doors/credentials", {"door": "beansbooks", "login": "77", "secret": "a-long-secret-1"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"] == "a-long-secret-1" and body["settings"]["taxes"]
    listed = admin.get("/v1/doors/credentials").json()["items"]
    assert [(c["door"], c["login"], c["revoked"]) for c in listed] == [("beansbooks", "77", False)]
    assert "secret" not in listed[0]
    key = admin.post("/v1/doors/credentials", {"door": "snr2u", "login": "till-1"}).json()
    assert key["secret"].startswith("sr_")
    assert api_for(key["secret"]).get("/v1/invoices/INV-1").status_code == 200  # the SnR2U key is a bearer token
    assert admin.post("/v1/doors/credentials", {"door": "beansbooks", "login": "77"}).json()["code"] == "duplicate"
    assert admin.post("/v1/doors/credentials", {"door": "nope", "login": "x"}).status_code == 422
    reader = api_for(make_token(books["tenant"], "refund:read", "refund:create"))
    assert reader.get("/v1/doors/credentials").status_code == 403
    revoked = client.delete(f"/v1/doors/credentials/{key['id']}", headers=admin.headers())
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert api_for(key["secret"]).get("/v1/invoices/INV-1").status_code == 401
    assert client.delete("/v1/doors/credentials/999999", headers=admin.headers()).status_code == 404


def test_a_revoked_beansbooks_credential_is_refused_by_its_door(books, client):
    admin = books["api"]
    made = admin.post("/v1/doors/credentials", {"door": "beansbooks", "login": "78", "secret": "another-secret"}).json()
    body = {"auth_uid": 78, "auth_key": "another-secret", "auth_expiration": made["settings"]["auth_expiration"],
            "id": 1, "lines": []}
    before = client.post("/api/customer/sale/refund", json=body).json()
    assert before["auth_error"] == ""  # authenticated (the sale itself may not exist here)
    client.delete(f"/v1/doors/credentials/{made['id']}", headers=admin.headers())
    after = client.post("/api/customer/sale/refund", json=body).json()
    assert after["success"] is False and after["auth_error"]


@pytest.mark.parametrize("header, says", [
    (None, "missing"), ("", "empty"), ("   ", "empty"), ("Basic abc", "Bearer <token>"), ("Bearer nope", "valid")])
def test_the_unauthorized_message_says_what_is_wrong(client, header, says):
    headers = {} if header is None else {"Authorization": header}
    answer = client.get("/v1/customers", headers=headers)
    assert answer.status_code == 401
    assert says in answer.json()["detail"]
    if header is not None:
        assert "missing" not in answer.json()["detail"]


def test_the_docs_pages_may_reach_nothing_but_this_server(client):
    for page in ("/docs", "/redoc"):
        policy = client.get(page).headers["content-security-policy"]
        assert "default-src 'self'" in policy and "img-src 'self' data:" in policy and "connect-src 'self'" in policy


def test_a_setting_that_always_has_a_value_cannot_be_set_to_null(books):
    admin = books["api"]
    before = admin.get("/v1/settings").json()
    for name in ("allow_unlinked_refunds", "prices_include_tax", "cash_rounding_all_methods", "timezone",
                 "cash_rounding"):
        answer = admin.patch("/v1/settings", {name: None})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == f"/{name}", answer.text
    assert admin.get("/v1/settings").json() == before
    assert admin.patch("/v1/settings", {"country": None}).json()["country"] is None  # a country may be cleared


def test_door_settings_keep_exact_numbers(books):
    made = books["api"].client.post(
        "/v1/doors/credentials", content='{"door": "vodo", "login": "k-exact", "settings": {"vat_rate": 15.00, "n": 3}}',
        headers={**books["api"].headers(), "Content-Type": "application/json"})
    assert made.status_code == 201, made.text
    assert made.json()["settings"]["vat_rate"] == "15.00" and made.json()["settings"]["n"] == 3
