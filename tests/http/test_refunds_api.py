"""Issuing refunds through POST /v1/refunds: figures, journal entries, invoice caps, tax modes,
cash rounding, store credit, preview, reading and listing (R4-R11, R14-R16)."""

from __future__ import annotations

from datetime import date

from native_kit import (assert_balanced, assert_balanced_entry, balances, entry_lines, line_figures, ok, on_hand,
                        problem, refund, state)


def test_partial_refund_figures_and_its_balanced_journal_entry(books):
    api = books["api"]
    before = state(api)
    created = refund(api, [{"line": 1, "quantity": "1"}], reason="damaged cover")

    # 1 of 3 BOOK at 10.00 + 15 %: net 10.00, tax 1.50, gross 11.50, back to the card it was paid with
    assert created["state"] == "posted" and created["number"] == "CN-2026-000001"
    assert (created["invoice"], created["customer"], created["currency"]) == ("INV-1", "C1", "EUR")
    assert (created["posting_date"], created["document_date"]) == ("2026-06-15", "2026-06-15")
    assert created["unlinked"] is False and created["reason"] == "damaged cover"
    assert [(l["invoice_line"], l["product"], l["quantity"], l["unit_price"], l["tax_rate"], l["net"], l["tax"],
             l["gross"], l["restock"], l["location"]) for l in created["lines"]] == [
        (1, "BOOK", "1", "10.00", "15", "10.00", "1.50", "11.50", True, "main")]
    assert created["taxes"] == [{"tax_rate": "15", "net": "10.00", "tax": "1.50"}]
    assert (created["net"], created["tax"], created["gross"], created["rounding"], created["total"]) == (
        "10.00", "1.50", "11.50", "0.00", "11.50")
    assert created["payments"] == [{"method": "card", "amount": "11.50", "reference": None}]
    assert ok(api.get(f"/v1/refunds/{created['id']}")) == created

    # Dr 4100 sales returns 10.00, Dr 2100 tax 1.50, Cr 1010 card 11.50; restock at cost 6.00
    journal = ok(api.get(f"/v1/refunds/{created['id']}/journal"))
    assert journal["next"] is None and len(journal["items"]) == 1
    entry = journal["items"][0]
    assert (entry["date"], entry["source"]) == ("2026-06-15", "refund")
    assert "CN-2026-000001" in entry["memo"]
    assert entry_lines(entry) == sorted([("4100", "10.00", "0.00"), ("2100", "1.50", "0.00"),
                                         ("1010", "0.00", "11.50"), ("1200", "6.00", "0.00"),
                                         ("5000", "0.00", "6.00")])
    assert_balanced_entry(entry)

    after = state(api)
    assert_balanced(after["trial_balance"])
    assert balances(after["trial_balance"]) == {
        "1010": "36.48", "1200": "-16.00", "2100": "-4.50", "4000": "-41.98", "4100": "10.00", "5000": "16.00"}
    assert balances(before["trial_balance"]) == {
        "1010": "47.98", "1200": "-22.00", "2100": "-6.00", "4000": "-41.98", "5000": "22.00"}
    assert on_hand(api, "BOOK") == "-2"


def test_invoice_refunded_and_refundable_figures_after_refunds(books):
    api = books["api"]
    invoice = books["invoice"]
    assert [line_figures(invoice, n) for n in (1, 2, 3)] == [
        ("0", "0.00", "3", "34.50"), ("0", "0.00", "2", "11.48"), ("0", "0.00", "1", "2.00")]
    assert (invoice["refunded_total"], invoice["refundable_total"]) == ("0.00", "47.98")

    first = refund(api, [{"line": 1, "quantity": "1"}, {"line": 2, "quantity": "1"}])
    # MUG: 1 of 2, gross 11.48 -> 5.74, tax 1.50 -> 0.75, net 4.99
    assert [(l["net"], l["tax"], l["gross"]) for l in first["lines"]] == [("10.00", "1.50", "11.50"),
                                                                         ("4.99", "0.75", "5.74")]
    assert first["gross"] == "17.24"
    refund(api, [{"line": 1, "quantity": "1"}])

    invoice = ok(api.get("/v1/invoices/INV-1"))
    assert [line_figures(invoice, n) for n in (1, 2, 3)] == [
        ("2", "23.00", "1", "11.50"), ("1", "5.74", "1", "5.74"), ("0", "0.00", "1", "2.00")]
    # 11.50 + 5.74 + 11.50 = 28.74 refunded; 47.98 - 28.74 = 19.24 left
    assert (invoice["refunded_total"], invoice["refundable_total"]) == ("28.74", "19.24")
    assert (invoice["net"], invoice["tax"], invoice["total"]) == ("41.98", "6.00", "47.98")


