"""The Vodo form, parsed by its field table (issue 10): the request's fields grouped into parallel
item arrays and scalars (``collect``), each value read by its field's type and rule, and the
``IssueRefund`` command built from them (``command``); the discount arithmetic is the domain's
(``domain.discounts``). docs/doors/vodo.md, "How the form maps onto the command", is this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...domain import discounts, money
from ...domain.commands import IssueRefund, PaymentRequest, RefundLineRequest
from ...domain.errors import Invalid, Violation

DEFAULT_VAT_RATE = "15"  # Saudi standard rate, when the credential's settings name none
_ARRAY_KEY = re.compile(r"^([A-Za-z_]+)\[(\d{0,4})\]$")
MAX_TEXT, MAX_CODE = 500, 64  # descriptions; ids and codes (as the native API allows)
TENDERS = (("cash_amount", "cash"), ("visa_amount", "card"), ("customer_amount", "store_credit"))


@dataclass(frozen=True)
class Field:
    """One form field: its wire name (an item array without ``[]``), its type, its rule
    (``required``: present and not blank; ``present``: present, may be empty; ``optional``) and
    the command field it fills (docs/doors/vodo.md, "How the form maps onto the command")."""

    name: str
    type: str
    rule: str
    fills: str


LINE_FIELDS = (  # one value per line, in parallel arrays
    Field("item_id", "code", "present", "lines[i].product (empty: a free amount)"),
    Field("item_price", "price", "present", "lines[i].unit_price, or the discounted amount"),
    Field("item_qty", "quantity", "required", "lines[i].quantity"),
    Field("item_discount", "discount", "present", "lines[i].amount (domain.discounts)"),
    Field("item_desc", "text", "present", "lines[i].description"),
    Field("employee_id", "code", "present", "metadata.employee_id"),
)
FORM_FIELDS = (
    Field("description", "text", "present", "reason"),
    Field("discount_type", "discount_type", "present", "the kind of every item_discount"),
    Field("pos_session_id", "code", "required", "pos_session"),
    Field("pos_id", "code", "required", "pos"),
    *(Field(name, "amount", "optional", f"payments: {method}") for name, method in TENDERS),
)
ARRAYS = tuple(f.name for f in LINE_FIELDS)
SCALARS = tuple(f.name for f in FORM_FIELDS)
DISCOUNT_TYPES = {"0": discounts.PERCENTAGE, "1": discounts.FIXED}


@dataclass
class Layout:
    """How the command's lines and payments map back onto Vodo's fields (for error names)."""

    discounted: list[bool] = field(default_factory=list)
    tenders: list[str] = field(default_factory=list)  # payment index -> its Vodo field


@dataclass
class Form:
    arrays: dict[str, list[str]]
    scalars: dict[str, str]
    echo: dict  # the request as received (R20): no secrets here, they travel in headers


def collect(items: list[tuple[str, object]]) -> Form:
    """Group the form's fields: ``name[]`` repeated (or ``name[0]``, ``name[1]``, ... as PHP
    clients send them) into arrays in order, and the scalars; anything else is refused."""
    bad: list[Violation] = []
    listed: dict[str, list[str]] = {}
    indexed: dict[str, dict[int, str]] = {}
    scalars: dict[str, list[str]] = {}
    for key, value in items:
        match = _ARRAY_KEY.match(key) if isinstance(key, str) else None
        if not isinstance(value, str):
            bad.append(_violation(key if isinstance(key, str) else "?", "{field_name} must be text, not a file"))
        elif "\x00" in key or "\x00" in value:  # PostgreSQL text cannot hold it
            label = key.replace("\x00", "")[:100] or "?"
            bad.append(_violation(label, "{field_name} must not contain the NUL character"))
        elif match and match[1] in ARRAYS and match[2] == "":
            listed.setdefault(match[1], []).append(value)
        elif match and match[1] in ARRAYS:
            slots = indexed.setdefault(match[1], {})
            if int(match[2]) in slots:
                bad.append(_violation(key, "{field_name} is given twice"))
            slots[int(match[2])] = value
        elif key in SCALARS:
            scalars.setdefault(key, []).append(value)
        else:
            bad.append(_violation(key[:100], "unknown field {field_name}; it is not part of this request"))
    arrays = {name: _array(name, listed, indexed, bad) for name in ARRAYS if name in listed or name in indexed}
    bad += [_violation(name, "{field_name} must be given once") for name, values in scalars.items() if len(values) > 1]
    if bad:
        raise Invalid(bad)
    single = {name: values[0] for name, values in scalars.items()}
    return Form(arrays, single, {**{f"{name}[]": values for name, values in arrays.items()}, **single})


def _array(name: str, listed: dict, indexed: dict, bad: list[Violation]) -> list[str]:
    if name in listed and name in indexed:
        bad.append(_violation(f"{name}[]", "{field_name} mixes name[] and name[n] keys; use one form"))
    if name in listed:
        return listed[name]
    slots = indexed[name]
    if sorted(slots) != list(range(len(slots))):
        bad.append(_violation(f"{name}[]", "the indexes of {field_name} must run 0, 1, 2, ... without gaps"))
    return [slots[i] for i in sorted(slots)]


def _violation(label: str, template: str, **params) -> Violation:
    return Violation(label, "validation_error", template, {"field_name": label, **params})


# -- the command ----------------------------------------------------------------------------------



def _bad(label: str, template: str, **params) -> Invalid:
    return Invalid(_violation(label, template, **params))


def _parse(f: Field, text: str, label: str, cur: money.Currency, discount_kind: str | None):
    """One value by its field's type and rule: None when empty; ``Invalid`` naming ``label``."""
    text = text.strip()
    limit = MAX_TEXT if f.type == "text" else MAX_CODE
    if len(text) > limit:
        raise _bad(label, "{field_name} has more than {max} characters", max=limit)
    if f.type == "discount_type":
        if text not in DISCOUNT_TYPES:
            raise _bad(label, "discount_type must be 0 (item_discount is a percentage) or 1 (a fixed amount)")
        return DISCOUNT_TYPES[text]
    if not text and f.rule == "required":
        raise _bad(label, "{field_name} is required")
    return _READERS[f.type](text, label, cur, discount_kind) if text else None


