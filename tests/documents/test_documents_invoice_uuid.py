"""The invoice's MyInvois UUID through the native API: optional on `POST /v1/invoices`, answered
by `GET /v1/invoices/{number}` (and the list), changed by `PUT …/myinvois-uuid`, and what the
MyInvois note refers to."""

from __future__ import annotations

from lxml import etree

from salesrefund.http import responses as R

NS = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
UUID = "F9D425P6DS7D8IU1NQ8E"


def invoice(number: str, **extra) -> dict:
    return {"number": number, "customer": "BIZ", "date": "2026-06-01",
            "lines": [{"product": "TEA", "quantity": "3", "unit_price": "3.33", "tax_rate": "10"}],
            "payments": [{"method": "cash", "amount": "10.99"}], **extra}


def test_the_uuid_given_with_the_invoice_is_kept_answered_and_referred_to(malaysian_shop, artefacts):
    api = malaysian_shop()["api"]
    r = api.post("/v1/invoices", invoice("INV-U1", myinvois_uuid=UUID))
    assert r.status_code == 201, r.text
    assert r.json()["myinvois_uuid"] == UUID
    R.InvoiceOut.model_validate(r.json())  # the documented response model, extra fields forbidden
    got = api.get("/v1/invoices/INV-U1")
    assert got.status_code == 200 and got.json() == r.json()
    listed = api.get("/v1/invoices", number="INV-U1").json()["items"]
    assert [i["myinvois_uuid"] for i in listed] == [UUID]
    refund = api.post("/v1/refunds", {"invoice": "INV-U1", "reason": "Expired stock",
                                      "lines": [{"line": 1, "quantity": "2"}]})
    assert refund.status_code == 201, refund.text
    xml = api.get(f"/v1/refunds/{refund.json()['id']}/document.xml", profile="myinvois").content
    assert artefacts.validate(xml, "myinvois").valid
    doc = etree.fromstring(xml)
    ref = doc.xpath("cac:BillingReference/cac:InvoiceDocumentReference", namespaces=NS)[0]
    assert (ref.findtext(f"{{{NS['cbc']}}}ID"), ref.findtext(f"{{{NS['cbc']}}}UUID")) == ("INV-U1", UUID)


def test_without_a_uuid_it_is_null_and_the_put_sets_and_clears_it(malaysian_shop):
    api = malaysian_shop()["api"]
    r = api.post("/v1/invoices", invoice("INV-U2"))
    assert r.status_code == 201, r.text
    assert r.json()["myinvois_uuid"] is None
    R.InvoiceOut.model_validate(r.json())
    put = api.client.put("/v1/invoices/INV-U2/myinvois-uuid", json={"myinvois_uuid": UUID}, headers=api.headers())
    assert put.status_code == 200, put.text
    assert api.get("/v1/invoices/INV-U2").json()["myinvois_uuid"] == UUID
    put = api.client.put("/v1/invoices/INV-U2/myinvois-uuid", json={"myinvois_uuid": None}, headers=api.headers())
    assert put.status_code == 200, put.text
    assert api.get("/v1/invoices/INV-U2").json()["myinvois_uuid"] is None


def test_an_invalid_uuid_is_refused_and_records_nothing(malaysian_shop):
    api = malaysian_shop()["api"]
    for bad in ("", "has space", "é" * 3, "A" * 65, 12345):
        r = api.post("/v1/invoices", invoice("INV-U3", myinvois_uuid=bad))
        assert r.status_code == 422, (bad, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["/myinvois_uuid"], bad
        assert api.get("/v1/invoices/INV-U3").status_code == 404
    assert api.post("/v1/invoices", invoice("INV-U3", myinvois_uuid="A" * 64)).status_code == 201


def test_the_openapi_document_describes_the_field(malaysian_shop):
    api = malaysian_shop()["api"]
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "myinvois_uuid" in schemas["InvoiceIn"]["properties"]
    assert "myinvois_uuid" not in schemas["InvoiceIn"].get("required", [])
    assert "myinvois_uuid" in schemas["InvoiceOut"]["properties"]


def test_import_takes_the_uuid_as_a_column(make_tenant, api_for, database_url, tmp_path):
    """`salesrefund import invoices` reads the same body as `POST /v1/invoices`: a `myinvois_uuid`
    column (an empty cell: none)."""

    from typer.testing import CliRunner

    from salesrefund.cli import app as cli_app
    tenant = make_tenant()
    api = api_for(tenant["token"])
    assert api.post("/v1/customers", {"code": "C1", "name": "One"}).status_code == 201
    path = tmp_path / "invoices.csv"
    path.write_text("number,customer,date,myinvois_uuid,description,quantity,unit_price,tax_rate\n"
                    f"INV-1,C1,2026-06-01,{UUID},Tea,1,3.00,10\n"
                    "INV-2,C1,2026-06-01,,Tea,1,3.00,10\n")
    result = CliRunner().invoke(cli_app, ["import", "invoices", str(path), "--tenant", tenant["tenant"], "--json",
                                          "--db", database_url])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert api.get("/v1/invoices/INV-1").json()["myinvois_uuid"] == UUID
    assert api.get("/v1/invoices/INV-2").json()["myinvois_uuid"] is None
