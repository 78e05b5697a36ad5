"""The CRM.COM V4 door (seed document 002): login token, refunds/create (a payout out of the
customer's accounts receivable) and refunds/show, in CRM.COM's envelope.

Each test builds the seed's demo books (``seeds.crmcom.build``) in a tenant of its own, with a
login of its own (door logins are unique per door), so tests never share state.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from salesrefund.domain.commands import Context
from salesrefund.domain.payouts import PayOut, PayoutCatalog, Ref
from salesrefund.http.dialects import crmcom as door
from salesrefund.seeds import crmcom as seed
from salesrefund.service import payouts as payout_service
from salesrefund.service.doors import create_door_credential
from salesrefund.service.payouts import PayoutService
from salesrefund.service.refunds import RefundService
from salesrefund.service.tenants import create_tenant

BASE = door.BASE
CREATE = BASE + "/refunds/create"
SHOW = BASE + "/refunds/show"
LOGIN = BASE + "/authentication/token"

UDFS = {**{f"udf_string_{i}": f"s{i}" for i in range(1, 9)},
        **{f"udf_float_{i}": v for i, v in enumerate(("12.5", "0.001", "-3", "100000.25"), start=1)},
        **{f"udf_date_{i}": f"2026-0{i}-1{i}" for i in range(1, 5)}}

# The document has no example request; this one fills in every parameter it lists.
EXAMPLE = """{
  "token": "%(token)s",
  "accounts_receivable_identifier": {"number": "ACR0000001"},
  "type_identifier": {"name": "Refund"},
  "life_cycle_state": "POSTED",
  "refund_method_identifier": {"name": "Cash"},
  "refund_amount": 120.00,
  "intended_currency_identifier": {"code": "EUR"},
  "category_identifier": {"name": "General"},
  "notes": "Paid out at the Nicosia branch",
  "back_office_code": "BO-2026-0001",
  "issue_on": "2026-06-15",
  "issue_reason": "Customer closed the account",
  "posted_on": "2026-06-15",
  %(udfs)s
}"""


# -- helpers ------------------------------------------------------------------------------------------

def example(token: str, **changes) -> str:
    udfs = ",\n  ".join(f'"{k}": {v if k.startswith("udf_float") else json.dumps(v)}' for k, v in UDFS.items())
    body = json.loads(EXAMPLE % {"token": token, "udfs": udfs}, parse_float=Decimal)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return raw(body)


def raw(body: dict) -> str:
    return door.dumps(body)


def login(client, username: str, password: str = seed.PASSWORD, organisation: str = seed.ORGANISATION) -> str:
    response = client.post(LOGIN, json={"username": username, "password": password, "organisation": organisation})
    assert response.status_code == 200, response.text
    return response.json()["data"]["token"]


def build_tenant(engine, clock, client, **options):
    name = f"crm-{uuid.uuid4().hex[:12]}"
    tenant = create_tenant(engine, name, clock=clock, **seed.TENANT_OPTIONS)
    username = f"mpadmin-{uuid.uuid4().hex[:10]}"
    seed.build(engine, clock, tenant["id"], name, username=username, **options)
    return SimpleNamespace(name=name, id=tenant["id"], admin=tenant["token"], username=username,
                           token=login(client, username))


@pytest.fixture
def crm(engine, clock, client, api_for):
    tenant = build_tenant(engine, clock, client)
    tenant.api = api_for(tenant.admin)
    tenant.client = client
    return tenant


def create(crm, body, token=None):
    text = body if isinstance(body, str) else raw({"token": token or crm.token, **body})
    return crm.client.post(CREATE, content=text, headers={"Content-Type": "application/json"})


def minimal(**changes) -> dict:
    body = {"accounts_receivable_identifier": {"number": "ACR0000001"}, "type_identifier": {"name": "Refund"},
            "life_cycle_state": "POSTED", "refund_amount": Decimal("50.00")}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json(parse_float=Decimal)
    assert body["status"] == {"code": "OK", "message": "", "description": ""}
    return body["data"]


def failed(response, status: int, code: str, field: str | None = None) -> dict:
    """CRM.COM's error envelope: a non-OK code, a message, a description naming the field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "data"} and body["data"] is None, body
    assert set(body["status"]) == {"code", "message", "description"}
    assert body["status"]["code"] == code, body
    assert body["status"]["message"], body
    if field is not None:
        assert body["status"]["description"].startswith(f"{field}: "), body
    return body["status"]


def state(crm) -> dict:
    """Everything a payout can change, read through the native API."""
    api = crm.api
    return {"refunds": api.get("/v1/refunds").json()["items"], "journal": api.get("/v1/journal").json()["items"],
            "customer": api.get("/v1/customers/ACR0000001").json(),
            "trial": api.get("/v1/ledger/trial-balance").json(), "stock": api.get("/v1/stock").json()}


def balance(crm, code: str = "ACR0000001") -> str:
    return crm.api.get(f"/v1/customers/{code}").json()["credit_balance"]


