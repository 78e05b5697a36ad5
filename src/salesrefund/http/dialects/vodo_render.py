"""What the Vodo door answers: a credit note with its invoice, key for key as the document's example
response shows them, and errors in Vodo's envelope with Vodo's field names (``docs/doors/vodo.md``).

A credit note is rendered from the refund's ``RefundResult`` and its invoice as it stands
(``InvoiceStanding``, asked of the service's ``RefundReads`` in the refund's transaction): integers
(minor units, quantities and prices in 1/10,000), never the native API's decimal strings. Money is
written as JSON numbers with exactly the currency's decimals (``100.00``), never through a float.
Where salesrefund has no value for a field the document shows, the field has Vodo's own "none"
of the document's type (``0``, ``""`` or ``null``), as listed in the templates below.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ... import i18n
from ...domain import money
from ...domain.discounts import net_unit_price
from ...domain.errors import RefundError
from ...service.idempotency import Response
from ...service.reads import RefundReads
from ...service.results import RefundResult, ResultLine
from ...store.queries.vodo import InvoiceStanding
from . import common
from .vodo_form import TENDERS, Layout
from .common import JsonNumber, dumps

JSON = "application/json"
SUCCESS_MESSAGE = "The credit note was created on the invoice successfully"
_NUMBER = re.compile(r"^[A-Z]+-(\d{4})-(\d{6,})$")  # CN-2026-000001 (service.refunds numbers them)

# The document's example response, key for key in its order, each with the value shown when
# salesrefund has none (the computed keys' values here are only placeholders).
NOTE = {
    "uuid": "", "user_id": 0, "currency_id": 0, "business_id": 0, "reference": 0, "invoice_id": 0,
    "admin_invoice_id": "", "created_date": "", "description": "", "description_type": "", "billing_address": "",
    "tax_inclusive": "1", "discount": None, "deduct_type": "", "deduct_value": "", "total": 0,
    "total_without_deduct": 0, "note": "", "amount_total": 0, "tax_amount_total": 0, "pos_session_id": "",
    "representative_id": 0, "created_by": None, "rate_value": 0, "updated_at": "", "created_at": "", "id": 0,
}
INVOICE = {
    "id": 0, "uuid": "", "user_id": 0, "branch_id": 0, "business_id": 0, "currency_id": 0, "reference": 0,
    "sales_order_id": None, "ecomm_order_id": 0, "order_number": None, "quote_number": 0, "due_date": None,
    "created_date": "", "description": "", "invoice_status_days": 0, "invoice_status": None, "billing_address": "",
    "rounding": "0", "rounding_value": "0", "tax_inclusive": "1", "discount": None, "total_amount_word": "0",
    "total": 0, "credit_amount": 0, "payment_amount": 0, "receipt_amount": 0, "expenses_amount": None,
    "jornal_entries_amount": None, "amount_total": 0, "tax_amount_total": 0, "total_without_deduct": "",
    "due_balalnce": 0, "qty_due_balance": 0, "hide_due_date": "0", "deduct_type": "", "deduct_value": 0,
    "payment_fees": 0, "early_discount_type": "", "early_discount_value": 0, "early_discount_days": 0,
    "custom_title": "", "note": "", "bank_id": 0, "representative_id": 0, "pos_session_id": 0, "created_by": 0,
    "invoice_type": None, "reservation_invoice_id": None, "column_type": "sales_invoices", "rate_value": 0,
    "created_at": "", "updated_at": "", "all_items": [],
}
INVOICE_ITEM = {
    "id": 0, "invoice_id": 0, "business_id": None, "sort": 0, "item_id": 0, "ecommerce_item_attributes_id": "",
    "bocklet_id": None, "bocklet_barcode": None, "coupon_id": None, "coupon_barcode": None, "item_kind": "0",
    "build_id": None, "build_item": 0, "ecommerce_item_id": None, "ecommerce_item_unit_name_ar": None,
    "ecommerce_item_unit_name_en": None, "ecommerce_item_unit_id": None, "hidden": 0, "description": "", "qty": "",
    "unit_price": 0, "amount": 0, "different_currency_amount": None, "different_currency_id": 0, "discount": "",
    "account_id": 0, "fixedAsset_id": None, "intangibleAsset_id": None, "capitalAccount_id": None,
    "specialAccount_id": None, "customer_id": None, "supplier_id": None, "customer_invoice_id": None,
    "supplier_invoice_id": None, "employee_id": None, "tax_id": "", "division_id": None, "tax_amount": 0,
    "column_type": "sales_invoices", "created_at": "", "updated_at": "",
}


class VodoResponder:
    """Renders the refund as Vodo's credit note with its invoice, and errors in Vodo's envelope."""

    def __init__(self, lang: str, layout: Layout | None = None):
        self.lang = lang
        self.layout = layout or Layout()

    def success(self, result: RefundResult, status: int, reads: RefundReads) -> Response:
        """The credit note with its invoice as it stands (``reads``, in the refund's transaction)."""
        return self.answer(SUCCESS_MESSAGE, credit_note(result, reads.invoice_standing(result.invoice), self.lang))

    def answer(self, message: str, data) -> Response:
        body = {"status": True, "message": i18n.translate(message, self.lang), "data": data, "errors": []}
        return Response(200, JSON, dumps(body))

    def failure(self, error: RefundError, status: int | None = None) -> Response:
        errors = [{"field": vodo_field(v.field, v.code, self.layout), "code": v.code,
                   "message": common.text(v, self.lang)} for v in error.violations]
        body = {"status": False, "message": errors[0]["message"], "data": None, "errors": errors}
        return Response(status or error.status, JSON, dumps(body))


# -- the credit note --------------------------------------------------------------------------------

def credit_note_ids(number: str | None) -> tuple[int, int]:
    """(``id``, ``reference``) of a credit note numbered ``CN-2026-000001``: ``2026000001`` (year and
    sequence, unique in the tenant) and ``1`` (the sequence in its year). Both count only the
    tenant's own credit notes (docs/decisions.md). (0, 0) for a number of another form."""
    match = _NUMBER.match(number or "")
    return (int(match[1] + match[2]), int(match[2])) if match else (0, 0)


def credit_note(refund: RefundResult, standing: InvoiceStanding, lang: str) -> dict:
    """A refund (its result) as Vodo's credit note, with its invoice as it stands (``standing``)."""
    invoice = standing.invoice
    amount = _amounts(invoice.currency)
    paid = {method: sum(p.amount_minor for p in refund.payments if p.method == method) for _, method in TENDERS}
    number_id, reference = credit_note_ids(refund.number)
    return {**NOTE,
            "uuid": refund.id, "reference": reference, "invoice_id": _number_or_text(invoice.number),
            "created_date": _day(refund.posting_date), "description": refund.reason or "",
            "tax_inclusive": _flag(invoice.prices_include_tax), "total": amount(refund.total_minor),
            "total_without_deduct": amount(refund.total_minor), "amount_total": amount(refund.net_minor),
            "tax_amount_total": amount(refund.tax_minor), "pos_session_id": refund.pos_session or "",
            "updated_at": _timestamp(refund.posted_at or refund.created_at),
            "created_at": _timestamp(refund.created_at), "id": number_id,
            "invoice": _invoice(refund, standing, amount),
            # beyond the document (docs/doors/vodo.md, "The response")
            "rounding": amount(refund.rounding_minor), "currency": refund.currency.code, "pos_id": refund.pos or "",
            **{name: amount(paid[method]) for name, method in TENDERS},
            "payments": [{"method": p.method, "amount": amount(p.amount_minor)} for p in refund.payments],
            "all_items": [_refund_item(line, refund, invoice, amount) for line in refund.lines],
            "pdf_url": f"/v1/refunds/{refund.id}/document.pdf?lang={lang}"}


def _invoice(refund: RefundResult, standing: InvoiceStanding, amount) -> dict:
    invoice = standing.invoice
    refunded, received, paid_out = invoice.refunded_total_minor, standing.received_minor, standing.paid_out_minor
    return {**INVOICE,
            "id": _number_or_text(invoice.number), "reference": _number_or_text(invoice.number),
            "created_date": _day(invoice.date), "tax_inclusive": _flag(invoice.prices_include_tax),
            "total": amount(invoice.total_minor), "credit_amount": amount(refunded),
            "payment_amount": amount(paid_out), "receipt_amount": amount(received),
            "amount_total": amount(sum(line.net_minor for line in invoice.lines)),
            "tax_amount_total": amount(sum(line.tax_minor for line in invoice.lines)),
            "total_without_deduct": money.format_amount(invoice.total_minor, invoice.currency),
            "due_balalnce": amount(invoice.total_minor - received - refunded + paid_out),
            "created_at": _timestamp(standing.created_at),
            "updated_at": _timestamp(refund.posted_at or refund.created_at),
            "all_items": [_invoice_item(line, invoice, _timestamp(standing.created_at), amount)
                          for line in invoice.lines]}


def _invoice_item(line, invoice, created_at: str, amount) -> dict:
    unit = net_unit_price(line.unit_price, line.tax_rate, invoice.prices_include_tax, invoice.currency)
    return {**INVOICE_ITEM,
            "id": line.line, "invoice_id": _number_or_text(invoice.number), "sort": line.line,
            "item_id": _number_or_text(line.product), "description": line.description,
            "qty": money.format_quantity(line.quantity), "unit_price": amount(unit), "amount": amount(line.net_minor),
            "discount": money.format_amount(line.discount_minor, invoice.currency),
            "tax_id": money.format_rate(line.tax_rate), "tax_amount": amount(line.tax_minor),
            "created_at": created_at, "updated_at": created_at,
            # beyond the document
            "tax_rate": money.format_rate(line.tax_rate), "total": amount(line.gross_minor),
            "refunded_qty": money.format_quantity(line.refunded_quantity),
            "refunded_amount": amount(line.refunded_gross_minor)}


def _refund_item(line: ResultLine, refund: RefundResult, invoice, amount) -> dict:
    sold = invoice.line_numbered(line.invoice_line) if line.invoice_line else None
    if line.unit_price is not None:
        unit = net_unit_price(line.unit_price, line.tax_rate, invoice.prices_include_tax, invoice.currency)
    else:
        unit = line.net_minor
    rate = money.format_rate(line.tax_rate)
    return {"id": line.line, "credit_note_id": refund.id, "invoice_item_id": line.invoice_line,
            "item_id": _number_or_text(sold.product if sold else None), "description": line.description,
            "qty": money.format_quantity(line.quantity) if line.invoice_line else "1",
            "unit_price": amount(unit), "amount": amount(line.net_minor),
            "discount": money.format_amount(0, invoice.currency),
            "tax_id": rate, "tax_rate": rate, "tax_amount": amount(line.tax_minor),
            "total": amount(line.gross_minor), "restock": line.restock}


def _amounts(cur: money.Currency):
    return lambda minor: JsonNumber(money.format_amount(minor, cur))


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _number_or_text(code: str | None):
    """Vodo's ids are integers: a code written as a plain integer is shown as one, else as text."""
    if code is None:
        return None
    # ASCII digits only: "²".isdigit() is true but int("²") fails (issue 9, item 8)
    return int(code) if code.isascii() and code.isdigit() and str(int(code)) == code else code


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


def _timestamp(moment: datetime | None) -> str | None:
    """A stored time -> Vodo's ``2025-03-27T13:29:26.000000Z`` (UTC; a naive time is UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- field names: the engine's JSON pointers as Vodo's form fields -------------------------------

_LINE_FIELDS = {"quantity": "item_qty", "unit_price": "item_price", "product": "item_id", "line": "item_id",
                "description": "item_desc", "location": "pos_id", "tax_rate": "item_id", "restock": "item_id"}
_TOP_FIELDS = {"/invoice": "invoice_id", "/pos": "pos_id", "/pos_session": "pos_session_id",
               "/location": "pos_id", "/reason": "description", "/posting_date": "created_date",
               "/document_date": "created_date", "/lines": "item_id[]", "/headers/Idempotency-Key": "Idempotency-Key",
               "/": "", "/customer": "invoice_id", "/currency": "invoice_id", "/state": "invoice_id",
               "/id": "invoice_id", "/expected": "item_price[]"}


def vodo_field(pointer: str, code: str, layout: Layout) -> str:
    """``/lines/0/quantity`` -> ``item_qty[0]``; names the door already uses pass through."""
    if not pointer.startswith("/"):
        return pointer
    if pointer in _TOP_FIELDS:
        return _TOP_FIELDS[pointer]
    parts = pointer.split("/")[1:]
    if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit():
        return _line_field(int(parts[1]), parts[2] if len(parts) > 2 else "line", code, layout)
    if parts[0] == "payments":
        if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(layout.tenders):
            return layout.tenders[int(parts[1])]
        return layout.tenders[0] if layout.tenders else "cash_amount"
    return parts[-1]


def _line_field(i: int, name: str, code: str, layout: Layout) -> str:
    if name == "amount":
        discounted = i < len(layout.discounted) and layout.discounted[i]
        return f"item_discount[{i}]" if discounted and code == "validation_error" else f"item_price[{i}]"
    return f"{_LINE_FIELDS.get(name, 'item_id')}[{i}]"
