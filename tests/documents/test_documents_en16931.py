"""The EN 16931 credit note: a golden document worked by hand, validated by the OASIS schema and
the official CEN rules; altered copies fail; the endpoint's errors."""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

GOLDEN = Path(__file__).parent / "golden"
NS = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


def golden_refund(shop) -> dict:
    """INV-100 (EUR, tax-exclusive, 2026-06-01), paid 100.24 by card:
       line 1: 4 x BOOK at 12.50 less 5.00 discount, 7 %  -> net 45.00, tax 3.15, gross 48.15
       line 2: 2 x MUG at 8.40, 19 %                       -> net 16.80, tax 3.19, gross 19.99
       line 3: 1.5 kg TEA at 20.00, 7 %                     -> net 30.00, tax 2.10, gross 32.10
    Refund: 2 books, 1 mug, and 5.35 off the tea (a price adjustment, tax included)."""
    s = shop()
    api = s["api"]
    r = api.post("/v1/invoices", {
        "number": "INV-100", "customer": "C1", "date": "2026-06-01",
        "lines": [{"product": "BOOK", "quantity": "4", "unit_price": "12.50", "discount": "5.00", "tax_rate": "7"},
                  {"product": "MUG", "quantity": "2", "unit_price": "8.40", "tax_rate": "19"},
                  {"product": "TEA", "quantity": "1.5", "unit_price": "20.00", "tax_rate": "7"}],
        "payments": [{"method": "card", "amount": "100.24"}]})
    assert r.status_code == 201, r.text
    assert r.json()["total"] == "100.24"
    r = api.post("/v1/refunds", {"invoice": "INV-100", "reason": "Damaged in transit",
                                 "lines": [{"line": 1, "quantity": "2"}, {"line": 2, "quantity": "1"},
                                           {"line": 3, "amount": "5.35"}]})
    assert r.status_code == 201, r.text
    return {**s, "refund": r.json()}


def texts(doc, path: str) -> list[str]:
    return [e.text for e in doc.xpath(path, namespaces=NS)]