def assert_books_consistent(crm) -> None:
    """The trial balance balances and account 2200 holds exactly the customers' credit balances."""
    trial = crm.api.get("/v1/ledger/trial-balance").json()
    assert trial["total_debit"] == trial["total_credit"]
    owed = -sum(Decimal(a["balance"]) for a in trial["accounts"] if a["account"] == "2200")
    credits = sum(Decimal(balance(crm, code)) for code in ("ACR0000001", "ACR0000002"))
    assert owed == credits


def assert_shows_natively(crm, data: dict, account: str = "1000") -> dict:
    """The payout as the native API shows it matches the door's answer, with its journal entry."""
    native = crm.api.get(f"/v1/refunds/{data['id']}")
    assert native.status_code == 200, native.text
    view = native.json()
    assert view["kind"] == "payout" and view["lines"] == [] and view["invoice"] is None
    assert view["number"] == data["number"]
    assert {"draft": "DRAFT", "posted": "POSTED"}[view["state"]] == data["life_cycle_state"]
    assert view["total"] == format(data["refund_amount"], "f") and view["gross"] == view["total"]
    assert view["customer"] == data["accounts_receivable"]["number"]
    assert view["reference"] == data["back_office_code"]
    assert view["posting_date"] == data["posted_on"] and view["document_date"] == data["issued_on"]
    assert view["reason"] == data["issue_reason"] and view["metadata"]["notes"] == data["notes"]
    assert view["channel"] == "crmcom"
    for name in door.UDFS:
        stored = view["metadata"][name]
        shown = data[name]
        if isinstance(shown, (Decimal, int)):
            shown = format(Decimal(shown), "f")
        assert shown == stored
    journal = crm.api.get(f"/v1/refunds/{data['id']}/journal").json()["items"]
    if data["life_cycle_state"] == "POSTED":
        assert [entry["lines"] for entry in journal] == [[
            {"account": "2200", "debit": view["total"], "credit": "0.00"},
            {"account": account, "debit": "0.00", "credit": view["total"]}]]
        assert journal[0]["date"] == data["posted_on"]
    else:
        assert journal == []
    return view


# -- the document's example ---------------------------------------------------------------------------

