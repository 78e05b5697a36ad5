"""The BeansBooks door (seed 003): ``POST /api/customer/sale/refund`` (path words in any case).

Each test builds the seed's demo data (sale 1: 2 x 49.99 "Coffee beans, 1 kg" + 1 x 15.00
"Shipping", tax 1 = 8.25 %) under its own tenant name, admin token and ``auth_uid`` (door logins
are unique per door across tenants), except the one that loads the seed tenant itself.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import date

import pytest

from salesrefund.domain.commands import IssueRefund, RefundLineRequest
from salesrefund.seeds import beansbooks as seed
from salesrefund.service.doors import create_door_credential
from salesrefund.service.tenants import list_tokens, revoke_token

PATH = "/api/customer/sale/refund"
TODAY = "2026-06-15"  # the test clock's day
COFFEE, SHIPPING = seed.LINES[0][0], seed.LINES[1][0]

_uids = itertools.count(1)


@pytest.fixture
def beans(engine, clock, api_for):
    """The seed's demo data under a fresh tenant and credential."""
    return make_beans(engine, clock, api_for)


def make_beans(engine, clock, api_for) -> dict:
    name = f"beans-{uuid.uuid4().hex[:10]}"
    token = f"sr_beans_{uuid.uuid4().hex}"
    uid = 1_000_000 + next(_uids)
    key = f"key-{uuid.uuid4().hex}"
    assert seed.create(engine, clock, name=name, token=token, auth_uid=uid, auth_key=key, auth_expiration=1700000000)
    api = api_for(token)

    def body(**changes) -> dict:
        request = {"auth_uid": uid, "auth_key": key, "auth_expiration": 1700000000, "id": 1, "date_created": TODAY,
                   "lines": [{"description": COFFEE, "amount": "-49.99", "quantity": 1}], "taxes": [{"tax_id": 1}]}
        request.update(changes)
        return {k: v for k, v in request.items() if v is not None}

    def post(request: dict | None = None, *, path: str = PATH, raw: str | None = None):
        content = raw if raw is not None else json.dumps(request if request is not None else body())
        return api.client.post(path, content=content, headers={"Content-Type": "application/json"})

    return {"name": name, "token": token, "uid": uid, "key": key, "api": api, "body": body, "post": post}


def sale_of(response) -> dict:
    """Assert BeansBooks' success envelope; return the sale."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert {k: body[k] for k in ("success", "config_error", "auth_error", "error")} == \
        {"success": True, "config_error": "", "auth_error": "", "error": ""}, body
    assert set(body) == {"success", "config_error", "auth_error", "error", "data"}
    return body["data"]["sale"]


def failed(response, code: str, field: str | None = "", *, slot: str = "error", status: int = 200) -> dict:
    """Assert BeansBooks' error envelope (HTTP 200 like BeansBooks); the first error is ``code``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["data"] == {}, body
    assert body["error_code"] == code, body
    for name in ("config_error", "auth_error", "error"):
        assert bool(body[name]) == (name == slot), body
    assert body[slot] == body["errors"][0]["message"]
    assert body["errors"][0]["code"] == code
    if field != "":
        assert body["errors"][0]["field"] == field, body
    return body


def refunds(beans) -> list[dict]:
    return beans["api"].get("/v1/refunds").json()["items"]


# -- the request the document describes ------------------------------------------------------------

