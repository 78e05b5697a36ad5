"""`salesrefund check` finds each kind of violation it promises to find, and passes a sound database.

Each test loads the demo books into a fresh SQLite file, breaks one invariant with raw SQL (as a bug
or a hand edit would), and expects exactly that check to fail.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from salesrefund.bootstrap import engine_for
from salesrefund.cli import app
from salesrefund.demo import load_books_for_tests
from salesrefund.service.check import run_checks


@pytest.fixture
def demo_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'check.db'}"
    engine = engine_for(url)
    load_books_for_tests(engine)
    yield url, engine
    engine.dispose()


def failing(engine) -> dict[str, int]:
    return {name: len(found) for name, found in run_checks(engine).items() if found}


def test_a_sound_database_passes_and_the_cli_exits_zero(demo_db):
    url, engine = demo_db
    assert failing(engine) == {}
    result = CliRunner().invoke(app, ["check", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True


CORRUPTIONS = {
    "balanced_entries": "UPDATE journal_lines SET debit_minor = debit_minor + 1 WHERE id = "
                        "(SELECT MIN(id) FROM journal_lines WHERE debit_minor > 0)",
    "refunded_figures": "UPDATE invoice_lines SET refunded_quantity = refunded_quantity + 1 WHERE id = "
                        "(SELECT MIN(id) FROM invoice_lines WHERE refunded_quantity + 10000 <= quantity)",
    "invoice_refunded_totals": "UPDATE invoices SET refunded_total_minor = refunded_total_minor + 1 WHERE id = "
                               "(SELECT MIN(id) FROM invoices)",
    "posted_refunds_have_entries": "UPDATE refunds SET journal_entry_id = NULL WHERE id = "
                                   "(SELECT MIN(id) FROM refunds WHERE state = 'posted')",
    "stock_returns": "DELETE FROM stock_moves WHERE id = (SELECT MIN(id) FROM stock_moves WHERE source_type = 'refund')",
    "store_credit": "UPDATE customers SET credit_balance_minor = credit_balance_minor + 100 WHERE id = "
                    "(SELECT MIN(id) FROM customers)",
    "closed_periods": "UPDATE journal_entries SET created_at = '2999-01-01 00:00:00' WHERE id = "
                      "(SELECT MIN(e.id) FROM journal_entries e JOIN tenants t ON t.id = e.tenant_id "
                      "WHERE e.date <= t.closed_through)",
    "gapless_numbers": "UPDATE refunds SET number = number || '9' WHERE id = "
                       "(SELECT MAX(id) FROM refunds WHERE number IS NOT NULL)",
    "restocked_and_retained": "UPDATE invoice_lines SET restocked_cost_minor = restocked_cost_minor + 1 WHERE id = "
                              "(SELECT MIN(id) FROM invoice_lines WHERE restocked_cost_minor + 1 <= cost_minor)",
    "payments_within_paid": "UPDATE invoice_payments SET refunded_minor = refunded_minor + 1 WHERE id = "
                            "(SELECT MIN(id) FROM invoice_payments WHERE refunded_minor < amount_minor)",
    "tax_within_charged": "UPDATE refund_lines SET tax_rate = 990000 WHERE id = (SELECT MIN(l.id) FROM refund_lines l "
                          "JOIN refunds r ON r.id = l.refund_id WHERE r.state = 'posted' AND l.tax_minor > 0 "
                          "AND r.invoice_id IS NOT NULL)",
    "cash_within_cash_taken": "UPDATE refund_payments SET kind = 'cash' WHERE id = (SELECT MIN(p.id) FROM "
                              "refund_payments p JOIN refunds r ON r.id = p.refund_id WHERE r.state = 'posted' "
                              "AND p.kind = 'card' AND NOT EXISTS (SELECT 1 FROM invoice_payments i "
                              "WHERE i.invoice_id = r.invoice_id AND i.method = 'cash'))",
}


@pytest.mark.parametrize("check", sorted(CORRUPTIONS))
def test_each_check_finds_its_violation(demo_db, check):
    url, engine = demo_db
    with engine.connect() as conn:
        conn.execute(text("PRAGMA foreign_keys=OFF"))
        assert conn.execute(text(CORRUPTIONS[check])).rowcount == 1
        conn.commit()
    found = failing(engine)
    assert check in found, found
    if check == "balanced_entries":
        assert set(found) == {"balanced_entries", "trial_balance"}
    result = CliRunner().invoke(app, ["check", "--db", url])
    assert result.exit_code == 1
    assert "FAIL" in result.output and check in result.output


def test_the_closure_migration_rebuilds_the_running_figures_from_the_refunds(demo_db):
    """Migration 0006 brings a database written before it to the new running figures (tenders,
    receivable, restocked cost, free amounts, paid back): down to 0005 and up again, and every
    check passes on the figures it rebuilt from the posted refunds."""
    from alembic import command

    from salesrefund.store.migrate import alembic_config, migrate

    _, engine = demo_db
    with engine.connect() as connection:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        command.downgrade(alembic_config(connection), "0005")
        connection.commit()
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    migrate(engine)
    assert failing(engine) == {}
    with engine.connect() as conn:
        refunded = conn.execute(text("SELECT SUM(refunded_minor) FROM invoice_payments")).scalar()
        assert refunded and refunded > 0  # the demo's refunds gave money back by the invoices' methods