def test_full_refund_of_a_line_split_one_by_one_sums_exactly_to_the_line(books):
    api = books["api"]
    ok(api.post("/v1/products", {"code": "PEN", "name": "Pen"}), 201)
    # 3 x 3.3333 = 9.9999 -> net 10.00, tax 15 % = 1.50, gross 11.50: thirds do not divide evenly
    invoice = ok(api.post("/v1/invoices", {
        "number": "INV-2", "customer": "C1", "date": "2026-06-02",
        "lines": [{"product": "PEN", "quantity": "3", "unit_price": "3.3333", "tax_rate": "15"}],
        "payments": [{"method": "cash", "amount": "11.50"}]}), 201)
    assert (invoice["lines"][0]["net"], invoice["lines"][0]["tax"], invoice["lines"][0]["gross"]) == (
        "10.00", "1.50", "11.50")

    pieces = [refund(api, [{"line": 1, "quantity": "1"}], invoice="INV-2") for _ in range(3)]
    # E(n) = round(11.50 x n / 3): 3.83, 7.67, 11.50 -> pieces 3.83, 3.84, 3.83 (tax 0.50 each)
    assert [(p["net"], p["tax"], p["gross"]) for p in pieces] == [
        ("3.33", "0.50", "3.83"), ("3.34", "0.50", "3.84"), ("3.33", "0.50", "3.83")]
    assert [p["payments"] for p in pieces] == [[{"method": "cash", "amount": a, "reference": None}]
                                               for a in ("3.83", "3.84", "3.83")]

    invoice = ok(api.get("/v1/invoices/INV-2"))
    assert line_figures(invoice, 1) == ("3", "11.50", "0", "0.00")
    assert (invoice["refunded_total"], invoice["refundable_total"]) == ("11.50", "0.00")

    problem(api.post("/v1/refunds", {"invoice": "INV-2", "lines": [{"line": 1, "quantity": "1"}]}), 422,
            "quantity_exceeds_refundable", "/lines/0/quantity")
    problem(api.post("/v1/refunds", {"invoice": "INV-2", "lines": [{"line": 1}]}), 422,
            "quantity_exceeds_refundable", "/lines/0/line")


def test_a_line_without_quantity_refunds_what_remains_of_it(books):
    api = books["api"]
    refund(api, [{"line": 2, "quantity": "1"}])
    rest = refund(api, [{"line": 2}])
    assert [(l["quantity"], l["net"], l["tax"], l["gross"]) for l in rest["lines"]] == [("1", "4.99", "0.75", "5.74")]
    assert line_figures(ok(api.get("/v1/invoices/INV-1")), 2) == ("2", "11.48", "0", "0.00")


def test_refund_by_product_code_when_it_is_on_one_line(books):
    api = books["api"]
    created = refund(api, [{"product": "MUG", "quantity": "2"}])
    assert [(l["invoice_line"], l["gross"]) for l in created["lines"]] == [(2, "11.48")]


def test_refund_at_a_lower_unit_price_keeps_the_caps(books):
    api = books["api"]
    # damaged goods at 8.00 instead of 10.00: 11.50 x 8/10 = 9.20 gross, tax 1.50 x 0.8 = 1.20
    created = refund(api, [{"line": 1, "quantity": "1", "unit_price": "8.00"}])
    assert [(l["unit_price"], l["net"], l["tax"], l["gross"]) for l in created["lines"]] == [
        ("8.00", "8.00", "1.20", "9.20")]
    assert line_figures(ok(api.get("/v1/invoices/INV-1")), 1) == ("1", "9.20", "2", "25.30")
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "3"}]}), 422,
            "quantity_exceeds_refundable", "/lines/0/quantity")


def test_amount_only_refund_on_a_line_moves_no_goods(books):
    api = books["api"]
    # 5.75 of line 1 (gross 34.50, tax 4.50): tax share round(5.75 x 4.50 / 34.50) = 0.75
    created = refund(api, [{"line": 1, "amount": "5.75"}])
    assert [(l["quantity"], l["net"], l["tax"], l["gross"], l["restock"]) for l in created["lines"]] == [
        ("0", "5.00", "0.75", "5.75", False)]
    assert on_hand(api, "BOOK") == "-3"
    assert line_figures(ok(api.get("/v1/invoices/INV-1")), 1) == ("0", "5.75", "3", "28.75")