def _amount(text: str, label: str, cur: money.Currency) -> int:
    value = money.parse_amount(text, label, cur)
    if value < 0:
        raise _bad(label, "{field_name} must not be negative")
    return value


_READERS = {  # a field's type -> how its text (not empty) is read: (text, label, currency, discount kind)
    "text": lambda text, label, cur, kind: text,
    "code": lambda text, label, cur, kind: text,
    "quantity": lambda text, label, cur, kind: money.parse_quantity(text, label),
    "price": lambda text, label, cur, kind: money.parse_price(text, label),
    "amount": lambda text, label, cur, kind: _amount(text, label, cur),
    "discount": lambda text, label, cur, kind: money.parse_rate(text, label) if kind == discounts.PERCENTAGE
    else _amount(text, label, cur),  # a percentage, or a fixed amount
}


def _values(form: Form, cur: money.Currency) -> tuple[dict, list[dict], list[Violation]]:
    """The form by its table: the scalars, one dict per line, and every violation."""
    missing = [_bad(f"{f.name}[]", "{field_name} is required") for f in LINE_FIELDS if f.name not in form.arrays]
    missing += [_bad(f.name, "{field_name} is required") for f in FORM_FIELDS
                if f.rule != "optional" and f.name not in form.scalars]
    count = len(form.arrays.get("item_id", ()))
    missing += [_bad(f"{name}[]", "{field_name} has {count} values but item_id[] has {expected}: the item arrays "
                     "are parallel and must have the same length", count=len(values), expected=count)
                for name, values in form.arrays.items() if "item_id" in form.arrays and len(values) != count]
    if missing:
        raise Invalid([v for error in missing for v in error.violations])
    bad: list[Violation] = []

    def value(f: Field, text: str, label: str, discount_kind=None):
        try:
            return _parse(f, text, label, cur, discount_kind)
        except Invalid as error:
            bad.extend(error.violations)

    scalars = {f.name: value(f, form.scalars.get(f.name, ""), f.name) for f in FORM_FIELDS}
    lines = [{f.name: value(f, form.arrays[f.name][i], f"{f.name}[{i}]", scalars["discount_type"])
              for f in LINE_FIELDS} for i in range(count)]
    return scalars, lines, bad


def command(form: Form, invoice_id: str, settings: dict, cur: money.Currency) -> tuple[IssueRefund, Layout]:
    scalars, lines, bad = _values(form, cur)
    failed = {v.field for v in bad}
    layout = Layout(discounted=[bool(line["item_discount"]) for line in lines])
    for i, line in enumerate(lines):
        label = f"item_price[{i}]"
        if line["item_price"] is None and label not in failed and (line["item_id"] is None or layout.discounted[i]):
            bad.extend(_bad(label, "{field_name} is required on a line without item_id or with a discount").violations)
    if bad:
        raise Invalid(bad)
    vat_rate = money.parse_rate(settings.get("vat_rate", DEFAULT_VAT_RATE), "vat_rate")
    tenders = [(name, method, scalars[name]) for name, method in TENDERS if scalars[name] is not None]
    layout.tenders = [name for name, _, amount in tenders if amount > 0]  # "0": nothing by this tender
    employees = form.arrays["employee_id"]
    return IssueRefund(
        lines=tuple(_line(line, scalars["discount_type"], vat_rate, cur) for line in lines), invoice=invoice_id,
        reason=scalars["description"], pos=scalars["pos_id"], pos_session=scalars["pos_session_id"],
        payments=tuple(PaymentRequest(method, amount) for _, method, amount in tenders if amount > 0)
        if tenders else None,
        metadata={"employee_id": employees} if any(e.strip() for e in employees) else {}), layout


def _line(line: dict, discount_type: str, vat_rate: int, cur: money.Currency) -> RefundLineRequest:
    product, quantity, description = line["item_id"], line["item_qty"], line["item_desc"]
    if product is not None and not line["item_discount"]:
        # an invoice line (by product code) at item_price, tax included: the engine refuses a
        # price above the original and a quantity beyond what remains
        return RefundLineRequest(product=product, quantity=quantity, unit_price=line["item_price"],
                                 description=description)
    amount = discounts.discounted_amount(quantity, line["item_price"], line["item_discount"], discount_type, cur)
    if product is not None:  # discounted units: their tax-inclusive amount, capped by what they sold for
        return RefundLineRequest(product=product, quantity=quantity, amount_minor=amount, description=description)
    # a free amount at the tenant's VAT rate, capped by what remains refundable on the invoice
    return RefundLineRequest(amount_minor=amount, tax_rate=vat_rate, description=description)


