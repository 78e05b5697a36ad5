"""The store on the session database (SQLite, or PostgreSQL with SALESREFUND_TEST_DATABASE_URL):
exact integer sums (R2) and the CHECK constraints behind the caps (R7) and the journal (R14)."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from salesrefund.domain.refunds import PlannedLine, RefundPlan
from salesrefund.store import tables as t
from salesrefund.store.repository import CapExceeded, InvoiceRows, TenantStore

AMOUNT = 98_765_432_100  # minor units: 987,654,321.00
LINES = 1_000


def add_entry(conn, tenant_id: int, when) -> int:
    return conn.execute(insert(t.journal_entries).values(
        tenant_id=tenant_id, date=when.date(), source_type="test", source_id=0, memo="R2 exactness",
        created_at=when)).inserted_primary_key[0]


def test_sums_of_large_amounts_are_exact(engine, make_tenant, api_for, clock):
    tenant = make_tenant()
    with engine.begin() as conn:
        entry = add_entry(conn, tenant["id"], clock.now())
        rows = [{"tenant_id": tenant["id"], "entry_id": entry, "account_code": "1000", "debit_minor": AMOUNT,
                 "credit_minor": 0} for _ in range(LINES)]
        rows += [{"tenant_id": tenant["id"], "entry_id": entry, "account_code": "4000", "debit_minor": 0,
                  "credit_minor": AMOUNT} for _ in range(LINES)]
        conn.execute(insert(t.journal_lines), rows)
    jl = t.journal_lines.c
    with engine.connect() as conn:
        debit, credit, n = conn.execute(select(func.sum(jl.debit_minor), func.sum(jl.credit_minor), func.count())
                                        .where(jl.entry_id == entry)).one()
        if engine.dialect.name == "sqlite":
            kinds = conn.execute(text("SELECT DISTINCT typeof(debit_minor), typeof(credit_minor) FROM journal_lines "
                                      "WHERE entry_id = :e"), {"e": entry}).all()
            assert kinds == [("integer", "integer")], "stored as INTEGER, never REAL"
    assert n == 2 * LINES
    assert not isinstance(debit, float) and not isinstance(credit, float)
    assert int(debit) == debit and int(credit) == credit
    assert int(debit) == int(credit) == AMOUNT * LINES == 98_765_432_100_000

    tb = api_for(tenant["token"]).get("/v1/ledger/trial-balance").json()
    assert tb["total_debit"] == tb["total_credit"] == "987654321000.00"
    by_account = {a["account"]: a for a in tb["accounts"]}
    assert by_account["1000"]["debit"] == "987654321000.00"


def test_control_real_columns_would_drift():
    """Why R2 matters: the same kind of sum over REAL (what Numeric becomes on SQLite) is inexact."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE x (v REAL)")
    conn.executemany("INSERT INTO x VALUES (?)", [(987654321.0001,)] * LINES)
    total = conn.execute("SELECT sum(v) FROM x").fetchone()[0]
    conn.close()
    assert total != 987654321000.1


@pytest.fixture
def line_one(engine, books):
    """The fixture invoice's line 1 (3 x BOOK, gross 34.50) as a row."""
    tenant_id = books["tenant"]["id"]
    with engine.connect() as conn:
        invoice = conn.execute(select(t.invoices).where((t.invoices.c.tenant_id == tenant_id)
                                                        & (t.invoices.c.number == "INV-1"))).mappings().one()
        line = conn.execute(select(t.invoice_lines).where((t.invoice_lines.c.invoice_id == invoice["id"])
                                                          & (t.invoice_lines.c.line_no == 1))).mappings().one()
    return {"tenant_id": tenant_id, "invoice": invoice, "line": line}


@pytest.mark.parametrize("values", [
    lambda c: {"refunded_quantity": c.quantity + 1},
    lambda c: {"refunded_quantity": -1},
    lambda c: {"refunded_gross_minor": c.gross_minor + 1},
    lambda c: {"refunded_tax_minor": c.tax_minor + 1},
    lambda c: {"net_minor": c.net_minor + 1},
], ids=["quantity_over_sold", "quantity_negative", "gross_over_line", "tax_over_line", "net_plus_tax"])
def test_invoice_line_checks_reject_a_direct_update(engine, line_one, values):
    c = t.invoice_lines.c
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(update(t.invoice_lines).where(c.id == line_one["line"]["id"]).values(**values(c)))
    with engine.connect() as conn:
        after = conn.execute(select(t.invoice_lines).where(c.id == line_one["line"]["id"])).mappings().one()
    assert dict(after) == dict(line_one["line"]), "nothing changed"


