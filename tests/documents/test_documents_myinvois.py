"""The MyInvois (Malaysia) note, field by field against the LHDNM e-Invoice guideline's data
structure for credit and refund notes v1.1 (sdk.myinvois.hasil.gov.my/documents/credit-v1-1 and
refund-v1-1): the XPath of each field, its value, and the order of the UBL 2.1 schema."""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from salesrefund.documents import myinvois

GOLDEN = Path(__file__).parent / "golden"
NS = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"}


def sale_and_refund(api, customer: str, payments: list | None = None, refund_payments: list | None = None) -> dict:
    """3 x teh tarik at 3.33 + 10 % sales tax: net 9.99, tax 1.00, gross 10.99.
    Refund 2: base 9.99 x 2/3 = 6.66, tax 6.66 x 10 % = 0.666 -> 0.67, gross 7.33; paid in cash,
    rounded to 0.05: 7.35 (rounding +0.02)."""
    r = api.post("/v1/invoices", {"number": "INV-MY1", "customer": customer, "date": "2026-06-01",
                                  "lines": [{"product": "TEA", "quantity": "3", "unit_price": "3.33", "tax_rate": "10"}],
                                  **({"payments": payments} if payments is not None else {})})
    assert r.status_code == 201, r.text
    body = {"invoice": "INV-MY1", "reason": "Expired stock", "lines": [{"line": 1, "quantity": "2"}]}
    if refund_payments is not None:
        body["payments"] = refund_payments
    r = api.post("/v1/refunds", body)
    assert r.status_code == 201, r.text
    return r.json()


def field(doc, path: str) -> str | None:
    found = doc.xpath(path, namespaces=NS)
    if not found:
        return None
    value = found[0]
    return value if isinstance(value, str) else value.text