def test_tax_inclusive_invoice_and_its_refunds(make_tenant, api_for):
    tenant = make_tenant(currency="SAR", prices_include_tax=True)
    api = api_for(tenant["token"])
    ok(api.post("/v1/customers", {"code": "C1", "name": "One"}), 201)
    ok(api.post("/v1/products", {"code": "TEA", "name": "Tea"}), 201)
    invoice = ok(api.post("/v1/invoices", {
        "number": "S-1", "customer": "C1", "date": "2026-06-10",
        "lines": [{"product": "TEA", "quantity": "2", "unit_price": "9.99", "tax_rate": "15"}],
        "payments": [{"method": "cash", "amount": "19.98"}]}), 201)
    # gross 19.98 includes 15 %: tax = round(19.98 x 15 / 115) = 2.61, net 17.37
    assert invoice["prices_include_tax"] is True
    assert (invoice["net"], invoice["tax"], invoice["total"]) == ("17.37", "2.61", "19.98")

    first = refund(api, [{"line": 1, "quantity": "1"}], invoice="S-1")
    # gross 9.99, and R4 on the credit-note line: tax round(9.99 x 15 / 115) = round(1.3030) = 1.30; net 8.69
    assert (first["net"], first["tax"], first["gross"], first["total"]) == ("8.69", "1.30", "9.99", "9.99")
    entry = ok(api.get(f"/v1/refunds/{first['id']}/journal"))["items"][0]
    assert entry_lines(entry) == sorted([("4100", "8.69", "0.00"), ("2100", "1.30", "0.00"), ("1000", "0.00", "9.99")])

    second = refund(api, [{"line": 1, "quantity": "1"}], invoice="S-1")
    # the last unit takes the remainder (R8): tax 2.61 - 1.30 = 1.31, net 17.37 - 8.69 = 8.68
    assert (second["net"], second["tax"], second["gross"]) == ("8.68", "1.31", "9.99")
    assert line_figures(ok(api.get("/v1/invoices/S-1")), 1) == ("2", "19.98", "0", "0.00")
    assert_balanced(ok(api.get("/v1/ledger/trial-balance")))


def test_tax_inclusive_flag_on_one_invoice_of_a_tax_exclusive_tenant(books):
    api = books["api"]
    invoice = ok(api.post("/v1/invoices", {
        "number": "INV-INC", "customer": "C1", "date": "2026-06-10", "prices_include_tax": True,
        "lines": [{"product": "BOOK", "quantity": "1", "unit_price": "115.00", "tax_rate": "15"}]}), 201)
    assert (invoice["net"], invoice["tax"], invoice["total"]) == ("100.00", "15.00", "115.00")


def _myr_books(make_tenant, api_for, **options):
    tenant = make_tenant(currency="MYR", cash_rounding="0.05", **options)
    api = api_for(tenant["token"])
    ok(api.post("/v1/customers", {"code": "C1", "name": "One"}), 201)
    ok(api.post("/v1/invoices", {
        "number": "M-1", "customer": "C1", "date": "2026-06-10",
        "lines": [{"description": "Rice", "quantity": "1", "unit_price": "10.02", "tax_rate": "0"},
                  {"description": "Oil", "quantity": "1", "unit_price": "10.03", "tax_rate": "0"},
                  {"description": "Salt", "quantity": "1", "unit_price": "3.01", "tax_rate": "0"}],
        "payments": [{"method": "cash", "amount": "23.06"}]}), 201)
    return api


def test_cash_rounding_down_is_a_visible_adjustment(make_tenant, api_for):
    api = _myr_books(make_tenant, api_for)
    # 10.02 in cash rounds to 10.00 (1, 2, 6, 7 sen down): rounding -0.02, total = gross + rounding
    created = refund(api, [{"line": 1}], invoice="M-1", payments=[{"method": "cash", "amount": "10.00"}])
    assert (created["gross"], created["rounding"], created["total"]) == ("10.02", "-0.02", "10.00")
    assert created["payments"] == [{"method": "cash", "amount": "10.00", "reference": None}]
    entry = ok(api.get(f"/v1/refunds/{created['id']}/journal"))["items"][0]
    # Dr 4100 10.02 = Cr 6900 rounding 0.02 + Cr 1000 cash 10.00
    assert entry_lines(entry) == sorted([("4100", "10.02", "0.00"), ("6900", "0.00", "0.02"),
                                         ("1000", "0.00", "10.00")])
    assert_balanced_entry(entry)