def test_a_refund_of_one_item_is_net_49_99_and_tax_4_12(beans):
    sale = sale_of(beans["post"]())
    [made] = refunds(beans)
    assert sale["id"] == 2026000001 and sale["credit_note"] == {"id": made["id"], "number": made["number"],
                                                                 "state": "posted"}
    assert sale["refund_sale_id"] == 1 and sale["date_created"] == TODAY
    assert (sale["subtotal"], sale["taxestotal"], sale["total"]) == ("-49.99", "-4.12", "-54.11")
    assert sale["customer"]["id"] == 1 and sale["customer"]["company_name"] == "Bean There Coffee Co."
    assert sale["account"] == {"id": 1}
    assert sale["lines"] == [{"id": 1, "account": {"id": seed.INCOME_ACCOUNT_ID}, "description": COFFEE,
                              "amount": "-49.99", "quantity": 1, "total": "-49.99",
                              "line_taxes": [{"id": 1, "tax": {"id": 1, "code": "salestax1", "name": "Sales Tax",
                                                               "percent": "0.0825", "fee": "0.00"}}]}]
    assert sale["taxes"] == [{"id": 1, "tax": sale["lines"][0]["line_taxes"][0]["tax"], "amount": "-49.99",
                              "total": "-4.12", "fee": "0.00", "percent": "0.0825"}]
    # the sale was on account: the refund credits the customer's receivable, still to be paid out
    assert (sale["balance"], sale["payments"], sale["status"]) == ("-54.11", [], "Refund Pending")
    assert sale["sale_number"] == made["number"] and sale["title"] == f"Sales Order {made['number']}"


def test_the_seed_tenant_answers_the_demo_credentials(engine, clock, client):
    seed.load(engine, clock)
    request = {"auth_uid": 1, "auth_key": "beans-demo-key", "auth_expiration": 1700000000, "id": 1,
               "date_created": TODAY, "lines": [{"description": "Coffee beans, 1 kg", "amount": -49.99, "quantity": 1}],
               "taxes": [{"tax_id": 1}]}
    sale = sale_of(client.post("/api/Customer/Sale/Refund", content=json.dumps(request)))
    assert (sale["subtotal"], sale["taxestotal"], sale["total"]) == ("-49.99", "-4.12", "-54.11")
    again = client.post(PATH, content=json.dumps(request))
    assert sale_of(again) == sale and again.headers["Idempotent-Replayed"] == "true"
    assert seed.load(engine, clock) is False


@pytest.mark.parametrize("path", ["/api/Customer/Sale/Refund", "/API/CUSTOMER/SALE/REFUND", "/api/customer/Sale/refund"])
def test_the_path_words_are_case_insensitive(beans, path):
    sale_of(beans["post"](path=path))


def test_the_route_shadows_no_other_door(beans, client):
    assert beans["post"](path="/api/customer/sale/refunds").status_code == 404
    assert beans["post"](path="/api/customer/sale").status_code == 404
    internom = client.post("/api/internom/refund/sale", json={})
    assert internom.status_code == 401 and internom.json()["status"] == "error"
    vodo = client.post("/api/v4/credit_note/pos/1", data={})
    assert vodo.status_code != 404 and "success" not in vodo.json()
    assert beans["api"].client.get(PATH).status_code == 405


def test_a_whole_sale_refunded_sums_exactly_to_the_sale(beans):
    request = beans["body"](lines=[{"description": COFFEE, "amount": -49.99, "quantity": 2},
                                   {"description": "  shipping ", "amount": -15, "quantity": 1}])
    sale = sale_of(beans["post"](request))
    assert (sale["subtotal"], sale["taxestotal"], sale["total"]) == ("-114.98", "-9.49", "-124.47")
    assert [(l["description"], l["amount"], l["quantity"], l["total"]) for l in sale["lines"]] == \
        [(COFFEE, "-49.99", 2, "-99.98"), ("  shipping ", "-15.00", 1, "-15.00")]
    invoice = beans["api"].get("/v1/invoices/1").json()
    assert invoice["refundable_total"] == "0.00" and invoice["total"] == "124.47"


def test_a_lower_amount_is_a_lower_price_and_a_higher_one_is_refused(beans):
    sale = sale_of(beans["post"](beans["body"](lines=[{"description": COFFEE, "amount": -40, "quantity": 1}])))
    assert (sale["subtotal"], sale["taxestotal"], sale["total"]) == ("-40.00", "-3.30", "-43.30")


