"""Drafts (no effects until posted; editable, deletable) and voids (a reversing entry that
releases the caps, returns the stock and keeps the books balanced) (R12)."""

from __future__ import annotations

from datetime import date

from native_kit import (assert_balanced, assert_balanced_entry, balances, entry_lines, line_figures, ok, on_hand,
                        problem, refund, state)


def test_a_draft_has_no_cap_ledger_or_stock_effect(books):
    api = books["api"]
    before = state(api)
    journal_before = ok(api.get("/v1/journal"))
    draft = refund(api, [{"line": 1, "quantity": "3"}], state="draft")
    assert (draft["state"], draft["number"], draft["posted_at"]) == ("draft", None, None)
    # the figures are computed already
    assert (draft["net"], draft["tax"], draft["gross"], draft["total"]) == ("30.00", "4.50", "34.50", "34.50")
    after = state(api)
    assert after["invoice"] == before["invoice"]
    assert after["trial_balance"] == before["trial_balance"]
    assert after["stock"] == before["stock"]
    assert ok(api.get("/v1/journal")) == journal_before
    assert ok(api.get(f"/v1/refunds/{draft['id']}/journal")) == {"items": [], "next": None}
    # the draft does not hold the quantity: a posted refund may take all of it
    refund(api, [{"line": 1, "quantity": "3"}])


def test_patch_replans_a_draft(books):
    api = books["api"]
    draft = refund(api, [{"line": 1, "quantity": "1"}], state="draft", reason="first")
    edited = ok(api.patch(f"/v1/refunds/{draft['id']}", {
        "lines": [{"line": 1, "quantity": "2"}, {"line": 2, "quantity": "1"}], "reason": "second"}))
    # 2 BOOK = 23.00 (20.00 + 3.00), 1 MUG = 5.74 (4.99 + 0.75)
    assert (edited["id"], edited["state"], edited["reason"]) == (draft["id"], "draft", "second")
    assert [(l["invoice_line"], l["quantity"], l["gross"]) for l in edited["lines"]] == [(1, "2", "23.00"),
                                                                                      (2, "1", "5.74")]
    assert (edited["net"], edited["tax"], edited["gross"]) == ("24.99", "3.75", "28.74")
    assert edited["payments"] == [{"method": "card", "amount": "28.74", "reference": None}]
    assert ok(api.get(f"/v1/refunds/{draft['id']}")) == edited

    # only what is given changes
    edited = ok(api.patch(f"/v1/refunds/{draft['id']}", {"payments": [{"method": "store_credit", "amount": "28.74"}]}))
    assert edited["reason"] == "second" and edited["gross"] == "28.74"
    assert edited["payments"] == [{"method": "store_credit", "amount": "28.74", "reference": None}]
    assert ok(api.get("/v1/customers/C1"))["credit_balance"] == "0.00"

    # a patch that breaks a rule changes nothing
    problem(api.patch(f"/v1/refunds/{draft['id']}", {"lines": [{"line": 9, "quantity": "1"}]}),
            422, "line_not_found", "/lines/0/line")
    problem(api.patch(f"/v1/refunds/{draft['id']}", {"state": "posted"}), 422, "validation_error", "/state")
    problem(api.patch(f"/v1/refunds/{draft['id']}", {"number": "CN-1"}), 422, "validation_error", "/number")
    assert ok(api.get(f"/v1/refunds/{draft['id']}")) == edited


