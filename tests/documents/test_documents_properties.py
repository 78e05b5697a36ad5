"""Property: for generated refunds (both tax modes, several rates, discounts, cash rounding,
voids) the EN 16931 credit note is schema-valid, raises no fatal rule, and its amounts equal the
refund's. Tens of examples in CI; SALESREFUND_LONG_TESTS=1 runs a thousand."""

from __future__ import annotations

import os
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree

from salesrefund.domain import money

from test_documents_en16931 import NS, texts

LONG = os.environ.get("SALESREFUND_LONG_TESTS") == "1"
EXAMPLES = settings(max_examples=1000 if LONG else 25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
RATES = ["0", "5", "7", "15", "19", "8.25"]

line_st = st.fixed_dictionaries({
    "quantity": st.integers(1, 12),
    "cents": st.integers(1, 25_000),
    "rate": st.sampled_from(RATES),
    "discount_pct": st.sampled_from([0, 0, 5, 10, 33]),
})
refund_line_st = st.tuples(st.sampled_from(["quantity", "all", "amount"]), st.integers(1, 100))


def _money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


@EXAMPLES
@given(inclusive=st.booleans(), cash=st.booleans(), rounding=st.booleans(), void=st.booleans(),
       lines=st.lists(line_st, min_size=1, max_size=5),
       picks=st.lists(refund_line_st, min_size=1, max_size=5))
def test_en16931_document_is_valid_and_shows_the_refunds_own_figures(
        shop, artefacts, inclusive, cash, rounding, void, lines, picks):
    options = {"prices_include_tax": inclusive, "refund_to_other_methods": True}  # the sale is on account
    if rounding:
        options["cash_rounding"] = "0.05"
    s = shop(**options)
    api = s["api"]
    invoice_lines = []
    for i, line in enumerate(lines):
        gross = line["quantity"] * line["cents"]
        discount = gross * line["discount_pct"] // 100
        invoice_lines.append({"product": ["BOOK", "MUG", "TEA"][i % 3], "quantity": str(line["quantity"]),
                              "unit_price": _money(line["cents"]), "tax_rate": line["rate"],
                              "discount": _money(discount)})
    r = api.post("/v1/invoices", {"number": "INV-P", "customer": "C1", "date": "2026-06-01",
                                  "lines": invoice_lines})
    assert r.status_code == 201, r.text
    requested, seen, whole = [], set(), 0
    for kind, n in picks:
        number = 1 + n % len(lines)
        if number in seen:
            continue
        seen.add(number)
        sold = r.json()["lines"][number - 1]
        if kind == "quantity":
            quantity = 1 + n % int(Decimal(sold["quantity"]))
            whole += quantity == int(Decimal(sold["quantity"]))
            requested.append({"line": number, "quantity": str(quantity)})
        elif kind == "amount":
            gross_cents = int(Decimal(sold["gross"]) * 100)
            requested.append({"line": number, "amount": _money(max(1, gross_cents * (n % 90 + 1) // 100))})
        else:
            whole += 1
            requested.append({"line": number})
    body = {"invoice": "INV-P", "lines": requested}
    if cash:  # all cash: the tenant's cash rounding applies (R5) unless the refund closes the invoice,
        # which pays back exactly what the sale still holds (here, on account: its gross)
        gross = int(Decimal(api.post("/v1/refunds/preview", body).json()["gross"]) * 100)
        closes = whole == len(lines)
        paid = money.round_to_increment(gross, 5) if rounding and not closes else gross
        if paid > 0:  # a refund of 0.02 rounds to nothing in cash: it goes to store credit instead
            body["payments"] = [{"method": "cash", "amount": _money(paid)}]
    created = api.post("/v1/refunds", body)
    assert created.status_code == 201, created.text
    refund = created.json()
    if void:
        assert api.post(f"/v1/refunds/{refund['id']}/void").status_code == 200
    event(f"cash rounding {'applied' if refund['rounding'] != '0.00' else 'none'}")
    event(f"{len(refund['taxes'])} rate(s)")
    xml = api.get(f"/v1/refunds/{refund['id']}/document.xml").content
    report = artefacts.validate(xml, "en16931")
    assert report.valid, (report.errors, xml.decode())
    doc = etree.fromstring(xml)
    assert texts(doc, "//cac:CreditNoteLine/cbc:LineExtensionAmount") == [x["net"] for x in refund["lines"]]
    assert texts(doc, "/*/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount") == [x["net"] for x in refund["taxes"]]
    assert texts(doc, "/*/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount") == [x["tax"] for x in refund["taxes"]]
    assert texts(doc, "/*/cac:TaxTotal/cbc:TaxAmount") == [refund["tax"]]
    assert texts(doc, "/*/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount") == [refund["net"]]
    assert texts(doc, "/*/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount") == [refund["gross"]]
    assert texts(doc, "/*/cac:LegalMonetaryTotal/cbc:PayableRoundingAmount") == (
        [refund["rounding"]] if refund["rounding"] != "0.00" else [])
    assert texts(doc, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount") == [refund["total"]]
    assert any(n.startswith("VOIDED") for n in texts(doc, "/*/cbc:Note")) == void


ZATCA_EXAMPLES = settings(max_examples=100 if LONG else 6, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@ZATCA_EXAMPLES
@given(buyer=st.sampled_from(["B2B", "WALKIN"]), lines=st.lists(st.tuples(st.integers(1, 9), st.integers(1, 50_000),
                                                                         st.sampled_from(["15", "5", "0"])),
                                                               min_size=1, max_size=4),
       share=st.integers(1, 100), void=st.booleans(),
       exemption=st.sampled_from(["VATEX-SA-35", "VATEX-SA-29", "VATEX-SA-32"]))
def test_a_sample_as_zatca_documents_is_valid_and_chained(saudi_shop, artefacts, buyer, lines, share, void,
                                                          exemption):
    from salesrefund.documents import zatca
    s = saudi_shop()
    api = s["api"]
    r = api.client.put("/v1/seller", json={"zatca_exemption_code": exemption}, headers=api.headers())
    assert r.status_code == 200, r.text  # the reason of 0 % lines (ZATCA)
    r = api.post("/v1/invoices", {"number": "INV-Z", "customer": buyer, "date": "2026-06-01", "lines": [
        {"product": "PEN", "quantity": str(q), "unit_price": _money(c), "tax_rate": rate} for q, c, rate in lines]})
    assert r.status_code == 201, r.text
    requested = [{"line": i + 1, "quantity": str(max(1, q * share // 100))} for i, (q, _, _) in enumerate(lines)]
    refund = api.post("/v1/refunds", {"invoice": "INV-Z", "reason": "Return", "lines": requested}).json()
    if void:
        assert api.post(f"/v1/refunds/{refund['id']}/void").status_code == 200
    xml = api.get(f"/v1/refunds/{refund['id']}/document.xml", profile="zatca").content
    report = artefacts.validate(xml, "zatca")
    assert report.valid, (report.errors, xml.decode())
    doc = etree.fromstring(xml)
    assert texts(doc, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount") == [refund["total"]]
    assert texts(doc, "/*/cac:InvoiceLine/cbc:LineExtensionAmount") == [x["net"] for x in refund["lines"]]
    assert zatca.parse(xml).icv == 1 and not zatca.verify(xml, _certificate(xml))
    zero = [e.text for e in doc.xpath("/*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory[cbc:Percent='0.00']/"
                                      "cbc:TaxExemptionReasonCode", namespaces=NS)]
    assert zero == ([exemption] if any(rate == "0" for _, _, rate in lines) else [])


def _certificate(xml: bytes) -> str:
    from salesrefund.documents import zatca
    from salesrefund.service.zatca_chain import _pem
    return _pem(zatca.parse(xml).certificate_b64)


@ZATCA_EXAMPLES
@given(lines=st.lists(st.tuples(st.integers(1, 9), st.integers(1, 50_000), st.sampled_from(["0", "6", "10"])),
                      min_size=1, max_size=4),
       share=st.integers(1, 100), tender=st.sampled_from(["cash", "card", "store_credit"]), void=st.booleans())
def test_a_sample_as_myinvois_notes_is_valid_and_shows_the_refunds_figures(malaysian_shop, artefacts, lines, share,
                                                                         tender, void):
    s = malaysian_shop(refund_to_other_methods=True)  # the sale is on account, the refund by any tender
    api = s["api"]
    r = api.post("/v1/invoices", {"number": "INV-M", "customer": "BIZ", "date": "2026-06-01", "lines": [
        {"product": "TEA", "quantity": str(q), "unit_price": _money(c), "tax_rate": rate} for q, c, rate in lines]})
    assert r.status_code == 201, r.text
    body = {"invoice": "INV-M", "reason": "Return",
            "lines": [{"line": i + 1, "quantity": str(max(1, q * share // 100))} for i, (q, _, _) in enumerate(lines)]}
    gross = int(Decimal(api.post("/v1/refunds/preview", body).json()["gross"]) * 100)
    paid = money.round_to_increment(gross, 5) if tender == "cash" else gross
    if paid > 0:
        body["payments"] = [{"method": tender, "amount": _money(paid)}]
    refund = api.post("/v1/refunds", body).json()
    if void:
        assert api.post(f"/v1/refunds/{refund['id']}/void").status_code == 200
    xml = api.get(f"/v1/refunds/{refund['id']}/document.xml", profile="myinvois").content
    report = artefacts.validate(xml, "myinvois")
    assert report.valid, (report.errors, xml.decode())
    doc = etree.fromstring(xml)
    ns = {"cbc": NS["cbc"], "cac": NS["cac"]}
    assert doc.xpath("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=ns)[0].text == refund["total"]
    assert [e.text for e in doc.xpath("cac:InvoiceLine/cbc:LineExtensionAmount", namespaces=ns)] == [
        x["net"] for x in refund["lines"]]
    money_back = any(p["method"] in ("cash", "card") for p in refund["payments"])
    assert doc.xpath("cbc:InvoiceTypeCode", namespaces=ns)[0].text == ("04" if money_back else "02")