def test_golden_document_has_the_figures_worked_by_hand_and_is_valid(shop, artefacts):
    g = golden_refund(shop)
    refund = g["refund"]
    # Worked by hand (telescoping bases, R4 tax per line, half up):
    #   books: base 45.00 x 2/4 = 22.50; tax 22.50 x 7 % = 1.575 -> 1.58; discount share 25.00 - 22.50 = 2.50
    #   mug:   base 16.80 x 1/2 =  8.40; tax  8.40 x 19 % = 1.596 -> 1.60
    #   tea:   5.35 incl. 7 %: tax 5.35 x 7/107 = 0.35, net 5.00
    #   7 %: net 27.50 tax 1.93 (27.50 x 7 % = 1.925, BR-CO-17 holds); 19 %: net 8.40 tax 1.60
    #   net 35.90 + tax 3.53 = 39.43 paid back to the card
    assert [(x["net"], x["tax"]) for x in refund["lines"]] == [("22.50", "1.58"), ("8.40", "1.60"), ("5.00", "0.35")]
    assert refund["total"] == "39.43"
    r = g["api"].get(f"/v1/refunds/{refund['id']}/document.xml")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    xml = r.content
    doc = etree.fromstring(xml)
    assert texts(doc, "/*/cbc:CreditNoteTypeCode") == ["381"]
    assert texts(doc, "/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == ["INV-100"]
    assert texts(doc, "/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == ["2026-06-01"]
    assert texts(doc, "//cac:CreditNoteLine/cbc:LineExtensionAmount") == ["22.50", "8.40", "5.00"]
    assert texts(doc, "//cac:CreditNoteLine/cac:AllowanceCharge/cbc:Amount") == ["2.50"]
    assert texts(doc, "//cac:CreditNoteLine/cac:Price/cbc:PriceAmount") == ["12.5000", "8.4000", "5.0000"]
    assert texts(doc, "/*/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount") == ["27.50", "8.40"]
    assert texts(doc, "/*/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount") == ["1.93", "1.60"]
    assert texts(doc, "/*/cac:TaxTotal/cbc:TaxAmount") == ["3.53"]
    assert texts(doc, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount") == ["39.43"]
    assert texts(doc, "/*/cac:PaymentMeans/cbc:PaymentMeansCode") == ["48"]
    if os.environ.get("SALESREFUND_WRITE_GOLDEN") == "1":  # after a deliberate change, reviewed by hand
        (GOLDEN / "en16931.xml").write_bytes(xml)
    assert (GOLDEN / "en16931.xml").read_bytes() == xml
    report = artefacts.validate(xml, "en16931")
    assert report.valid, report.errors


def test_altered_documents_fail_the_schema_and_the_rules(artefacts):
    xml = (GOLDEN / "en16931.xml").read_bytes()
    assert artefacts.validate(xml, "en16931").valid
    raised = xml.replace(b'<cbc:PayableAmount currencyID="EUR">39.43<', b'<cbc:PayableAmount currencyID="EUR">39.44<')
    assert raised != xml
    assert "BR-CO-16" in {f.rule for f in artefacts.validate(raised, "en16931").errors}
    tax = xml.replace(b'<cbc:TaxAmount currencyID="EUR">3.53<', b'<cbc:TaxAmount currencyID="EUR">3.54<')
    assert "BR-CO-14" in {f.rule for f in artefacts.validate(tax, "en16931").errors}
    unknown = xml.replace(b"<cbc:IssueDate>2026-06-15</cbc:IssueDate>",
                          b"<cbc:IssueDate>2026-06-15</cbc:IssueDate><cbc:Colour>red</cbc:Colour>")
    assert unknown != xml
    failures = artefacts.validate(unknown, "en16931").errors
    assert [f.source for f in failures] == ["schema"] and "Colour" in failures[0].text


def test_a_voided_refund_says_so_and_stays_valid(shop, artefacts):
    g = golden_refund(shop)
    api = g["api"]
    assert api.post(f"/v1/refunds/{g['refund']['id']}/void", {"reason": "entered twice"}).status_code == 200
    xml = api.get(f"/v1/refunds/{g['refund']['id']}/document.xml").content
    notes = texts(etree.fromstring(xml), "/*/cbc:Note")
    assert any(n.startswith("VOIDED 2026-06-15") for n in notes), notes
    assert artefacts.validate(xml, "en16931").valid


def test_document_errors_change_nothing_and_say_what_is_missing(make_tenant, api_for, shop):
    g = golden_refund(shop)
    api = g["api"]
    assert api.get("/v1/refunds/nope/document.xml").json()["code"] == "not_found"
    other = api_for(make_tenant()["token"])
    assert other.get(f"/v1/refunds/{g['refund']['id']}/document.xml").status_code == 404  # R19
    assert api.get(f"/v1/refunds/{g['refund']['id']}/document.xml", profile="ubl").status_code == 422
    draft = api.post("/v1/refunds", {"invoice": "INV-100", "state": "draft", "lines": [{"line": 2, "quantity": "1"}]})
    assert draft.status_code == 201, draft.text
    r = api.get(f"/v1/refunds/{draft.json()['id']}/document.xml")
    assert (r.status_code, r.json()["code"]) == (422, "invalid_state")
    bare = make_tenant(country="DE")
    bare_api = api_for(bare["token"])
    assert bare_api.post("/v1/customers", {"code": "C", "name": "C"}).status_code == 201
    assert bare_api.post("/v1/invoices", {"number": "I", "customer": "C", "date": "2026-06-01", "lines": [
        {"description": "x", "quantity": "1", "unit_price": "1.00", "tax_rate": "19"}]}).status_code == 201
    refund = bare_api.post("/v1/refunds", {"invoice": "I", "lines": [{"line": 1}]}).json()
    r = bare_api.get(f"/v1/refunds/{refund['id']}/document.xml")
    assert (r.status_code, r.json()["code"]) == (422, "document_incomplete")
    assert r.json()["errors"][0]["field"] == "/seller/vat_number"


def test_the_seller_settings_round_trip_and_refuse_bad_values(shop):
    api = shop()["api"]
    seller = api.get("/v1/seller").json()
    assert (seller["legal_name"], seller["vat_number"], seller["country"], seller["language"]) == (
        "Acme Trading GmbH", "DE123456789", "DE", "en")
    r = api.client.put("/v1/seller", json={"country": "Germany"}, headers=api.headers())
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")
    r = api.client.put("/v1/seller", json={"language": "ar"}, headers=api.headers())
    assert r.json()["language"] == "ar" and r.json()["vat_number"] == "DE123456789"
    assert api.client.put("/v1/customers/NOPE/address", json={"city": "X"}, headers=api.headers()).status_code == 404
    r = api.client.put("/v1/customers/C1/address", json={"building_number": "1" * 21}, headers=api.headers())
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "/building_number")  # as long as its column
    from salesrefund.domain.errors import Invalid
    from salesrefund.service.documents import Documents
    service = Documents(api.client.app.state.engine)
    try:  # the service refuses it too (the CLI and tests call it directly)
        service.set_customer_address(shop_tenant_id(api), "C1",
                                     {"building_number": "1" * 21})
        raise AssertionError("a 21-character building number was accepted")
    except Invalid as error:
        assert error.first.field == "/building_number"


def shop_tenant_id(api) -> int:
    from salesrefund.service.tenants import authenticate
    return authenticate(api.client.app.state.engine, api.token).tenant_id
