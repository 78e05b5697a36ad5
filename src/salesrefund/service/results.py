"""What the refund use cases return (issue 10): a typed result, integers at fixed scales.

``RefundService`` (issue, post, void, edit) answers with a ``RefundResult`` and hands it to the
door's responder, which renders it in its own shape (``http/``); nothing parses a decimal string
back. Scales: amounts in minor units of ``currency`` (its ``exponent``), quantities and unit
prices in 1/10,000 (``money.QUANTITY_PLACES``), rates in 1/10,000 of a percent.

``native_view`` is the native API's JSON form of a result (exact decimal strings, R1). It lives
here, not in ``http/``, because the refund events' payloads (``service.events``) are that same
form and nothing below ``http`` may import it; ``http/native_render.py`` renders through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from ..domain import money
from ..domain.money import Currency, format_amount, format_quantity, format_rate


@dataclass(frozen=True)
class ResultLine:
    line: int
    invoice_line: int | None
    product: str | None
    description: str
    quantity: int  # 1/10,000
    unit_price: int | None  # 1/10,000 of the currency unit; None for a free amount
    tax_rate: int  # 1/10,000 of a percent
    net_minor: int
    tax_minor: int
    gross_minor: int
    restock: bool
    location: str | None


@dataclass(frozen=True)
class ResultPayment:
    method: str
    amount_minor: int
    reference: str | None


@dataclass(frozen=True)
class ResultTax:
    tax_rate: int
    net_minor: int
    tax_minor: int


@dataclass(frozen=True)
class RefundResult:
    """A refund as written (or read) in its transaction."""

    id: str  # the public id
    kind: str  # refund or payout
    number: str | None  # CN-2026-000001 once posted
    state: str  # draft, posted, voided
    invoice: str | None
    customer: str | None
    currency: Currency
    reason: str | None
    reference: str | None
    unlinked: bool
    posting_date: date | None
    document_date: date | None
    location: str | None
    lines: tuple[ResultLine, ...]
    taxes: tuple[ResultTax, ...]  # by rate, ascending
    net_minor: int
    tax_minor: int
    gross_minor: int
    rounding_minor: int
    total_minor: int
    payments: tuple[ResultPayment, ...]
    channel: str | None
    created_at: datetime | None
    posted_at: datetime | None = None
    voided_at: datetime | None = None
    metadata: dict = field(default_factory=dict, compare=False)  # the request's extras (a door's echo)
    pos: str | None = None  # the till the request named (Vodo echoes it; the native form does not show it)
    pos_session: str | None = None


def result_of(row, *, lines, payments, taxes, invoice: str | None, customer: str | None,
              location: str | None) -> RefundResult:
    """A result from a refund's rows (lines with their ``product`` and ``location`` codes)."""
    till = json.loads(row["command_json"] or "{}")  # the command as the request gave it
    return RefundResult(
        id=row["public_id"], kind=row["kind"], number=row["number"], state=row["state"], invoice=invoice,
        customer=customer, currency=Currency(row["currency"], row["currency_exponent"]), reason=row["reason"],
        reference=row["reference"], unlinked=bool(row["unlinked"]), posting_date=row["posting_date"],
        document_date=row["document_date"], location=location, lines=tuple(_line(x) for x in lines),
        taxes=tuple(ResultTax(x["tax_rate"], x["net_minor"], x["tax_minor"])
                    for x in sorted(taxes, key=lambda x: x["tax_rate"])),
        net_minor=row["net_minor"], tax_minor=row["tax_minor"], gross_minor=row["gross_minor"],
        rounding_minor=row["rounding_minor"], total_minor=row["total_minor"],
        payments=tuple(ResultPayment(p["method"], p["amount_minor"], p["reference"]) for p in payments),
        channel=row["channel"], created_at=row["created_at"], posted_at=row["posted_at"],
        voided_at=row["voided_at"], metadata=json.loads(row["metadata_json"] or "{}"),
        pos=till.get("pos"), pos_session=till.get("pos_session"))


def _line(line) -> ResultLine:
    return ResultLine(
        line=line["line_no"], invoice_line=line["invoice_line_no"], product=line["product"],
        description=line["description"], quantity=line["quantity"], unit_price=line["unit_price"],
        tax_rate=line["tax_rate"], net_minor=line["net_minor"], tax_minor=line["tax_minor"],
        gross_minor=line["gross_minor"], restock=line["restock"], location=line["location"])


# -- the native form ----------------------------------------------------------------------------

def native_view(result: RefundResult) -> dict:
    """A refund as the native API (and its events) show it: exact decimal strings (R1)."""
    cur = result.currency
    return {
        "id": result.id,
        "kind": result.kind,
        "number": result.number,
        "state": result.state,
        "invoice": result.invoice,
        "customer": result.customer,
        "currency": cur.code,
        "reason": result.reason,
        "reference": result.reference,
        "unlinked": result.unlinked,
        "posting_date": iso(result.posting_date),
        "document_date": iso(result.document_date),
        "location": result.location,
        "lines": [_native_line(line, cur) for line in result.lines],
        "taxes": [{"tax_rate": format_rate(x.tax_rate), "net": format_amount(x.net_minor, cur),
                   "tax": format_amount(x.tax_minor, cur)} for x in result.taxes],
        "net": format_amount(result.net_minor, cur),
        "tax": format_amount(result.tax_minor, cur),
        "gross": format_amount(result.gross_minor, cur),
        "rounding": format_amount(result.rounding_minor, cur),
        "total": format_amount(result.total_minor, cur),
        "payments": [{"method": p.method, "amount": format_amount(p.amount_minor, cur),
                      "reference": p.reference} for p in result.payments],
        "metadata": result.metadata,
        "channel": result.channel,
        "created_at": iso(result.created_at),
        "posted_at": iso(result.posted_at),
        "voided_at": iso(result.voided_at),
    }


def _native_line(line: ResultLine, cur: Currency) -> dict:
    return {
        "line": line.line,
        "invoice_line": line.invoice_line,
        "product": line.product,
        "description": line.description,
        "quantity": format_quantity(line.quantity),
        "unit_price": money.format_price(line.unit_price, cur) if line.unit_price is not None else None,
        "tax_rate": format_rate(line.tax_rate),
        "net": format_amount(line.net_minor, cur),
        "tax": format_amount(line.tax_minor, cur),
        "gross": format_amount(line.gross_minor, cur),
        "restock": line.restock,
        "location": line.location,
    }


def iso(value) -> str | None:
    """Dates as YYYY-MM-DD; times in UTC with their offset (SQLite hands them back naive)."""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.isoformat() if value is not None else None