def test_business_rule_errors_name_beansbooks_fields_and_store_nothing(beans, clock):
    post, body = beans["post"], beans["body"]
    failed(post(body(lines=[{"description": COFFEE, "amount": -60, "quantity": 1}])),
           "price_exceeds_original", "lines[0].amount")
    failed(post(body(lines=[{"description": COFFEE, "amount": -49.99, "quantity": 3}])),
           "quantity_exceeds_refundable", "lines[0].quantity")
    failed(post(body(date_created="2026-06-16")), "posting_date_in_future", "date_created")
    failed(post(body(date_created="2026-01-02")), "posting_date_before_invoice", "date_created")
    failed(post(body(id=99)), "invoice_not_found", "id")
    body_ = failed(post(body(taxes=[])), "tax_mismatch", "taxes")
    assert "8.25 %" in body_["error"] and "0 %" in body_["error"]
    failed(post(body(tax_exempt=True)), "tax_mismatch", "tax_exempt")
    failed(post(body(lines=[{"description": COFFEE, "amount": -49.99, "quantity": 1, "tax_exempt": True}])),
           "tax_mismatch", "lines[0].tax_exempt")
    # a refused refund is not remembered under the sale id: the corrected request goes through
    assert refunds(beans) == []
    sale_of(post())


# -- a line that matches no sale line: a free amount of the refund (issue 10) ------------------------------

def test_a_line_matching_no_sale_line_is_a_free_amount_beside_a_matching_one(beans):
    """Coffee (a sale line) 1 x 49.99 at 8.25 %: net 49.99, tax round(4.124) = 4.12. "Grinder
    cleaning" (no sale line) 1 x 10.00, taxed by the request's tax 1 (8.25 %): net 10.00, tax
    round(0.825) = 0.83, gross 10.83. The refund: 59.99 + 4.95 = 64.94; the sale (124.47) keeps
    59.53 refundable."""
    lines = [{"description": COFFEE, "amount": "-49.99", "quantity": 1},
             {"description": "Grinder cleaning", "amount": "-10.00", "quantity": 1}]
    sale = sale_of(beans["post"](beans["body"](lines=lines)))
    assert (sale["subtotal"], sale["taxestotal"], sale["total"]) == ("-59.99", "-4.95", "-64.94")
    assert [(l["description"], l["amount"], l["quantity"], l["total"], len(l["line_taxes"])) for l in sale["lines"]] == \
        [(COFFEE, "-49.99", 1, "-49.99", 1), ("Grinder cleaning", "-10.00", 1, "-10.00", 1)]
    assert [(t["amount"], t["total"]) for t in sale["taxes"]] == [("-59.99", "-4.95")]
    view = beans["api"].get(f"/v1/refunds/{sale['credit_note']['id']}").json()
    assert [(l["invoice_line"], l["description"], l["net"], l["tax"], l["gross"], l["tax_rate"]) for l in view["lines"]] == \
        [(1, COFFEE, "49.99", "4.12", "54.11", "8.25"), (None, "Grinder cleaning", "10.00", "0.83", "10.83", "8.25")]
    invoice = beans["api"].get("/v1/invoices/1").json()
    assert invoice["refundable_total"] == "59.53"
    # the coffee line keeps its own cap: one unit left of two
    assert [l["refundable_quantity"] for l in invoice["lines"]][:1] == ["1"]
    credentials = {"auth_uid": beans["uid"], "auth_key": beans["key"], "auth_expiration": 1700000000, "id": sale["id"]}
    assert sale_of(beans["post"](credentials, path="/api/customer/sale/lookup")) == sale
    # cancelled, the free amount goes back with the rest: the whole sale is refundable again
    cancelled = sale_of(beans["post"](credentials, path="/api/customer/sale/cancel"))
    assert cancelled["status"] == "Cancelled" and cancelled["lines"] == sale["lines"]
    assert beans["api"].get("/v1/invoices/1").json()["refundable_total"] == "124.47"


