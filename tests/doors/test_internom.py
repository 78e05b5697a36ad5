"""The Internom door (seed 000): ``POST /api/internom/refund/sale``.

Each test builds the seed's demo data under its own tenant name and token (the session's database
is shared), except the one that loads the seed tenant itself and sends the document's example
verbatim with the document's bearer token.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import json
import string
import uuid
from pathlib import Path

import pytest

from salesrefund import i18n
from salesrefund.domain.commands import IssueRefund, RefundLineRequest
from salesrefund.seeds import internom as seed
from salesrefund.service.tenants import create_token, revoke_token

PATH = "/api/internom/refund/sale"
SRC = Path(__file__).resolve().parents[2] / "src" / "salesrefund"

# The document's example request exactly as printed (tabs and all).
DOCUMENT_EXAMPLE = """{
  "branch_name": "5044251-export",
\t"reference": "S/221031/070515",
\t"reference_id": "ecom-WKTkw061pzPmw",
\t"customer_id": "8218528",
\t"order_line": [
\t\t{
\t\t\t"product_id": "9789919517953",
\t\t\t"quantity": 1,
\t\t\t"price_unit": 14900
\t\t}
\t]
}"""

_names = itertools.count(1)


@pytest.fixture
def shop(engine, clock, api_for):
    """The seed's demo data under a fresh tenant: {name, token, api (native), post(body, ...)}."""
    return make_shop(engine, clock, api_for)


def make_shop(engine, clock, api_for, **options) -> dict:
    name = f"internom-{next(_names)}-{uuid.uuid4().hex[:8]}"
    token = f"sr_internom_{uuid.uuid4().hex}"
    if options:
        from salesrefund.seeds import load_tenant_once
        load_tenant_once(engine, name, token=token, clock=clock,
                         build=lambda tenant_id, _loading: seed._build(engine, clock, tenant_id),
                         **{**seed.TENANT_OPTIONS, **options})
    else:
        assert seed.create(engine, clock, name=name, token=token)
    api = api_for(token)

    def post(body, *, token_=token, headers=None, raw=None):
        headers = {"Authorization": f"Bearer {token_}", **(headers or {})}
        if raw is not None:
            return api.client.post(PATH, content=raw, headers={"Content-Type": "application/json", **headers})
        return api.client.post(PATH, json=body, headers=headers)

    return {"name": name, "token": token, "api": api, "post": post}


def example(**changes) -> dict:
    body = json.loads(DOCUMENT_EXAMPLE)
    body.update(changes)
    return body


def line(**changes) -> dict:
    return {"product_id": seed.BARCODE, "quantity": 1, "price_unit": 14900, **changes}