def test_invoice_refunded_total_check(engine, line_one):
    i = t.invoices.c
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(update(t.invoices).where(i.id == line_one["invoice"]["id"])
                         .values(refunded_total_minor=i.total_minor + 1))


@pytest.mark.parametrize("debit, credit", [(100, 100), (-100, 0), (0, -1)], ids=["both_sides", "negative_debit",
                                                                                "negative_credit"])
def test_journal_line_one_side_check(engine, make_tenant, clock, debit, credit):
    tenant = make_tenant()
    with engine.begin() as conn:
        entry = add_entry(conn, tenant["id"], clock.now())
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(insert(t.journal_lines).values(tenant_id=tenant["id"], entry_id=entry, account_code="1000",
                                                        debit_minor=debit, credit_minor=credit))


def test_customer_credit_cannot_go_negative(engine, make_tenant):
    tenant = make_tenant()
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(insert(t.customers).values(tenant_id=tenant["id"], code="NEG", name="Neg",
                                                    credit_balance_minor=-1))


def _plan(quantity: int, gross: int, tax: int) -> RefundPlan:
    """A plan refunding ``quantity`` of invoice line 1 for ``gross`` (``tax`` of it), paid by nothing
    the invoice holds: what ``raise_caps`` adds to the running figures."""
    line = PlannedLine(invoice_line=1, product=None, description="x", quantity=quantity, unit_price=None,
                       tax_rate=0, net_minor=gross - tax, tax_minor=tax, gross_minor=gross, restock=False,
                       location=None)
    return RefundPlan((line,), (), date(2026, 6, 15), date(2026, 6, 15), 0)


def test_raise_caps_is_a_conditional_update_backed_by_the_check(engine, line_one):
    """R7: the guarded update matches no row past the cap; unguarded, the CHECK still refuses."""
    line, invoice = line_one["line"], line_one["invoice"]
    ids = InvoiceRows(line_ids={1: line["id"]}, product_ids={})
    too_many = _plan(line["quantity"] + 10_000, 0, 0)  # one unit more than sold (1/10,000 scale)
    with engine.connect() as conn:
        store = TenantStore(conn, line_one["tenant_id"])
        with pytest.raises(CapExceeded) as caught:
            store.raise_caps(invoice["id"], ids, too_many)
        assert caught.value.line_no == 1
        conn.rollback()
    with engine.connect() as conn:
        store = TenantStore(conn, line_one["tenant_id"])
        with pytest.raises(IntegrityError):
            store.raise_caps(invoice["id"], ids, too_many, guarded=False)
        conn.rollback()
    with engine.connect() as conn:  # within the caps: one unit, its share of gross and tax
        store = TenantStore(conn, line_one["tenant_id"])
        store.raise_caps(invoice["id"], ids, _plan(10_000, 1150, 150))
        row = conn.execute(select(t.invoice_lines).where(t.invoice_lines.c.id == line["id"])).mappings().one()
        assert (row["refunded_quantity"], row["refunded_gross_minor"], row["refunded_tax_minor"]) == (10_000, 1150, 150)
        conn.rollback()
    with engine.connect() as conn:
        row = conn.execute(select(t.invoice_lines).where(t.invoice_lines.c.id == line["id"])).mappings().one()
        assert row["refunded_quantity"] == 0


def test_another_tenants_line_is_out_of_reach_of_raise_caps(engine, line_one, make_tenant):
    """The store scopes every statement by its tenant (R19): a foreign line id matches nothing."""
    stranger = make_tenant()
    with engine.connect() as conn:
        store = TenantStore(conn, stranger["id"])
        with pytest.raises(CapExceeded):
            store.raise_caps(line_one["invoice"]["id"], InvoiceRows(line_ids={1: line_one["line"]["id"]}, product_ids={}),
                             _plan(10_000, 1150, 150))
        conn.rollback()
