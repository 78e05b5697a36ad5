"""Helpers shared by the native API tests (plain functions, no fixtures).

``seed_books`` builds in any tenant what the ``books`` fixture builds (customer C1, products BOOK,
MUG and WRAP, invoice INV-1 of 47.98 paid by card), so tenancy tests can have two such tenants.
"""

from __future__ import annotations

from decimal import Decimal

PROBLEM = "application/problem+json"

INV1_LINES = [{"product": "BOOK", "quantity": "3", "unit_price": "10.00", "tax_rate": "15"},
              {"product": "MUG", "quantity": "2", "unit_price": "4.99", "tax_rate": "15"},
              {"product": "WRAP", "quantity": "1", "unit_price": "2.00", "tax_rate": "0"}]


def seed_books(api, *, customer: str = "C1", invoice: str = "INV-1", products=("BOOK", "MUG", "WRAP")) -> dict:
    """Customer, products and one invoice like the ``books`` fixture; returns the invoice view."""
    ok(api.post("/v1/customers", {"code": customer, "name": f"Customer {customer}"}), 201)
    costs = {"BOOK": (True, "6.00"), "MUG": (True, "2.00"), "WRAP": (False, "0")}
    for code in products:
        tracked, cost = costs.get(code, (True, "1.00"))
        ok(api.post("/v1/products", {"code": code, "name": code.title(), "stock_tracked": tracked, "cost": cost}), 201)
    lines = [dict(line, product=code) for line, code in zip(INV1_LINES, products)]
    return ok(api.post("/v1/invoices", {"number": invoice, "customer": customer, "date": "2026-06-01",
                                        "lines": lines, "payments": [{"method": "card", "amount": "47.98"}]}), 201)


def ok(response, status: int = 200) -> dict:
    """Assert a success status and JSON content type; return the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.json()


def problem(response, status: int, code: str, field: str | None = None) -> dict:
    """Assert an RFC 9457 problem with our extensions; the first error is ``code`` at ``field``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list) and body["errors"], body
    for error in body["errors"]:
        assert set(error) >= {"field", "code", "message"}, error
        assert error["field"].startswith("/"), error
    assert body["errors"][0]["code"] == code
    if field is not None:
        assert body["errors"][0]["field"] == field, body["errors"]
    return body


def refund(api, lines: list[dict], invoice: str | None = "INV-1", *, key: str | None = None, **fields) -> dict:
    """POST /v1/refunds and assert 201."""
    body = {"lines": lines, **fields}
    if invoice is not None:
        body["invoice"] = invoice
    return ok(api.post("/v1/refunds", body, key=key), 201)


def state(api, invoice: str | None = "INV-1") -> dict:
    """What a refund can change: the invoice's refunded figures, the trial balance (every journal
    entry moves its totals), stock on hand, the refund list and the customer's store credit."""
    snapshot = {
        "trial_balance": ok(api.get("/v1/ledger/trial-balance")),
        "stock": ok(api.get("/v1/stock")),
        "refunds": ok(api.get("/v1/refunds", limit=200)),
    }
    if invoice is not None:
        inv = ok(api.get(f"/v1/invoices/{invoice}"))
        snapshot["invoice"] = inv
        snapshot["customer"] = ok(api.get(f"/v1/customers/{inv['customer']}"))
    return snapshot


def entry_lines(entry: dict) -> list[tuple[str, str, str]]:
    """A journal entry's lines as sorted (account, debit, credit) tuples."""
    return sorted((line["account"], line["debit"], line["credit"]) for line in entry["lines"])


def entry_totals(entry: dict) -> tuple[Decimal, Decimal]:
    return (sum(Decimal(line["debit"]) for line in entry["lines"]),
            sum(Decimal(line["credit"]) for line in entry["lines"]))


def assert_balanced_entry(entry: dict) -> None:
    debit, credit = entry_totals(entry)
    assert debit == credit and debit > 0, entry


def balances(trial_balance: dict) -> dict[str, str]:
    """Account -> balance (debit - credit), leaving out accounts at zero."""
    return {a["account"]: a["balance"] for a in trial_balance["accounts"] if Decimal(a["balance"]) != 0}


def assert_balanced(trial_balance: dict) -> None:
    assert trial_balance["total_debit"] == trial_balance["total_credit"], trial_balance
    assert sum(Decimal(a["balance"]) for a in trial_balance["accounts"]) == 0, trial_balance


def on_hand(api, product: str, location: str = "main") -> str:
    items = ok(api.get("/v1/stock", product=product, location=location))["items"]
    assert len(items) <= 1, items
    return items[0]["on_hand"] if items else "0"


def line_figures(invoice: dict, number: int) -> tuple[str, str, str, str]:
    """(refunded_quantity, refunded_amount, refundable_quantity, refundable_amount) of a line."""
    line = next(line for line in invoice["lines"] if line["line"] == number)
    return (line["refunded_quantity"], line["refunded_amount"], line["refundable_quantity"],
            line["refundable_amount"])
