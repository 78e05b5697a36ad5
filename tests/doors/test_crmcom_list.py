"""CRM.COM V4 ``GET refunds/list`` (issue 13): the refunds of one accounts receivable, as its
documentation describes (token, accounts_receivable_identifier, number_of_results, offset,
fields_set), each refund as ``refunds/show`` renders it."""

from __future__ import annotations

from decimal import Decimal

from test_crmcom import BASE, build_tenant, create, crm, failed, minimal, ok  # noqa: F401 (crm is a fixture)

LIST = BASE + "/refunds/list"
SHOW = BASE + "/refunds/show"


def listing(crm, **params):
    return crm.client.get(LIST, params={"token": crm.token, **params})


def test_list_the_refunds_of_an_account_oldest_first_as_show_renders_them(crm):
    made = [ok(create(crm, minimal(refund_amount=Decimal(amount), back_office_code=f"BO-L-{i}")))
            for i, amount in enumerate(("10.00", "20.00", "30.00"))]
    items = ok(listing(crm, accounts_receivable_identifier="number=ACR0000001"))
    assert [item["id"] for item in items] == [m["id"] for m in made]
    shown = ok(crm.client.get(SHOW, params={"token": crm.token, "refund_identifier": f"id={made[1]['id']}"}))
    assert items[1] == shown
    assert [str(item["refund_amount"]) for item in items] == ["10.00", "20.00", "30.00"]
    page = ok(listing(crm, accounts_receivable_identifier='{"number": "ACR0000001"}', number_of_results="1",
                      offset="1"))
    assert [item["id"] for item in page] == [made[1]["id"]]
    limited = ok(listing(crm, accounts_receivable_identifier="ACR0000001", fields_set="id,life_cycle_state"))
    assert limited == [{"id": m["id"], "life_cycle_state": "POSTED"} for m in made]
    other = ok(listing(crm, accounts_receivable_identifier="number=ACR0000002"))
    assert [item["id"] for item in other if item["id"] in {m["id"] for m in made}] == []


def test_list_errors_in_crmcoms_envelope(crm, engine, clock, client):
    failed(crm.client.get(LIST, params={"accounts_receivable_identifier": "ACR0000001"}), 401, "INVALID_TOKEN")
    failed(listing(crm), 422, "MISSING_PARAMETER", "accounts_receivable_identifier")
    failed(listing(crm, accounts_receivable_identifier="colour=red"), 422, "INVALID_PARAMETER",
           "accounts_receivable_identifier")
    failed(listing(crm, accounts_receivable_identifier="ACR0000001", number_of_results="0"), 422, "INVALID_PARAMETER",
           "number_of_results")
    failed(listing(crm, accounts_receivable_identifier="ACR0000001", offset="-1"), 422, "INVALID_PARAMETER", "offset")
    failed(listing(crm, accounts_receivable_identifier="ACR0000001", page="2"), 422, "INVALID_PARAMETER", "page")
    failed(listing(crm, accounts_receivable_identifier="number=NOBODY"), 422, "CUSTOMER_NOT_FOUND",
           "accounts_receivable_identifier")
    other = build_tenant(engine, clock, client)  # the same account number in another tenant: its own, empty
    ok(create(crm, minimal(back_office_code="BO-ISO")))
    assert ok(client.get(LIST, params={"token": other.token, "accounts_receivable_identifier": "ACR0000001"})) == []
