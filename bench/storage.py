"""The storage limit: what a posted refund writes, as one hand-written SQL transaction.

``capture()`` issues one refund of the workload through the real service on a scratch database
with an SQLAlchemy ``before_cursor_execute`` listener, and records every statement: which are
reads, which write which table and how many rows, and the sizes of the stored texts. The
hand-written transaction below writes the same rows with the same statements a refund's writes
are (guarded cap updates, gapless sequence upsert, header, lines, tax summary, payment, journal
entry and lines, stock moves, the posting update, audit record, idempotency record), through the
same driver (sqlite3 / psycopg 3) with the same durability (WAL + synchronous=FULL + BEGIN
IMMEDIATE / synchronous_commit=on). It leaves out what is not storage: the reads the plan is made
from, the savepoint, the row and advisory locks, SQLAlchemy, the planning and the JSON rendering.

``compare()`` checks the hand-written write set against the captured one, table by table, so a
change of the engine's write path shows up as a warning in the report instead of a stale baseline.
Both write into the same database, so ``salesrefund check`` vets the baseline's rows too.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, select

from salesrefund.store import tables as t
from salesrefund.store.engine import BUSY_TIMEOUT_MS, normalize_url

from . import fixtures

# -- what the engine writes -----------------------------------------------------------------------------

_TABLE = re.compile(r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?", re.I)


def capture(engine, fixture: fixtures.Fixture) -> dict:
    """One refund of the workload through the service, every statement recorded."""
    log: list[tuple[str, int]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        rows = len(parameters) if executemany and parameters is not None else 1
        log.append((statement, rows))

    runner = fixtures.InProcess(engine, fixture)
    body = fixtures.refund_body(fixture.invoices[0], random.Random(1))
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = runner.refund(body, f"capture-{uuid.uuid4().hex[:8]}")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    if response.status != 201:
        raise RuntimeError(f"the capture refund failed: {response.status} {response.body[:300]}")
    reads, writes, other = 0, [], Counter()
    for statement, rows in log:
        head = statement.lstrip().split(None, 1)[0].upper()
        match = _TABLE.match(statement)
        if head == "SELECT":
            reads += 1
        elif match:
            op = "UPSERT" if "ON CONFLICT" in statement.upper() else match.group(1).split()[0].upper()
            writes.append({"op": op, "table": match.group(2), "rows": rows})
        else:
            other[head] += 1
    rows_written: Counter = Counter()
    for w in writes:
        rows_written[f"{w['op']} {w['table']}"] += w["rows"]
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        refund = conn.execute(select(t.refunds).order_by(t.refunds.c.id.desc()).limit(1)).mappings().one()
        key = conn.execute(select(t.idempotency_keys).where(
            t.idempotency_keys.c.key.like("capture-%"))).mappings().one()
    return {
        "statements": len(log), "reads": reads, "write_statements": len(writes), "other": dict(other),
        "writes": writes, "rows_written": dict(rows_written),
        "texts": {"command_json": refund["command_json"], "request_json": refund["request_json"],
                  "metadata_json": refund["metadata_json"], "fingerprint": key["fingerprint"],
                  "body": key["body"]},
        "sizes": {"command_json": len(refund["command_json"]), "request_json": len(refund["request_json"] or ""),
                  "response_body": len(key["body"])},
    }


# the hand-written transaction's own write set, statement by statement (rows per refund of 3 lines)
HANDWRITTEN = [("INSERT", "refunds", 1), ("INSERT", "refund_lines", 3), ("INSERT", "refund_payments", 1),
               ("INSERT", "refund_taxes", 1), ("UPDATE", "invoice_lines", 1), ("UPDATE", "invoice_lines", 1),
               ("UPDATE", "invoice_lines", 1), ("UPDATE", "invoice_payments", 1), ("UPDATE", "invoices", 1),
               ("UPSERT", "sequences", 1), ("INSERT", "journal_entries", 1), ("INSERT", "journal_lines", 5),
               ("INSERT", "stock_moves", 3), ("UPDATE", "refunds", 1), ("INSERT", "events", 1),
               ("INSERT", "events", 1), ("INSERT", "audit_events", 1), ("INSERT", "idempotency_keys", 1)]


def compare(captured: dict) -> list[str]:
    """Differences between the engine's write set and the hand-written one (empty: equivalent)."""
    mine: Counter = Counter()
    for op, table, rows in HANDWRITTEN:
        mine[f"{op} {table}"] += rows
    theirs = Counter(captured["rows_written"])
    problems = []
    for key in sorted(set(mine) | set(theirs)):
        if mine[key] != theirs[key]:
            problems.append(f"{key}: the engine writes {theirs[key]} rows, the baseline {mine[key]}")
    if len(HANDWRITTEN) != captured["write_statements"]:
        problems.append(f"the engine issues {captured['write_statements']} write statements, "
                        f"the baseline {len(HANDWRITTEN)}")
    return problems