def test_several_units_of_an_unmatched_line_and_a_tax_exempt_one(beans):
    """3 x 2.50 "Sample bags" at 8.25 %: net 7.50, tax round(0.61875) = 0.62; 1 x 4.00 "Delivery
    refund", tax-exempt: 4.00 and no tax. Total 11.50 + 0.62 = 12.12."""
    sale = sale_of(beans["post"](beans["body"](lines=[
        {"description": "Sample bags", "amount": -2.5, "quantity": 3},
        {"description": "Delivery refund", "amount": -4, "quantity": 1, "tax_exempt": True}])))
    assert (sale["subtotal"], sale["taxestotal"], sale["total"]) == ("-11.50", "-0.62", "-12.12")
    assert [(l["amount"], l["quantity"], l["total"], len(l["line_taxes"])) for l in sale["lines"]] == \
        [("-2.50", 3, "-7.50", 1), ("-4.00", 1, "-4.00", 0)]


def test_an_unmatched_line_beyond_what_remains_refundable_is_refused_in_beansbooks_shape(beans):
    """Both coffees (2 x 49.99 + 8.25 tax = 108.23) and "Gift wrap" 20.00 (+ 1.65 tax = 21.65) come
    to 129.88: more than the sale's 124.47. Refused, naming the free line's amount; nothing stored."""
    lines = [{"description": COFFEE, "amount": -49.99, "quantity": 2},
             {"description": "Gift wrap", "amount": -20, "quantity": 1}]
    body = failed(beans["post"](beans["body"](lines=lines)), "amount_exceeds_refundable", "lines[1].amount")
    assert body["error"] == "the refund (129.88) exceeds what remains refundable on invoice 1 (124.47)"
    failed(beans["post"](beans["body"](lines=[{"description": "Gift wrap", "amount": -120, "quantity": 1}])),
           "amount_exceeds_refundable", "lines[0].amount")
    assert refunds(beans) == []
    # within what remains it goes through: 108.23 + 15.00 + 1.24 (the tax 8.25 % has left) = 124.47
    sale = sale_of(beans["post"](beans["body"](lines=[lines[0], {"description": "Gift wrap", "amount": -15,
                                                                 "quantity": 1}])))
    assert sale["total"] == "-124.47"
    assert beans["api"].get("/v1/invoices/1").json()["refundable_total"] == "0.00"


def test_an_unmatched_line_at_a_rate_the_sale_never_charged_is_refused(engine, clock, beans):
    uid = 6_000_000 + next(_uids)
    create_door_credential(engine, beans["name"], "beansbooks", login=str(uid), secret="k", clock=clock,
                           settings={"auth_expiration": 7, "taxes": {"1": "8.25", "2": "5"}})
    failed(beans["post"](beans["body"](auth_uid=uid, auth_key="k", auth_expiration=7, taxes=[{"tax_id": 2}],
                                       lines=[{"description": "Grinder", "amount": -10, "quantity": 1}])),
           "tax_rate_not_on_invoice", "taxes")
    assert refunds(beans) == []


def test_a_closed_period_refuses_the_refund(beans, clock):
    assert beans["api"].post("/v1/periods/close", {"through": "2026-06-12"}).status_code == 200
    failed(beans["post"](beans["body"](date_created="2026-06-10")), "period_closed", "date_created")


# -- malformed requests -----------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["id", "date_created", "lines"])
def test_every_required_field_missing_in_turn(beans, missing):
    request = beans["body"]()
    del request[missing]
    body = failed(beans["post"](request), "validation_error", missing)
    assert body["error"] == f"{missing} is required"


@pytest.mark.parametrize("missing", ["description", "amount", "quantity"])
def test_every_required_line_field_missing_in_turn(beans, missing):
    item = {"description": COFFEE, "amount": -49.99, "quantity": 1}
    del item[missing]
    failed(beans["post"](beans["body"](lines=[item])), "validation_error", f"lines[0].{missing}")