def test_cash_rounding_up_with_the_default_payment(make_tenant, api_for):
    api = _myr_books(make_tenant, api_for)
    # no payment named: back to the invoice's cash; 10.03 rounds up to 10.05
    created = refund(api, [{"line": 2}], invoice="M-1")
    assert (created["gross"], created["rounding"], created["total"]) == ("10.03", "0.02", "10.05")
    assert created["payments"] == [{"method": "cash", "amount": "10.05", "reference": None}]
    entry = ok(api.get(f"/v1/refunds/{created['id']}/journal"))["items"][0]
    assert entry_lines(entry) == sorted([("4100", "10.03", "0.00"), ("6900", "0.02", "0.00"),
                                         ("1000", "0.00", "10.05")])
    assert_balanced(ok(api.get("/v1/ledger/trial-balance")))


def test_cash_rounding_applies_to_cash_only(make_tenant, api_for):
    api = _myr_books(make_tenant, api_for, refund_to_other_methods=True)  # a cash sale refunded by card
    before = state(api, "M-1")
    # the unrounded amount in cash is refused, and nothing is written
    body = problem(api.post("/v1/refunds", {"invoice": "M-1", "lines": [{"line": 3}],
                                            "payments": [{"method": "cash", "amount": "3.01"}]}),
                   422, "payments_do_not_match_total", "/payments")
    assert "3.00" in body["detail"]
    assert state(api, "M-1") == before
    # by card there is no rounding: total = gross = 3.01
    created = refund(api, [{"line": 3}], invoice="M-1", payments=[{"method": "card", "amount": "3.01"}])
    assert (created["gross"], created["rounding"], created["total"]) == ("3.01", "0.00", "3.01")


def test_store_credit_payments_raise_the_customer_balance(books):
    api = books["api"]
    assert ok(api.get("/v1/customers/C1"))["credit_balance"] == "0.00"
    first = refund(api, [{"line": 1, "quantity": "1"}], payments=[{"method": "store_credit", "amount": "11.50"}])
    entry = ok(api.get(f"/v1/refunds/{first['id']}/journal"))["items"][0]
    assert ("2200", "0.00", "11.50") in entry_lines(entry)
    assert ok(api.get("/v1/customers/C1"))["credit_balance"] == "11.50"

    # 5.74 split: 3.00 store credit + 2.74 card
    second = refund(api, [{"line": 2, "quantity": "1"}], payments=[
        {"method": "store_credit", "amount": "3.00"}, {"method": "card", "amount": "2.74", "reference": "auth-9"}])
    assert second["payments"] == [{"method": "store_credit", "amount": "3.00", "reference": None},
                                  {"method": "card", "amount": "2.74", "reference": "auth-9"}]
    assert ok(api.get("/v1/customers/C1"))["credit_balance"] == "14.50"
    tb = ok(api.get("/v1/ledger/trial-balance"))
    assert balances(tb)["2200"] == "-14.50"
    assert_balanced(tb)


def test_preview_computes_the_refund_and_writes_nothing(books):
    api = books["api"]
    before = state(api)
    body = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "2"}, {"line": 3}]}
    preview = ok(api.post("/v1/refunds/preview", body))
    assert (preview["id"], preview["number"]) == (None, None)
    assert (preview["net"], preview["tax"], preview["gross"], preview["total"]) == ("22.00", "3.00", "25.00", "25.00")
    assert preview["taxes"] == [{"tax_rate": "0", "net": "2.00", "tax": "0.00"},
                                {"tax_rate": "15", "net": "20.00", "tax": "3.00"}]
    assert state(api) == before
    assert ok(api.post("/v1/refunds/preview", body)) == preview
    created = refund(api, body["lines"])
    for field in ("lines", "taxes", "net", "tax", "gross", "rounding", "total", "payments", "posting_date"):
        assert created[field] == preview[field], field


