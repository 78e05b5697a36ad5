"""Fixtures of the document tests: the validation artefacts (required in CI, skipped elsewhere
when absent), and a tenant with a seller profile ready for e-invoices."""

from __future__ import annotations

import os

import pytest

from salesrefund.documents import validate


def _artefacts_present() -> str | None:
    for path in (validate.schemas_dir() / "maindoc" / "UBL-CreditNote-2.1.xsd",
                 validate.rules_dir() / "en16931" / "EN16931-UBL-validation.xslt"):
        if not path.exists():
            return str(path)
    return None


@pytest.fixture(scope="session")
def artefacts():
    """The UBL schemas and the official rules; in CI (``CI`` set) their absence fails the test."""
    missing = _artefacts_present()
    if missing:
        message = (f"validation artefact missing: {missing} (set {validate.SCHEMAS_ENV} / "
                   f"{validate.RULES_ENV})")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return validate


SELLER = {"legal_name": "Acme Trading GmbH", "vat_number": "DE123456789", "street": "Hauptstrasse 1",
          "city": "Berlin", "postal_code": "10115", "country": "DE", "email": "billing@acme.example"}


@pytest.fixture
def shop(make_tenant, api_for):
    """A tenant (EUR, DE) with its seller details, customer C1 (with an address), and products."""

    def make(currency: str = "EUR", seller: dict | None = None, **options) -> dict:
        options.setdefault("country", "DE")
        tenant = make_tenant(currency, **options)
        api = api_for(tenant["token"])
        r = api.client.put("/v1/seller", json=seller or SELLER, headers=api.headers())
        assert r.status_code == 200, r.text
        assert api.post("/v1/customers", {"code": "C1", "name": "Customer One",
                                          "tax_number": "DE987654321"}).status_code == 201
        r = api.client.put("/v1/customers/C1/address", headers=api.headers(), json={
            "street": "Marktplatz 5", "city": "Hamburg", "postal_code": "20095", "country": "DE"})
        assert r.status_code == 200, r.text
        for code, unit in (("BOOK", "pcs"), ("MUG", "unit"), ("TEA", "kg")):
            assert api.post("/v1/products", {"code": code, "name": code.title(), "unit": unit}).status_code == 201
        return {"tenant": tenant, "api": api}

    return make
