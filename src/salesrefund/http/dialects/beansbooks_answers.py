"""The BeansBooks door's answers (``beansbooks.py``): BeansBooks' envelope ``{"success",
"config_error", "auth_error", "error", "data"}``, a refund as a ``Beans_Customer_Sale`` (negative
amounts, exact decimal strings), errors with BeansBooks' field names and words."""

from __future__ import annotations

import re

from ...domain import money
from ...domain.errors import RefundError
from ...service.idempotency import Response
from ...service.lookups import Sale
from ...service.results import RefundResult, iso
from ..problems import json_text
from .beansbooks_params import JSON, BeansRefund, Config, Tax

# BeansBooks' own words where it has them (Beans::__construct, Beans_Customer_Sale_Refund).
BEANS_MESSAGES = {
    "unauthorized": "Invalid user credentials.",
    "forbidden": "User does not have access permission to that feature.",
    "idempotency_key_reused": "That sale already belongs to a refund-set.",
    "invalid_state": "That sale has already been cancelled.",  # ours, in BeansBooks' style
}

# -- rendering ---------------------------------------------------------------------------------------

_LINE_POINTER = re.compile(r"^/lines/(\d+)(?:/([a-z_]+))?$")
_TOP = {"/invoice": "id", "/posting_date": "date_created", "/document_date": "date_created",
        "/lines": "lines", "/customer": "id", "/currency": "id"}


def door_field(pointer: str | None) -> str | None:
    """Our JSON pointers (``/lines/0/quantity``) as BeansBooks' field names (``lines[0].quantity``)."""
    if not pointer or pointer == "/":
        return None
    if not pointer.startswith("/"):
        return pointer  # already BeansBooks' name (decided by this door)
    if pointer in _TOP:
        return _TOP[pointer]
    match = _LINE_POINTER.match(pointer)
    if match:
        at = f"lines[{match.group(1)}]"
        part = match.group(2)
        if part is None:
            return at
        if part in ("unit_price", "amount"):
            return f"{at}.amount"
        if part in ("line", "product"):
            return f"{at}.description"
        if part == "tax_rate":  # a free amount's rate is what the request's taxes come to
            return "taxes"
        return f"{at}.{part}"
    return None  # payments, tills, headers: not part of a BeansBooks request


def error_response(error: RefundError) -> Response:
    """BeansBooks' error envelope; ``error_code`` and ``errors`` are additions of ours."""
    errors = [{"field": door_field(v.field), "code": v.code, "message": BEANS_MESSAGES.get(v.code, v.text())}
              for v in error.violations]
    message = errors[0]["message"]
    body = {"success": False, "config_error": "", "auth_error": "", "error": "", "data": {},
            "error_code": error.code, "errors": errors}
    slot = {"unauthorized": "auth_error", "forbidden": "auth_error", "config_error": "config_error"}
    body[slot.get(error.code, "error")] = message
    status = 500 if error.code in ("server_error", "config_error") else 200
    return Response(status, JSON, json_text(body))


