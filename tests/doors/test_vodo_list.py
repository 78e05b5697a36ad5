"""Vodo: the credit notes of an invoice (issue 13), ``GET /api/v4/credit_note/pos/{invoice_id}`` with
the create route's headers. Each note is shown as the create answer shows it (the invoice block as it
stands now), in Vodo's ``{status, message, data, errors}`` envelope, Arabic or English."""

from __future__ import annotations

from salesrefund.seeds import vodo as seed
from salesrefund.service.doors import create_door_credential
from test_vodo import (  # noqa: F401 (fixtures)
    D, DOCUMENT_FORM, PATH, exact, failure, form_of, items, make_vodo, send, success, vodo,
)

ARABIC_LIST = "إشعارات الدائن للفاتورة"


def none(response) -> bool:
    assert response.status_code == 200, response.text
    return exact(response) == {"status": True, "message": "The credit notes of the invoice", "data": [], "errors": []}


def listing(client, headers, invoice=seed.INVOICE):
    return client.get(PATH + invoice, headers=headers)


def test_the_documents_example_then_the_list_shows_it_as_created(client, vodo):  # noqa: F811
    assert none(listing(client, vodo["headers"]))  # none yet
    created = success(send(client, vodo["headers"], DOCUMENT_FORM))
    second = success(send(client, vodo["headers"], form_of(**items({"price": "50", "desc": "second"}),
                                                         pos_id="181", pos_session_id="8511111")))
    response = listing(client, {**vodo["headers"], "Accept-Language": "ar"})
    notes = success(response)
    assert exact(response)["message"] == ARABIC_LIST
    assert [n["id"] for n in notes] == [created["id"], second["id"]]  # oldest first
    first = notes[0]
    # as created, except the invoice block, which now counts the second note too
    assert {k: v for k, v in first.items() if k not in ("invoice", "pdf_url")} == \
        {k: v for k, v in created.items() if k not in ("invoice", "pdf_url")}
    assert first["pos_id"] == "181" and first["pos_session_id"] == "8511111"
    assert first["pdf_url"].endswith("?lang=ar")
    assert notes[1]["invoice"] == second["invoice"]
    assert first["invoice"]["credit_amount"] == D("150.00")
    assert (first["total"], first["tax_amount_total"]) == (D("100.00"), D("13.04"))
    english = listing(client, vodo["headers"])
    assert exact(english)["message"] == "The credit notes of the invoice"


def test_an_unknown_invoice_and_another_tenants_invoice_are_not_found(engine, clock, client, vodo, make_tenant):  # noqa: F811
    assert success(send(client, vodo["headers"], DOCUMENT_FORM))
    failure(listing(client, vodo["headers"], "999999"), 404, "invoice_not_found", "invoice_id")
    other = make_tenant(currency="SAR", prices_include_tax=True)
    create_door_credential(engine, other["tenant"], "vodo", login=f"other-{other['id']}", secret="s3cret",
                           clock=clock, settings={"apikey": "k", "platform_key": "p", "vat_rate": "15"})
    headers = {**vodo["headers"], "secure-business-key": f"other-{other['id']}", "userToken": "s3cret",
               "apikey": "k", "platform-key": "p"}
    body = failure(listing(client, {**headers, "Accept-Language": "ar"}), 404, "invoice_not_found", "invoice_id")
    assert "121052" in body["message"]


def test_credentials_and_permission(engine, clock, client, vodo):  # noqa: F811
    for name in ("secure-business-key", "userToken", "apikey", "platform-key", "platform"):
        failure(listing(client, {k: v for k, v in vodo["headers"].items() if k != name}), 401, "unauthorized", name)
    failure(listing(client, {**vodo["headers"], "apikey": "wrong"}), 401, "unauthorized")
    create_door_credential(engine, vodo["name"], "vodo", login=vodo["login"] + "-w", secret="s3cret",
                           permissions=("refund:create",), clock=clock,
                           settings={"apikey": "k", "platform_key": "p", "vat_rate": "15"})
    writer = {**vodo["headers"], "secure-business-key": vodo["login"] + "-w", "userToken": "s3cret",
              "apikey": "k", "platform-key": "p"}
    failure(listing(client, writer), 403, "forbidden", "secure-business-key")
    create_door_credential(engine, vodo["name"], "vodo", login=vodo["login"] + "-r", secret="s3cret",
                           permissions=("refund:read",), clock=clock,
                           settings={"apikey": "k", "platform_key": "p", "vat_rate": "15"})
    reader = {**writer, "secure-business-key": vodo["login"] + "-r"}
    assert none(listing(client, reader))


def test_voided_notes_are_listed_and_native_drafts_are_not(client, vodo):  # noqa: F811
    created = success(send(client, vodo["headers"], DOCUMENT_FORM))
    native = {"Authorization": f"Bearer {vodo['token']}"}
    assert client.post(f"/v1/refunds/{created['uuid']}/void", headers=native).status_code == 200
    draft = client.post("/v1/refunds", headers={**native, "Idempotency-Key": "draft-1"}, json={
        "invoice": seed.INVOICE, "state": "draft", "lines": [{"line": 2, "quantity": "1"}]})
    assert draft.status_code == 201, draft.text
    notes = success(listing(client, vodo["headers"]))
    assert [n["id"] for n in notes] == [created["id"]]
    assert notes[0]["total"] == D("100.00") and notes[0]["invoice"]["credit_amount"] == D("0.00")
