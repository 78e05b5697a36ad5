"""The ZATCA credit note: valid by the UBL Invoice schema, ZATCA's own rules and the EN 16931
rules as ZATCA runs them; the hash chain (ICV, PIH), the QR, the signature; a golden document
worked by hand; altered documents fail the schema, the rules and the chain."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from lxml import etree
from sqlalchemy import update

from salesrefund.documents import zatca
from salesrefund.service.check import run_checks
from salesrefund.store import tables as t

GOLDEN = Path(__file__).parent / "golden"
SAMPLES = "zatca/samples"
NS = zatca.NS


def sale(api, number: str, customer: str) -> None:
    """3 pens at 11.50 SAR including 15 % VAT: gross 34.50, tax round(34.50 x 15/115) = 4.50, net 30.00."""
    r = api.post("/v1/invoices", {"number": number, "customer": customer, "date": "2026-06-01",
                                  "lines": [{"product": "PEN", "quantity": "3", "unit_price": "11.50",
                                             "tax_rate": "15"}],
                                  "payments": [{"method": "cash", "amount": "34.50"}]})
    assert r.status_code == 201, r.text
    assert (r.json()["net"], r.json()["tax"], r.json()["total"]) == ("30.00", "4.50", "34.50")


def refund_two(api, number: str) -> dict:
    """2 of the 3 pens: base (gross) 34.50 x 2/3 = 23.00, tax 23.00 x 15/115 = 3.00, net 20.00."""
    r = api.post("/v1/refunds", {"invoice": number, "reason": "Damaged", "lines": [{"line": 1, "quantity": "2"}]})
    assert r.status_code == 201, r.text
    assert (r.json()["net"], r.json()["tax"], r.json()["total"]) == ("20.00", "3.00", "23.00")
    return r.json()


def one(doc, path: str) -> str:
    return doc.xpath(path, namespaces=NS)[0].text


def masked(xml: bytes) -> bytes:
    """The document without what changes on every issue (signature, QR, UUID): the golden form."""
    doc = etree.fromstring(xml)
    for path in ("ext:UBLExtensions", "cac:AdditionalDocumentReference[cbc:ID='QR']"):
        for node in doc.xpath(path, namespaces=NS):
            zatca._remove_keeping_text(node)
    doc.xpath("cbc:UUID", namespaces=NS)[0].text = "UUID"
    return etree.tostring(doc, encoding="UTF-8")


def test_the_invoice_hash_is_zatca_s_own(artefacts):
    """Our hash of ZATCA's standard credit-note sample is the digest ZATCA's SDK put in it."""
    xml = (artefacts.rules_dir() / SAMPLES / "Standard_Credit_Note.xml").read_bytes()
    assert zatca.invoice_hash(xml) == "82YsA1b2AhT8UT/lanYish5J8cy/794+yxROkE7kDmk="
    assert zatca.parse(xml).pih == (artefacts.rules_dir() / "zatca" / "pih.txt").read_text().strip() == zatca.FIRST_PIH


def test_zatca_s_samples_pass_and_its_error_samples_only_warn(artefacts):
    for name, warned in (("Standard_Credit_Note", set()), ("Simplified_Credit_Note", set()),
                         ("Standard_Credit_Note_Error", {"BR-KSA-81"}),
                         ("Simplified_Credit_Note_Error", {"BR-KSA-66", "BR-KSA-F-06-C4"})):
        report = artefacts.validate((artefacts.rules_dir() / SAMPLES / f"{name}.xml").read_bytes(), "zatca")
        assert report.valid, (name, report.errors)
        assert {f.rule for f in report.warnings} == warned, name


def test_standard_and_simplified_documents_are_valid_and_chained(saudi_shop, artefacts, engine):
    s = saudi_shop()
    api = s["api"]
    sale(api, "INV-1", "B2B")
    sale(api, "INV-2", "WALKIN")
    standard, simplified = refund_two(api, "INV-1"), refund_two(api, "INV-2")
    docs = []
    for refund, name, status in ((standard, "0100000", "pending_clearance"),
                                 (simplified, "0200000", "pending_reporting")):
        r = api.get(f"/v1/refunds/{refund['id']}/document.xml", profile="zatca")
        assert r.status_code == 200, r.text
        xml = r.content
        report = artefacts.validate(xml, "zatca")
        assert report.valid and not report.warnings, report.failures
        doc = etree.fromstring(xml)
        assert etree.QName(doc).localname == "Invoice"
        assert doc.xpath("cbc:InvoiceTypeCode", namespaces=NS)[0].get("name") == name
        assert one(doc, "cbc:InvoiceTypeCode") == "381"
        assert one(doc, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == refund["invoice"]
        assert one(doc, "cac:PaymentMeans/cbc:InstructionNote") == "Damaged"
        assert one(doc, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "23.00"
        assert [e.text for e in doc.xpath("cac:TaxTotal/cbc:TaxAmount", namespaces=NS)] == ["3.00", "3.00"]
        docs.append(xml)
        assert api.get(f"/v1/refunds/{refund['id']}/document.xml", profile="zatca").content == xml  # kept
        with engine.connect() as conn:
            row = conn.execute(t.zatca_documents.select().where(
                t.zatca_documents.c.tenant_id == s["tenant"]["id"], t.zatca_documents.c.icv == len(docs))).mappings().one()
        assert row["status"] == status
    first, second = (zatca.parse(x) for x in docs)
    assert (first.icv, second.icv) == (1, 2)
    assert first.pih == zatca.FIRST_PIH and second.pih == zatca.invoice_hash(docs[0])
    for xml, parsed in zip(docs, (first, second)):
        assert not zatca.verify(xml, _pem(parsed.certificate_b64))
    standard_qr, simplified_qr = zatca.read_tlv(first.qr), zatca.read_tlv(second.qr)
    assert sorted(standard_qr) == [1, 2, 3, 4, 5] and sorted(simplified_qr) == list(range(1, 10))
    assert standard_qr[1].decode() == "شركة أكمي للتجارة" and standard_qr[2] == b"310122393500003"
    assert (standard_qr[4], standard_qr[5]) == (b"23.00", b"3.00")
    assert simplified_qr[6].decode() == zatca.invoice_hash(docs[1])
    assert not [f for f in run_checks(engine)["zatca_chain"] if f.tenant_id == s["tenant"]["id"]]


def test_golden_document_worked_by_hand(saudi_shop, artefacts):
    s = saudi_shop()
    sale(s["api"], "INV-1", "B2B")
    refund = refund_two(s["api"], "INV-1")
    xml = s["api"].get(f"/v1/refunds/{refund['id']}/document.xml", profile="zatca").content
    doc = etree.fromstring(xml)
    # the line: 2 pens, net 20.00 (price 10.00 = 20.00 / 2), VAT 3.00, with VAT 23.00
    assert one(doc, "cac:InvoiceLine/cbc:InvoicedQuantity") == "2.0"
    assert one(doc, "cac:InvoiceLine/cbc:LineExtensionAmount") == "20.00"
    assert one(doc, "cac:InvoiceLine/cac:TaxTotal/cbc:TaxAmount") == "3.00"
    assert one(doc, "cac:InvoiceLine/cac:TaxTotal/cbc:RoundingAmount") == "23.00"
    assert one(doc, "cac:InvoiceLine/cac:Price/cbc:PriceAmount") == "10.0000"
    assert one(doc, "cbc:IssueTime") == "13:00:00"  # posted 10:00 UTC = 13:00 in Riyadh
    if os.environ.get("SALESREFUND_WRITE_GOLDEN") == "1":
        (GOLDEN / "zatca-standard.xml").write_bytes(masked(xml))
    assert masked(xml) == (GOLDEN / "zatca-standard.xml").read_bytes()


def test_altered_documents_fail_the_schema_the_rules_and_the_chain(saudi_shop, artefacts, engine):
    s = saudi_shop()
    sale(s["api"], "INV-1", "B2B")
    refunds = [refund_two(s["api"], "INV-1")]
    sale(s["api"], "INV-3", "B2B")
    refunds.append(refund_two(s["api"], "INV-3"))
    xmls = [s["api"].get(f"/v1/refunds/{r['id']}/document.xml", profile="zatca").content for r in refunds]
    xml = xmls[0]
    no_reason = xml.replace(b"<cbc:InstructionNote>Damaged</cbc:InstructionNote>", b"")
    assert no_reason != xml
    assert "BR-KSA-17" in {f.rule for f in artefacts.validate(no_reason, "zatca").errors}
    no_reference = xml.replace(b"<cbc:ID>INV-1</cbc:ID>", b"<cbc:ID></cbc:ID>")
    assert no_reference != xml and not artefacts.validate(no_reference, "zatca").valid
    unknown = xml.replace(b"<cbc:ProfileID>", b"<cbc:Colour>red</cbc:Colour><cbc:ProfileID>")
    assert [f.source for f in artefacts.validate(unknown, "zatca").errors][:1] == ["schema"]
    # the chain: a stored document changed after issue is found by `salesrefund check`
    changed = xml.replace(b"<cbc:PayableAmount currencyID=\"SAR\">23.00<", b"<cbc:PayableAmount currencyID=\"SAR\">2.00<")
    assert changed != xml
    assert zatca.verify(changed, _pem(zatca.parse(xml).certificate_b64))
    with engine.begin() as conn:
        conn.execute(update(t.zatca_documents).where(t.zatca_documents.c.tenant_id == s["tenant"]["id"],
                                                    t.zatca_documents.c.icv == 1).values(xml=changed.decode()))
    found = [f.detail for f in run_checks(engine)["zatca_chain"] if f.tenant_id == s["tenant"]["id"]]
    assert any("was changed" in d for d in found) and any("signature does not verify" in d for d in found), found
    with engine.begin() as conn:  # the stored hash rewritten to match: the next document's PIH breaks
        conn.execute(update(t.zatca_documents).where(t.zatca_documents.c.tenant_id == s["tenant"]["id"],
                                                    t.zatca_documents.c.icv == 1)
                     .values(invoice_hash=zatca.invoice_hash(changed)))
    found = [f.detail for f in run_checks(engine)["zatca_chain"] if f.tenant_id == s["tenant"]["id"]]
    assert any("ICV 2" in d and "PIH is not the previous" in d for d in found), found


def test_without_keys_or_details_the_document_says_what_is_missing(saudi_shop, make_tenant, api_for):
    s = saudi_shop(keys=False)
    sale(s["api"], "INV-1", "B2B")
    refund = refund_two(s["api"], "INV-1")
    r = s["api"].get(f"/v1/refunds/{refund['id']}/document.xml", profile="zatca")
    assert (r.status_code, r.json()["code"]) == (422, "document_incomplete")
    assert r.json()["errors"][0]["field"].startswith("/signing_key")
    # the PDF of a tenant not ready for ZATCA still prints, without the QR
    assert s["api"].get(f"/v1/refunds/{refund['id']}/document.pdf").status_code == 200


def test_a_saudi_pdf_carries_the_qr(saudi_shop, engine, clock):
    import segno
    from io import BytesIO

    from salesrefund.documents import pdf as pdf_module
    from salesrefund.service.documents import Documents
    from test_documents_pdf import text_of
    s = saudi_shop()
    sale(s["api"], "INV-1", "WALKIN")
    refund = refund_two(s["api"], "INV-1")
    pdf = s["api"].get(f"/v1/refunds/{refund['id']}/document.pdf").content
    text = text_of(pdf)
    assert "إشعار دائن" in text and "امسح للتحقق" in text  # the tenant's language, Arabic, and the QR's caption
    # the QR drawn is the one of the ZATCA document the PDF issued (ICV 1)
    qr = zatca.parse(s["api"].get(f"/v1/refunds/{refund['id']}/document.xml", profile="zatca").content).qr
    svg = BytesIO()
    segno.make(qr, error="m").save(svg, kind="svg", scale=4, border=2)
    service = Documents(engine, clock)
    record = service.record(s["tenant"]["id"], refund["id"])
    page = pdf_module.html_of(record, "ar", service.zatca_qr_svg(s["tenant"]["id"], record))
    assert base64.b64encode(svg.getvalue()).decode() in page


def _pem(certificate_b64: str) -> str:
    from salesrefund.service.zatca_chain import _pem as pem
    return pem(certificate_b64)


def test_concurrent_requests_issue_each_document_once_in_one_unbroken_chain(saudi_shop, engine, clock):
    import random
    import threading

    from salesrefund.service.documents import Documents
    s = saudi_shop()
    ids = []
    for n in range(6):
        sale(s["api"], f"INV-C{n}", "WALKIN")
        ids.append(refund_two(s["api"], f"INV-C{n}")["id"])
    service = Documents(engine, clock)
    seen: dict[str, set[bytes]] = {refund_id: set() for refund_id in ids}
    failures = []

    def worker(seed: int) -> None:
        order = ids[:]
        random.Random(seed).shuffle(order)
        try:
            for refund_id in order:
                seen[refund_id].add(service.xml(s["tenant"]["id"], refund_id, "zatca")[0])
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert all(len(documents) == 1 for documents in seen.values())  # one document per refund, served alike
    assert sorted(zatca.parse(next(iter(d))).icv for d in seen.values()) == [1, 2, 3, 4, 5, 6]
    assert not [f for f in run_checks(engine)["zatca_chain"] if f.tenant_id == s["tenant"]["id"]]