# -- the hand-written transaction ------------------------------------------------------------------------

SQL = {
    "refund": "INSERT INTO refunds (tenant_id, public_id, number, state, invoice_id, customer_id, currency, "
              "currency_exponent, reason, reference, posting_date, document_date, location_id, net_minor, tax_minor, "
              "gross_minor, rounding_minor, total_minor, unlinked, metadata_json, command_json, channel, credential_id, "
              "request_id, request_json, created_at) "
              "VALUES (?, ?, NULL, 'draft', ?, ?, 'EUR', 2, NULL, NULL, ?, ?, NULL, ?, ?, ?, 0, ?, ?, ?, ?, 'native', ?, "
              "?, ?, ?)",
    "lines": "INSERT INTO refund_lines (tenant_id, refund_id, line_no, invoice_line_id, invoice_line_no, product_id, "
             "description, quantity, unit_price, tax_rate, net_minor, tax_minor, gross_minor, restock, location_id, "
             "unit_cost, cost_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "payment": "INSERT INTO refund_payments (tenant_id, refund_id, method, kind, amount_minor, reference, "
               "tender_minor) VALUES (?, ?, 'card', 'card', ?, NULL, ?)",
    "tax": "INSERT INTO refund_taxes (tenant_id, refund_id, tax_rate, net_minor, tax_minor) VALUES (?, ?, ?, ?, ?)",
    "cap_line": "UPDATE invoice_lines SET refunded_quantity = refunded_quantity + ?, "
                "refunded_gross_minor = refunded_gross_minor + ?, refunded_tax_minor = refunded_tax_minor + ?, "
                "restocked_quantity = restocked_quantity + ?, restocked_cost_minor = restocked_cost_minor + ? "
                "WHERE tenant_id = ? AND id = ? AND refunded_quantity + ? <= quantity "
                "AND refunded_gross_minor + ? <= gross_minor AND refunded_tax_minor + ? <= tax_minor "
                "AND (refunded_gross_minor - refunded_tax_minor) + ? <= net_minor "
                "AND restocked_cost_minor + ? <= cost_minor",
    "cap_payment": "UPDATE invoice_payments SET refunded_minor = refunded_minor + ? "
                   "WHERE tenant_id = ? AND id = ? AND refunded_minor + ? <= amount_minor",
    "cap_invoice": "UPDATE invoices SET refunded_total_minor = refunded_total_minor + ?, "
                   "paid_back_minor = paid_back_minor + ? "
                   "WHERE tenant_id = ? AND id = ? AND refunded_total_minor + ? <= total_minor",
    "event": "INSERT INTO events (tenant_id, public_id, type, subject, payload_json, created_at) "
             "VALUES (?, ?, ?, ?, ?, ?)",
    "number": "INSERT INTO sequences (tenant_id, series, last_value) VALUES (?, ?, 1) "
              "ON CONFLICT (tenant_id, series) DO UPDATE SET last_value = sequences.last_value + 1 "
              "RETURNING last_value",
    "entry": "INSERT INTO journal_entries (tenant_id, date, source_type, source_id, memo, created_at) "
             "VALUES (?, ?, 'refund', ?, ?, ?)",
    "postings": "INSERT INTO journal_lines (tenant_id, entry_id, account_code, debit_minor, credit_minor) "
                "VALUES (?, ?, ?, ?, ?)",
    "moves": "INSERT INTO stock_moves (tenant_id, product_id, location_id, quantity, unit_cost, date, source_type, "
             "source_id) VALUES (?, ?, ?, ?, ?, ?, 'refund', ?)",
    "post": "UPDATE refunds SET number = ?, state = 'posted', posting_date = ?, document_date = ?, posted_at = ?, "
            "journal_entry_id = ? WHERE id = ?",
    "audit": "INSERT INTO audit_events (tenant_id, refund_id, action, channel, credential_id, request_id, at, "
             "payload_json) VALUES (?, ?, 'create', 'native', ?, ?, ?, NULL)",
    "key": "INSERT INTO idempotency_keys (tenant_id, \"key\", fingerprint, status_code, content_type, body, created_at, "
           "expires_at) VALUES (?, ?, ?, 201, 'application/json', ?, ?, ?)",
}


def _sqlite_ids(statements: dict[str, str]) -> dict[str, str]:
    """SQLite: the ids the engine's tables.next_id gives (one more than the table's largest; a
    tenant table's key is (id, tenant_id), so SQLite numbers no rows by itself). PostgreSQL
    keeps the column's sequence."""
    def with_id(sql: str) -> str:
        match = re.match(r"INSERT INTO (\w+) \(tenant_id, ", sql)
        if match is None or match.group(1) in ("sequences", "idempotency_keys"):
            return sql
        table = match.group(1)
        sql = sql.replace(f"INSERT INTO {table} (", f"INSERT INTO {table} (id, ", 1)
        return sql.replace("VALUES (", f"VALUES ((SELECT coalesce(max(id), 0) + 1 FROM {table}), ", 1)
    return {key: with_id(sql) for key, sql in statements.items()}


RATE = 190_000  # 19 % in the rate scale
COST_MINOR = 50  # 0.50 per unit


class Books:
    """Ids the transaction needs, read once before the clock starts (the engine reads them per refund)."""

    def __init__(self, conn, postgres: bool, tenant_id: int, prefix: str = ""):
        cur = conn.cursor()
        p = "%s" if postgres else "?"
        cur.execute(f"SELECT id, customer_id FROM invoices WHERE tenant_id = {p} AND number LIKE {p} ORDER BY id",
                    (tenant_id, prefix + "%"))
        self.invoices = [(row[0], row[1]) for row in cur.fetchall()]
        cur.execute(f"SELECT invoice_id, line_no, id, product_id FROM invoice_lines WHERE tenant_id = {p}", (tenant_id,))
        self.lines = {(inv, no): (lid, pid) for inv, no, lid, pid in cur.fetchall()}
        cur.execute(f"SELECT id FROM locations WHERE tenant_id = {p} AND code = 'main'", (tenant_id,))
        self.location_id = cur.fetchone()[0]
        cur.execute(f"SELECT invoice_id, id FROM invoice_payments WHERE tenant_id = {p} AND method = 'card' "
                    f"ORDER BY id DESC", (tenant_id,))
        self.card_payment = dict(cur.fetchall())  # invoice -> its (first) card payment row
        if postgres:
            conn.rollback()


def connect(url: str):
    """A raw DBAPI connection configured as the product's engine configures its own."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        import sqlite3
        conn = sqlite3.connect(url.split("///", 1)[1], timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}"):
            conn.execute(f"PRAGMA {pragma}")
        return conn, False
    import psycopg
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=False)
    return conn, True


class Transaction:
    """One client's hand-written refund transactions."""

    def __init__(self, url: str, fixture: dict, texts: dict, client_no: int, run_id: str, *,
                 invoice_prefix: str = "", durable: bool = True):
        self.conn, self.pg = connect(url)
        if not durable:  # building a growth database only; never for a measurement
            if self.pg:
                self.conn.execute("SET synchronous_commit TO off")
                self.conn.commit()
            else:
                self.conn.execute("PRAGMA synchronous=OFF")
        self.tenant_id = fixture["tenant_id"]
        self.credential_id = fixture["credential_id"]
        self.books = Books(self.conn, self.pg, self.tenant_id, invoice_prefix)
        self.texts = texts
        self.client_no = client_no
        self.run_id = run_id
        self.rng = random.Random(client_no * 7919 + int(time.time()))
        self.next_invoice = client_no * 7
        self.sql = {k: v.replace("?", "%s") for k, v in SQL.items()} if self.pg else _sqlite_ids(SQL)

    def _ts(self, value: datetime):
        # SQLAlchemy stores SQLite date-times as naive 'YYYY-MM-DD HH:MM:SS.ffffff'; psycopg takes the object
        return value if self.pg else value.strftime("%Y-%m-%d %H:%M:%S.%f")

    def _day(self, value):
        return value if self.pg else value.isoformat()

    def __call__(self, n: int) -> bool:
        """One refund, one transaction."""
        return self.batch(n, 1)

    def batch(self, n: int, count: int) -> bool:
        """``count`` refunds in one transaction (1 for the measurement; many to build the growth
        databases quickly). False when a cap would be exceeded (the transaction is rolled back)."""
        cur = self.conn.cursor()
        if not self.pg:
            cur.execute("BEGIN IMMEDIATE")
        try:
            for i in range(count):
                self._refund(cur, f"{n}.{i}" if count > 1 else str(n))
        except _CapExceeded:
            self._rollback(cur)
            return False
        except BaseException:
            self._rollback(cur)
            raise
        if self.pg:
            self.conn.commit()
        else:
            cur.execute("COMMIT")
        return True

    def _refund(self, cur, n: str) -> None:
        s, tenant = self.sql, self.tenant_id
        self.next_invoice += 1
        invoice_id, customer_id = self.books.invoices[self.next_invoice % len(self.books.invoices)]
        qty = [self.rng.randint(1, 3) for _ in range(3)]
        net = [q * 100 for q in qty]
        tax = [q * 19 for q in qty]
        gross = [a + b for a, b in zip(net, tax, strict=True)]
        cost = [q * COST_MINOR for q in qty]
        total_net, total_tax, total_gross, total_cost = sum(net), sum(tax), sum(gross), sum(cost)
        now = datetime.now(timezone.utc)
        today = now.date()
        key = f"storage-{self.run_id}-{self.client_no}-{n}"
        refund_id = self._insert_id(cur, s["refund"], (
            tenant, str(uuid.uuid4()), invoice_id, customer_id, self._day(today), self._day(today),
            total_net, total_tax, total_gross, total_gross, False, self.texts["metadata_json"],
            self.texts["command_json"], self.credential_id, uuid.uuid4().hex, self.texts["request_json"],
            self._ts(now)))
        lines = [self.books.lines[(invoice_id, no)] for no in (1, 2, 3)]
        cur.executemany(s["lines"], [
            (tenant, refund_id, i + 1, lines[i][0], i + 1, lines[i][1], f"Product P{i + 1}", qty[i] * 10_000,
             10_000, RATE, net[i], tax[i], gross[i], True, self.books.location_id, 5_000, cost[i])
            for i in range(3)])
        cur.execute(s["payment"], (tenant, refund_id, total_gross, total_gross))
        cur.execute(s["tax"], (tenant, refund_id, RATE, total_net, total_tax))
        for i in range(3):
            cur.execute(s["cap_line"], (qty[i] * 10_000, gross[i], tax[i], qty[i] * 10_000, cost[i], tenant,
                                        lines[i][0], qty[i] * 10_000, gross[i], tax[i], gross[i] - tax[i], cost[i]))
            if cur.rowcount != 1:
                raise _CapExceeded()
        cur.execute(s["cap_payment"], (total_gross, tenant, self.books.card_payment[invoice_id], total_gross))
        if cur.rowcount != 1:
            raise _CapExceeded()
        cur.execute(s["cap_invoice"], (total_gross, total_gross, tenant, invoice_id, total_gross))
        if cur.rowcount != 1:
            raise _CapExceeded()
        series = f"CN-{today.year}"
        cur.execute(s["number"], (tenant, series))
        number = f"{series}-{cur.fetchone()[0]:06d}"
        entry_id = self._insert_id(cur, s["entry"], (tenant, self._day(today), refund_id, f"Credit note {number}",
                                                     self._ts(now)))
        cur.executemany(s["postings"], [(tenant, entry_id, "4100", total_net, 0),
                                        (tenant, entry_id, "2100", total_tax, 0),
                                        (tenant, entry_id, "1200", total_cost, 0),
                                        (tenant, entry_id, "5000", 0, total_cost),
                                        (tenant, entry_id, "1010", 0, total_gross)])
        cur.executemany(s["moves"], [(tenant, lines[i][1], self.books.location_id, qty[i] * 10_000, 5_000,
                                      self._day(today), refund_id) for i in range(3)])
        cur.execute(s["post"], (number, self._day(today), self._day(today), self._ts(now), entry_id, refund_id))
        for kind in ("refund.created", "refund.posted"):  # the outbox, as the engine writes it (issue 13)
            cur.execute(s["event"], (tenant, f"evt_{uuid.uuid4().hex}", kind, f"refund:{refund_id}",
                                     self.texts["body"], self._ts(now)))
        cur.execute(s["audit"], (tenant, refund_id, self.credential_id, uuid.uuid4().hex, self._ts(now)))
        cur.execute(s["key"], (tenant, key, self.texts["fingerprint"], self.texts["body"], self._ts(now),
                               self._ts(now + timedelta(hours=72))))

    def _insert_id(self, cur, sql: str, params) -> int:
        cur.execute(sql + " RETURNING id", params)
        return cur.fetchone()[0]

    def _rollback(self, cur) -> None:
        if self.pg:
            self.conn.rollback()
        else:
            cur.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


class _CapExceeded(Exception):
    pass


# -- the runner protocol (bench.runner) ---------------------------------------------------------------------

def process_setup(args: dict) -> dict:
    return args


def thread_setup(args: dict, client_no: int):
    return Transaction(args["url"], args["fixture"], args["texts"], client_no, args["run_id"],
                       invoice_prefix=args.get("invoice_prefix", ""))


def texts_of(captured: dict) -> dict:
    return dict(captured["texts"])


def describe(captured: dict) -> str:
    parts = ", ".join(f"{k} {v}" for k, v in captured["rows_written"].items())
    return (f"{captured['statements']} statements per refund: {captured['reads']} reads, "
            f"{captured['write_statements']} writes ({parts}), other {json.dumps(captured['other'])}")
