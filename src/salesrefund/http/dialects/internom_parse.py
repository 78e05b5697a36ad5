"""Internom's body as exact values (``parse``) and its identifiers mapped onto ours (``resolve``):
the parsing half of the Internom door (``internom.py``), door field names in every error."""

from __future__ import annotations

from dataclasses import dataclass

from ...domain import money
from ...domain.commands import IssueRefund, RefundLineRequest
from ...domain.errors import Invalid, RefundError, Violation
from ...service.lookups import Lookups
from . import common

MAX_TEXT = 100  # reference, reference_id, customer_id, branch_name, product ids
MAX_LINES = 1000


# -- parsing: the wire format into exact values, door field names in every error --------------------

@dataclass(frozen=True)
class OrderLine:
    product: str  # barcode / ACS code as sent
    quantity: int  # 1/10,000 units
    price_unit: int  # 1/10,000 currency units


@dataclass(frozen=True)
class InternomRefund:
    branch_name: str
    reference: str
    reference_id: str
    customer_id: str  # the customer's tax number
    lines: tuple[OrderLine, ...]
    product_fields: tuple[str, ...]  # "product_id" or "acs_id", as each line named its product


def parse(body: dict) -> InternomRefund:
    """The body as exact values, or ``Invalid`` naming every bad field. Unknown fields are
    ignored, as Internom's Odoo controller ignores them."""
    bad: list[Violation] = []
    texts = {name: common.text_field(body, name, bad, limit=MAX_TEXT) for name in ("branch_name", "reference", "reference_id", "customer_id")}
    lines: list[OrderLine] = []
    fields: list[str] = []
    order_line = body.get("order_line")
    if order_line is None:
        bad.append(_bad("order_line", "{field_name} is required"))
    elif not isinstance(order_line, list) or not order_line:
        bad.append(_bad("order_line", "{field_name} must be a non-empty list of order lines"))
    elif len(order_line) > MAX_LINES:
        bad.append(_bad("order_line", "{field_name} has more than {max} lines", max=MAX_LINES))
    else:
        for i, item in enumerate(order_line):
            at = f"order_line[{i}]"
            if not isinstance(item, dict):
                bad.append(_bad(at, "{field_name} must be an object"))
                fields.append("product_id")
                continue
            field, product = _product(item, at, bad)
            fields.append(field)
            quantity = _number(money.parse_quantity, item, f"{at}.quantity", bad)
            price = _number(money.parse_price, item, f"{at}.price_unit", bad)
            if quantity is not None and quantity <= 0:
                bad.append(_bad(f"{at}.quantity", "{field_name} must be greater than zero"))
            if price is not None and price < 0:
                bad.append(_bad(f"{at}.price_unit", "{field_name} must not be negative"))
            if product is not None and quantity is not None and price is not None:
                lines.append(OrderLine(product, quantity, price))
    if bad:
        raise Invalid(bad)
    return InternomRefund(lines=tuple(lines), product_fields=tuple(fields), **texts)


def _product(item: dict, at: str, bad: list[Violation]) -> tuple[str, str | None]:
    """The line's product identifier: ``product_id`` (the document's example) or ``acs_id`` (its
    table); both may be sent only when they agree."""
    given = [name for name in ("product_id", "acs_id") if item.get(name) is not None]
    if not given:
        bad.append(_bad(f"{at}.product_id", "{field_name} is required (or acs_id)"))
        return "product_id", None
    values = [common.text_field(item, name, bad, limit=MAX_TEXT, at=f"{at}.{name}") for name in given]
    if None in values:
        return given[values.index(None)], None
    if len(set(values)) > 1:
        bad.append(_bad(f"{at}.acs_id", "{field_name} names another product than product_id; send one of them"))
        return "acs_id", None
    return given[0], values[0]


def _number(parse_, item: dict, at: str, bad: list[Violation]) -> int | None:
    value = item.get(at.rsplit(".", 1)[-1])
    if value is None:
        bad.append(_bad(at, "{field_name} is required"))
        return None
    try:
        return parse_(value, at)
    except Invalid as error:
        bad.extend(error.violations)
        return None


_bad = common.bad


# -- mapping identifiers and building the command ------------------------------------------------------

def resolve(engine, tenant_id: int, parsed: InternomRefund) -> IssueRefund:
    """Map the tax number, barcodes and branch onto our codes (read-only, tenant-scoped) and build
    the command; unknown ones are ``*_not_found`` naming Internom's field (404)."""
    missing: list[Violation] = []
    with Lookups(engine, tenant_id) as find:
        customer = find.customer_code_by_tax_number(parsed.customer_id)
        if customer is None:
            missing.append(Violation("customer_id", "customer_not_found",
                                     "there is no customer with tax number {tax_number}",
                                     {"tax_number": parsed.customer_id}))
        if not find.location_exists(parsed.branch_name):
            missing.append(Violation("branch_name", "location_not_found", "location {location} does not exist",
                                     {"location": parsed.branch_name}))
        products = []
        for i, line in enumerate(parsed.lines):
            code = find.product_code(line.product)
            products.append(code)
            if code is None:
                missing.append(Violation(f"order_line[{i}].{parsed.product_fields[i]}", "product_not_found",
                                         "there is no product with barcode {barcode}", {"barcode": line.product}))
    if missing:
        raise RefundError(missing)
    return IssueRefund(
        lines=tuple(RefundLineRequest(product=code, quantity=line.quantity, unit_price=line.price_unit)
                    for code, line in zip(products, parsed.lines)),
        customer=customer, location=parsed.branch_name, reference=parsed.reference,
        metadata={"reference_id": parsed.reference_id, "customer_tax_number": parsed.customer_id,
                  "barcodes": [line.product for line in parsed.lines]})
