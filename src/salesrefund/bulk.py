"""Bulk data (issue 13): ``salesrefund import`` and ``salesrefund export``.

**Import** reads CSV (a header row) or JSON (an array of objects, or JSON lines) from a file or
stdin. Each record is checked by the native API's own request models and written by the same
use cases (``Books``), so an imported invoice is exactly what ``POST /v1/invoices`` records, with
its journal entry, stock moves and ``invoice.created`` event. Records that already exist (by
invoice number, or code) are skipped, not duplicated, so a file can be imported again after a
fix. ``atomic=True`` writes the whole file in one transaction, or nothing if any record is
refused; otherwise each record commits on its own and the refused ones are reported.

An invoice in CSV is one row per line; rows with the same ``number`` make one invoice (its
header columns are read from its first row). ``payments`` is ``method:amount`` pairs separated
by ``|``; a product's ``barcodes`` are separated by ``|``.

**Export** streams refunds, journal lines or stock moves of a date range as CSV or as a JSON
array, reading the database in pages by id (keyset), so memory stays flat for any size.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import date
from decimal import Decimal
from typing import Callable, Iterable, Iterator, TextIO

from pydantic import BaseModel, ValidationError

from .domain import money
from .domain.errors import Invalid, RefundError, Violation
from .http import schemas
from .service.books import Books
from .service.uow import UnitOfWork
from .store import exports
from .store.engine import Engine
from .store.repository import TenantStore, policy_of

KINDS = ("invoices", "customers", "products", "locations", "stock")
EXPORTS = ("refunds", "journal", "stock")
PAGE = 1000


@dataclasses.dataclass
class Problem:
    row: int  # the CSV line number (the header is line 1), or the JSON record's position from 1
    field: str
    code: str
    message: str


@dataclasses.dataclass
class Report:
    created: int = 0
    skipped: int = 0
    problems: list[Problem] = dataclasses.field(default_factory=list)
    written: bool = True  # False when an atomic import was refused as a whole

    def as_dict(self) -> dict:
        return {"created": self.created, "skipped": self.skipped, "failed": len({p.row for p in self.problems}),
                "written": self.written, "errors": [dataclasses.asdict(p) for p in self.problems]}


@dataclasses.dataclass
class Record:
    rows: list[int]  # the source row of the record (an invoice from CSV: one per line)
    data: dict


# -- reading ----------------------------------------------------------------------------------------

def read_records(kind: str, stream: TextIO, fmt: str) -> list[Record]:
    if fmt == "json":
        text = stream.read()
        stripped = text.lstrip()
        items = json.loads(text, parse_float=Decimal) if stripped.startswith("[") else [
            json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]
        return [Record([i], item) for i, item in enumerate(items, start=1)]
    rows = [(n, {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip() != ""})
            for n, row in enumerate(csv.DictReader(stream), start=2)]
    if kind == "invoices":
        return _invoices_from_rows(rows)
    return [Record([n], _csv_fields(kind, row)) for n, row in rows]


LINE_FIELDS = ("product", "description", "quantity", "unit_price", "discount", "tax_rate")


def _invoices_from_rows(rows: list[tuple[int, dict]]) -> list[Record]:
    grouped: dict[str, Record] = {}
    for n, row in rows:
        number = row.get("number", f"(row {n})")
        if number not in grouped:
            header = {k: v for k, v in row.items() if k not in LINE_FIELDS and k != "payments"}
            if "payments" in row:
                header["payments"] = [dict(zip(("method", "amount"), p.split(":", 1))) for p in row["payments"].split("|")]
            grouped[number] = Record([], {**header, "lines": []})
        record = grouped[number]
        record.rows.append(n)
        record.data["lines"].append({k: row[k] for k in LINE_FIELDS if k in row})
    return list(grouped.values())


def _csv_fields(kind: str, row: dict) -> dict:
    if kind == "products" and "barcodes" in row:
        row = {**row, "barcodes": [b for b in row["barcodes"].split("|") if b]}
    return row


# -- importing ----------------------------------------------------------------------------------------

MODELS: dict[str, type[BaseModel]] = {"invoices": schemas.InvoiceIn, "customers": schemas.CustomerIn,
                                      "products": schemas.ProductIn, "locations": schemas.LocationIn,
                                      "stock": schemas.StockReceiptIn}


class _Shared(UnitOfWork):
    """One transaction for a whole atomic import: the use cases' own commits are deferred."""

    def __init__(self, outer: UnitOfWork):
        self.outer = outer

    def __enter__(self):
        self.conn, self.store, self.tx = self.outer.conn, self.outer.store, self.outer.tx
        return self

    def savepoint(self):
        return self.outer.savepoint()  # numbered by the outer unit of work: names stay unique

    def commit(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        pass


class _Books(Books):
    def __init__(self, engine: Engine, shared: UnitOfWork | None):
        super().__init__(engine)
        self.shared = shared

    def uow(self, tenant_id: int, *, write: bool = True) -> UnitOfWork:
        return _Shared(self.shared) if self.shared is not None else super().uow(tenant_id, write=write)


def import_records(engine: Engine, tenant_id: int, kind: str, records: list[Record], *, atomic: bool,
                   progress: Callable[[int], None] = lambda n: None) -> Report:
    report = Report()
    if atomic:
        with UnitOfWork(engine, tenant_id) as outer:
            _import_all(_Books(engine, outer), tenant_id, kind, records, report, progress)
            if report.problems:
                report.written, report.created = False, 0
            else:
                outer.commit()
        return report
    _import_all(_Books(engine, None), tenant_id, kind, records, report, progress)
    return report


def _import_all(books: _Books, tenant_id: int, kind: str, records: list[Record], report: Report, progress) -> None:
    currency = _currency(books, tenant_id)
    for record in records:
        savepoint = books.shared.savepoint() if books.shared is not None else None  # a refused record leaves no trace
        try:
            outcome = _import_one(books, tenant_id, kind, record.data, currency)
        except (ValidationError, RefundError) as error:
            if savepoint is not None:
                savepoint.rollback()
            if isinstance(error, ValidationError):
                report.problems += [_problem(record, _pointer(e["loc"]), "validation_error", e["msg"])
                                    for e in error.errors()]
            else:
                report.problems += [_problem(record, v.field, v.code, v.text()) for v in error.violations]
        else:
            if savepoint is not None:
                savepoint.commit()
            report.created += outcome == "created"
            report.skipped += outcome == "skipped"
        progress(1)


def _import_one(books: _Books, tenant_id: int, kind: str, data: dict, currency) -> str:
    body = MODELS[kind].model_validate(data)
    if kind == "invoices":
        if _exists(books, tenant_id, kind, body.number):
            return "skipped"
        books.record_invoice(tenant_id, schemas.record_invoice(body, currency))
    elif kind == "stock":
        quantity = money.parse_quantity(body.quantity, "/quantity")
        if body.date is not None and _received(books, tenant_id, body.product, body.location or "main", body.date):
            return "skipped"
        books.receive_stock(tenant_id, product=body.product, quantity=quantity, location=body.location, day=body.date)
    else:
        if _exists(books, tenant_id, kind, body.code):
            return "skipped"
        if kind == "customers":
            books.create_customer(tenant_id, **body.model_dump())
        elif kind == "locations":
            books.create_location(tenant_id, **body.model_dump())
        else:
            cost = money.parse_price(body.cost, "/cost") if body.cost is not None else 0
            if cost < 0:
                raise Invalid(Violation("/cost", "validation_error", "cost must not be negative"))
            books.create_product(tenant_id, cost=cost, **body.model_dump(exclude={"cost"}))
    return "created"


def _exists(books: _Books, tenant_id: int, kind: str, value: str) -> bool:
    with books.uow(tenant_id, write=False) as uow:
        return exports.has_code(uow.store, kind, value)


def _received(books: _Books, tenant_id: int, product: str, location: str, day: date) -> bool:
    """Opening stock's natural key: a receipt of the product at the location on that day."""
    with books.uow(tenant_id, write=False) as uow:
        return exports.received(uow.store, product, location, day)


def _currency(books: _Books, tenant_id: int):
    with books.uow(tenant_id, write=False) as uow:
        return uow.store.policy().currency


def _pointer(loc) -> str:
    return "/" + "/".join(str(p) for p in loc)


def _problem(record: Record, field: str, code: str, message: str) -> Problem:
    """Name the source row: an invoice line's row for ``/lines/<i>/…`` when it came from CSV."""
    row = record.rows[0]
    parts = field.split("/")
    if len(record.rows) > 1 and len(parts) > 2 and parts[1] == "lines" and parts[2].isdigit():
        index = int(parts[2])
        if index < len(record.rows):
            row, field = record.rows[index], "/" + "/".join(parts[3:])
    return Problem(row, field or "/", code, message)


# -- exporting --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Export:
    columns: tuple[str, ...]
    count: int
    rows: Iterator[dict]


def export(engine: Engine, tenant_id: int, what: str, *, date_from: date | None, date_to: date | None) -> Export:
    """The rows of ``what`` (refunds, journal lines or stock moves) in the date range, read lazily."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        store = TenantStore(conn, tenant_id)
        cur = policy_of(store.tenant()).currency
        spec = _SPECS[what]
        count = exports.count(store, what, date_from, date_to)
    return Export(spec.columns, count, _stream(engine, tenant_id, what, cur, date_from, date_to))


def _stream(engine, tenant_id, what, cur, date_from, date_to) -> Iterator[dict]:
    spec, last = _SPECS[what], 0
    while True:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            rows = exports.page(TenantStore(conn, tenant_id), what, date_from, date_to, last, PAGE)
        if not rows:
            return
        for row in rows:
            yield spec.render(row, cur)
        last = rows[-1]["key"]


@dataclasses.dataclass(frozen=True)
class _Spec:
    columns: tuple[str, ...]
    render: Callable


def _refund_row(row, cur) -> dict:
    amount = lambda name: money.format_amount(row[f"{name}_minor"], cur)  # noqa: E731
    return {"number": row["number"], "id": row["public_id"], "kind": row["kind"], "state": row["state"],
            "posting_date": _text(row["posting_date"]), "invoice": row["invoice"], "customer": row["customer"],
            "currency": row["currency"], "net": amount("net"), "tax": amount("tax"), "gross": amount("gross"),
            "rounding": amount("rounding"), "total": amount("total"), "reason": row["reason"],
            "channel": row["channel"], "created_at": _text(row["created_at"]), "voided_at": _text(row["voided_at"])}


def _journal_row(row, cur) -> dict:
    return {"entry": row["entry"], "date": _text(row["date"]), "source": row["source_type"], "memo": row["memo"],
            "account": row["account_code"], "debit": money.format_amount(row["debit_minor"], cur),
            "credit": money.format_amount(row["credit_minor"], cur)}


def _stock_row(row, cur) -> dict:
    return {"date": _text(row["date"]), "product": row["product"], "location": row["location"],
            "quantity": money.format_quantity(row["quantity"]), "unit_cost": money.format_quantity(row["unit_cost"]),
            "source": row["source_type"], "source_id": row["source_id"]}


_SPECS = {
    "refunds": _Spec(("number", "id", "kind", "state", "posting_date", "invoice", "customer", "currency", "net", "tax",
                      "gross", "rounding", "total", "reason", "channel", "created_at", "voided_at"),
                     _refund_row),
    "journal": _Spec(("entry", "date", "source", "memo", "account", "debit", "credit"), _journal_row),
    "stock": _Spec(("date", "product", "location", "quantity", "unit_cost", "source", "source_id"),
                   _stock_row),
}


def _text(value) -> str | None:
    from .service.views import _iso
    return _iso(value) if value is not None else None


def write(rows: Iterable[dict], columns: tuple[str, ...], fmt: str, out: TextIO) -> int:
    """Write ``rows`` as CSV or as one JSON array, as they come; how many were written."""
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for n, row in enumerate(rows, start=1):
            writer.writerow(row)
        return n
    out.write("[")
    for n, row in enumerate(rows, start=1):
        out.write(("," if n > 1 else "") + "\n" + json.dumps(row))
    out.write("\n]\n" if n else "]\n")
    return n


def stdin_text(stream) -> TextIO:
    return io.TextIOWrapper(stream, encoding="utf-8-sig") if hasattr(stream, "readable") else stream