@pytest.mark.parametrize("missing", ["auth_uid", "auth_key", "auth_expiration"])
def test_every_credential_missing_in_turn_is_an_auth_error(beans, missing):
    request = beans["body"]()
    del request[missing]
    body = failed(beans["post"](request), "unauthorized", slot="auth_error")
    assert body["auth_error"] == "Invalid user credentials."


@pytest.mark.parametrize("changes, field", [
    ({"id": "1"}, "id"),
    ({"id": 1.5}, "id"),
    ({"id": True}, "id"),
    ({"id": 0}, "id"),
    ({"date_created": "15/06/2026"}, "date_created"),
    ({"date_created": "2026-02-30"}, "date_created"),
    ({"date_created": 20260615}, "date_created"),
    ({"lines": []}, "lines"),
    ({"lines": {"description": COFFEE}}, "lines"),
    ({"lines": ["coffee"]}, "lines[0]"),
    ({"lines": [{"description": 7, "amount": -1, "quantity": 1}]}, "lines[0].description"),
    ({"lines": [{"description": "x" * 129, "amount": -1, "quantity": 1}]}, "lines[0].description"),
    ({"lines": [{"description": COFFEE, "amount": "abc", "quantity": 1}]}, "lines[0].amount"),
    ({"lines": [{"description": COFFEE, "amount": 49.99, "quantity": 1}]}, "lines[0].amount"),
    ({"lines": [{"description": COFFEE, "amount": 0, "quantity": 1}]}, "lines[0].amount"),
    ({"lines": [{"description": COFFEE, "amount": "-49.99999", "quantity": 1}]}, "lines[0].amount"),
    ({"lines": [{"description": COFFEE, "amount": -49.99, "quantity": 1.5}]}, "lines[0].quantity"),
    ({"lines": [{"description": COFFEE, "amount": -49.99, "quantity": "1"}]}, "lines[0].quantity"),
    ({"lines": [{"description": COFFEE, "amount": -49.99, "quantity": -1}]}, "lines[0].quantity"),
    ({"lines": [{"description": COFFEE, "amount": -49.99, "quantity": 1, "tax_exempt": "no"}]},
     "lines[0].tax_exempt"),
    ({"lines": [{"description": COFFEE, "amount": -49.99, "quantity": 1, "account_id": "4"}]},
     "lines[0].account_id"),
    ({"taxes": {"tax_id": 1}}, "taxes"),
    ({"taxes": [1]}, "taxes[0]"),
    ({"taxes": [{"tax_id": "one"}]}, "taxes[0].tax_id"),
    ({"sale_number": "R" * 17}, "sale_number"),
    ({"order_number": 5}, "order_number"),
    ({"sent": "fax"}, "sent"),
    ({"tax_exempt": "yes"}, "tax_exempt"),
    ({"date_billed": "tomorrow"}, "date_billed"),
])
def test_wrong_types_name_beansbooks_fields(beans, changes, field):
    failed(beans["post"](beans["body"](**changes)), "validation_error", field)
    assert refunds(beans) == []


def test_a_positive_amount_is_an_error_naming_the_field(beans):
    body = failed(beans["post"](beans["body"](lines=[{"description": COFFEE, "amount": 49.99, "quantity": 1}])),
                  "validation_error", "lines[0].amount")
    assert body["error"] == "lines[0].amount must be negative: a refund line gives money back"


def test_an_unknown_tax_id_and_malformed_json(beans):
    failed(beans["post"](beans["body"](taxes=[{"tax_id": 9}])), "tax_not_found", "taxes[0].tax_id")
    for raw in ("{nope", "[1]", "", "null"):
        body = failed(beans["post"](raw=raw), "validation_error", None)
        assert body["error"] == "Malformed JSON POST data."
    failed(beans["post"](raw=json.dumps(beans["body"]()).replace('"-49.99"', "NaN")), "validation_error",
           "lines[0].amount")


# -- credentials and tenancy --------------------------------------------------------------------------

