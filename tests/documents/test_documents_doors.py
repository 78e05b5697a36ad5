"""Documents through the doors: Vodo's answer points at the PDF; SnR2U's e-invoice fields come
from the MyInvois document, and its buyer e-invoice fields become the MyInvois buyer."""

from __future__ import annotations

import copy
import sys
import uuid
from pathlib import Path

from lxml import etree

sys.path.append(str(Path(__file__).resolve().parents[1] / "doors"))  # the door tests' helpers

from salesrefund.http.dialects import jsv  # noqa: E402
from salesrefund.seeds import snr2u as snr2u_seed  # noqa: E402
from salesrefund.seeds import vodo as vodo_seed  # noqa: E402
from sellers import MALAYSIAN_SELLER  # noqa: E402
from snr2u_helpers import FILLED  # noqa: E402
from test_documents_pdf import text_of  # noqa: E402
from vodo_helpers import DOCUMENT_FORM  # noqa: E402

NS = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


def test_vodo_s_answer_points_at_the_pdf_in_its_language(engine, clock, client):
    tag = uuid.uuid4().hex[:10]
    token = f"sr_vodo_{tag}"
    credentials = dict(vodo_seed.CREDENTIALS, **{"secure-business-key": f"sbk-{tag}", "userToken": f"ut-{tag}"})
    assert vodo_seed.load(engine, clock, name=f"vodo-{tag}", token=token, credentials=credentials)
    response = client.post("/api/v4/credit_note/pos/" + vodo_seed.INVOICE,
                           headers={**credentials, "Accept-Language": "ar"},
                           files=[(key, (None, value)) for key, value in DOCUMENT_FORM])
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["pdf_url"] == f"/v1/refunds/{data['uuid']}/document.pdf?lang=ar"  # data.id: an integer (issue 10)
    pdf = client.get(data["pdf_url"], headers={"Authorization": f"Bearer {token}"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = text_of(pdf.content)
    assert "إشعار دائن" in text and f"CN-2026-{data['reference']:06d}" in text


def test_snr2u_e_invoice_fields_follow_the_myinvois_document(engine, clock, client, artefacts):
    name, token, key = f"snr2u-d-{uuid.uuid4().hex[:6]}", f"sr_{uuid.uuid4().hex}", f"key-{uuid.uuid4().hex}"
    assert snr2u_seed.create(engine, clock, name=name, token=token, api_key=key)
    native = {"Authorization": f"Bearer {token}"}
    assert client.put("/v1/seller", json=MALAYSIAN_SELLER, headers=native).status_code == 200
    assert client.put("/v1/invoices/IV-00001/myinvois-uuid", json={"myinvois_uuid": "F9D425P6DS7D8IU"},
                      headers=native).status_code == 200
    body = copy.deepcopy(FILLED)
    header = body["CustomerRefundNote"]["DocumentHeader"]
    header["IsUseTransactionBuyerElement"] = "True"
    response = client.post("/CustomerRefundNotes/simple", content=jsv.encode(body),
                           headers={"Content-Type": "text/jsv", "Authorization": f"Bearer {key}",
                                    "Accept": "application/json"}, params={"jsconfig": "TextCase:PascalCase"})
    assert response.status_code == 200, response.text
    note = response.json()
    details = note["CustomerRefundNote"]["DocumentDetails"]
    assert [(d["AcEInvoiceItemClassificationID"], d["AcEInvoiceItemTaxTypeID"]) for d in details] == [
        ("022", "06"), ("022", "06")]
    refund_id = note["ResponseStatus"]["Meta"]["RefundId"]
    xml = client.get(f"/v1/refunds/{refund_id}/document.xml", params={"profile": "myinvois"}, headers=native)
    assert xml.status_code == 200, xml.text
    doc = etree.fromstring(xml.content)
    buyer = "cac:AccountingCustomerParty/cac:Party/"
    assert doc.xpath(buyer + "cac:PartyIdentification/cbc:ID[@schemeID='TIN']", namespaces=NS)[0].text \
        == header["EInvoiceRegTIN_Buyer"]
    assert doc.xpath(buyer + "cac:PartyLegalEntity/cbc:RegistrationName", namespaces=NS)[0].text \
        == header["EInvoiceRegName_Buyer"]
    assert doc.xpath(buyer + "cac:PostalAddress/cac:Country/cbc:IdentificationCode", namespaces=NS)[0].text == "MYS"
    assert [e.text for e in doc.xpath("cac:InvoiceLine/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID",
                                      namespaces=NS)] == [d["AcEInvoiceItemTaxTypeID"] for d in details]
    assert doc.xpath("cac:BillingReference/cac:InvoiceDocumentReference/cbc:UUID", namespaces=NS)[0].text \
        == "F9D425P6DS7D8IU"
    assert artefacts.validate(xml.content, "myinvois").valid


def test_a_crm_payout_is_not_a_credit_note_and_has_no_document(engine, clock, client):
    from salesrefund.seeds import crmcom as crm_seed
    from salesrefund.service.tenants import create_tenant
    tag = uuid.uuid4().hex[:8]
    tenant = create_tenant(engine, f"crm-doc-{tag}", clock=clock, **crm_seed.TENANT_OPTIONS)
    crm_seed.build(engine, clock, tenant["id"], f"crm-doc-{tag}", username=f"crm-doc-{tag}")
    login = client.post("/crmcom/v4/authentication/token", json={
        "username": f"crm-doc-{tag}", "password": crm_seed.PASSWORD, "organisation": crm_seed.ORGANISATION})
    session = login.json()["data"]["token"]
    created = client.post("/crmcom/v4/refunds/create", json={
        "token": session, "accounts_receivable_identifier": {"number": crm_seed.ACCOUNT},
        "type_identifier": {"name": "Refund"}, "life_cycle_state": "POSTED", "refund_amount": "12.34"})
    assert created.status_code == 200, created.text
    payout_id = created.json()["data"]["id"]
    native = {"Authorization": f"Bearer {tenant['token']}"}
    for path in (f"/v1/refunds/{payout_id}/document.xml", f"/v1/refunds/{payout_id}/document.pdf"):
        r = client.get(path, headers=native)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_state"), r.text