def test_delete_a_draft(books):
    api = books["api"]
    before = state(api)
    draft = refund(api, [{"line": 1, "quantity": "1"}], state="draft")
    deleted = api.delete(f"/v1/refunds/{draft['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    problem(api.get(f"/v1/refunds/{draft['id']}"), 404, "not_found")
    problem(api.delete(f"/v1/refunds/{draft['id']}"), 404, "not_found")
    problem(api.post(f"/v1/refunds/{draft['id']}/post"), 404, "not_found")
    assert state(api) == before


def test_posting_a_draft_assigns_a_number_and_the_effects(books):
    api = books["api"]
    draft = refund(api, [{"line": 1, "quantity": "1"}], state="draft")
    first = refund(api, [{"line": 3}])
    assert first["number"] == "CN-2026-000001"
    posted = ok(api.post(f"/v1/refunds/{draft['id']}/post"))
    assert (posted["id"], posted["state"], posted["number"]) == (draft["id"], "posted", "CN-2026-000002")
    assert posted["posting_date"] == "2026-06-15" and posted["posted_at"] is not None
    assert posted["gross"] == "11.50"
    assert line_figures(ok(api.get("/v1/invoices/INV-1")), 1) == ("1", "11.50", "2", "23.00")
    entry = ok(api.get(f"/v1/refunds/{draft['id']}/journal"))["items"]
    assert len(entry) == 1 and ("4100", "10.00", "0.00") in entry_lines(entry[0])
    assert on_hand(api, "BOOK") == "-2"
    assert_balanced(ok(api.get("/v1/ledger/trial-balance")))

    before = state(api)
    problem(api.post(f"/v1/refunds/{draft['id']}/post"), 422, "invalid_state", "/state")
    problem(api.patch(f"/v1/refunds/{draft['id']}", {"reason": "too late"}), 422, "invalid_state", "/state")
    problem(api.delete(f"/v1/refunds/{draft['id']}"), 422, "invalid_state", "/state")
    assert state(api) == before


def test_posting_a_draft_checks_the_caps_again(books):
    api = books["api"]
    draft = refund(api, [{"line": 1, "quantity": "2"}], state="draft")
    refund(api, [{"line": 1, "quantity": "2"}])
    before = state(api)
    problem(api.post(f"/v1/refunds/{draft['id']}/post"), 422, "quantity_exceeds_refundable", "/lines/0/quantity")
    assert state(api) == before
    assert ok(api.get(f"/v1/refunds/{draft['id']}"))["state"] == "draft"
    # fix the draft, then post it
    ok(api.patch(f"/v1/refunds/{draft['id']}", {"lines": [{"line": 1, "quantity": "1"}]}))
    assert ok(api.post(f"/v1/refunds/{draft['id']}/post"))["number"] == "CN-2026-000002"


def test_posting_a_draft_dated_in_a_since_closed_period_is_refused(books):
    api = books["api"]
    draft = refund(api, [{"line": 1, "quantity": "1"}], state="draft", posting_date="2026-06-05")
    ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    problem(api.post(f"/v1/refunds/{draft['id']}/post"), 422, "period_closed", "/posting_date")
    ok(api.patch(f"/v1/refunds/{draft['id']}", {"posting_date": "2026-06-11"}))
    assert ok(api.post(f"/v1/refunds/{draft['id']}/post"))["posting_date"] == "2026-06-11"


def test_void_reverses_the_entry_releases_the_caps_and_returns_the_stock(books):
    api = books["api"]
    before = state(api)
    posted = refund(api, [{"line": 1, "quantity": "3"}, {"line": 2, "quantity": "1"}])
    # 34.50 + 5.74 = 40.24; restock 3 x 6.00 + 1 x 2.00 = 20.00
    assert posted["gross"] == "40.24"
    assert on_hand(api, "BOOK") == "0" and on_hand(api, "MUG") == "-1"
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}),
            422, "quantity_exceeds_refundable")

    voided = ok(api.post(f"/v1/refunds/{posted['id']}/void", {"reason": "keyed in twice"}))
    assert (voided["state"], voided["number"]) == ("voided", posted["number"])
    assert voided["voided_at"] is not None
    assert voided["lines"] == posted["lines"] and voided["total"] == posted["total"]

    entries = ok(api.get(f"/v1/refunds/{posted['id']}/journal"))["items"]
    assert [e["source"] for e in entries] == ["refund", "void"]
    original, reversal = entries
    assert entry_lines(original) == sorted([("4100", "34.99", "0.00"), ("2100", "5.25", "0.00"),
                                            ("1010", "0.00", "40.24"), ("1200", "20.00", "0.00"),
                                            ("5000", "0.00", "20.00")])
    assert entry_lines(reversal) == sorted((a, c, d) for a, d, c in entry_lines(original))
    assert reversal["date"] == "2026-06-15"
    assert_balanced_entry(reversal)

    after = state(api)
    assert after["invoice"] == before["invoice"]
    assert after["stock"] == before["stock"]
    assert_balanced(after["trial_balance"])
    assert balances(after["trial_balance"]) == balances(before["trial_balance"])
    # the released quantity is refundable again
    again = refund(api, [{"line": 1, "quantity": "3"}])
    assert again["number"] == "CN-2026-000002" and again["gross"] == "34.50"