def test_bad_credentials_answer_beansbooks_auth_error(beans):
    body = beans["body"]
    uid = beans["uid"]
    for changes in ({"auth_key": "wrong"}, {"auth_uid": uid + 1000}, {"auth_expiration": 1700000001},
                    {"auth_uid": str(uid + 1000)}, {"auth_uid": f" {uid}"}, {"auth_uid": f"{uid}.0"},
                    {"auth_uid": f"+{uid}"}, {"auth_uid": ""}, {"auth_uid": "٣"},
                    {"auth_expiration": "1700000000"}, {"auth_key": 12345}, {"auth_uid": True}):
        response = beans["post"](body(**changes))
        failed(response, "unauthorized", slot="auth_error")
        assert response.json()["auth_error"] == "Invalid user credentials."
    # credentials are checked before the request's fields
    failed(beans["post"](body(auth_key="wrong", id="x")), "unauthorized", slot="auth_error")
    assert refunds(beans) == []


def test_auth_uid_sent_as_a_string_as_php_clients_send_it_is_accepted(beans):
    """Issue 10: PHP clients send the user id read from their database as a string (``"1"``)."""
    sale = sale_of(beans["post"](beans["body"](auth_uid=str(beans["uid"]))))
    assert (sale["subtotal"], sale["taxestotal"], sale["total"]) == ("-49.99", "-4.12", "-54.11")
    again = beans["post"](beans["body"](auth_uid=beans["uid"]))  # the integer: the same refund, replayed
    assert sale_of(again) == sale and again.headers["Idempotent-Replayed"] == "true"
    assert len(refunds(beans)) == 1
    looked_up = beans["post"]({"auth_uid": str(beans["uid"]), "auth_key": beans["key"], "auth_expiration": 1700000000,
                               "id": sale["id"]}, path="/api/customer/sale/lookup")
    assert sale_of(looked_up) == sale


def test_a_credential_without_refund_create_or_revoked(engine, clock, beans):
    uid = 2_000_000 + next(_uids)
    create_door_credential(engine, beans["name"], "beansbooks", login=str(uid), secret="reader",
                           permissions=("refund:read",), settings=seed.settings(), clock=clock)
    response = beans["post"](beans["body"](auth_uid=uid, auth_key="reader"))
    failed(response, "forbidden", slot="auth_error")
    assert response.json()["auth_error"] == "User does not have access permission to that feature."
    uid = 3_000_000 + next(_uids)
    create_door_credential(engine, beans["name"], "beansbooks", login=str(uid), secret="writer", settings=seed.settings(),
                           clock=clock)
    writer = next(t for t in list_tokens(engine, beans["name"]) if t["name"] == f"beansbooks:{uid}")
    revoke_token(engine, writer["id"], clock)
    failed(beans["post"](beans["body"](auth_uid=uid, auth_key="writer")), "unauthorized", slot="auth_error")


def test_another_tenants_sale_is_not_found(engine, clock, api_for, beans):
    other = make_beans(engine, clock, api_for)
    made = other["api"].post("/v1/invoices", {
        "number": "77", "customer": "1", "date": "2026-06-10",
        "lines": [{"description": "Secret", "quantity": "1", "unit_price": "10.00", "tax_rate": "8.25"}]})
    assert made.status_code == 201, made.text
    body = failed(beans["post"](beans["body"](id=77, lines=[{"description": "Secret", "amount": -10, "quantity": 1}])),
                  "invoice_not_found", "id")
    assert body["error"] == "sale 77 could not be found"
    # the same sale id in each tenant is each tenant's own sale
    sale_of(other["post"]())
    assert other["api"].get("/v1/invoices/1").json()["refunded_total"] == "54.11"
    assert beans["api"].get("/v1/invoices/1").json()["refunded_total"] == "0.00"


def test_a_misconfigured_credential_is_a_config_error(engine, clock, beans):
    uid = 4_000_000 + next(_uids)
    create_door_credential(engine, beans["name"], "beansbooks", login=str(uid), secret="k",
                           settings={"auth_expiration": 5, "taxes": {"1": "eight"}}, clock=clock)
    body = failed(beans["post"](beans["body"](auth_uid=uid, auth_key="k", auth_expiration=5)), "config_error",
                  slot="config_error", status=500)
    assert "tax" in body["config_error"]


