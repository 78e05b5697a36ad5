"""EN 16931 and currencies with 3 decimals (KWD, BHD): the official rules allow at most 2 decimals
for every document amount (BR-DEC-*, fatal), so such a refund's EN 16931 document is refused with
`document_incomplete` naming the currency, and the printable credit note still works."""

from __future__ import annotations

from test_documents_en16931 import golden_refund


def test_a_kwd_refund_has_no_en16931_document_but_prints(shop):
    s = shop("KWD", country="KW")
    api = s["api"]
    r = api.post("/v1/invoices", {"number": "INV-K", "customer": "C1", "date": "2026-06-01",
                                  "lines": [{"product": "BOOK", "quantity": "3", "unit_price": "1.255",
                                             "tax_rate": "0"}],
                                  "payments": [{"method": "card", "amount": "3.765"}]})
    assert r.status_code == 201, r.text
    refund = api.post("/v1/refunds", {"invoice": "INV-K", "lines": [{"line": 1, "quantity": "1"}]})
    assert refund.status_code == 201, refund.text
    assert refund.json()["total"] == "1.255"
    r = api.get(f"/v1/refunds/{refund.json()['id']}/document.xml")
    assert (r.status_code, r.json()["code"]) == (422, "document_incomplete")
    assert [e["field"] for e in r.json()["errors"]] == ["/currency (amounts have at most 2 decimals in EN 16931)"]
    pdf = api.get(f"/v1/refunds/{refund.json()['id']}/document.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_rules_refuse_a_third_decimal_even_when_it_is_zero(shop, artefacts):
    """Why the refusal stands: the same value written with 3 decimals fails BR-DEC-09 and UBL-DT-01
    (amounts have at most two fraction digits), both fatal, so
    no KWD/BHD amount, not even a whole number of 10 fils, can be written the currency's way."""
    s = golden_refund(shop)
    xml = s["api"].get(f"/v1/refunds/{s['refund']['id']}/document.xml").content
    assert artefacts.validate(xml, "en16931").valid
    net = s["refund"]["net"]
    altered = xml.replace(f'<cbc:LineExtensionAmount currencyID="EUR">{net}</cbc:LineExtensionAmount>\n'
                          f'    <cbc:TaxExclusiveAmount'.encode(),
                          f'<cbc:LineExtensionAmount currencyID="EUR">{net}0</cbc:LineExtensionAmount>\n'
                          f'    <cbc:TaxExclusiveAmount'.encode())
    assert altered != xml
    fatal = {f.rule for f in artefacts.validate(altered, "en16931").errors}
    assert fatal == {"BR-DEC-09", "UBL-DT-01"}, fatal