class BeansResponder:
    """Renders the refund as a ``Beans_Customer_Sale`` (negative amounts, as BeansBooks records a
    refund). A rejection is not stored under the sale id: ``failure`` re-raises, the service rolls
    the key claim back, and the door answers the error; so, as in BeansBooks, a corrected retry
    of a refused refund goes through (only a refund that happened makes the sale "refunded")."""

    def __init__(self, parsed: BeansRefund, sale: Sale, config: Config, currency: money.Currency):
        self.parsed, self.sale, self.config, self.cur = parsed, sale, config, currency

    def success(self, result: RefundResult, status: int, reads=None) -> Response:
        body = {"success": True, "config_error": "", "auth_error": "", "error": "",
                "data": {"sale": self.sale_object(result)}}
        return Response(200, JSON, json_text(body))

    # A rejected refund creates nothing in BeansBooks, and the natural key is the sale itself:
    # storing a rejection under it would refuse every corrected retry. So rejections are raised
    # to the door (and rendered there), not stored.
    store_rejections = False

    def failure(self, error: RefundError) -> Response:
        raise error

    # -- the Beans_Customer_Sale object --
    def sale_object(self, result: RefundResult) -> dict:
        parsed, extra, cur = self.parsed, self.parsed.extra, result.currency
        taxes = [self.config.taxes[t] for t in parsed.tax_ids]
        lines, taxable = self._lines(result, taxes)
        receivable = sum(p.amount_minor for p in result.payments if p.method == "receivable")
        balance = money.format_amount(-receivable, self.cur)
        sale_number = extra.get("sale_number") or result.number
        posted_on = iso(result.posting_date)
        return {
            "id": sale_id(result.number),
            "customer": self._customer(),
            "account": {"id": extra.get("account_id") or self.config.receivable_account_id},
            "sent": extra.get("sent", False),
            "refund_sale_id": parsed.sale_id,
            "date_created": posted_on,
            "date_billed": extra.get("date_billed"),
            "date_due": extra.get("date_due"),
            "date_cancelled": (iso(result.voided_at) or "")[:10] or None,
            "create_transaction_id": None,
            "invoice_transaction_id": None,
            "cancel_transaction_id": None,
            "subtotal": _negative(result.net_minor, cur),
            "total": _negative(result.total_minor, cur),
            "taxestotal": _negative(result.tax_minor, cur),
            "balance": balance,
            "sale_number": sale_number,
            "order_number": extra.get("order_number"),
            "po_number": extra.get("po_number"),
            "quote_number": extra.get("quote_number"),
            "billing_address": None,
            "shipping_address": None,
            "lines": lines,
            "taxes": self._taxes(result, taxes, taxable),
            "payments": [{"date": posted_on, "type": p.method, "reference": p.reference,
                          "amount": _negative(p.amount_minor, cur)} for p in result.payments if p.method != "receivable"],
            "status": "Cancelled" if result.state == "voided" else "Refund Pending" if receivable else "Refunded",
            "title": f"Sales Order {sale_number}",
            "credit_note": {"id": result.id, "number": result.number, "state": result.state},
        }

    def _lines(self, result: RefundResult, taxes: list[Tax]) -> tuple[list[dict], int]:
        """The refund's lines as BeansBooks' sale lines (a free amount's too: its amount and
        quantity are the request's), and the taxable total (minor units)."""
        parsed = self.parsed
        lines, taxable, line_tax_id = [], 0, 0
        for i, (line, request) in enumerate(zip(result.lines, parsed.lines), start=1):
            line_taxes = []
            if not (parsed.tax_exempt or request.tax_exempt):
                taxable += line.net_minor
                for tax in taxes:
                    line_tax_id += 1
                    line_taxes.append({"id": line_tax_id, "tax": self._tax(tax)})
            lines.append({
                "id": i,
                "account": {"id": request.account_id or self.config.income_account_id},
                "description": line.description,
                "amount": "-" + money.format_price(request.amount, self.cur),
                "quantity": request.quantity // money.QUANTITY_SCALE,
                "total": _negative(line.net_minor, result.currency),
                "line_taxes": line_taxes,
            })
        return lines, taxable

    def _taxes(self, result: RefundResult, taxes: list[Tax], taxable: int) -> list[dict]:
        """Each BeansBooks tax with its part of the refund's tax (in proportion to the percents,
        largest remainder: the parts sum exactly to the tax)."""
        parts = money.allocate(result.tax_minor, [t.rate for t in taxes]) if taxes else []
        return [{"id": n, "tax": self._tax(tax), "amount": money.format_amount(-taxable, self.cur),
                 "total": money.format_amount(-part, self.cur), "fee": money.format_amount(0, self.cur),
                 "percent": _fraction(tax.rate)} for n, (tax, part) in enumerate(zip(taxes, parts), start=1)]

    def _customer(self) -> dict:
        code = self.sale.customer
        return {"id": int(code) if code.isdigit() else code, "first_name": None, "last_name": None,
                "company_name": self.sale.customer_name, "email": self.sale.customer_email,
                "phone_number": None, "fax_number": None}

    def _tax(self, tax: Tax) -> dict:
        return {"id": tax.id, "code": tax.code, "name": tax.name, "percent": _fraction(tax.rate),
                "fee": money.format_amount(0, self.cur)}



def _negative(minor: int, cur: money.Currency) -> str:
    """An amount with its sign turned: BeansBooks records a refund negative (zero stays "0.00")."""
    return money.format_amount(-minor, cur)


def _fraction(rate: int) -> str:
    """A rate in 1/10,000 percent as BeansBooks writes a tax percent: 8.25 % -> "0.0825"."""
    text = money.format_scaled(rate, 6).rstrip("0")
    return text + "0" if text.endswith(".") else text


def sale_id(number: str) -> int:
    """The answer's ``id`` of a refund: its credit-note number's digits (CN-2026-000001 -> 2026000001),
    as BeansBooks' ids are integers."""
    return int(re.sub(r"\D", "", number))


def credit_note_number(refund_sale_id: int) -> str | None:
    """The credit-note number whose digits are ``refund_sale_id`` (2026000001 -> CN-2026-000001),
    the inverse of the answer's ``id``; None when no number has those digits."""
    digits = str(refund_sale_id)
    if len(digits) < 10:
        return None
    number = f"CN-{digits[:4]}-{int(digits[4:]):06d}"
    return number if re.sub(r"\D", "", number) == digits else None
