"""Fixtures of the document tests: the validation artefacts (required in CI, skipped elsewhere
when absent), and a tenant with a seller profile ready for e-invoices."""

from __future__ import annotations

import os

import pytest

from salesrefund.documents import validate
from sellers import MALAYSIAN_SELLER, SAUDI_SELLER, SELLER


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




@pytest.fixture
def saudi_shop(make_tenant, api_for, engine, clock):
    """A SAR tenant in Riyadh with its seller details and ZATCA key; a VAT-registered customer B2B
    (standard documents) and a walk-in customer (simplified); product PEN."""
    from salesrefund.service.zatca_chain import create_keys

    def make(keys: bool = True) -> dict:
        tenant = make_tenant("SAR", country="SA", timezone="Asia/Riyadh", prices_include_tax=True)
        api = api_for(tenant["token"])
        assert api.client.put("/v1/seller", json=SAUDI_SELLER, headers=api.headers()).status_code == 200
        if keys:
            create_keys(engine, clock, tenant["id"])
        assert api.post("/v1/customers", {"code": "B2B", "name": "Buyer Co",
                                          "tax_number": "300075588700003"}).status_code == 201
        r = api.client.put("/v1/customers/B2B/address", headers=api.headers(), json={
            "street": "King Fahd Rd", "building_number": "1234", "district": "Al Malaz", "city": "Riyadh",
            "postal_code": "12345", "country": "SA"})
        assert r.status_code == 200, r.text
        assert api.post("/v1/customers", {"code": "WALKIN", "name": "Walk-in customer"}).status_code == 201
        assert api.post("/v1/products", {"code": "PEN", "name": "قلم", "unit": "pcs"}).status_code == 201
        return {"tenant": tenant, "api": api}

    return make




@pytest.fixture
def malaysian_shop(make_tenant, api_for):
    """A MYR tenant in Kuala Lumpur (cash rounded to 0.05) with its MyInvois details; a registered
    business customer BIZ (TIN, BRN, address) and a walk-in customer; product TEA."""

    def make(**options) -> dict:
        tenant = make_tenant("MYR", country="MY", timezone="Asia/Kuala_Lumpur", cash_rounding="0.05", **options)
        api = api_for(tenant["token"])
        assert api.client.put("/v1/seller", json=MALAYSIAN_SELLER, headers=api.headers()).status_code == 200
        assert api.post("/v1/customers", {"code": "BIZ", "name": "Kedai Runcit Sdn Bhd",
                                          "tax_number": "C20880050010"}).status_code == 201
        r = api.client.put("/v1/customers/BIZ/address", headers=api.headers(), json={
            "street": "Jalan Tun Razak 8", "city": "Kuala Lumpur", "postal_code": "50400", "region": "14",
            "country": "MY", "phone": "+60387654321", "registration_scheme": "BRN",
            "registration_number": "201901000005", "email": "akaun@kedai.example"})
        assert r.status_code == 200, r.text
        assert api.post("/v1/customers", {"code": "WALKIN", "name": "Pelanggan tunai"}).status_code == 201
        assert api.post("/v1/products", {"code": "TEA", "name": "Teh tarik", "unit": "unit"}).status_code == 201
        return {"tenant": tenant, "api": api}

    return make