def test_document_example_pays_out_of_the_accounts_receivable(crm):
    before = state(crm)
    assert balance(crm) == "500.00"
    response = create(crm, example(crm.token))
    data = ok(response)
    assert response.text.count('"refund_amount":120.00') == 1  # an exact JSON number, never a float
    assert data.pop("id") and data.pop("created_date") and data.pop("posted_date")
    account = data.pop("accounts_receivable")
    assert account["number"] == "ACR0000001" and account["name"] == "Andreas Georgiou" and account["id"]
    assert data == {
        "number": "PO-2026-000001", "life_cycle_state": "POSTED", "refund_amount": Decimal("120.00"),
        "currency": {"id": "EUR", "code": "EUR"},
        "type": {"id": seed.REFUND_TYPE_ID, "name": "Refund", "alternative_code": "RF"},
        "refund_method": {"id": seed.CASH_ID, "name": "Cash", "alternative_code": "CA"},
        "category": {"id": seed.GENERAL_ID, "name": "General", "alternative_code": "GEN"},
        "accounts_receivable_payment_preference": None,
        "notes": "Paid out at the Nicosia branch", "back_office_code": "BO-2026-0001",
        "issued_on": "2026-06-15", "issue_reason": "Customer closed the account", "posted_on": "2026-06-15",
        **{k: Decimal(v) if k.startswith("udf_float") else v for k, v in UDFS.items()},
    }
    full = ok(response)
    view = assert_shows_natively(crm, full)
    assert view["payments"] == [{"method": "cash", "amount": "120.00", "reference": None}]
    assert balance(crm) == "380.00"
    assert_books_consistent(crm)
    after = state(crm)
    assert after["stock"] == before["stock"]  # a payout moves no goods
    assert len(after["journal"]) == len(before["journal"]) + 1
    shown = ok(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": f"id={full['id']}"}))
    assert shown == full
    by_number = ok(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": "number=PO-2026-000001"}))
    assert by_number == full


def test_the_seed_loads_once_with_consistent_books(engine, clock, client, api_for):
    seed.load(engine, clock)
    assert seed.load(engine, clock) is False  # idempotent
    token = login(client, seed.USERNAME)
    failed(client.get(SHOW, params={"token": token, "refund_identifier": "id=nope"}), 404, "NOT_FOUND",
           "refund_identifier")
    demo = SimpleNamespace(api=api_for(seed.TOKEN))
    assert balance(demo) != "0.00"
    assert_books_consistent(demo)
    assert demo.api.get("/v1/periods").json()["closed_through"] is not None


def test_the_seed_owes_the_customer_500_with_the_ledger_right(crm):
    assert balance(crm) == "500.00" and balance(crm, "ACR0000002") == "0.00"
    trial = {a["account"]: a["balance"] for a in crm.api.get("/v1/ledger/trial-balance").json()["accounts"]}
    assert trial["2200"] == "-500.00" and trial["1000"] == "500.00"
    assert crm.api.get("/v1/periods").json()["closed_through"] == "2026-05-31"
    assert_books_consistent(crm)


# -- identifiers, methods, the cap ------------------------------------------------------------------

@pytest.mark.parametrize("identifier", [{"number": "ACR0000001"}, {"name": "Andreas Georgiou"},
                                        {"alternative_code": "CY10000001X"}, "id"])
def test_the_account_is_found_by_each_identifier(crm, identifier):
    if identifier == "id":
        first = ok(create(crm, minimal(refund_amount=Decimal("1.00"))))
        identifier = {"id": first["accounts_receivable"]["id"]}
    data = ok(create(crm, minimal(accounts_receivable_identifier=identifier)))
    assert data["accounts_receivable"]["number"] == "ACR0000001"


@pytest.mark.parametrize("identifier", [{"id": seed.REFUND_TYPE_ID}, {"name": "Refund"}, {"alternative_code": "RF"}])
def test_the_type_is_found_by_each_identifier_and_its_default_method_applies(crm, identifier):
    data = ok(create(crm, minimal(type_identifier=identifier)))
    assert data["type"]["id"] == seed.REFUND_TYPE_ID and data["refund_method"]["name"] == "Cash"
    assert_shows_natively(crm, data, account="1000")


def test_a_bank_method_credits_the_bank(crm):
    data = ok(create(crm, minimal(refund_method_identifier={"alternative_code": "BT"})))
    assert data["refund_method"]["name"] == "Bank Transfer"
    assert_shows_natively(crm, data, account="1020")


def test_a_gateway_method_needs_a_payment_preference_of_that_account(crm):
    before = state(crm)
    card = {"refund_method_identifier": {"name": "Card"}}
    failed(create(crm, minimal(**card)), 422, "PAYMENT_PREFERENCE_REQUIRED",
           "accounts_receivable_payment_preference_identifier")
    failed(create(crm, minimal(**card, accounts_receivable_payment_preference_identifier={"name": "Amex"})),
           422, "PAYMENT_PREFERENCE_NOT_FOUND", "accounts_receivable_payment_preference_identifier")
    assert state(crm) == before
    data = ok(create(crm, minimal(**card, accounts_receivable_payment_preference_identifier={
        "id": seed.VISA_PREFERENCE_ID})))
    assert data["accounts_receivable_payment_preference"]["name"] == "Visa ending 4242"
    view = assert_shows_natively(crm, data, account="1010")
    assert view["payments"] == [{"method": "card", "amount": "50.00", "reference": seed.VISA_PREFERENCE_ID}]
    # the same preference does not belong to the other account (whose balance is zero as well)
    failed(create(crm, minimal(**card, accounts_receivable_identifier={"number": "ACR0000002"},
                               accounts_receivable_payment_preference_identifier={"name": "Visa ending 4242"})),
           422, "AMOUNT_EXCEEDS_BALANCE", "refund_amount")


def test_a_preference_of_another_account_is_refused(engine, clock, client, api_for):
    crm = build_tenant(engine, clock, client)
    crm.client, crm.api = client, api_for(crm.admin)
    # give ACR0000002 some credit the way the seed did: a store-credit refund of an invoice
    ok_native = crm.api.post("/v1/invoices", {"number": "INV-2", "customer": "ACR0000002", "date": "2026-06-10",
                                              "lines": [{"description": "Fee", "quantity": "1", "unit_price": "10.00",
                                                         "tax_rate": "0"}],
                                              "payments": [{"method": "cash", "amount": "10.00"}]})
    assert ok_native.status_code == 201, ok_native.text
    refund = crm.api.post("/v1/refunds", {"invoice": "INV-2", "lines": [{"line": 1}],
                                          "payments": [{"method": "store_credit", "amount": "10.00"}]})
    assert refund.status_code == 201, refund.text
    failed(create(crm, minimal(accounts_receivable_identifier={"number": "ACR0000002"},
                               refund_amount=Decimal("5.00"), refund_method_identifier={"name": "Card"},
                               accounts_receivable_payment_preference_identifier={"name": "Visa ending 4242"})),
           422, "PAYMENT_PREFERENCE_MISMATCH", "accounts_receivable_payment_preference_identifier")
    assert balance(crm, "ACR0000002") == "10.00"
    assert_books_consistent(crm)


def test_the_payout_may_reach_but_never_exceed_what_the_customer_is_owed(crm):
    failed(create(crm, minimal(refund_amount=Decimal("500.01"))), 422, "AMOUNT_EXCEEDS_BALANCE", "refund_amount")
    ok(create(crm, minimal(refund_amount=Decimal("300.00"))))
    before = state(crm)
    status = failed(create(crm, minimal(refund_amount=Decimal("200.01"))), 422, "AMOUNT_EXCEEDS_BALANCE")
    assert "200.01" in status["message"] and "200.00" in status["message"]
    assert state(crm) == before
    ok(create(crm, minimal(refund_amount=Decimal("200.00"))))
    assert balance(crm) == "0.00"
    failed(create(crm, minimal(refund_amount=Decimal("0.01"))), 422, "AMOUNT_EXCEEDS_BALANCE")
    assert_books_consistent(crm)
    numbers = [r["number"] for r in crm.api.get("/v1/refunds").json()["items"] if r["kind"] == "payout"]
    assert numbers == ["PO-2026-000001", "PO-2026-000002"]


def test_the_database_guard_holds_when_the_balance_read_is_stale(crm, monkeypatch):
    """Two payouts racing for the same credit: the planner read a balance that another payout has
    since spent; the conditional UPDATE of the balance refuses, and nothing is written."""
    real = payout_service.resolve_customer
    monkeypatch.setattr(payout_service, "resolve_customer",
                        lambda store, ref: {**real(store, ref), "credit_balance_minor": 10**9})
    before = state(crm)
    failed(create(crm, minimal(refund_amount=Decimal("500.01"))), 422, "AMOUNT_EXCEEDS_BALANCE", "refund_amount")
    assert state(crm) == before


@pytest.mark.parametrize("changes, status, code, field", [
    ({"posted_on": "2026-06-16"}, 422, "POSTING_DATE_IN_FUTURE", "posted_on"),
    ({"posted_on": "2026-05-31"}, 422, "PERIOD_CLOSED", "posted_on"),
    ({"intended_currency_identifier": {"code": "USD"}}, 422, "CURRENCY_MISMATCH", "intended_currency_identifier"),
    ({"accounts_receivable_identifier": {"number": "ACR9999999"}}, 422, "CUSTOMER_NOT_FOUND",
     "accounts_receivable_identifier"),
    ({"accounts_receivable_identifier": {"id": "999999999"}}, 422, "CUSTOMER_NOT_FOUND",
     "accounts_receivable_identifier"),
    ({"type_identifier": {"name": "Payment"}}, 422, "PAYOUT_TYPE_NOT_FOUND", "type_identifier"),
    ({"refund_method_identifier": {"name": "Cheque"}}, 422, "UNKNOWN_PAYMENT_METHOD", "refund_method_identifier"),
    ({"category_identifier": {"id": "X"}}, 422, "CATEGORY_NOT_FOUND", "category_identifier"),
], ids=["future", "closed", "currency", "account", "account-id", "type", "method", "category"])
def test_business_rules_answer_in_the_envelope_and_change_nothing(crm, changes, status, code, field):
    before = state(crm)
    failed(create(crm, minimal(**changes)), status, code, field)
    assert state(crm) == before


def test_the_first_error_follows_the_precedence(crm):
    body = minimal(posted_on="2026-05-01", refund_amount=Decimal("900.00"), refund_method_identifier={"name": "Card"})
    status = failed(create(crm, body), 422, "PERIOD_CLOSED", "posted_on")
    assert "refund_amount: " in status["description"]
    assert "accounts_receivable_payment_preference_identifier: " in status["description"]


def test_a_posted_on_and_issue_on_in_the_past_are_kept(crm):
    data = ok(create(crm, minimal(posted_on="2026-06-01", issue_on="2026-05-28T09:30:00")))
    assert data["posted_on"] == "2026-06-01" and data["issued_on"] == "2026-05-28"
    assert_shows_natively(crm, data)


# -- DRAFT ----------------------------------------------------------------------------------------------

def test_a_draft_is_stored_without_ledger_or_balance_effect(crm):
    before = state(crm)
    data = ok(create(crm, minimal(life_cycle_state="DRAFT", back_office_code="D-1")))
    assert data["life_cycle_state"] == "DRAFT" and data["number"] is None and data["posted_on"] is None
    assert_shows_natively(crm, data)
    after = state(crm)
    assert after["journal"] == before["journal"] and after["customer"] == before["customer"]
    assert after["trial"] == before["trial"]
    # a draft is validated like a posted payout
    failed(create(crm, minimal(life_cycle_state="DRAFT", refund_amount=Decimal("501.00"))), 422,
           "AMOUNT_EXCEEDS_BALANCE")
    # posting or editing a payout draft through the native API is not built: refused, nothing changes
    posted = crm.api.post(f"/v1/refunds/{data['id']}/post")
    assert posted.status_code == 422 and posted.json()["code"] == "invalid_state"
    edited = crm.api.patch(f"/v1/refunds/{data['id']}", {"reason": "x"})
    assert edited.status_code == 422 and edited.json()["code"] == "invalid_state"
    assert state(crm)["customer"] == before["customer"]
    shown = ok(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": data["id"]}))
    assert shown == data


def test_voiding_a_posted_payout_natively_gives_the_credit_back(crm):
    data = ok(create(crm, minimal(refund_amount=Decimal("80.00"))))
    assert balance(crm) == "420.00"
    voided = crm.api.post(f"/v1/refunds/{data['id']}/void")
    assert voided.status_code == 200, voided.text
    assert balance(crm) == "500.00"
    assert_books_consistent(crm)
    shown = ok(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": f"id={data['id']}"}))
    assert shown["life_cycle_state"] == "CANCELLED"


# -- malformed requests -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", door.REQUIRED)
def test_every_required_parameter_missing_in_turn(crm, name):
    before = state(crm)
    failed(create(crm, minimal(**{name: None})), 422, "MISSING_PARAMETER", name)
    assert state(crm) == before


@pytest.mark.parametrize("changes, field", [
    ({"refund_amount": "abc"}, "refund_amount"),
    ({"refund_amount": Decimal("12.345")}, "refund_amount"),
    ({"refund_amount": True}, "refund_amount"),
    ({"refund_amount": Decimal("0")}, "refund_amount"),
    ({"refund_amount": Decimal("-5.00")}, "refund_amount"),
    ({"refund_amount": Decimal("1E+13")}, "refund_amount"),
    ({"accounts_receivable_identifier": "ACR0000001"}, "accounts_receivable_identifier"),
    ({"accounts_receivable_identifier": {}}, "accounts_receivable_identifier"),
    ({"accounts_receivable_identifier": {"number": "ACR0000001", "name": "Andreas Georgiou"}},
     "accounts_receivable_identifier"),
    ({"accounts_receivable_identifier": {"code": "ACR0000001"}}, "accounts_receivable_identifier"),
    ({"accounts_receivable_identifier": {"number": 7}}, "accounts_receivable_identifier"),
    ({"type_identifier": {"number": "1"}}, "type_identifier"),
    ({"type_identifier": {"id": "A", "name": "Refund"}}, "type_identifier"),
    ({"refund_method_identifier": []}, "refund_method_identifier"),
    ({"life_cycle_state": "CANCELLED"}, "life_cycle_state"),
    ({"life_cycle_state": 1}, "life_cycle_state"),
    ({"posted_on": "15/06/2026"}, "posted_on"),
    ({"issue_on": "2026-02-30"}, "issue_on"),
    ({"notes": 5}, "notes"),
    ({"back_office_code": ["x"]}, "back_office_code"),
    ({"back_office_code": "x" * 101}, "back_office_code"),
    ({"udf_string_3": 3}, "udf_string_3"),
    ({"udf_float_2": "1e5"}, "udf_float_2"),
    ({"udf_float_2": "NaN"}, "udf_float_2"),
    ({"udf_date_4": "tomorrow"}, "udf_date_4"),
    ({"udf_string_9": "x"}, "udf_string_9"),
    ({"refund_amnt": "1.00"}, "refund_amnt"),
    ({"fields_set": "id,nonsense"}, "fields_set"),
    ({"fields_set": ["id"]}, "fields_set"),
])
def test_wrong_types_and_values_are_invalid_parameters(crm, changes, field):
    before = state(crm)
    failed(create(crm, minimal(**changes)), 422, "INVALID_PARAMETER", field)
    assert state(crm) == before


def test_a_nan_json_number_and_a_body_that_is_not_json(crm):
    text = raw({"token": crm.token, **minimal()}).replace('"refund_amount":50.00', '"refund_amount":NaN')
    assert "NaN" in text
    failed(create(crm, text), 422, "INVALID_PARAMETER", "refund_amount")
    failed(create(crm, "{not json"), 422, "INVALID_PARAMETER")
    failed(create(crm, "[1, 2]"), 422, "INVALID_PARAMETER")


def test_the_success_envelope_is_the_documents_with_empty_message_and_description(crm):
    """Seed 002 prints the envelope as ``{"status": {"code": "OK", "message": "", "description": ""}, ...}``
    (issue 10): empty strings, never null, on every success."""
    documented = {"code": "OK", "message": "", "description": ""}
    login_answer = crm.client.post(LOGIN, json={"username": crm.username, "password": seed.PASSWORD,
                                                "organisation": seed.ORGANISATION})
    made = create(crm, example(crm.token))
    shown = crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": made.json()["data"]["id"]})
    for response in (login_answer, made, shown):
        assert response.status_code == 200, response.text
        assert response.json()["status"] == documented
    assert '"status":{"code":"OK","message":"","description":""}' in made.text


# -- authentication -------------------------------------------------------------------------------------

def test_login_answers_a_token_in_the_envelope(crm):
    response = crm.client.post(LOGIN, json={"username": crm.username, "password": "1234",
                                            "organisation": "CRMDEMO", "unit": "Head Office"})
    token = ok(response)["token"]
    assert isinstance(token, str) and len(token) >= 32 and token != crm.token
    ok(create(crm, minimal(), token=token))


@pytest.mark.parametrize("changes", [{"password": "12345"}, {"organisation": "OTHERORG"}, {"unit": "Limassol"},
                                     {"username": "nobody-at-all"}],
                         ids=["password", "organisation", "unit", "username"])
def test_a_bad_login_is_refused(crm, changes):
    body = {"username": crm.username, "password": "1234", "organisation": "CRMDEMO", **changes}
    failed(crm.client.post(LOGIN, json=body), 401, "AUTHENTICATION_FAILED", "username")


@pytest.mark.parametrize("name", ["username", "password", "organisation"])
def test_login_parameters_are_mandatory(crm, name):
    body = {"username": crm.username, "password": "1234", "organisation": "CRMDEMO"}
    del body[name]
    failed(crm.client.post(LOGIN, json=body), 422, "MISSING_PARAMETER", name)


@pytest.mark.parametrize("token", [None, "", "not-a-token", 42])
def test_a_missing_or_unknown_token_is_refused_before_anything_else(crm, token):
    body = {**minimal(refund_amount="bad")}
    if token is not None:
        body["token"] = token
    response = crm.client.post(CREATE, content=raw(body), headers={"Content-Type": "application/json"})
    failed(response, 401, "INVALID_TOKEN", "token")
    failed(crm.client.get(SHOW, params={"refund_identifier": "id=x", **({"token": token} if token else {})}),
           401, "INVALID_TOKEN", "token")


def test_a_token_expires_after_an_hour_unused(crm, clock):
    clock.current += timedelta(minutes=59)
    ok(create(crm, minimal(refund_amount=Decimal("1.00"))))
    clock.current += timedelta(minutes=59)  # sliding: an hour from its last use
    ok(create(crm, minimal(refund_amount=Decimal("1.00"))))
    clock.current += timedelta(minutes=60, seconds=1)
    failed(create(crm, minimal(refund_amount=Decimal("1.00"))), 401, "INVALID_TOKEN", "token")
    assert balance(crm) == "498.00"


def test_a_user_without_the_permission_is_forbidden(engine, clock, crm):
    username = f"reader-{uuid.uuid4().hex[:8]}"
    create_door_credential(engine, crm.name, "crmcom", login=username, secret="pw", permissions=("refund:read",),
                           settings=seed.settings(), clock=clock)
    token = login(crm.client, username, password="pw")
    failed(create(crm, minimal(), token=token), 403, "FORBIDDEN", "token")
    failed(crm.client.get(SHOW, params={"token": token, "refund_identifier": "id=x"}), 404, "NOT_FOUND")


def test_the_account_id_is_the_tenants_own_and_counts_nothing_across_tenants(engine, clock, client, api_for, crm):
    """Issue 10: ``accounts_receivable.id`` was the customer's global row id, so a tenant saw how many
    accounts the other tenants had opened between two of its own. It is now the account number and a
    tag of the tenant (``crmcom_answers.account_id``): the same in every answer of the tenant,
    another in another tenant for the same number, never a count of anybody's rows."""
    from sqlalchemy import select

    from salesrefund.http.dialects.crmcom_answers import account_id
    from salesrefund.store import tables as t

    other = build_tenant(engine, clock, client)  # the same seed: its ACR0000001 is a later row
    other.client, other.api = client, api_for(other.admin)
    mine = ok(create(crm, minimal()))["accounts_receivable"]
    theirs = ok(create(other, minimal()))["accounts_receivable"]
    assert mine["number"] == theirs["number"] == "ACR0000001" and mine["id"] != theirs["id"]
    assert mine["id"] == account_id(crm.id, "ACR0000001") and theirs["id"] == account_id(other.id, "ACR0000001")
    with engine.connect() as conn:
        row_ids = conn.execute(select(t.customers.c.id).where(t.customers.c.code == "ACR0000001",
                                                             t.customers.c.tenant_id.in_((crm.id, other.id)))).scalars()
        assert not {str(row_id) for row_id in row_ids} & {mine["id"], theirs["id"]}
        row_id = conn.execute(select(t.customers.c.id).where(t.customers.c.code == "ACR0000001",
                                                            t.customers.c.tenant_id == crm.id)).scalar_one()
    build_tenant(engine, clock, client)  # a third tenant opening accounts changes nothing of ours
    again = ok(create(crm, minimal(accounts_receivable_identifier={"id": mine["id"]})))["accounts_receivable"]
    assert again == mine
    listed = ok(client.get(BASE + "/refunds/list", params={"token": crm.token,
                                                           "accounts_receivable_identifier": f"id={mine['id']}"}))
    assert {item["accounts_receivable"]["id"] for item in listed} == {mine["id"]} and len(listed) == 2
    shown = ok(client.get(SHOW, params={"token": crm.token, "refund_identifier": listed[0]["id"]}))
    assert shown["accounts_receivable"] == mine
    # each id names the account in its own tenant only, and the row id names none
    for tenant, identifier in ((other, mine["id"]), (crm, theirs["id"]), (crm, str(row_id)), (crm, mine["id"] + "00")):
        failed(create(tenant, minimal(accounts_receivable_identifier={"id": identifier})), 422, "CUSTOMER_NOT_FOUND",
               "accounts_receivable_identifier")
        failed(client.get(BASE + "/refunds/list", params={"token": tenant.token,
                                                          "accounts_receivable_identifier": f"id={identifier}"}),
               422, "CUSTOMER_NOT_FOUND", "accounts_receivable_identifier")
    assert balance(crm) == "400.00" and balance(other) == "450.00"


def test_another_tenants_objects_are_not_found(engine, clock, client, api_for, crm):
    other = build_tenant(engine, clock, client)
    other.client, other.api = client, api_for(other.admin)
    mine = ok(create(crm, minimal()))
    failed(client.get(SHOW, params={"token": other.token, "refund_identifier": f"id={mine['id']}"}), 404, "NOT_FOUND")
    failed(client.get(SHOW, params={"token": other.token, "refund_identifier": "number=PO-2026-000001"}), 404,
           "NOT_FOUND")
    assert other.api.get(f"/v1/refunds/{mine['id']}").status_code == 404
    before = state(other)
    failed(create(other, minimal(accounts_receivable_identifier={"id": mine["accounts_receivable"]["id"]})),
           422, "CUSTOMER_NOT_FOUND", "accounts_receivable_identifier")
    assert state(other) == before
    # a refund that is not a payout is not a CRM.COM refund either
    native = [r for r in crm.api.get("/v1/refunds").json()["items"] if r["kind"] == "refund"][0]
    failed(client.get(SHOW, params={"token": crm.token, "refund_identifier": f"id={native['id']}"}), 404, "NOT_FOUND")


# -- exactly once (back_office_code) ------------------------------------------------------------------

def test_a_replay_answers_the_original_and_a_conflicting_replay_is_refused(crm):
    first = create(crm, example(crm.token))
    data = ok(first)
    after_first = state(crm)
    again = create(crm, example(crm.token))
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    spelled = create(crm, example(crm.token, refund_amount="120.0"))  # the same amount, spelled otherwise
    assert spelled.headers.get("Idempotent-Replayed") == "true" and spelled.content == first.content
    limited = ok(create(crm, example(crm.token, fields_set="id, number")))
    assert limited == {"id": data["id"], "number": data["number"]}
    assert state(crm) == after_first
    for changes in ({"refund_amount": Decimal("121.00")}, {"notes": "other"}, {"udf_float_1": Decimal("12.51")},
                    {"life_cycle_state": "DRAFT"}):
        failed(create(crm, example(crm.token, **changes)), 422, "IDEMPOTENCY_KEY_REUSED", "back_office_code")
    assert state(crm) == after_first
    assert balance(crm) == "380.00"


def test_a_rejection_is_replayed_and_a_malformed_request_is_not_stored(crm):
    too_much = minimal(refund_amount=Decimal("600.00"), back_office_code="BO-X")
    failed(create(crm, too_much), 422, "AMOUNT_EXCEEDS_BALANCE")
    replay = create(crm, too_much)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    failed(replay, 422, "AMOUNT_EXCEEDS_BALANCE")
    malformed = minimal(refund_amount="1.001", back_office_code="BO-Y")
    failed(create(crm, malformed), 422, "INVALID_PARAMETER")
    ok(create(crm, minimal(refund_amount=Decimal("1.00"), back_office_code="BO-Y")))


def test_a_back_office_code_stays_unique_after_its_key_expires(crm, clock):
    body = minimal(back_office_code="BO-OLD")
    ok(create(crm, body))
    clock.current += timedelta(hours=73)
    token = login(crm.client, crm.username)
    failed(create(crm, body, token=token), 409, "DUPLICATE", "back_office_code")
    assert balance(crm) == "450.00"


# -- the same command as the service's own ------------------------------------------------------------

def test_the_door_builds_the_payout_command_and_it_lands_as_a_direct_call_would(
        engine, clock, client, api_for, crm, monkeypatch):
    seen = []
    real = PayoutService.pay_out

    def spy(self, ctx, command, catalog, responder):
        seen.append((ctx, command, catalog))
        return real(self, ctx, command, catalog, responder)

    monkeypatch.setattr(PayoutService, "pay_out", spy)
    data = ok(create(crm, example(crm.token)))
    (ctx, command, catalog), = seen
    expected = PayOut(
        customer=Ref("code", "ACR0000001"), amount_minor=12000, type=Ref("name", "Refund"),
        method=Ref("name", "Cash"), category=Ref("name", "General"), payment_preference=None, state="posted",
        currency="EUR", posting_date=date(2026, 6, 15), document_date=date(2026, 6, 15),
        reason="Customer closed the account", notes="Paid out at the Nicosia branch", reference="BO-2026-0001",
        metadata=dict(UDFS))
    assert command == expected and command.metadata == expected.metadata
    assert catalog == PayoutCatalog.from_settings(seed.settings())
    assert ctx.channel == "crmcom"
    assert ctx.natural_keys == (("back_office_code", "crmcom:back_office_code:BO-2026-0001"),)
    assert "token" not in ctx.request and ctx.request["back_office_code"] == "BO-2026-0001"

    # the same command issued straight through the service, in a twin tenant, lands identically
    twin = build_tenant(engine, clock, client)
    twin.api = api_for(twin.admin)
    quiet = SimpleNamespace(success=lambda view, status: view, failure=lambda error: (_ for _ in ()).throw(error))
    direct = PayoutService(RefundService(engine, clock)).pay_out(
        Context(tenant_id=twin.id, channel="crmcom"), expected, catalog, quiet)
    ignore = ("id", "created_at", "posted_at")
    mine = {k: v for k, v in crm.api.get(f"/v1/refunds/{data['id']}").json().items() if k not in ignore}
    theirs = {k: v for k, v in twin.api.get(f"/v1/refunds/{direct.refund.id}").json().items() if k not in ignore}
    assert mine == theirs
    strip = lambda items: [{k: v for k, v in e.items() if k != "id"} for e in items]  # noqa: E731
    assert strip(crm.api.get(f"/v1/refunds/{data['id']}/journal").json()["items"]) == \
        strip(twin.api.get(f"/v1/refunds/{direct.refund.id}/journal").json()["items"])


def test_the_base_path_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(door.BASE_ENV, "crmapi/rest/v4/")
    assert door.base_path() == "/crmapi/rest/v4"
    monkeypatch.delenv(door.BASE_ENV)
    assert door.base_path() == "/crmcom/v4"


def test_show_parameters(crm):
    data = ok(create(crm, minimal()))
    for identifier in (data["id"], f"id={data['id']}", data["number"], f"number={data['number']}",
                       json.dumps({"number": data["number"]})):
        assert ok(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": identifier})) == data
    limited = ok(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": data["id"],
                                              "fields_set": "refund_amount,life_cycle_state"}))
    assert limited == {"life_cycle_state": "POSTED", "refund_amount": Decimal("50.00")}
    failed(crm.client.get(SHOW, params={"token": crm.token}), 422, "MISSING_PARAMETER", "refund_identifier")
    failed(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": "code=1"}), 422,
           "INVALID_PARAMETER", "refund_identifier")
    failed(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": data["id"], "x": "1"}), 422,
           "INVALID_PARAMETER", "x")


def test_payout_command_rejects_a_missing_method_without_a_type():
    """The domain rule behind the type's default method: a payout needs one or the other."""
    from salesrefund.domain import payouts
    from salesrefund.domain.errors import Invalid
    from salesrefund.domain.model import PaymentMethod, Policy
    from salesrefund.domain.money import currency
    command = PayOut(customer=Ref("code", "A"), amount_minor=100)
    account = payouts.Account("A", "A", "EUR", 1000)
    methods = {"cash": PaymentMethod("cash", "cash", "1000")}
    with pytest.raises(Invalid):
        payouts.plan_payout(command, policy=Policy(currency("EUR")), account=account,
                            catalog=PayoutCatalog.from_settings(seed.settings()), methods=methods,
                            today=date(2026, 6, 15))
    plan = payouts.plan_payout(replace(command, method=Ref("name", "Cash")), policy=Policy(currency("EUR")),
                               account=account, catalog=PayoutCatalog.from_settings(seed.settings()),
                               methods=methods, today=date(2026, 6, 15))
    assert [(p.account, p.debit_minor, p.credit_minor) for p in payouts.payout_entry(plan)] == [
        ("2200", 100, 0), ("1000", 0, 100)]


def test_an_account_name_shared_by_two_customers_is_ambiguous(crm):
    assert crm.api.post("/v1/customers", {"code": "ACR0000009", "name": "Andreas Georgiou"}).status_code == 201
    before = state(crm)
    status = failed(create(crm, minimal(accounts_receivable_identifier={"name": "Andreas Georgiou"})), 422,
                    "CUSTOMER_AMBIGUOUS", "accounts_receivable_identifier")
    assert "Andreas Georgiou" in status["message"]
    assert state(crm) == before
    ok(create(crm, minimal(accounts_receivable_identifier={"number": "ACR0000001"})))


def test_a_payout_draft_can_be_deleted_natively(crm):
    before = state(crm)
    data = ok(create(crm, minimal(life_cycle_state="DRAFT")))
    assert crm.api.delete(f"/v1/refunds/{data['id']}").status_code == 204
    failed(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": data["id"]}), 404, "NOT_FOUND")
    assert state(crm) == before


def test_a_revoked_credential_refuses_its_tokens(engine, clock, crm):
    from sqlalchemy import select
    from salesrefund.service.tenants import revoke_token
    from salesrefund.store import tables as t
    with engine.connect() as conn:
        credential = conn.execute(select(t.door_credentials.c.credential_id).where(
            t.door_credentials.c.login == crm.username)).scalar_one()
    assert revoke_token(engine, credential, clock)
    failed(create(crm, minimal()), 401, "INVALID_TOKEN", "token")
    failed(crm.client.post(LOGIN, json={"username": crm.username, "password": "1234", "organisation": "CRMDEMO"}),
           401, "AUTHENTICATION_FAILED")
