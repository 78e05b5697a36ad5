"""``salesrefund tenant create``: the tenant, its defaults, its first admin token, and refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from salesrefund.store import tables as t


def tenant_rows(engine, name=None):
    with engine.connect() as conn:
        stmt = select(t.tenants)
        if name is not None:
            stmt = stmt.where(t.tenants.c.name == name)
        return conn.execute(stmt).mappings().all()


def test_json_output_has_tenant_and_token_and_the_token_is_an_admin_on_the_api(cli, db_url, db, http):
    created = cli.json("tenant", "create", "acme", "--currency", "EUR", "--db", db_url)
    assert created["tenant"] == "acme"
    assert isinstance(created["token"], str) and len(created["token"]) >= 32
    assert created["currency"] == "EUR"
    assert isinstance(created["id"], int)

    token = created["token"]
    r = http.get("/v1/invoices", token)
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "next": None}
    # the first token is an admin: it may write master data and close periods too
    assert http.post("/v1/customers", token, {"code": "C1", "name": "One"}).status_code == 201
    assert http.get("/v1/customers/C1", token).json()["name"] == "One"
    assert http.get("/v1/invoices", "sr_not_a_token").status_code == 401


def test_default_chart_payment_methods_location_and_open_periods(cli, db_url, db, http):
    created = cli.json("tenant", "create", "books-co", "--currency", "EUR", "--db", db_url)
    tid = created["id"]
    with db.connect() as conn:
        methods = conn.execute(select(t.payment_methods).where(t.payment_methods.c.tenant_id == tid)).mappings().all()
        accounts = {r.code for r in conn.execute(select(t.accounts.c.code).where(t.accounts.c.tenant_id == tid))}
        locations = [r.code for r in conn.execute(select(t.locations.c.code).where(t.locations.c.tenant_id == tid))]
        credentials = conn.execute(select(t.credentials).where(t.credentials.c.tenant_id == tid)).mappings().all()
    assert {m["code"] for m in methods} == {"cash", "card", "bank", "store_credit"}
    assert all(m["active"] for m in methods)
    assert {m["code"]: m["kind"] for m in methods}["store_credit"] == "store_credit"
    assert accounts, "a default chart of accounts"
    assert {m["account_code"] for m in methods} <= accounts, "every method posts to an account of the chart"
    assert locations == ["main"]
    assert [(c["name"], c["permissions"]) for c in credentials] == [("admin", "admin")]

    periods = http.get("/v1/periods", created["token"]).json()
    assert periods["closed_through"] is None
    assert periods["items"] and all(p["status"] == "open" for p in periods["items"])


def test_options_are_stored_on_the_tenant(cli, db_url, db):
    cli.json("tenant", "create", "kedai", "--currency", "myr", "--country", "MY", "--timezone", "Asia/Kuala_Lumpur",
             "--prices-include-tax", "--cash-rounding", "0.05", "--allow-unlinked-refunds", "--db", db_url)
    cli.json("tenant", "create", "plain", "--currency", "JPY", "--db", db_url)
    kedai, = tenant_rows(db, "kedai")
    assert (kedai["currency"], kedai["currency_exponent"], kedai["country"], kedai["timezone"]) == \
        ("MYR", 2, "MY", "Asia/Kuala_Lumpur")
    assert kedai["prices_include_tax"] is True
    assert kedai["allow_unlinked_refunds"] is True
    assert kedai["cash_increment_minor"] == 5
    assert kedai["closed_through"] is None
    plain, = tenant_rows(db, "plain")
    assert (plain["currency"], plain["currency_exponent"], plain["timezone"]) == ("JPY", 0, "UTC")
    assert plain["prices_include_tax"] is False
    assert plain["allow_unlinked_refunds"] is False
    assert plain["cash_increment_minor"] == 0


def test_plain_output_prints_the_token_once(cli, db_url, db):
    result = cli.ok("tenant", "create", "plain-out", "--currency", "EUR", "--db", db_url)
    assert "plain-out" in result.stdout
    token_lines = [line for line in result.stdout.splitlines() if "sr_" in line]
    assert len(token_lines) == 1
    assert "token" in token_lines[0].lower()


def test_duplicate_name_is_refused_with_a_clear_message_and_changes_nothing(cli, db_url, db, http):
    first = cli.json("tenant", "create", "acme", "--currency", "EUR", "--db", db_url)
    result = cli("tenant", "create", "acme", "--currency", "SAR", "--db", db_url)
    cli.failed_cleanly(result)
    assert "acme" in result.stderr and "already exists" in result.stderr
    assert "sr_" not in result.stdout, "no token is printed for a refused tenant"
    rows = tenant_rows(db, "acme")
    assert len(rows) == 1 and rows[0]["currency"] == "EUR"
    assert http.get("/v1/invoices", first["token"]).status_code == 200


@pytest.mark.parametrize("currency", ["EURO", "E1R", "12", "EU", "€€€", ""])
def test_bad_currency_is_refused(cli, db_url, db, currency):
    result = cli("tenant", "create", "badcur", "--currency", currency, "--db", db_url)
    cli.failed_cleanly(result)
    assert "currency" in result.stderr.lower()
    assert tenant_rows(db, "badcur") == []


def test_missing_currency_is_a_usage_error(cli, db_url):
    result = cli("tenant", "create", "nocur", "--db", db_url)
    assert result.exit_code != 0
    assert "--currency" in result.output


@pytest.mark.parametrize("args, field", [
    (["--timezone", "Mars/Olympus_Mons"], "time zone"),
    (["--cash-rounding", "abc"], "cash"),
    (["--cash-rounding", "-0.05"], "cash"),
    (["--cash-rounding", "0.005"], "cash"),
])
def test_bad_options_are_refused(cli, db_url, db, args, field):
    result = cli("tenant", "create", "badopt", "--currency", "EUR", *args, "--db", db_url)
    cli.failed_cleanly(result)
    assert field in result.stderr
    assert tenant_rows(db, "badopt") == []


@pytest.mark.parametrize("args", [
    pytest.param(["--currency-exponent", "-1"], id="negative_exponent"),
    pytest.param(["--currency-exponent", "9"], id="huge_exponent"),
    pytest.param(["--country", "DEU"], id="country_alpha3"),
])
def test_out_of_range_options_are_refused(cli, db_url, db, args):
    result = cli("tenant", "create", "oddopt", "--currency", "EUR", *args, "--db", db_url)
    cli.failed_cleanly(result)
    assert tenant_rows(db, "oddopt") == []


@pytest.mark.parametrize("name", [
    pytest.param("", id="empty"),
    pytest.param("x" * 101, id="too_long"),
])
def test_bad_tenant_names_are_refused(cli, db_url, db, name):
    result = cli("tenant", "create", name, "--currency", "EUR", "--db", db_url)
    cli.failed_cleanly(result)
    assert tenant_rows(db) == []