def test_preview_reports_the_same_errors_as_create(books):
    api = books["api"]
    body = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "4"}]}
    a = problem(api.post("/v1/refunds/preview", body), 422, "quantity_exceeds_refundable", "/lines/0/quantity")
    b = problem(api.post("/v1/refunds", body), 422, "quantity_exceeds_refundable", "/lines/0/quantity")
    assert a["errors"] == b["errors"]


def test_explicit_dates_and_location(books):
    api = books["api"]
    ok(api.post("/v1/locations", {"code": "store2", "name": "Second store"}), 201)
    created = refund(api, [{"line": 1, "quantity": "1", "location": "store2"}],
                     posting_date="2026-06-10", document_date="2026-06-09")
    assert (created["posting_date"], created["document_date"]) == ("2026-06-10", "2026-06-09")
    assert created["lines"][0]["location"] == "store2"
    assert ok(api.get(f"/v1/refunds/{created['id']}/journal"))["items"][0]["date"] == "2026-06-10"
    assert on_hand(api, "BOOK", "store2") == "1"
    assert on_hand(api, "BOOK", "main") == "-3"
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1", "location": "nowhere"}]}),
            422, "location_not_found", "/lines/0/location")


def test_unlinked_refund_where_the_tenant_allows_it(make_tenant, api_for):
    tenant = make_tenant(allow_unlinked_refunds=True, tax_rates=["15"])
    api = api_for(tenant["token"])
    ok(api.post("/v1/customers", {"code": "WALKIN", "name": "Walk-in"}), 201)
    ok(api.post("/v1/products", {"code": "CAP", "name": "Cap", "stock_tracked": True, "cost": "4.00"}), 201)
    created = refund(api, [{"product": "CAP", "quantity": "2", "unit_price": "5.00", "tax_rate": "15"}],
                     invoice=None, customer="WALKIN")
    # 2 x 5.00 = 10.00 + 15 % = 11.50, paid back in cash; restocked at cost 8.00
    assert created["unlinked"] is True and created["invoice"] is None
    assert (created["net"], created["tax"], created["gross"]) == ("10.00", "1.50", "11.50")
    assert created["payments"] == [{"method": "cash", "amount": "11.50", "reference": None}]
    entry = ok(api.get(f"/v1/refunds/{created['id']}/journal"))["items"][0]
    assert entry_lines(entry) == sorted([("4100", "10.00", "0.00"), ("2100", "1.50", "0.00"), ("1000", "0.00", "11.50"),
                                         ("1200", "8.00", "0.00"), ("5000", "0.00", "8.00")])
    assert on_hand(api, "CAP") == "2"


def test_list_refunds_with_filters(books, clock):
    api = books["api"]
    ok(api.post("/v1/customers", {"code": "C2", "name": "Two"}), 201)
    ok(api.post("/v1/invoices", {"number": "INV-2", "customer": "C2", "date": "2026-06-03",
                                 "lines": [{"product": "MUG", "quantity": "1", "unit_price": "4.99", "tax_rate": "15"}],
                                 "payments": [{"method": "cash", "amount": "5.74"}]}), 201)
    a = refund(api, [{"line": 1, "quantity": "1"}], posting_date="2026-06-05")
    b = refund(api, [{"line": 1}], invoice="INV-2", posting_date="2026-06-10")
    c = refund(api, [{"line": 2, "quantity": "1"}], state="draft")
    d = refund(api, [{"line": 3}])

    def ids(**params):
        page = ok(api.get("/v1/refunds", **params))
        assert page["next"] is None
        return [r["id"] for r in page["items"]]

    assert ids() == [a["id"], b["id"], c["id"], d["id"]]
    assert ids(invoice="INV-1") == [a["id"], c["id"], d["id"]]
    assert ids(invoice="INV-2") == [b["id"]]
    assert ids(customer="C2") == [b["id"]]
    assert ids(state="draft") == [c["id"]]
    assert ids(state="posted") == [a["id"], b["id"], d["id"]]
    assert ids(**{"from": "2026-06-06"}) == [b["id"], d["id"]]
    assert ids(**{"to": "2026-06-09"}) == [a["id"]]
    assert ids(**{"from": "2026-06-05", "to": "2026-06-10"}) == [a["id"], b["id"]]
    assert ids(invoice="NOPE") == []
    problem(api.get("/v1/refunds", state="rejected"), 422, "validation_error", "/state")
    problem(api.get("/v1/refunds", **{"from": "2026-02-30"}), 422, "validation_error", "/from")
