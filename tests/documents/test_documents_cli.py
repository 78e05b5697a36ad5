"""``salesrefund document`` and ``salesrefund validate`` on the session database."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from salesrefund.cli import app
from test_documents_en16931 import GOLDEN, golden_refund

runner = CliRunner()


def test_document_writes_each_profile_and_validate_passes_it(shop, database_url, artefacts, tmp_path):
    g = golden_refund(shop)
    out = tmp_path / "cn.xml"
    r = runner.invoke(app, ["document", g["refund"]["id"], "--out", str(out), "--db", database_url])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == (GOLDEN / "en16931.xml").read_bytes()
    r = runner.invoke(app, ["validate", str(out)])
    assert r.exit_code == 0, r.output
    assert "en16931: valid" in r.output
    pdf = tmp_path / "cn.pdf"
    r = runner.invoke(app, ["document", "CN-2026-000001", "--tenant", g["tenant"]["tenant"], "--profile", "pdf",
                            "--lang", "ar", "--out", str(pdf), "--db", database_url])
    assert r.exit_code == 0, r.output
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_validate_prints_the_failed_rules_and_exits_1(artefacts, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes((GOLDEN / "en16931.xml").read_bytes().replace(
        b'<cbc:PayableAmount currencyID="EUR">39.43<', b'<cbc:PayableAmount currencyID="EUR">40.00<'))
    r = runner.invoke(app, ["validate", str(bad)])
    assert r.exit_code == 1
    assert "BR-CO-16" in r.output and "1 error(s)" in r.output
    r = runner.invoke(app, ["validate", str(bad), "--json"])
    report = json.loads(r.output)
    assert report["valid"] is False and [f["rule"] for f in report["failures"]] == ["BR-CO-16"]


def test_document_errors_exit_2_and_name_the_problem(database_url):
    r = runner.invoke(app, ["document", "no-such-refund", "--db", database_url])
    assert r.exit_code == 2 and "not_found" in r.output
    r = runner.invoke(app, ["document", "x", "--profile", "docx", "--db", database_url])
    assert r.exit_code == 2


def test_tenant_keys_makes_a_self_signed_secp256k1_certificate_once(make_tenant, database_url):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    tenant = make_tenant("SAR", country="SA")
    r = runner.invoke(app, ["tenant", "keys", "--tenant", tenant["tenant"], "--json", "--db", database_url])
    assert r.exit_code == 0, r.output
    cert = x509.load_pem_x509_certificate(json.loads(r.output)["certificate"].encode())
    assert isinstance(cert.public_key().curve, ec.SECP256K1) and cert.issuer == cert.subject
    r = runner.invoke(app, ["tenant", "keys", "--tenant", tenant["tenant"], "--db", database_url])
    assert r.exit_code == 2 and "--rotate" in r.output
    r = runner.invoke(app, ["tenant", "keys", "--tenant", tenant["tenant"], "--rotate", "--db", database_url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["tenant", "keys", "--tenant", "no-such-tenant", "--db", database_url])
    assert r.exit_code == 2 and "not_found" in r.output