# -- exactly once: one refund per sale ------------------------------------------------------------------

def test_one_refund_per_sale(beans):
    first = beans["post"]()
    sale = sale_of(first)
    replay = beans["post"]()
    assert sale_of(replay) == sale and replay.headers["Idempotent-Replayed"] == "true"
    # numbers written differently and credentials aside, it is the same request
    same = beans["post"](beans["body"](lines=[{"description": COFFEE, "amount": -49.990, "quantity": 1}]))
    assert sale_of(same) == sale
    body = failed(beans["post"](beans["body"](lines=[{"description": SHIPPING, "amount": -15, "quantity": 1}])),
                  "idempotency_key_reused", "id")
    assert body["error"] == "That sale already belongs to a refund-set."
    assert len(refunds(beans)) == 1


def test_the_rule_outlives_the_keys_lifetime(beans, clock):
    sale = sale_of(beans["post"]())
    clock.set(date(2026, 6, 19))  # 96 hours later: the natural key has expired
    again = beans["post"]()
    assert sale_of(again) == sale and again.headers["Idempotent-Replayed"] == "true"
    failed(beans["post"](beans["body"](date_created="2026-06-19")), "idempotency_key_reused", "id")
    assert len(refunds(beans)) == 1


def test_a_voided_refund_frees_the_sale_once_its_key_has_expired(beans, clock):
    sale = sale_of(beans["post"]())
    assert beans["api"].post(f"/v1/refunds/{sale['credit_note']['id']}/void").status_code == 200
    clock.set(date(2026, 6, 19))
    new = sale_of(beans["post"](beans["body"](date_created="2026-06-19")))
    assert new["credit_note"]["id"] != sale["credit_note"]["id"]


# -- one command, whichever door ----------------------------------------------------------------------

def test_the_door_builds_the_same_command_as_the_native_api(engine, clock, api_for, beans, monkeypatch, client):
    captured: list[IssueRefund] = []
    service = client.app.state.refunds
    original = service.issue

    def capture(ctx, command, responder):
        captured.append(command)
        return original(ctx, command, responder)

    monkeypatch.setattr(service, "issue", capture)
    sale_of(beans["post"](beans["body"](lines=[{"description": COFFEE, "amount": -49.99, "quantity": 1},
                                               {"description": SHIPPING, "amount": -10, "quantity": 1}])))
    twin = make_beans(engine, clock, api_for)
    native = twin["api"].post("/v1/refunds", {
        "invoice": "1", "posting_date": TODAY,
        "lines": [{"line": 1, "quantity": "1", "unit_price": "49.99", "description": COFFEE},
                  {"line": 2, "quantity": "1", "unit_price": "10.00", "description": SHIPPING}]})
    assert native.status_code == 201, native.text
    door_command, native_command = captured
    assert door_command == native_command
    assert door_command.lines[1] == RefundLineRequest(line=2, quantity=10000, unit_price=100000, description=SHIPPING)
    assert door_command.metadata["beans_sale_id"] == 1 and door_command.metadata["tax_ids"] == [1]


