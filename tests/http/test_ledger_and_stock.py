"""Journal, trial balance and stock as the native API reports them (R14, R15)."""

from __future__ import annotations

from native_kit import assert_balanced, assert_balanced_entry, balances, entry_lines, ok, on_hand, problem, refund


def test_trial_balance_of_the_invoice_then_after_a_refund(books):
    api = books["api"]
    tb = ok(api.get("/v1/ledger/trial-balance"))
    assert tb["currency"] == "EUR"
    # sale: Dr card 47.98, Cr sales 41.98, Cr tax 6.00; cost 3 x 6.00 + 2 x 2.00 = 22.00
    assert [(a["account"], a["name"], a["debit"], a["credit"], a["balance"]) for a in tb["accounts"]] == [
        ("1010", "Card clearing", "47.98", "0.00", "47.98"),
        ("1200", "Inventory", "0.00", "22.00", "-22.00"),
        ("2100", "Tax payable", "0.00", "6.00", "-6.00"),
        ("4000", "Sales", "0.00", "41.98", "-41.98"),
        ("5000", "Cost of goods sold", "22.00", "0.00", "22.00")]
    assert (tb["total_debit"], tb["total_credit"]) == ("69.98", "69.98")

    refund(api, [{"line": 1, "quantity": "1"}, {"line": 3}])
    # 11.50 + 2.00 back to the card; restock 6.00
    tb = ok(api.get("/v1/ledger/trial-balance"))
    assert (tb["total_debit"], tb["total_credit"]) == ("89.48", "89.48")
    assert balances(tb) == {"1010": "34.48", "1200": "-16.00", "2100": "-4.50", "4000": "-41.98",
                            "4100": "12.00", "5000": "16.00"}
    assert_balanced(tb)


def test_journal_lists_entries_with_date_filters_and_pages(books):
    api = books["api"]
    refund(api, [{"line": 1, "quantity": "1"}], posting_date="2026-06-10")
    refund(api, [{"line": 2, "quantity": "1"}])
    journal = ok(api.get("/v1/journal"))
    assert [(e["date"], e["source"]) for e in journal["items"]] == [
        ("2026-06-01", "invoice"), ("2026-06-10", "refund"), ("2026-06-15", "refund")]
    assert journal["next"] is None
    for entry in journal["items"]:
        assert_balanced_entry(entry)
    assert [e["date"] for e in ok(api.get("/v1/journal", **{"from": "2026-06-10"}))["items"]] == [
        "2026-06-10", "2026-06-15"]
    assert [e["date"] for e in ok(api.get("/v1/journal", to="2026-06-10"))["items"]] == ["2026-06-01", "2026-06-10"]
    assert [e["date"] for e in ok(api.get("/v1/journal", **{"from": "2026-06-02", "to": "2026-06-14"}))["items"]] == [
        "2026-06-10"]
    seen, cursor = [], None
    while True:
        page = ok(api.get("/v1/journal", limit=1, **({"cursor": cursor} if cursor else {})))
        assert len(page["items"]) <= 1
        seen += [e["id"] for e in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in journal["items"]]
    problem(api.get("/v1/journal", limit=0), 422, "validation_error", "/limit")
    problem(api.get("/v1/journal", cursor="***"), 422, "validation_error", "/cursor")


def test_restocked_lines_move_stock_back_at_cost(books):
    api = books["api"]
    assert ok(api.get("/v1/stock")) == {"items": [{"product": "BOOK", "location": "main", "on_hand": "-3"},
                                                  {"product": "MUG", "location": "main", "on_hand": "-2"}],
                                        "next": None}
    refund(api, [{"line": 1, "quantity": "2"}, {"line": 2, "quantity": "0.5"}])
    assert on_hand(api, "BOOK") == "-1"
    assert on_hand(api, "MUG") == "-1.5"
    assert ok(api.get("/v1/stock", product="MUG"))["items"] == [{"product": "MUG", "location": "main",
                                                                 "on_hand": "-1.5"}]
    assert ok(api.get("/v1/stock", product="NOPE"))["items"] == []
    assert ok(api.get("/v1/stock", location="NOPE"))["items"] == []


def test_no_restock_and_non_stock_lines_move_nothing(books):
    api = books["api"]
    created = refund(api, [{"line": 1, "quantity": "1", "restock": False}, {"line": 3}])
    assert [(l["product"], l["restock"], l["location"]) for l in created["lines"]] == [("BOOK", False, None),
                                                                                      ("WRAP", False, None)]
    assert on_hand(api, "BOOK") == "-3"
    assert ok(api.get("/v1/stock", product="WRAP"))["items"] == []
    entry = ok(api.get(f"/v1/refunds/{created['id']}/journal"))["items"][0]
    # no inventory or cost lines: Dr 4100 12.00, Dr 2100 1.50, Cr 1010 13.50
    assert entry_lines(entry) == sorted([("4100", "12.00", "0.00"), ("2100", "1.50", "0.00"),
                                         ("1010", "0.00", "13.50")])


def test_restock_into_another_location(books):
    api = books["api"]
    ok(api.post("/v1/locations", {"code": "depot", "name": "Depot"}), 201)
    refund(api, [{"line": 1, "quantity": "1", "location": "depot"}])
    assert ok(api.get("/v1/stock", product="BOOK"))["items"] == [
        {"product": "BOOK", "location": "depot", "on_hand": "1"},
        {"product": "BOOK", "location": "main", "on_hand": "-3"}]
    assert ok(api.get("/v1/stock", location="depot"))["items"] == [
        {"product": "BOOK", "location": "depot", "on_hand": "1"}]
