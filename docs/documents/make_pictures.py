"""Makes the pictures of page 1 of the example credit note in each language (docs/documents/*.png).

    uv run python docs/documents/make_pictures.py      # needs pdftoppm (Debian: poppler-utils)

A throwaway SQLite database, the golden example of the tests (INV-100, a refund of 39.43), and
``pdftoppm`` at 60 dpi. Nothing leaves the machine."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from salesrefund.app import create_app
from salesrefund.service.tenants import create_tenant
from salesrefund.store.engine import make_engine
from salesrefund.store.migrate import migrate

HERE = Path(__file__).parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/pictures.db")
        migrate(engine)
        tenant = create_tenant(engine, "pictures", currency="EUR", country="DE")
        client = TestClient(create_app(engine))
        h = {"Authorization": f"Bearer {tenant['token']}"}

        def send(method, path, body):
            r = client.request(method, path, json=body, headers=h)
            assert r.status_code < 300, r.text
            return r.json()

        send("PUT", "/v1/seller", {"legal_name": "Acme Trading GmbH", "vat_number": "DE123456789",
                                   "street": "Hauptstrasse 1", "city": "Berlin", "postal_code": "10115"})
        send("POST", "/v1/customers", {"code": "C1", "name": "Customer One", "tax_number": "DE987654321"})
        send("PUT", "/v1/customers/C1/address", {"street": "Marktplatz 5", "city": "Hamburg",
                                                 "postal_code": "20095", "country": "DE"})
        for code in ("BOOK", "MUG", "TEA"):
            send("POST", "/v1/products", {"code": code, "name": code.title()})
        send("POST", "/v1/invoices", {
            "number": "INV-100", "customer": "C1", "date": "2026-06-01",
            "lines": [{"product": "BOOK", "quantity": "4", "unit_price": "12.50", "discount": "5.00", "tax_rate": "7"},
                      {"product": "MUG", "quantity": "2", "unit_price": "8.40", "tax_rate": "19"},
                      {"product": "TEA", "quantity": "1.5", "unit_price": "20.00", "tax_rate": "7"}],
            "payments": [{"method": "card", "amount": "100.24"}]})
        refund = send("POST", "/v1/refunds", {"invoice": "INV-100", "reason": "Damaged in transit", "lines": [
            {"line": 1, "quantity": "2"}, {"line": 2, "quantity": "1"}, {"line": 3, "amount": "5.35"}]})
        for lang in ("en", "ar", "mn", "ms"):
            pdf = Path(tmp) / f"{lang}.pdf"
            pdf.write_bytes(client.get(f"/v1/refunds/{refund['id']}/document.pdf", params={"lang": lang},
                                       headers=h).content)
            subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                            str(HERE / f"credit-note-{lang}")], check=True)
            print(HERE / f"credit-note-{lang}.png")


if __name__ == "__main__":
    main()