# (guideline field, XPath in the guideline's UBL mapping, expected value) for the golden refund note
GUIDELINE_FIELDS = [
    ("e-Invoice Version", "/inv:Invoice/cbc:InvoiceTypeCode/@listVersionID", "1.1"),
    ("e-Invoice Type Code", "/inv:Invoice/cbc:InvoiceTypeCode", "04"),
    ("e-Invoice Code / Number", "/inv:Invoice/cbc:ID", "CN-2026-000001"),
    ("e-Invoice Date", "/inv:Invoice/cbc:IssueDate", "2026-06-15"),
    ("e-Invoice Time", "/inv:Invoice/cbc:IssueTime", "10:00:00Z"),
    ("Invoice Currency Code", "/inv:Invoice/cbc:DocumentCurrencyCode", "MYR"),
    ("Original e-Invoice Reference Number",
     "/inv:Invoice/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", "INV-MY1"),
    ("Original e-Invoice Reference UUID",
     "/inv:Invoice/cac:BillingReference/cac:InvoiceDocumentReference/cbc:UUID", "F9D425P6DS7D8IU"),
    ("Supplier's Name", "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
     "SnR2U Sdn Bhd"),
    ("Supplier's TIN",
     "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='TIN']",
     "C25845632020"),
    ("Supplier's Registration Number",
     "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='BRN']",
     "202001234567"),
    ("Supplier's MSIC Code", "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cbc:IndustryClassificationCode",
     "47190"),
    ("Supplier's Business Activity Description",
     "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cbc:IndustryClassificationCode/@name",
     "Other retail sale in non-specialized stores"),
    ("Supplier's Address: City", "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:CityName",
     "Kuala Lumpur"),
    ("Supplier's Address: Postal Zone",
     "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:PostalZone", "50450"),
    ("Supplier's Address: State",
     "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:CountrySubentityCode", "14"),
    ("Supplier's Address: Line",
     "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:AddressLine/cbc:Line", "Jalan Ampang 1"),
    ("Supplier's Address: Country",
     "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode", "MYS"),
    ("Supplier's Address: Country list",
     "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode/@listID",
     "ISO3166-1"),
    ("Supplier's Contact Number", "/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:Contact/cbc:Telephone",
     "+60312345678"),
    ("Buyer's Name", "/inv:Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
     "Kedai Runcit Sdn Bhd"),
    ("Buyer's TIN", "/inv:Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='TIN']",
     "C20880050010"),
    ("Buyer's Registration Number",
     "/inv:Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='BRN']",
     "201901000005"),
    ("Buyer's Address: State",
     "/inv:Invoice/cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:CountrySubentityCode", "14"),
    ("Buyer's Contact Number", "/inv:Invoice/cac:AccountingCustomerParty/cac:Party/cac:Contact/cbc:Telephone",
     "+60387654321"),
    ("Buyer's e-mail", "/inv:Invoice/cac:AccountingCustomerParty/cac:Party/cac:Contact/cbc:ElectronicMail",
     "akaun@kedai.example"),
    ("Payment Mode", "/inv:Invoice/cac:PaymentMeans/cbc:PaymentMeansCode", "01"),
    ("Total Tax Amount", "/inv:Invoice/cac:TaxTotal/cbc:TaxAmount", "0.67"),
    ("Total Taxable Amount Per Tax Type", "/inv:Invoice/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount", "6.66"),
    ("Total Tax Amount Per Tax Type", "/inv:Invoice/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", "0.67"),
    ("Tax Type", "/inv:Invoice/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID", "01"),
    ("Tax scheme", "/inv:Invoice/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cac:TaxScheme/cbc:ID", "OTH"),
    ("Tax scheme agency", "/inv:Invoice/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cac:TaxScheme/cbc:ID/@schemeID",
     "UN/ECE 5153"),
    ("Total Net Amount", "/inv:Invoice/cac:LegalMonetaryTotal/cbc:LineExtensionAmount", "6.66"),
    ("Total Excluding Tax", "/inv:Invoice/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", "6.66"),
    ("Total Including Tax", "/inv:Invoice/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "7.33"),
    ("Rounding Amount", "/inv:Invoice/cac:LegalMonetaryTotal/cbc:PayableRoundingAmount", "0.02"),
    ("Total Payable Amount", "/inv:Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount", "7.35"),
    ("Classification", "/inv:Invoice/cac:InvoiceLine/cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode",
     "022"),
    ("Classification list", "/inv:Invoice/cac:InvoiceLine/cac:Item/cac:CommodityClassification/"
                            "cbc:ItemClassificationCode/@listID", "CLASS"),
    ("Description of Product or Service", "/inv:Invoice/cac:InvoiceLine/cac:Item/cbc:Description", "Teh tarik"),
    ("Unit Price", "/inv:Invoice/cac:InvoiceLine/cac:Price/cbc:PriceAmount", "3.3300"),
    ("Quantity", "/inv:Invoice/cac:InvoiceLine/cbc:InvoicedQuantity", "2.0"),
    ("Measurement", "/inv:Invoice/cac:InvoiceLine/cbc:InvoicedQuantity/@unitCode", "C62"),
    ("Subtotal", "/inv:Invoice/cac:InvoiceLine/cac:ItemPriceExtension/cbc:Amount", "6.66"),
    ("Line Total Excluding Tax", "/inv:Invoice/cac:InvoiceLine/cbc:LineExtensionAmount", "6.66"),
    ("Line Tax Amount", "/inv:Invoice/cac:InvoiceLine/cac:TaxTotal/cbc:TaxAmount", "0.67"),
    ("Line Tax Rate", "/inv:Invoice/cac:InvoiceLine/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent",
     "10.00"),
]


def golden(malaysian_shop) -> tuple[dict, bytes]:
    s = malaysian_shop()
    api = s["api"]
    refund = sale_and_refund(api, "BIZ", payments=[{"method": "cash", "amount": "10.99"}])
    assert (refund["gross"], refund["rounding"], refund["total"]) == ("7.33", "0.02", "7.35")
    r = api.client.put("/v1/invoices/INV-MY1/myinvois-uuid", json={"myinvois_uuid": "F9D425P6DS7D8IU"},
                       headers=api.headers())
    assert r.status_code == 200 and r.json() == {"invoice": "INV-MY1", "myinvois_uuid": "F9D425P6DS7D8IU"}
    r = api.get(f"/v1/refunds/{refund['id']}/document.xml", profile="myinvois")
    assert r.status_code == 200, r.text
    return s, r.content


def test_the_refund_note_matches_the_guideline_field_by_field(malaysian_shop, artefacts):
    _, xml = golden(malaysian_shop)
    doc = etree.fromstring(xml)
    wrong = [(name, path, field(doc, path), expected) for name, path, expected in GUIDELINE_FIELDS
             if field(doc, path) != expected]
    assert not wrong, wrong
    report = artefacts.validate(xml, "myinvois")
    assert report.valid, report.errors
    if os.environ.get("SALESREFUND_WRITE_GOLDEN") == "1":
        (GOLDEN / "myinvois.xml").write_bytes(xml)
    assert xml == (GOLDEN / "myinvois.xml").read_bytes()


def test_the_elements_come_in_the_order_the_guideline_demands(malaysian_shop):
    _, xml = golden(malaysian_shop)
    top = [etree.QName(e).localname for e in etree.fromstring(xml)]
    assert top == ["ID", "IssueDate", "IssueTime", "InvoiceTypeCode", "DocumentCurrencyCode", "BillingReference",
                   "AccountingSupplierParty", "AccountingCustomerParty", "PaymentMeans", "PaymentTerms", "TaxTotal",
                   "LegalMonetaryTotal", "InvoiceLine"]
    party = etree.fromstring(xml).xpath("cac:AccountingSupplierParty/cac:Party", namespaces=NS)[0]
    assert [etree.QName(e).localname for e in party] == [
        "IndustryClassificationCode", "PartyIdentification", "PartyIdentification", "PostalAddress",
        "PartyLegalEntity", "Contact"]


def test_store_credit_is_a_credit_note_and_a_walk_in_buyer_is_the_general_public(malaysian_shop, artefacts):
    s = malaysian_shop()
    refund = sale_and_refund(s["api"], "WALKIN", refund_payments=[{"method": "store_credit", "amount": "7.33"}])
    xml = s["api"].get(f"/v1/refunds/{refund['id']}/document.xml", profile="myinvois").content
    doc = etree.fromstring(xml)
    assert field(doc, "/inv:Invoice/cbc:InvoiceTypeCode") == "02"
    assert field(doc, "/inv:Invoice/cac:LegalMonetaryTotal/cbc:PayableRoundingAmount") is None  # not cash: not rounded
    assert field(doc, "/inv:Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/"
                      "cbc:ID[@schemeID='TIN']") == myinvois.GENERAL_PUBLIC_TIN
    assert field(doc, "/inv:Invoice/cac:BillingReference/cac:InvoiceDocumentReference/cbc:UUID") == "NA"
    assert field(doc, "/inv:Invoice/cac:PaymentMeans/cbc:PaymentMeansCode") == "08"
    assert artefacts.validate(xml, "myinvois").valid


def test_a_mixed_refund_is_one_refund_note(malaysian_shop, artefacts):
    s = malaysian_shop()
    refund = sale_and_refund(s["api"], "BIZ", payments=[{"method": "card", "amount": "10.99"}],  # paid by card
                             refund_payments=[{"method": "card", "amount": "5.00"},
                                              {"method": "store_credit", "amount": "2.33"}])
    doc = etree.fromstring(s["api"].get(f"/v1/refunds/{refund['id']}/document.xml", profile="myinvois").content)
    assert field(doc, "/inv:Invoice/cbc:InvoiceTypeCode") == "04"
    assert field(doc, "/inv:Invoice/cac:PaymentMeans/cbc:PaymentMeansCode") == "04"  # the money went to the card
    assert field(doc, "/inv:Invoice/cac:PaymentTerms/cbc:Note").startswith("card 5.00; store_credit 2.33")


def test_an_altered_note_fails_the_schema_and_missing_details_are_named(malaysian_shop, artefacts, make_tenant,
                                                                        api_for):
    xml = (GOLDEN / "myinvois.xml").read_bytes()
    swapped = xml.replace(b"<cbc:IssueDate>2026-06-15</cbc:IssueDate>\n  <cbc:IssueTime>10:00:00Z</cbc:IssueTime>",
                          b"<cbc:IssueTime>10:00:00Z</cbc:IssueTime>\n  <cbc:IssueDate>2026-06-15</cbc:IssueDate>")
    assert swapped != xml
    assert [f.source for f in artefacts.validate(swapped, "myinvois").errors] == ["schema"]
    tenant = make_tenant("MYR", country="MY")
    api = api_for(tenant["token"])
    assert api.post("/v1/customers", {"code": "C", "name": "C"}).status_code == 201
    assert api.post("/v1/invoices", {"number": "I", "customer": "C", "date": "2026-06-01", "lines": [
        {"description": "x", "quantity": "1", "unit_price": "1.00", "tax_rate": "0"}]}).status_code == 201
    refund = api.post("/v1/refunds", {"invoice": "I", "lines": [{"line": 1}]}).json()
    r = api.get(f"/v1/refunds/{refund['id']}/document.xml", profile="myinvois")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]][:4] == ["/seller/vat_number", "/seller/registration_number",
                                                             "/seller/activity_code", "/seller/activity"]
