"""The fixture invoice is what its docstring says, and a first refund works."""


def test_invoice_figures_and_a_partial_refund(books):
    api, invoice = books["api"], books["invoice"]
    assert [(l["net"], l["tax"], l["gross"]) for l in invoice["lines"]] == [
        ("30.00", "4.50", "34.50"), ("9.98", "1.50", "11.48"), ("2.00", "0.00", "2.00")]
    assert (invoice["net"], invoice["tax"], invoice["total"]) == ("41.98", "6.00", "47.98")
    r = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]})
    assert r.status_code == 201, r.text
    refund = r.json()
    assert (refund["net"], refund["tax"], refund["rounding"], refund["total"]) == ("10.00", "1.50", "0.00", "11.50")
    assert refund["number"] == "CN-2026-000001"
    assert refund["payments"] == [{"method": "card", "amount": "11.50", "reference": None}]