def test_a_door_refund_is_the_same_refund_through_the_native_api(engine, clock, api_for, beans):
    sale = sale_of(beans["post"](beans["body"](order_number="SO-42", sale_number="R1")))
    view = beans["api"].get(f"/v1/refunds/{sale['credit_note']['id']}").json()
    assert view["channel"] == "beansbooks" and view["invoice"] == "1" and view["customer"] == "1"
    assert view["reference"] == "R1" and view["metadata"]["order_number"] == "SO-42"
    assert sale["sale_number"] == "R1" and sale["order_number"] == "SO-42"
    assert [(l["invoice_line"], l["quantity"], l["unit_price"], l["net"], l["tax"], l["gross"]) for l in view["lines"]] == \
        [(1, "1", "49.99", "49.99", "4.12", "54.11")]
    assert view["payments"] == [{"method": "receivable", "amount": "54.11", "reference": None}]
    journal = beans["api"].get(f"/v1/refunds/{view['id']}/journal").json()["items"]
    assert [(l["account"], l["debit"], l["credit"]) for l in journal[0]["lines"]] == \
        [("4100", "49.99", "0.00"), ("2100", "4.12", "0.00"), ("1100", "0.00", "54.11")]
    # the very same refund made natively in a twin tenant: identical figures and entry
    twin = make_beans(engine, clock, api_for)
    made = twin["api"].post("/v1/refunds", {"invoice": "1", "posting_date": TODAY,
                                           "lines": [{"line": 1, "quantity": "1", "unit_price": "49.99"}]})
    assert made.status_code == 201, made.text
    skip = ("id", "number", "channel", "created_at", "posted_at", "reference", "metadata", "lines")
    assert {k: v for k, v in view.items() if k not in skip} == {k: v for k, v in made.json().items() if k not in skip}
    assert [dict(l, description=None) for l in view["lines"]] == [dict(l, description=None) for l in made.json()["lines"]]
    twin_journal = twin["api"].get(f"/v1/refunds/{made.json()['id']}/journal").json()["items"]
    assert [e["lines"] for e in journal] == [e["lines"] for e in twin_journal]
    assert beans["api"].get("/v1/stock").json() == twin["api"].get("/v1/stock").json()


def test_a_real_fault_answers_500_in_beansbooks_shape(beans, monkeypatch, client):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(client.app.state.refunds, "issue", boom)
    body = failed(beans["post"](), "server_error", None, status=500)
    assert body["error"] == "an unexpected error occurred; nothing was recorded"


def test_lines_sharing_a_description_are_told_apart_by_amount(beans):
    api = beans["api"]
    made = api.post("/v1/invoices", {"number": "2", "customer": "1", "date": "2026-06-10", "lines": [
        {"description": "Mug", "quantity": "1", "unit_price": "10.00", "tax_rate": "8.25"},
        {"description": "Mug", "quantity": "1", "unit_price": "12.00", "tax_rate": "8.25"},
        {"description": "Mug", "quantity": "1", "unit_price": "12.00", "tax_rate": "8.25"}]})
    assert made.status_code == 201, made.text
    failed(beans["post"](beans["body"](id=2, lines=[{"description": "mug", "amount": -12, "quantity": 1}])),
           "product_ambiguous", "lines[0].description")
    sale = sale_of(beans["post"](beans["body"](id=2, lines=[{"description": "mug", "amount": -10, "quantity": 1}])))
    view = api.get(f"/v1/refunds/{sale['credit_note']['id']}").json()
    assert view["lines"][0]["invoice_line"] == 1 and sale["total"] == "-10.83"


def test_several_beansbooks_taxes_share_the_lines_tax_exactly(engine, clock, beans):
    uid = 5_000_000 + next(_uids)
    create_door_credential(engine, beans["name"], "beansbooks", login=str(uid), secret="k", clock=clock,
                           settings={"auth_expiration": 7, "taxes": {"1": "6", "2": {"percent": "2.25", "name": "County"}}})
    sale = sale_of(beans["post"](beans["body"](auth_uid=uid, auth_key="k", auth_expiration=7,
                                               taxes=[{"tax_id": 1}, {"tax_id": 2}, {"tax_id": 1}])))
    assert sale["taxestotal"] == "-4.12"
    assert [(t["tax"]["id"], t["percent"], t["amount"], t["total"]) for t in sale["taxes"]] == \
        [(1, "0.06", "-49.99", "-3.00"), (2, "0.0225", "-49.99", "-1.12")]
    failed(beans["post"](beans["body"](auth_uid=uid, auth_key="k", auth_expiration=7, id=1, taxes=[{"tax_id": 1}])),
           "tax_mismatch", "taxes")
