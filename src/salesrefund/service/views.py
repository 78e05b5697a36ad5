"""Read side: refunds, invoices, journal, stock and periods as the native API shows them.

Money and quantities are rendered as exact decimal strings (R1): amounts with exactly the
currency's decimals, quantities and rates without trailing zeros.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
from contextvars import ContextVar
from datetime import date

from ..domain import money
from ..domain.money import Currency, format_amount, format_quantity, format_rate
from ..domain.refunds import RefundPlan
from ..store.repository import TenantStore
from .results import RefundResult, iso, native_view, result_of

MAX_PAGE = 200
DEFAULT_PAGE = 50


# -- ids shown to a tenant (issue 10): nothing counts across tenants -------------------------------
# Row ids are global counters: a tenant that saw them (a list cursor, a journal entry id) could count what other tenants did in between. What a tenant sees is instead a
# keyed permutation of the id (a 4-round Feistel network over 52 bits, HMAC-SHA256 rounds): one
# to one, so cursors still decode and ids stay unique and stable, but without the key (the
# database's own secret, ``server_secrets``, made by migration 0014 and shared by every worker)
# neither the order nor the gaps of the global ids can be read from them. 52 bits: exact in a
# JavaScript number.

_BITS = 26  # half of the 52-bit block
_MASK = (1 << _BITS) - 1
_key = [hashlib.sha256(b"salesrefund: no server secret").digest()]  # the process's: replaced by use_key
_request_key: ContextVar[bytes | None] = ContextVar("ids_key", default=None)  # the serving app's


def key_of(secret: str) -> bytes:
    """The permutation's key made from a database's ``ids`` secret."""
    return hashlib.sha256(("salesrefund ids:" + secret).encode()).digest()


def use_key(secret: str | None) -> None:
    """The process's key: the database's ``ids`` secret (the CLI's ``bootstrap`` sets it)."""
    if secret:
        _key[0] = key_of(secret)


def serve_with_key(key: bytes) -> None:
    """The key of the app serving this request (``http.app``'s edge sets it from its own database):
    two apps on two databases in one process each show ids with their own database's key."""
    _request_key.set(key)


def _round(kind: str, scope: int, i: int, half: int) -> int:
    key = _request_key.get() or _key[0]
    digest = hmac.new(key, f"{kind}:{scope}:{i}:{half}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") & _MASK


def public_number(kind: str, scope: int, value: int) -> int:
    """``value`` (a row id, below 2^52) as shown: a permutation keyed by the server secret, by
    ``kind`` (``journal``, ``credential``, ``cursor``) and by ``scope`` (the tenant)."""
    if not 0 <= value < 1 << (2 * _BITS):
        raise ValueError("the id is out of range")
    left, right = value >> _BITS, value & _MASK
    for i in range(4):
        left, right = right, left ^ _round(kind, scope, i, right)
    return (left << _BITS) | right


def private_number(kind: str, scope: int, shown: int) -> int:
    """The inverse of ``public_number``."""
    if not 0 <= shown < 1 << (2 * _BITS):
        raise ValueError("the id is out of range")
    left, right = shown >> _BITS, shown & _MASK
    for i in reversed(range(4)):
        left, right = right ^ _round(kind, scope, i, left), left
    return (left << _BITS) | right


def encode_cursor(last_id: int) -> str:
    """A list's ``next``: opaque, it does not show the global id of the last row (see above)."""
    return base64.urlsafe_b64encode(str(public_number("cursor", 0, last_id)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(padded.encode()).decode())
        return private_number("cursor", 0, value)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("cursor is not valid")


def page(items: list, ids: list[int], limit: int) -> dict:
    more = len(items) > limit
    return {"items": items[:limit], "next": encode_cursor(ids[limit - 1]) if more else None}


_iso = iso  # dates and times as shown (service.results.iso)


# -- refunds ---------------------------------------------------------------------------------

def refund_view(store: TenantStore, row) -> dict:
    """A stored refund in the native form (``results.native_view``)."""
    return native_view(refund_result(store, row))


def refund_result(store: TenantStore, row) -> RefundResult:
    """A stored refund, read in the caller's transaction, as a typed result."""
    lines = store.refund_lines(row["id"])
    payments = store.refund_payments(row["id"])
    taxes = store.refund_taxes(row["id"])
    products = store.product_codes([line["product_id"] for line in lines])
    locations = store.location_codes([line["location_id"] for line in lines] + [row["location_id"]])
    invoice = store.invoice_by_id(row["invoice_id"]) if row["invoice_id"] else None
    customer = store.customer_by_id(row["customer_id"])
    return result_of(
        row, lines=[{**line, "product": products.get(line["product_id"]),
                     "location": locations.get(line["location_id"])} for line in lines],
        payments=payments, taxes=taxes, invoice=invoice["number"] if invoice else None,
        customer=customer["code"], location=locations.get(row["location_id"]))


def preview_view(plan: RefundPlan, *, cur: Currency, invoice: str | None, customer: str,
                 state: str, reason: str | None) -> dict:
    """What the refund would be, computed and not written."""
    return {
        "id": None, "number": None, "state": state, "invoice": invoice, "customer": customer,
        "currency": cur.code, "reason": reason, "unlinked": invoice is None,
        "posting_date": plan.posting_date.isoformat(), "document_date": plan.document_date.isoformat(),
        "lines": [{
            "line": i, "invoice_line": pl.invoice_line, "product": pl.product,
            "description": pl.description, "quantity": format_quantity(pl.quantity),
            "unit_price": money.format_price(pl.unit_price, cur) if pl.unit_price is not None else None,
            "tax_rate": format_rate(pl.tax_rate), "net": format_amount(pl.net_minor, cur),
            "tax": format_amount(pl.tax_minor, cur), "gross": format_amount(pl.gross_minor, cur),
            "restock": pl.restock, "location": pl.location,
        } for i, pl in enumerate(plan.lines, start=1)],
        "taxes": [{"tax_rate": format_rate(r), "net": format_amount(n, cur), "tax": format_amount(x, cur)}
                  for r, n, x in plan.tax_summary()],
        "net": format_amount(plan.net_minor, cur), "tax": format_amount(plan.tax_minor, cur),
        "gross": format_amount(plan.gross_minor, cur),
        "rounding": format_amount(plan.rounding_minor, cur), "total": format_amount(plan.total_minor, cur),
        "payments": [{"method": p.method, "amount": format_amount(p.amount_minor, cur),
                      "reference": p.reference} for p in plan.payments],
    }


# -- invoices --------------------------------------------------------------------------------

def invoice_view(store: TenantStore, row) -> dict:
    snapshot, _ = store.invoice_snapshot(row)
    cur = snapshot.currency
    return {
        "number": row["number"],
        "customer": snapshot.customer,
        "date": row["date"].isoformat(),
        "currency": cur.code,
        "prices_include_tax": row["prices_include_tax"],
        "location": snapshot.location,
        "lines": [{
            "line": line.line, "product": line.product, "description": line.description,
            "quantity": format_quantity(line.quantity), "unit_price": money.format_price(line.unit_price, cur),
            "discount": format_amount(line.discount_minor, cur), "tax_rate": format_rate(line.tax_rate),
            "net": format_amount(line.net_minor, cur), "tax": format_amount(line.tax_minor, cur),
            "gross": format_amount(line.gross_minor, cur),
            "refunded_quantity": format_quantity(line.refunded_quantity),
            "refunded_amount": format_amount(line.refunded_gross_minor, cur),
            "refundable_quantity": format_quantity(line.refundable_quantity),
            "refundable_amount": format_amount(line.refundable_gross_minor, cur),
        } for line in snapshot.lines],
        "payments": [{"method": m, "amount": format_amount(a, cur)} for m, a in snapshot.payments],
        "tenders": [{"method": tender.method, "paid": format_amount(tender.paid_minor, cur),
                     "refunded": format_amount(tender.refunded_minor, cur),
                     "refundable": format_amount(tender.remaining_minor, cur)} for tender in snapshot.tenders],
        "net": format_amount(row["net_minor"], cur),
        "tax": format_amount(row["tax_minor"], cur),
        "total": format_amount(row["total_minor"], cur),
        "rounding": format_amount(row["rounding_minor"], cur),
        "refunded_total": format_amount(row["refunded_total_minor"], cur),
        "refundable_total": format_amount(row["total_minor"] - row["refunded_total_minor"], cur),
        "myinvois_uuid": row["myinvois_uuid"],
    }


# -- journal, ledger, stock, periods -----------------------------------------------------------

def entries_view(store: TenantStore, entries, cur: Currency) -> list[dict]:
    entries = list(entries)
    ids = [e["id"] for e in entries]
    lines: dict[int, list[dict]] = {i: [] for i in ids}
    if ids:
        for r in store.journal_lines_of(ids):
            lines[r["entry_id"]].append({"account": r["account_code"],
                                         "debit": format_amount(r["debit_minor"], cur),
                                         "credit": format_amount(r["credit_minor"], cur)})
    return [{"id": public_number("journal", store.tenant_id, e["id"]), "date": e["date"].isoformat(), "source": e["source_type"],
             "memo": e["memo"], "lines": lines[e["id"]]} for e in entries]


def trial_balance(store: TenantStore, cur: Currency) -> dict:
    rows = store.account_totals()
    names = store.account_names()
    accounts = []
    for code, debit, credit in rows:
        debit, credit = int(debit or 0), int(credit or 0)
        accounts.append({"account": code, "name": names.get(code, code),
                         "debit": format_amount(debit, cur), "credit": format_amount(credit, cur),
                         "balance": format_amount(debit - credit, cur)})
    total_debit = sum(int(r[1] or 0) for r in rows)
    total_credit = sum(int(r[2] or 0) for r in rows)
    return {"currency": cur.code, "accounts": accounts,
            "total_debit": format_amount(total_debit, cur), "total_credit": format_amount(total_credit, cur)}


def periods_view(first: date, today: date, closed_through: date | None) -> dict:
    """Monthly periods from the first business month through the current one."""
    items = []
    year, month = first.year, first.month
    while (year, month) <= (today.year, today.month):
        start = date(year, month, 1)
        end = date(year, month, calendar.monthrange(year, month)[1])
        if closed_through is not None and closed_through >= end:
            status = "closed"
        elif closed_through is not None and closed_through >= start:
            status = "partially_closed"
        else:
            status = "open"
        items.append({"period": f"{year:04d}-{month:02d}", "start": start.isoformat(),
                      "end": end.isoformat(), "status": status})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return {"items": items, "next": None,
            "closed_through": closed_through.isoformat() if closed_through else None}

