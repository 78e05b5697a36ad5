"""The BeansBooks door's parameters (``beansbooks.py``): the credential's BeansBooks configuration
(its taxes and accounts) and the parsing of a refund body into exact values, every malformed field
named with BeansBooks' own name (``lines[0].amount``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from ...domain import money
from ...domain.errors import Invalid, Violation
from . import common

JSON = "application/json"
MAX_LINES = 1000
MAX_DESCRIPTION = 128  # BeansBooks' own limit on a line description
MAX_NUMBER = 16  # BeansBooks' limit on sale_number, order_number, po_number, quote_number
SENT = ("email", "phone", "both", "print")

# -- the credential's BeansBooks configuration --------------------------------------------------------

class ConfigError(ValueError):
    """The door credential's settings are not usable (BeansBooks' ``config_error``)."""


@dataclass(frozen=True)
class Tax:
    id: int
    code: str
    name: str
    rate: int  # 1/10,000 percent (8.25 % -> 82_500)


@dataclass(frozen=True)
class Config:
    taxes: dict[int, Tax]
    receivable_account_id: int | None
    income_account_id: int | None

    @classmethod
    def of(cls, settings: dict) -> "Config":
        """``{"taxes": {"1": "8.25" | {"percent": "8.25", "name": ..., "code": ...}},
        "receivable_account_id": 1, "income_account_id": ...}``."""
        taxes = {}
        for key, value in (settings.get("taxes") or {}).items():
            spec = value if isinstance(value, dict) else {"percent": value}
            try:
                tax_id = int(key)
                rate = money.parse_rate(spec.get("percent"), "percent")
            except (ValueError, Invalid):
                raise ConfigError(f"tax {key!r} has no valid percent")
            taxes[tax_id] = Tax(tax_id, str(spec.get("code") or f"tax{tax_id}"), str(spec.get("name") or f"Tax {tax_id}"),
                                rate)
        return cls(taxes, settings.get("receivable_account_id"), settings.get("income_account_id"))


# -- parsing: the wire format into exact values, BeansBooks' field names in every error -------------

@dataclass(frozen=True)
class BeansLine:
    description: str
    amount: int  # |amount| per unit, 1/10,000 currency units (the request sends it negative)
    quantity: int  # 1/10,000 units (a whole number)
    account_id: int | None = None
    tax_exempt: bool = False


@dataclass(frozen=True)
class BeansRefund:
    sale_id: int
    date_created: date
    lines: tuple[BeansLine, ...]
    tax_ids: tuple[int, ...] = ()
    tax_exempt: bool = False
    extra: dict = field(default_factory=dict)  # the optional BeansBooks fields, kept in metadata


OPTIONAL_TEXT = ("sale_number", "order_number", "po_number", "quote_number")
OPTIONAL_IDS = ("account_id", "billing_address_id", "shipping_address_id")
OPTIONAL_DATES = ("date_billed", "date_due")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse(body: dict, config: Config) -> BeansRefund:
    """The body as exact values, or ``Invalid`` naming every bad field (BeansBooks' names).
    Fields BeansBooks does not know are ignored, as BeansBooks ignores them."""
    bad: list[Violation] = []
    sale_id = _integer(body, "id", bad, required=True)
    date_created = _date(body, "date_created", bad, required=True)
    extra: dict = {}
    for name in OPTIONAL_TEXT:
        value = common.text_field(body, name, bad, required=False, limit=MAX_NUMBER)
        if value is not None:
            extra[name] = value
    for name in OPTIONAL_IDS:
        value = _integer(body, name, bad, required=False)
        if value is not None:
            extra[name] = value
    for name in OPTIONAL_DATES:
        value = _date(body, name, bad, required=False)
        if value is not None:
            extra[name] = value.isoformat()
    sent = common.text_field(body, "sent", bad, required=False, limit=10)
    if sent is not None and sent not in SENT:
        bad.append(_bad("sent", "{field_name} must be one of {choices}", choices=", ".join(SENT)))
    elif sent is not None:
        extra["sent"] = sent
    tax_exempt = _boolean(body, "tax_exempt", bad)
    reason = common.text_field(body, "tax_exempt_reason", bad, required=False, limit=500)
    if tax_exempt:
        extra["tax_exempt"] = True
        if reason is not None:
            extra["tax_exempt_reason"] = reason
    tax_ids = _taxes(body, config, bad)
    lines = _lines(body, bad)
    if bad:
        raise Invalid(bad)
    return BeansRefund(sale_id=sale_id, date_created=date_created, lines=lines, tax_ids=tax_ids,
                       tax_exempt=tax_exempt, extra=extra)


def _lines(body: dict, bad: list[Violation]) -> tuple[BeansLine, ...]:
    items = body.get("lines")
    if items is None:
        bad.append(_bad("lines", "{field_name} is required"))
        return ()
    if not isinstance(items, list) or not items:
        bad.append(_bad("lines", "{field_name} must be a non-empty list of lines"))
        return ()
    if len(items) > MAX_LINES:
        bad.append(_bad("lines", "{field_name} has more than {max} lines", max=MAX_LINES))
        return ()
    lines = []
    for i, item in enumerate(items):
        at = f"lines[{i}]"
        if not isinstance(item, dict):
            bad.append(_bad(at, "{field_name} must be an object"))
            continue
        before = len(bad)
        description = common.text_field(item, "description", bad, required=True, limit=MAX_DESCRIPTION, at=f"{at}.description")
        amount = None
        if item.get("amount") is None:
            bad.append(_bad(f"{at}.amount", "{field_name} is required"))
        else:
            try:
                amount = money.parse_price(item["amount"], f"{at}.amount")
            except Invalid as error:
                bad.extend(error.violations)
            else:
                if amount >= 0:
                    bad.append(_bad(f"{at}.amount", "{field_name} must be negative: a refund line gives money back"))
        quantity = _integer(item, "quantity", bad, required=True, at=f"{at}.quantity")
        account_id = _integer(item, "account_id", bad, required=False, at=f"{at}.account_id")
        exempt = _boolean(item, "tax_exempt", bad, at=f"{at}.tax_exempt")
        if len(bad) == before:
            lines.append(BeansLine(description, -amount, quantity * money.QUANTITY_SCALE, account_id, exempt))
    return tuple(lines)


def _taxes(body: dict, config: Config, bad: list[Violation]) -> tuple[int, ...]:
    items = body.get("taxes")
    if items is None:
        return ()
    if not isinstance(items, list):
        bad.append(_bad("taxes", "{field_name} must be a list"))
        return ()
    ids: list[int] = []
    for i, item in enumerate(items):
        at = f"taxes[{i}]"
        if not isinstance(item, dict):
            bad.append(_bad(at, "{field_name} must be an object"))
            continue
        tax_id = _integer(item, "tax_id", bad, required=True, at=f"{at}.tax_id")
        if tax_id is None:
            continue
        if tax_id not in config.taxes:
            bad.append(Violation(f"{at}.tax_id", "tax_not_found", "there is no tax {tax_id}", {"tax_id": tax_id}))
        elif tax_id not in ids:  # BeansBooks applies a tax named twice once
            ids.append(tax_id)
    return tuple(ids)


def _integer(body: dict, name: str, bad: list[Violation], *, required: bool, at: str | None = None) -> int | None:
    at = at or name
    value = body.get(name)
    if value is None:
        if required:
            bad.append(_bad(at, "{field_name} is required"))
    elif not is_int(value):
        bad.append(_bad(at, "{field_name} must be an integer"))
    elif not 0 < value < 10**13:
        bad.append(_bad(at, "{field_name} must be greater than zero"))
    else:
        return value
    return None


def _date(body: dict, name: str, bad: list[Violation], *, required: bool) -> date | None:
    value = body.get(name)
    if value is None:
        if required:
            bad.append(_bad(name, "{field_name} is required"))
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    bad.append(_bad(name, "{field_name} must be a date in YYYY-MM-DD format"))
    return None


def _boolean(body: dict, name: str, bad: list[Violation], at: str | None = None) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        bad.append(_bad(at or name, "{field_name} must be true or false"))
        return False
    return value


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def user_id(value) -> str | None:
    """``auth_uid`` as the credential's login: a JSON integer ``1`` or the string ``"1"`` (PHP
    clients send the id read from their database as a string); anything else is None."""
    if is_int(value):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return str(int(value))
    return None


def positive_integer(body: dict, name: str) -> int:
    """The required integer ``name`` (> 0), or ``Invalid``."""
    bad: list[Violation] = []
    value = _integer(body, name, bad, required=True)
    if bad:
        raise Invalid(bad)
    return value


_bad = common.bad