def test_void_twice_or_void_a_draft_is_invalid_state(books):
    api = books["api"]
    posted = refund(api, [{"line": 1, "quantity": "1"}])
    ok(api.post(f"/v1/refunds/{posted['id']}/void"))
    before = state(api)
    problem(api.post(f"/v1/refunds/{posted['id']}/void"), 422, "invalid_state", "/state")
    problem(api.post(f"/v1/refunds/{posted['id']}/post"), 422, "invalid_state", "/state")
    problem(api.patch(f"/v1/refunds/{posted['id']}", {"reason": "x"}), 422, "invalid_state", "/state")
    problem(api.delete(f"/v1/refunds/{posted['id']}"), 422, "invalid_state", "/state")
    draft = refund(api, [{"line": 2, "quantity": "1"}], state="draft")
    problem(api.post(f"/v1/refunds/{draft['id']}/void"), 422, "invalid_state", "/state")
    after = state(api)
    assert after["invoice"] == before["invoice"] and after["trial_balance"] == before["trial_balance"]


def test_void_when_todays_period_is_closed(books, clock):
    api = books["api"]
    posted = refund(api, [{"line": 1, "quantity": "1"}])
    # close through 1 July (from 2 July), then look at the books on 15 June again
    clock.set(date(2026, 7, 2))
    ok(api.post("/v1/periods/close", {"through": "2026-07-01"}))
    clock.set(date(2026, 6, 15))
    before = state(api)
    problem(api.post(f"/v1/refunds/{posted['id']}/void"), 422, "period_closed")
    assert state(api) == before
    assert ok(api.get(f"/v1/refunds/{posted['id']}"))["state"] == "posted"


def test_void_of_a_refund_from_a_closed_period_posts_today(books):
    api = books["api"]
    posted = refund(api, [{"line": 1, "quantity": "1"}], posting_date="2026-06-05")
    ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    ok(api.post(f"/v1/refunds/{posted['id']}/void"))
    entries = ok(api.get(f"/v1/refunds/{posted['id']}/journal"))["items"]
    assert [(e["source"], e["date"]) for e in entries] == [("refund", "2026-06-05"), ("void", "2026-06-15")]


def test_void_of_a_store_credit_refund_takes_the_credit_back(books):
    api = books["api"]
    posted = refund(api, [{"line": 1, "quantity": "1"}], payments=[{"method": "store_credit", "amount": "11.50"}])
    assert ok(api.get("/v1/customers/C1"))["credit_balance"] == "11.50"
    ok(api.post(f"/v1/refunds/{posted['id']}/void"))
    assert ok(api.get("/v1/customers/C1"))["credit_balance"] == "0.00"
    assert "2200" not in balances(ok(api.get("/v1/ledger/trial-balance")))


def test_void_is_refused_when_the_store_credit_was_spent(books):
    api = books["api"]
    posted = refund(api, [{"line": 1, "quantity": "1"}], payments=[{"method": "store_credit", "amount": "11.50"}])
    ok(api.post("/v1/invoices", {"number": "INV-2", "customer": "C1", "date": "2026-06-15",
                                 "lines": [{"product": "WRAP", "quantity": "5", "unit_price": "2.00", "tax_rate": "0"}],
                                 "payments": [{"method": "store_credit", "amount": "10.00"}]}), 201)
    assert ok(api.get("/v1/customers/C1"))["credit_balance"] == "1.50"
    before = state(api)
    problem(api.post(f"/v1/refunds/{posted['id']}/void"), 422, "customer_balance_insufficient")
    assert state(api) == before
