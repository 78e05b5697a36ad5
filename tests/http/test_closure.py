"""Issue 9, items 1-7: every refund closes per line, tax rate, payment method, cost and cash,
whatever order partial refunds and voids come in. Worked numbers through the native API, on
whichever engine the suite runs (SQLite by default, PostgreSQL in CI)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from native_kit import ok, problem, refund


def _tenant(make_tenant, api_for, currency="EUR", **options):
    tenant = make_tenant(currency, **options)
    api = api_for(tenant["token"])
    ok(api.post("/v1/customers", {"code": "C1", "name": "Customer"}), 201)
    return api


def _product(api, code, *, stock=False, cost="0"):
    ok(api.post("/v1/products", {"code": code, "name": code, "stock_tracked": stock, "cost": cost}), 201)


def _invoice(api, number, lines, payments, date="2026-06-01"):
    return ok(api.post("/v1/invoices", {"number": number, "customer": "C1", "date": date, "lines": lines,
                                        "payments": payments}), 201)


def _void(api, refund_id):
    return ok(api.post(f"/v1/refunds/{refund_id}/void", {}))


def _tenders(api, number):
    return {t["method"]: (t["paid"], t["refunded"], t["refundable"])
            for t in ok(api.get(f"/v1/invoices/{number}"))["tenders"]}


def _sum(values):
    return sum(Decimal(v) for v in values)


# -- 1. R8 after a void ------------------------------------------------------------------------

def test_the_last_units_take_what_remains_after_a_void(make_tenant, api_for):
    api = _tenant(make_tenant, api_for)
    _product(api, "P")
    _invoice(api, "I1", [{"product": "P", "quantity": "2", "unit_price": "50.00", "tax_rate": "0"}],
             [{"method": "card", "amount": "100.00"}])
    adjustment = refund(api, [{"line": 1, "amount": "60.00"}], "I1")
    assert adjustment["gross"] == "60.00"
    assert refund(api, [{"line": 1, "quantity": "1"}], "I1")["gross"] == "40.00"  # what remained
    _void(api, adjustment["id"])
    last = refund(api, [{"line": 1}], "I1")
    assert last["gross"] == "60.00"  # the line closes at exactly 100.00
    line = ok(api.get("/v1/invoices/I1"))["lines"][0]
    assert (line["refunded_amount"], line["refundable_quantity"], line["refundable_amount"]) == ("100.00", "0", "0.00")
    problem(api.post("/v1/refunds", {"invoice": "I1", "lines": [{"line": 1, "amount": "0.01"}]}), 422,
            "amount_exceeds_refundable", "/lines/0/amount")


def test_the_last_units_close_a_line_whose_earlier_refund_was_voided(make_tenant, api_for):
    api = _tenant(make_tenant, api_for)
    _product(api, "P")
    _invoice(api, "I1", [{"product": "P", "quantity": "3", "unit_price": "6.6667", "tax_rate": "19"}],
             [{"method": "card", "amount": "23.80"}])
    first = refund(api, [{"line": 1, "quantity": "1"}], "I1")
    assert (first["net"], first["tax"], first["gross"]) == ("6.67", "1.27", "7.94")
    second = refund(api, [{"line": 1, "quantity": "1"}], "I1")
    assert (second["net"], second["tax"], second["gross"]) == ("6.66", "1.27", "7.93")
    _void(api, first["id"])
    last = refund(api, [{"line": 1, "quantity": "2"}], "I1")
    assert (last["net"], last["tax"], last["gross"]) == ("13.34", "2.53", "15.87")
    assert _sum([second["gross"], last["gross"]]) == Decimal("23.80")


def test_a_lower_price_refund_leaves_its_difference_with_the_business(make_tenant, api_for):
    """R9 with R8: the last unit takes what remains less what the damaged unit left behind."""
    api = _tenant(make_tenant, api_for)
    _product(api, "VASE")
    _invoice(api, "I1", [{"product": "VASE", "quantity": "2", "unit_price": "50.00", "tax_rate": "15"}],
             [{"method": "card", "amount": "115.00"}])
    damaged = refund(api, [{"line": 1, "quantity": "1", "unit_price": "40.00"}], "I1")
    assert damaged["gross"] == "46.00"
    assert refund(api, [{"line": 1}], "I1")["gross"] == "57.50"
    _void(api, damaged["id"])  # the damaged unit comes back at full price after all
    assert refund(api, [{"line": 1}], "I1")["gross"] == "57.50"
    assert ok(api.get("/v1/invoices/I1"))["lines"][0]["refundable_amount"] == "0.00"


# -- 2. tax reclaimed only where it was charged ---------------------------------------------------

def test_a_free_amount_may_use_only_a_rate_the_invoice_charged(make_tenant, api_for):
    api = _tenant(make_tenant, api_for)
    _product(api, "P")
    _invoice(api, "I1", [{"product": "P", "quantity": "1", "unit_price": "100.00", "tax_rate": "0"}],
             [{"method": "card", "amount": "100.00"}])
    for rate, code in (("21", "tax_rate_not_on_invoice"), ("99", "tax_rate_not_on_invoice"),
                       ("999", "validation_error")):
        problem(api.post("/v1/refunds", {"invoice": "I1", "lines": [{"amount": "100.00", "tax_rate": rate}]}),
                422, code, "/lines/0/tax_rate")
    goodwill = refund(api, [{"amount": "100.00", "tax_rate": "0"}], "I1")
    assert (goodwill["tax"], goodwill["net"]) == ("0.00", "100.00")


def test_tax_refunded_at_a_rate_never_exceeds_the_tax_charged_at_it(make_tenant, api_for):
    api = _tenant(make_tenant, api_for)
    _product(api, "A")
    _product(api, "B")
    _invoice(api, "I1", [{"product": "A", "quantity": "1", "unit_price": "10.00", "tax_rate": "21"},
                         {"product": "B", "quantity": "1", "unit_price": "100.00", "tax_rate": "0"}],
             [{"method": "card", "amount": "112.10"}])
    first = refund(api, [{"amount": "6.05", "tax_rate": "21"}], "I1")
    assert (first["net"], first["tax"]) == ("5.00", "1.05")
    whole = refund(api, [{"amount": "106.05", "tax_rate": "21"}], "I1")  # R4 would say 18.41 of tax
    assert (whole["net"], whole["tax"]) == ("105.00", "1.05")  # only 1.05 of 2.10 was left at 21 %
    journal = ok(api.get("/v1/ledger/trial-balance"))
    assert {a["account"]: a["balance"] for a in journal["accounts"]}.get("2100", "0.00") in ("0.00", "-0.00")


def test_an_unlinked_refund_uses_one_of_the_tenants_tax_rates(make_tenant, api_for):
    api = _tenant(make_tenant, api_for, allow_unlinked_refunds=True, tax_rates=["15"])
    _product(api, "P")
    body = {"customer": "C1", "lines": [{"product": "P", "quantity": "1", "unit_price": "10.00", "tax_rate": "21"}]}
    problem(api.post("/v1/refunds", body), 422, "tax_rate_not_allowed", "/lines/0/tax_rate")
    for rate, tax in (("15", "1.50"), ("0", "0.00")):
        body["lines"][0]["tax_rate"] = rate
        assert refund(api, body["lines"], None, customer="C1")["tax"] == tax


# -- 3. payment methods close -------------------------------------------------------------------

def test_the_default_split_closes_every_method(make_tenant, api_for):
    api = _tenant(make_tenant, api_for)
    _product(api, "P")
    _invoice(api, "I1", [{"product": "P", "quantity": "20", "unit_price": "10.00", "tax_rate": "0"}],
             [{"method": "cash", "amount": "100.00"}, {"method": "card", "amount": "100.00"}])
    for _ in range(20):
        refund(api, [{"line": 1, "amount": "9.99"}], "I1")
        for paid, back, left in _tenders(api, "I1").values():
            assert Decimal(back) <= Decimal(paid) and Decimal(left) >= 0
    refund(api, [{"line": 1, "amount": "0.20"}], "I1")
    assert _tenders(api, "I1") == {"cash": ("100.00", "100.00", "0.00"), "card": ("100.00", "100.00", "0.00")}


def test_the_unpaid_part_goes_back_to_the_receivable_and_no_more_cash(make_tenant, api_for):
    api = _tenant(make_tenant, api_for)
    _product(api, "P")
    _invoice(api, "I1", [{"product": "P", "quantity": "1", "unit_price": "1.00", "tax_rate": "0"}],
             [{"method": "cash", "amount": "0.60"}])
    methods = []
    for _ in range(100):
        methods += [p["method"] for p in refund(api, [{"line": 1, "amount": "0.01"}], "I1")["payments"]]
    assert (methods.count("cash"), methods.count("receivable")) == (60, 40)
    assert _tenders(api, "I1") == {"cash": ("0.60", "0.60", "0.00"), "receivable": ("0.40", "0.40", "0.00")}


def test_explicit_payments_are_capped_by_what_each_method_paid(make_tenant, api_for):
    api = _tenant(make_tenant, api_for)
    _product(api, "P")
    _invoice(api, "I1", [{"product": "P", "quantity": "1", "unit_price": "100.00", "tax_rate": "0"}],
             [{"method": "cash", "amount": "50.00"}, {"method": "card", "amount": "50.00"}])
    body = {"invoice": "I1", "lines": [{"line": 1, "amount": "60.00"}]}
    problem(api.post("/v1/refunds", {**body, "payments": [{"method": "card", "amount": "60.00"}]}), 422,
            "payment_exceeds_paid", "/payments/0/amount")
    problem(api.post("/v1/refunds", {**body, "payments": [{"method": "bank", "amount": "60.00"}]}), 422,
            "payment_method_not_on_invoice", "/payments/0/method")
    split = refund(api, body["lines"], "I1", payments=[{"method": "card", "amount": "50.00"},
                                                     {"method": "store_credit", "amount": "10.00"}])
    assert split["total"] == "60.00"
    assert _tenders(api, "I1")["card"] == ("50.00", "50.00", "0.00")
    problem(api.post("/v1/refunds", {"invoice": "I1", "lines": [{"line": 1, "amount": "1.00"}],
                                     "payments": [{"method": "card", "amount": "1.00"}]}), 422,
            "payment_exceeds_paid", "/payments/0/amount")


def test_a_tenant_may_allow_refunds_to_other_methods(make_tenant, api_for):
    api = _tenant(make_tenant, api_for, refund_to_other_methods=True)
    _product(api, "P")
    _invoice(api, "I1", [{"product": "P", "quantity": "1", "unit_price": "100.00", "tax_rate": "0"}],
             [{"method": "card", "amount": "100.00"}])
    paid = refund(api, [{"line": 1}], "I1", payments=[{"method": "bank", "amount": "100.00"}])
    assert paid["payments"][0]["method"] == "bank"


# -- 4, 5. cash rounding never pays out more cash than was taken -----------------------------------

def test_many_small_cash_refunds_never_pay_back_more_cash_than_was_taken(make_tenant, api_for):
    api = _tenant(make_tenant, api_for, "MYR", cash_rounding="0.05")
    _product(api, "P")
    _invoice(api, "I1", [{"product": "P", "quantity": "1", "unit_price": "0.60", "tax_rate": "0"}],
             [{"method": "cash", "amount": "0.60"}])
    totals = [refund(api, [{"line": 1, "amount": "0.03"}], "I1")["total"] for _ in range(20)]
    assert _sum(totals) == Decimal("0.60")
    assert all(Decimal(total) % Decimal("0.05") == 0 for total in totals)
    assert _tenders(api, "I1")["cash"] == ("0.60", "0.60", "0.00")


@pytest.mark.parametrize("price, paid, rounding", [("10.02", "10.00", "-0.02"), ("10.03", "10.05", "0.02"),
                                                   ("10.02", "10.05", "0.03")])
def test_a_cash_sale_carries_its_own_rounding_and_its_refund_pays_it_back(make_tenant, api_for, price, paid,
                                                                         rounding):
    api = _tenant(make_tenant, api_for, "MYR", cash_rounding="0.05")
    _product(api, "P")
    invoice = _invoice(api, "I1", [{"product": "P", "quantity": "1", "unit_price": price, "tax_rate": "0"}],
                       [{"method": "cash", "amount": paid}])
    assert (invoice["rounding"], invoice["total"]) == (rounding, price)
    assert [t["method"] for t in invoice["tenders"]] == ["cash"]  # nothing left on the receivable
    whole = refund(api, [{"line": 1}], "I1")
    assert (whole["gross"], whole["rounding"], whole["total"]) == (price, rounding, paid)
    balances = {a["account"]: a["balance"] for a in ok(api.get("/v1/ledger/trial-balance"))["accounts"]}
    assert Decimal(balances.get("6900", "0")) == 0 and Decimal(balances.get("1000", "0")) == 0


def test_a_sale_paid_less_than_rounding_allows_leaves_the_rest_owed(make_tenant, api_for):
    api = _tenant(make_tenant, api_for, "MYR", cash_rounding="0.05")
    _product(api, "P")
    invoice = _invoice(api, "I1", [{"product": "P", "quantity": "1", "unit_price": "10.02", "tax_rate": "0"}],
                       [{"method": "cash", "amount": "9.00"}])
    assert invoice["rounding"] == "0.00"
    assert {t["method"]: t["paid"] for t in invoice["tenders"]} == {"cash": "9.00", "receivable": "1.02"}


# -- 6. cost of goods comes back exactly ----------------------------------------------------------

def test_restocked_cost_telescopes_to_the_cost_booked_out(make_tenant, api_for):
    api = _tenant(make_tenant, api_for)
    _product(api, "P", stock=True, cost="3.3333")
    ok(api.post("/v1/stock/receipts", {"product": "P", "quantity": "3"}), 201)
    _invoice(api, "I1", [{"product": "P", "quantity": "3", "unit_price": "5.00", "tax_rate": "0"}],
             [{"method": "card", "amount": "15.00"}])
    costs = []
    for _ in range(3):
        entry = ok(api.get(f"/v1/refunds/{refund(api, [{'line': 1, 'quantity': '1'}], 'I1')['id']}/journal"))
        costs.append(next(line["debit"] for line in entry["items"][0]["lines"] if line["account"] == "1200"))
    assert costs == ["3.33", "3.34", "3.33"]
    balances = {a["account"]: a["balance"] for a in ok(api.get("/v1/ledger/trial-balance"))["accounts"]}
    assert Decimal(balances["5000"]) == 0  # every unit back: cost of goods sold is exactly undone


# -- 7. zero credit notes -------------------------------------------------------------------------

def test_a_refund_worth_nothing_is_refused_and_takes_no_number(make_tenant, api_for):
    api = _tenant(make_tenant, api_for)
    _product(api, "P")
    _invoice(api, "I1", [{"product": "P", "quantity": "1", "unit_price": "0.01", "tax_rate": "0"}],
             [{"method": "card", "amount": "0.01"}])
    problem(api.post("/v1/refunds", {"invoice": "I1", "lines": [{"line": 1, "quantity": "0.0001"}]}), 422,
            "refund_is_zero", "/lines")
    assert refund(api, [{"line": 1}], "I1")["number"].endswith("-000001")
