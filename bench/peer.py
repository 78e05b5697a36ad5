"""The peer: the same workload through python-accounting (an IFRS double-entry library on
SQLAlchemy, with client invoices and credit notes), beside ours, on SQLite with the same
durability (WAL, synchronous=FULL), one client, in process.

One cycle = record a 3-line invoice with 19 % tax, then credit-note 1-3 units of each line and
apply the credit note to the invoice. For python-accounting: a posted ``ClientInvoice`` with
three ``LineItem`` s, a posted ``CreditNote`` with three, and an ``Assignment`` of the credit
note to the invoice (its clearing), each document committed. For salesrefund: ``record_invoice``
and a posted refund (journal entry, stock return, caps, idempotency record), each committed.

``python -m bench.peer peer|ours DB_PATH SECONDS MAX_CYCLES`` prints ``BENCH_JSON {...}``; the
bench runs it in its own process. python-accounting is an optional benchmark dependency
(``uv sync --group bench``; its ``mysqlclient`` dependency needs ``libmariadb-dev`` to build).
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

INSTALL_HINT = ("python-accounting is not installed: `apt-get install -y libmariadb-dev pkg-config` "
                "(to build its mysqlclient dependency), then `uv sync --group bench` or "
                "`uv run --group bench python -m bench ...`")


def available() -> tuple[bool, str]:
    try:
        import importlib.metadata as md

        import python_accounting  # noqa: F401
        return True, f"python-accounting {md.version('python-accounting')}"
    except Exception as error:  # noqa: BLE001 - any import failure means "skipped, because ..."
        return False, f"{INSTALL_HINT} ({type(error).__name__}: {str(error)[:120]})"


def _durable_sqlite(engine) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def run_peer(path: str, seconds: float, max_cycles: int) -> dict:
    from sqlalchemy import create_engine

    from python_accounting.database.session import get_session
    from python_accounting.models import Account, Assignment, Base, Currency, Entity, LineItem, Tax
    from python_accounting.transactions import ClientInvoice, CreditNote

    engine = create_engine(f"sqlite:///{path}")
    _durable_sqlite(engine)
    Base.metadata.create_all(engine)
    commits = _count_commits(engine)
    rng = random.Random(1)
    with get_session(engine) as session:
        entity = Entity(name="Bench Entity")
        session.add(entity)
        session.commit()
        currency = Currency(name="Euro", code="EUR", entity_id=entity.id)
        session.add(currency)
        session.commit()

        def account(name, kind):
            return Account(name=name, account_type=kind, currency_id=currency.id, entity_id=entity.id)

        client = account("Client C1", Account.AccountType.RECEIVABLE)
        revenue = account("Sales", Account.AccountType.OPERATING_REVENUE)
        vat = account("VAT payable", Account.AccountType.CONTROL)
        session.add_all([client, revenue, vat])
        session.commit()
        tax = Tax(name="VAT 19", code="VAT19", account_id=vat.id, rate=19, entity_id=entity.id)
        session.add(tax)
        session.commit()

        def document(kind, narration, quantities, when):
            txn = kind(narration=narration, transaction_date=when, account_id=client.id, entity_id=entity.id)
            session.add(txn)
            session.flush()
            for i, q in enumerate(quantities):
                item = LineItem(narration=f"Product P{i + 1}", account_id=revenue.id, amount=Decimal("1.00"),
                                quantity=Decimal(q), tax_id=tax.id, entity_id=entity.id)
                session.add(item)
                session.flush()
                txn.line_items.add(item)
            session.add(txn)
            session.flush()
            txn.post(session)
            return txn

        cycles, note_seconds, cycle_seconds = 0, [], []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and cycles < max_cycles:
            began = time.perf_counter()
            when = datetime.now() - timedelta(minutes=1)
            invoice = document(ClientInvoice, f"Invoice {cycles}", [100, 100, 100], when)
            session.commit()
            noted = time.perf_counter()
            note = document(CreditNote, f"Credit note {cycles}", [rng.randint(1, 3) for _ in range(3)], datetime.now())
            session.flush()
            session.add(Assignment(assignment_date=datetime.now(), transaction_id=note.id, assigned_id=invoice.id,
                                   assigned_type=invoice.__class__.__name__, entity_id=entity.id, amount=note.amount))
            session.commit()
            done = time.perf_counter()
            cycles += 1
            note_seconds.append(done - noted)
            cycle_seconds.append(done - began)
    engine.dispose()
    return _result("python-accounting", cycles, cycle_seconds, note_seconds, commits)


def run_ours(path: str, seconds: float, max_cycles: int) -> dict:
    from salesrefund.bootstrap import engine_for

    from . import fixtures

    engine = engine_for(f"sqlite:///{path}")  # the product's engine: WAL, synchronous=FULL
    fixture = fixtures.setup_books(engine, tokens=0)
    commits = _count_commits(engine)
    runner = fixtures.InProcess(engine, fixture)
    from salesrefund.http import schemas
    from salesrefund.service.books import Books
    books = Books(engine)
    rng = random.Random(1)
    day = datetime.now().date() - timedelta(days=2)
    cycles, note_seconds, cycle_seconds = 0, [], []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and cycles < max_cycles:
        began = time.perf_counter()
        number = f"INV-{uuid.uuid4().hex[:12]}"
        body = schemas.InvoiceIn.model_validate(fixtures.invoice_body(number, 100, day))
        books.record_invoice(fixture.tenant_id, schemas.record_invoice(body, fixtures.CURRENCY))
        noted = time.perf_counter()
        response = runner.refund(fixtures.refund_body(number, rng), f"peer-{uuid.uuid4().hex}")
        if response.status != 201:
            raise RuntimeError(f"refund failed: {response.status} {response.body[:200]}")
        done = time.perf_counter()
        cycles += 1
        note_seconds.append(done - noted)
        cycle_seconds.append(done - began)
    engine.dispose()
    return _result("salesrefund", cycles, cycle_seconds, note_seconds, commits)


def _count_commits(engine) -> list:
    """Commits from now on (each one fsync with WAL + synchronous=FULL); a one-item list."""
    from sqlalchemy import event
    count = [0]

    @event.listens_for(engine, "commit")
    def _commit(_conn):
        count[0] += 1

    return count


def _result(name, cycles, cycle_seconds, note_seconds, commits) -> dict:
    total = sum(cycle_seconds)
    notes = sorted(note_seconds)
    return {"system": name, "cycles": cycles, "seconds": round(total, 3),
            "commits_per_cycle": round(commits[0] / cycles, 2) if cycles else None,
            "cycles_per_s": cycles / total if total else 0.0,
            "credit_notes_only_per_s": len(notes) / sum(notes) if notes else 0.0,
            "credit_note_p50_ms": round(notes[len(notes) // 2] * 1000, 3) if notes else None}


if __name__ == "__main__":
    which, db_path, secs, most = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    result = run_peer(db_path, secs, most) if which == "peer" else run_ours(db_path, secs, most)
    print("BENCH_JSON " + json.dumps(result), flush=True)