def error(response, status: int, code: str, field: str | None = "") -> dict:
    """Assert Internom's error envelope; the first error is ``code`` at ``field``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "message", "errors"}, body
    assert body["status"] == "error"
    assert body["errors"] and all(set(e) == {"field", "code", "message"} for e in body["errors"])
    assert body["message"] == body["errors"][0]["message"]
    assert body["errors"][0]["code"] == code, body
    if field != "":
        assert body["errors"][0]["field"] == field, body
    return body


def refunds(shop) -> list[dict]:
    response = shop["api"].get("/v1/refunds")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def stock_at_branch(shop) -> str:
    items = shop["api"].get("/v1/stock", product=seed.PRODUCT, location=seed.BRANCH).json()["items"]
    return items[0]["on_hand"]


# -- the document's example -------------------------------------------------------------------------

def test_the_documents_example_sent_verbatim_to_the_seed_tenant_succeeds_once(engine, clock, client):
    seed.load(engine, clock)
    headers = {"Authorization": f"Bearer {seed.TOKEN}", "Content-Type": "application/json"}
    first = client.post(PATH, content=DOCUMENT_EXAMPLE, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "success" and body["message"] == "Requestedoperationisvalid"
    assert body["data"]["status"] == "success" and body["data"]["sale_name"].startswith("CN-")
    again = client.post(PATH, content=DOCUMENT_EXAMPLE, headers=headers)
    assert again.status_code == 200 and again.json() == body
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/v1/refunds", headers={"Authorization": f"Bearer {seed.TOKEN}"}).json()["items"]
    assert [r["number"] for r in listed if r["channel"] == "internom"] == [body["data"]["sale_name"]]
    assert seed.load(engine, clock) is False  # loading again changes nothing


def test_the_example_refunds_one_book_into_the_branch(shop):
    before = stock_at_branch(shop)
    response = shop["post"](None, raw=DOCUMENT_EXAMPLE)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    [made] = refunds(shop)
    assert data == {"status": "success", "sale_name": made["number"],
                    "order_ref": f"S/221031/070515 (ID: '{made['id']}')"}
    assert made["number"] == "CN-2026-000001"
    assert (before, stock_at_branch(shop)) == ("20", "21")
    assert made["total"] == "14900" and made["payments"] == [{"method": "cash", "amount": "14900", "reference": None}]


def test_acs_id_names_the_product_like_product_id(shop):
    ok = shop["post"](example(order_line=[{"acs_id": seed.BARCODE, "quantity": 2, "price_unit": 14900}]))
    assert ok.status_code == 200, ok.text
    both = shop["post"](example(reference="R2", reference_id="R2",
                                order_line=[line(acs_id=seed.BARCODE)]))
    assert both.status_code == 200, both.text
    assert [r["lines"][0]["quantity"] for r in refunds(shop)] == ["2", "1"]


# -- malformed requests -----------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["branch_name", "reference", "reference_id", "customer_id", "order_line"])
def test_every_required_field_missing_in_turn(shop, missing):
    body = example()
    del body[missing]
    error(shop["post"](body), 400, "validation_error", missing)
    assert refunds(shop) == []


@pytest.mark.parametrize("missing, field", [("product_id", "order_line[0].product_id"),
                                            ("quantity", "order_line[0].quantity"),
                                            ("price_unit", "order_line[0].price_unit")])
def test_every_required_line_field_missing_in_turn(shop, missing, field):
    item = line()
    del item[missing]
    error(shop["post"](example(order_line=[item])), 400, "validation_error", field)


@pytest.mark.parametrize("changes, field", [
    ({"branch_name": 5044251}, "branch_name"),
    ({"reference": ["S/1"]}, "reference"),
    ({"reference_id": ""}, "reference_id"),
    ({"customer_id": 8218528}, "customer_id"),
    ({"reference": "x" * 101}, "reference"),
    ({"order_line": []}, "order_line"),
    ({"order_line": {"product_id": seed.BARCODE}}, "order_line"),
    ({"order_line": ["9789919517953"]}, "order_line[0]"),
    ({"order_line": [line(product_id=9789919517953)]}, "order_line[0].product_id"),
    ({"order_line": [line(quantity="one")]}, "order_line[0].quantity"),
    ({"order_line": [line(quantity=True)]}, "order_line[0].quantity"),
    ({"order_line": [line(quantity=0)]}, "order_line[0].quantity"),
    ({"order_line": [line(quantity="1.00001")]}, "order_line[0].quantity"),
    ({"order_line": [line(price_unit=-1)]}, "order_line[0].price_unit"),
    ({"order_line": [line(price_unit="14900.00001")]}, "order_line[0].price_unit"),
    ({"order_line": [line(price_unit=10**13)]}, "order_line[0].price_unit"),
    ({"order_line": [line(acs_id="4006381333931")]}, "order_line[0].acs_id"),
])
def test_wrong_types_and_values_name_internoms_field(shop, changes, field):
    body = error(shop["post"](example(**changes)), 400, "validation_error", field)
    assert field in body["message"] or field.startswith("order_line[0]")
    assert refunds(shop) == []


def test_non_finite_numbers_and_bodies_that_are_not_objects(shop):
    raw = DOCUMENT_EXAMPLE.replace('"price_unit": 14900', '"price_unit": NaN')
    error(shop["post"](None, raw=raw), 400, "validation_error", "order_line[0].price_unit")
    error(shop["post"](None, raw="{not json"), 400, "validation_error", None)
    error(shop["post"](None, raw="[1, 2]"), 400, "validation_error", None)
    error(shop["post"](None, raw=""), 400, "validation_error", None)


def test_an_exact_decimal_quantity_is_taken_exactly(shop):
    response = shop["post"](None, raw=DOCUMENT_EXAMPLE.replace('"quantity": 1', '"quantity": 0.5'))
    assert response.status_code == 200, response.text
    [made] = refunds(shop)
    assert made["lines"][0]["quantity"] == "0.5" and made["total"] == "7450"


# -- credentials and tenancy --------------------------------------------------------------------------

def test_bad_credentials_answer_401_in_internoms_shape(shop):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        response = shop["api"].client.post(PATH, json=example(), headers=headers)
        error(response, 401, "unauthorized", "Authorization")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    # auth is checked before the body is read (R18): a bad body with a bad token is still 401
    error(shop["api"].client.post(PATH, content="{", headers={"Authorization": "Bearer nope"}),
          401, "unauthorized")
    assert refunds(shop) == []


def test_a_token_without_refund_create_is_403_and_a_revoked_one_401(engine, clock, shop):
    reader = create_token(engine, shop["name"], permissions=("refund:read",), clock=clock)
    error(shop["post"](example(), token_=reader["token"]), 403, "forbidden", "Authorization")
    writer = create_token(engine, shop["name"], permissions=("refund:create",), clock=clock)
    assert shop["post"](example(), token_=writer["token"]).status_code == 200
    revoke_token(engine, writer["id"], clock)
    error(shop["post"](example(reference="R9", reference_id="R9"), token_=writer["token"]), 401, "unauthorized")


def test_another_tenants_customer_product_and_branch_are_404(engine, clock, api_for, shop):
    other = make_shop(engine, clock, api_for)
    api = other["api"]
    assert api.post("/v1/customers", {"code": "OTHER", "name": "Other", "tax_number": "5550001"}).status_code == 201
    assert api.post("/v1/products", {"code": "OTHER-BOOK", "name": "Other", "barcodes": ["4006381333931"]}).status_code == 201
    assert api.post("/v1/locations", {"code": "other-branch", "name": "Other"}).status_code == 201
    error(shop["post"](example(customer_id="5550001")), 404, "customer_not_found", "customer_id")
    error(shop["post"](example(order_line=[line(product_id="4006381333931")])), 404, "product_not_found",
          "order_line[0].product_id")
    error(shop["post"](example(order_line=[line(product_id=None, acs_id="4006381333931")])), 404,
          "product_not_found", "order_line[0].acs_id")
    error(shop["post"](example(branch_name="other-branch")), 404, "location_not_found", "branch_name")
    # several unknown references: the first by precedence, all of them listed
    body = error(shop["post"](example(customer_id="5550001", branch_name="nowhere",
                                      order_line=[line(product_id="0000")])), 404, "customer_not_found")
    assert [e["code"] for e in body["errors"]] == ["customer_not_found", "product_not_found", "location_not_found"]
    assert refunds(shop) == [] and refunds(other) == []


def test_a_tenant_that_does_not_allow_unlinked_refunds_refuses_with_422(engine, clock, api_for):
    strict = make_shop(engine, clock, api_for, allow_unlinked_refunds=False)
    error(strict["post"](example()), 422, "unlinked_refunds_not_allowed", None)
    # a business-rule rejection is stored under both keys and replayed (R17)
    again = strict["post"](example())
    assert again.status_code == 422 and again.headers["Idempotent-Replayed"] == "true"
    assert refunds(strict) == []


# -- exactly once -----------------------------------------------------------------------------------

def test_replays_answer_the_original_and_a_reused_key_is_an_error(shop):
    first = shop["post"](example())
    assert first.status_code == 200
    replay = shop["post"](example())
    assert (replay.status_code, replay.json()) == (200, first.json())
    assert replay.headers["Idempotent-Replayed"] == "true"
    # the same body with numbers written differently is the same request
    same = shop["post"](example(order_line=[line(quantity="1.0", price_unit="14900.00")]))
    assert same.status_code == 200 and same.json() == first.json()
    body = error(shop["post"](example(order_line=[line(quantity=2)])), 422, "idempotency_key_reused", "reference")
    assert body["errors"][0]["message"] == "this key was already used for a different request"
    error(shop["post"](example(reference="S/NEW/1")), 422, "idempotency_key_reused", "reference_id")
    error(shop["post"](example(reference_id="ecom-NEW")), 422, "idempotency_key_reused", "reference")
    assert len(refunds(shop)) == 1
    assert shop["post"](example(reference="S/NEW/2", reference_id="ecom-NEW-2")).status_code == 200
    assert len(refunds(shop)) == 2


# -- languages --------------------------------------------------------------------------------------

def test_messages_follow_accept_language(shop):
    body = example(customer_id="0000000")
    english = error(shop["post"](body), 404, "customer_not_found")
    assert english["message"] == "there is no customer with tax number 0000000"
    for header in ("mn", "mn-MN", "en;q=0.5, mn;q=0.9"):
        mongolian = error(shop["post"](body, headers={"Accept-Language": header}), 404, "customer_not_found")
        assert mongolian["message"] == "0000000 татварын дугаартай харилцагч алга", header
    for header in ("en", "ru", "mn;q=0", "*"):
        assert error(shop["post"](body, headers={"Accept-Language": header}), 404,
                     "customer_not_found")["message"] == english["message"]
    missing = error(shop["post"]({}, headers={"Accept-Language": "mn"}), 400, "validation_error", "branch_name")
    assert missing["message"] == "branch_name заавал шаардлагатай"
    assert all("шаардлагатай" in e["message"] for e in missing["errors"])
    bad = error(shop["post"](example(order_line=[line(price_unit="1.23456")]), headers={"Accept-Language": "mn"}),
                400, "validation_error", "order_line[0].price_unit")
    assert bad["message"] == "order_line[0].price_unit: үнэд аравтын хамгийн ихдээ 4 орон байж болно"
    denied = error(shop["api"].client.post(PATH, json=body, headers={"Accept-Language": "mn"}), 401, "unauthorized")
    assert denied["message"] == "Authorization толгой мэдээлэл алга"


def _templates(path: Path) -> set[str]:
    """The English message templates a module hands to reject / _error / Violation / _bad."""
    positions = {"reject": 2, "_error": 2, "Violation": 2, "_bad": 1, "invalid": 1}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            at = positions.get(name)
            if at is not None and len(node.args) > at:
                arg = node.args[at]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    prefix = "{field_name} " if path.name == "money.py" and name == "_bad" else ""
                    found.add(prefix + arg.value)
                elif isinstance(arg, ast.IfExp):
                    found |= {b.value for b in (arg.body, arg.orelse) if isinstance(b, ast.Constant)}
    return found


def test_every_message_an_internom_caller_can_see_has_a_mongolian_translation():
    catalog = i18n.catalog("mn")
    files = ["domain/refunds.py", "domain/money.py", "service/refunds.py", "service/idempotency.py",
             "http/auth.py", "http/dialects/internom.py", "http/dialects/internom_parse.py"]
    templates = set().union(*(_templates(SRC / f) for f in files))
    assert len(templates) > 50
    assert sorted(t for t in templates if t not in catalog) == []
    # {named} fields survive translation, so every message can be filled in
    fields = string.Formatter()
    for english, mongolian in catalog.items():
        names = sorted(n for _, n, _, _ in fields.parse(english) if n is not None)
        assert sorted(n for _, n, _, _ in fields.parse(mongolian) if n is not None) == names, english
    # money's "at most N decimals" for every scale the API uses
    for what in ("quantity", "price", "tax rate", "currency (MNT)", "currency (USD)"):
        for places in (0, 2, 4):
            noun = f"{places} decimal" + ("s" if places != 1 else "")
            assert f"{{field_name}} allows at most {noun} for this {what}" in catalog


def test_the_catalog_header_declares_mongolian_plural_forms():
    text = (SRC / "i18n" / "mn.po").read_text(encoding="utf-8")
    assert '"Language: mn\\n"' in text
    assert '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"' in text
    assert '"Content-Type: text/plain; charset=UTF-8\\n"' in text


# -- one command, whichever door ----------------------------------------------------------------------

def test_the_door_builds_the_same_command_as_the_native_api(shop, monkeypatch, client):
    captured: list[IssueRefund] = []
    service = client.app.state.refunds
    original = service.issue

    def capture(ctx, command, responder):
        captured.append(command)
        return original(ctx, command, responder)

    monkeypatch.setattr(service, "issue", capture)
    body = example(order_line=[line(quantity=2), line(acs_id=seed.BARCODE, product_id=None, quantity="0.5",
                                                      price_unit="12000")])
    assert shop["post"](body).status_code == 200
    native = shop["api"].post("/v1/refunds", {
        "customer": seed.CUSTOMER, "location": seed.BRANCH,
        "lines": [{"product": seed.PRODUCT, "quantity": "2", "unit_price": "14900"},
                  {"product": seed.PRODUCT, "quantity": "0.5", "unit_price": "12000"}]})
    assert native.status_code == 201, native.text
    door_command, native_command = captured
    assert door_command.reference == "S/221031/070515" and native_command.reference is None
    assert dataclasses.replace(door_command, reference=None) == native_command
    assert door_command.lines == (RefundLineRequest(product=seed.PRODUCT, quantity=20000, unit_price=149000000),
                                  RefundLineRequest(product=seed.PRODUCT, quantity=5000, unit_price=120000000))
    assert door_command.metadata["reference_id"] == "ecom-WKTkw061pzPmw"


def _comparable(view: dict) -> dict:
    return {k: v for k, v in view.items()
            if k not in ("id", "number", "channel", "created_at", "posted_at", "reference", "metadata")}


def _journal(api, refund_id: str) -> list:
    entries = api.get(f"/v1/refunds/{refund_id}/journal").json()["items"]
    return [(e["date"], e["source"], e["lines"]) for e in entries]


def test_a_door_refund_is_the_same_refund_through_the_native_api(engine, clock, api_for, shop):
    response = shop["post"](example(order_line=[line(quantity=3)]))
    assert response.status_code == 200
    refund_id = response.json()["data"]["order_ref"].split("'")[1]
    view = shop["api"].get(f"/v1/refunds/{refund_id}").json()
    assert view["number"] == response.json()["data"]["sale_name"]
    assert view["channel"] == "internom" and view["reference"] == "S/221031/070515"
    assert view["unlinked"] is True and view["invoice"] is None and view["customer"] == seed.CUSTOMER
    assert view["location"] == seed.BRANCH
    assert [(l["product"], l["quantity"], l["unit_price"], l["location"], l["restock"]) for l in view["lines"]] == \
        [(seed.PRODUCT, "3", "14900", seed.BRANCH, True)]
    assert (view["net"], view["tax"], view["total"]) == ("44700", "0", "44700")
    # the very same refund made natively in a twin tenant: identical figures, entry and stock
    twin = make_shop(engine, clock, api_for)
    made = twin["api"].post("/v1/refunds", {"customer": seed.CUSTOMER, "location": seed.BRANCH,
                                           "lines": [{"product": seed.PRODUCT, "quantity": "3", "unit_price": "14900"}]})
    assert made.status_code == 201, made.text
    assert _comparable(view) == _comparable(made.json())
    assert _journal(shop["api"], refund_id) == _journal(twin["api"], made.json()["id"])
    accounts = {l["account"]: (l["debit"], l["credit"]) for l in _journal(shop["api"], refund_id)[0][2]}
    assert accounts == {"4100": ("44700", "0"), "1000": ("0", "44700"), "1200": ("27000", "0"),
                        "5000": ("0", "27000")}
    assert stock_at_branch(shop) == stock_at_branch(twin) == "23"


def test_a_real_fault_answers_500_in_internoms_shape(shop, monkeypatch, client):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(client.app.state.refunds, "issue", boom)
    body = error(shop["post"](example()), 500, "server_error", None)
    assert body["message"] == "an unexpected error occurred; nothing was recorded"


def test_a_product_code_is_accepted_where_no_barcode_matches(shop):
    response = shop["post"](example(order_line=[line(product_id=seed.PRODUCT)]))
    assert response.status_code == 200, response.text
    assert refunds(shop)[0]["lines"][0]["product"] == seed.PRODUCT
