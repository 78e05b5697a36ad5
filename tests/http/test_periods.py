"""Accounting periods (R13): close through a date, reopen, statuses, and postings refused in
closed periods."""

from __future__ import annotations

from datetime import date

import pytest

from native_kit import ok, problem, refund, state

LINE1 = [{"line": 1, "quantity": "1"}]


def test_periods_start_open(books):
    periods = ok(books["api"].get("/v1/periods"))
    assert periods == {"items": [{"period": "2026-06", "start": "2026-06-01", "end": "2026-06-30", "status": "open"}],
                       "next": None, "closed_through": None}


def test_close_through_a_date_refuses_postings_up_to_it(books):
    api = books["api"]
    closed = ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    assert closed["closed_through"] == "2026-06-10"
    assert [(p["period"], p["status"]) for p in closed["items"]] == [("2026-06", "partially_closed")]
    assert ok(api.get("/v1/periods")) == closed

    before = state(api)
    for day in ("2026-06-01", "2026-06-05", "2026-06-10"):
        problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": LINE1, "posting_date": day}),
                422, "period_closed", "/posting_date")
    assert state(api) == before
    assert refund(api, LINE1, posting_date="2026-06-11")["posting_date"] == "2026-06-11"
    # a new invoice dated in the closed range is refused as well
    problem(api.post("/v1/invoices", {"number": "INV-OLD", "customer": "C1", "date": "2026-06-09", "lines": [
        {"product": "WRAP", "quantity": "1", "unit_price": "2.00", "tax_rate": "0"}]}), 422, "period_closed", "/date")


def test_reopen_opens_the_periods_again(books):
    api = books["api"]
    ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    reopened = ok(api.post("/v1/periods/reopen"))
    assert reopened["closed_through"] is None
    assert [(p["period"], p["status"]) for p in reopened["items"]] == [("2026-06", "open")]
    assert refund(api, LINE1, posting_date="2026-06-05")["posting_date"] == "2026-06-05"


def test_reopen_from_a_date_keeps_the_earlier_days_closed(books):
    api = books["api"]
    ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    reopened = ok(api.post("/v1/periods/reopen", {"from": "2026-06-05"}))
    assert reopened["closed_through"] == "2026-06-04"
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": LINE1, "posting_date": "2026-06-04"}),
            422, "period_closed", "/posting_date")
    assert refund(api, LINE1, posting_date="2026-06-05")["posting_date"] == "2026-06-05"


def test_a_date_sent_as_a_number_is_refused_and_changes_nothing(books):
    """R18: ``{"from": -1e-46}`` was read as seconds since 1970 and reopened every period (found
    by the contract fuzzer); a date is text, on every native body."""
    api = books["api"]
    ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    for number in (-1e-46, 0, 1780000000):
        problem(api.post("/v1/periods/reopen", {"from": number}), 422, "validation_error", "/from")
        problem(api.post("/v1/periods/close", {"through": number}), 422, "validation_error", "/through")
        problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": LINE1, "posting_date": number}),
                422, "validation_error", "/posting_date")
    assert ok(api.get("/v1/periods"))["closed_through"] == "2026-06-10"


def test_closing_an_earlier_date_does_not_reopen_later_days(books):
    api = books["api"]
    ok(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    assert ok(api.post("/v1/periods/close", {"through": "2026-06-05"}))["closed_through"] == "2026-06-10"


def test_statuses_across_months(books, clock):
    api = books["api"]
    clock.set(date(2026, 8, 10))
    periods = ok(api.post("/v1/periods/close", {"through": "2026-06-30"}))
    assert [(p["period"], p["start"], p["end"], p["status"]) for p in periods["items"]] == [
        ("2026-06", "2026-06-01", "2026-06-30", "closed"),
        ("2026-07", "2026-07-01", "2026-07-31", "open"),
        ("2026-08", "2026-08-01", "2026-08-31", "open")]
    periods = ok(api.post("/v1/periods/close", {"through": "2026-07-15"}))
    assert [p["status"] for p in periods["items"]] == ["closed", "partially_closed", "open"]
    # a refund today (10 August) is fine; one dated in June is not
    refund(api, LINE1)
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": LINE1, "posting_date": "2026-06-30"}),
            422, "period_closed", "/posting_date")


@pytest.mark.parametrize("through", ["2026-06-15", "2026-06-16", "2027-01-01"])
def test_closing_today_or_later_is_a_validation_error(books, through):
    api = books["api"]
    before = state(api)
    problem(api.post("/v1/periods/close", {"through": through}), 422, "validation_error", "/through")
    assert state(api) == before


@pytest.mark.parametrize("body, field", [({}, "/through"), ({"through": "yesterday"}, "/through"),
                                         ({"through": "2026-06-01", "lock": True}, "/lock")])
def test_close_body_is_validated(books, body, field):
    problem(books["api"].post("/v1/periods/close", body), 422, "validation_error", field)


def test_period_close_needs_the_period_close_permission(books, make_token, api_for):
    tenant = books["tenant"]
    reader = api_for(make_token(tenant, "refund:read", "refund:create", "refund:post", "refund:void"))
    problem(reader.post("/v1/periods/close", {"through": "2026-06-10"}), 403, "forbidden")
    problem(reader.post("/v1/periods/reopen"), 403, "forbidden")
    assert ok(reader.get("/v1/periods"))["closed_through"] is None
    closer = api_for(make_token(tenant, "period:close"))
    assert ok(closer.post("/v1/periods/close", {"through": "2026-06-10"}))["closed_through"] == "2026-06-10"
    assert ok(closer.post("/v1/periods/reopen"))["closed_through"] is None
