"""The CRM.COM door's parameters (``crmcom.py``): the wire vocabulary and the parsing of a body or a
query into the ``PayOut`` command and its references, every malformed parameter named with the
door's own name (``Invalid``)."""

from __future__ import annotations

import re
from datetime import date, datetime

from ...domain import money
from ...domain.errors import Invalid, Violation
from ...domain.payouts import PayOut, Ref
from ...service.idempotency import MAX_KEY_LENGTH
from ..problems import loads_exact

CHANNEL = "crmcom"

# Identifier objects: the wire field -> the command's reference field.
ACCOUNT_FIELDS = {"id": "id", "number": "code", "name": "name", "alternative_code": "tax_number"}
CATALOG_FIELDS = {"id": "id", "name": "name", "alternative_code": "alternative_code"}
CURRENCY_FIELDS = {"id": "code", "code": "code"}  # a currency's id is its ISO 4217 code
REFUND_FIELDS = {"id": "id", "number": "number"}
IDENTIFIERS = {
    "accounts_receivable_identifier": ACCOUNT_FIELDS,
    "type_identifier": CATALOG_FIELDS,
    "refund_method_identifier": CATALOG_FIELDS,
    "category_identifier": CATALOG_FIELDS,
    "accounts_receivable_payment_preference_identifier": CATALOG_FIELDS,
    "intended_currency_identifier": CURRENCY_FIELDS,
}
REQUIRED = ("accounts_receivable_identifier", "type_identifier", "life_cycle_state", "refund_amount")
UDF_STRINGS = tuple(f"udf_string_{i}" for i in range(1, 9))
UDF_FLOATS = tuple(f"udf_float_{i}" for i in range(1, 5))
UDF_DATES = tuple(f"udf_date_{i}" for i in range(1, 5))
UDFS = UDF_STRINGS + UDF_FLOATS + UDF_DATES
TEXTS = ("notes", "back_office_code", "issue_reason")
DATES = ("issue_on", "posted_on")
PARAMETERS = frozenset(("token", "life_cycle_state", "refund_amount", "fields_set")
                       + tuple(IDENTIFIERS) + TEXTS + DATES + UDFS)
UPDATE_PARAMETERS = frozenset(("token", "refund_identifier", "fields_set", "life_cycle_state", "refund_amount",
                               "notes", "issue_reason", "issue_on", "posted_on"))
MAX_UDF_STRING = 255
STATES = {"DRAFT": "draft", "POSTED": "posted"}
# The fields of a refund in ``data`` (``fields_set`` picks among them), in this order.
DATA_FIELDS = ("id", "number", "life_cycle_state", "refund_amount", "currency", "accounts_receivable", "type",
               "refund_method", "category", "accounts_receivable_payment_preference", "notes",
               "back_office_code", "issued_on", "issue_reason", "posted_on") + UDFS + (
               "created_date", "posted_date")
MISSING = "{field_name} is mandatory"
LIST_MAX = 200


def violation(name: str, message: str, **params) -> Violation:
    """A violation of this door's parameter ``name`` (its own name, not a command pointer)."""
    return Violation(name, "validation_error", message, params)


def missing(name: str) -> Violation:
    return violation(name, MISSING, field_name=name)


def _invalid(name: str, message: str, **params) -> Invalid:
    return Invalid(violation(name, message, **params))


def unknown(given, known) -> list[Violation]:
    """Every parameter of ``given`` (a body or a query) that is not one of ``known``."""
    return [violation(n, "{field_name} is not a parameter of this method", field_name=n)
            for n in sorted(set(given) - set(known))]


class Collect:
    """Runs parsers, keeping every ``Invalid`` they raise: ``collect(parse, ...)`` is the parsed
    value or None; ``collect.check()`` raises them all at once."""

    def __init__(self, bad: list[Violation] | None = None):
        self.bad = bad if bad is not None else []

    def __call__(self, parse, *args):
        try:
            return parse(*args)
        except Invalid as error:
            self.bad.extend(error.violations)
            return None

    def check(self) -> None:
        if self.bad:
            raise Invalid(self.bad)


# -- refunds/create and refunds/update ----------------------------------------------------------------

def payout_command(body: dict, cur: money.Currency) -> PayOut:
    """The ``PayOut`` a refunds/create body asks for; ``Invalid`` naming every malformed field."""
    attempt = Collect(unknown(body, PARAMETERS) + [missing(n) for n in REQUIRED if body.get(n) is None])
    refs = {name: attempt(_identifier, body, name) for name in IDENTIFIERS}
    state = attempt(_state, body)
    amount = attempt(_amount, body, cur)
    texts = {name: attempt(_text, body, name) for name in TEXTS}
    dates = {name: attempt(_date, body, name) for name in DATES}
    metadata = {name: attempt(_udf, body, name) for name in UDFS}
    code = texts["back_office_code"]
    if code is not None and len(f"{CHANNEL}:back_office_code:{code}") > MAX_KEY_LENGTH:
        attempt.bad.append(violation("back_office_code", "back_office_code is too long"))
    attempt.check()
    currency = refs["intended_currency_identifier"]
    return PayOut(
        customer=refs["accounts_receivable_identifier"], amount_minor=amount, type=refs["type_identifier"],
        method=refs["refund_method_identifier"], category=refs["category_identifier"],
        payment_preference=refs["accounts_receivable_payment_preference_identifier"], state=state,
        currency=currency.value if currency is not None else None, posting_date=dates["posted_on"],
        document_date=dates["issue_on"], reason=texts["issue_reason"], notes=texts["notes"], reference=code,
        metadata=metadata)


def update_changes(body: dict, cur: money.Currency) -> dict:
    """The ``PayOut`` fields a refunds/update body changes; ``Invalid`` naming every malformed field."""
    attempt = Collect(unknown(body, UPDATE_PARAMETERS))
    parsers = {"life_cycle_state": ("state", _state), "refund_amount": ("amount_minor", _amount),
               "notes": ("notes", _text), "issue_reason": ("reason", _text),
               "issue_on": ("document_date", _date), "posted_on": ("posting_date", _date)}
    changes = {target: attempt(parse, body, *((cur,) if parse is _amount else (name,)))
               for name, (target, parse) in parsers.items() if body.get(name) is not None}
    attempt.check()
    return changes


def _state(body: dict, *_):
    value = body.get("life_cycle_state")
    if value is None:
        return None
    if not isinstance(value, str) or value not in STATES:
        raise _invalid("life_cycle_state", "life_cycle_state must be DRAFT or POSTED")
    return STATES[value]


def _amount(body: dict, cur: money.Currency) -> int | None:
    value = body.get("refund_amount")
    return None if value is None else money.parse_amount(value, "/refund_amount", cur)


def _udf(body: dict, name: str):
    """A user-defined field as kept in metadata: a string, a decimal string, an ISO date."""
    if name in UDF_FLOATS:
        value = body.get(name)
        return format(money.to_decimal(value, f"/{name}"), "f") if value is not None else None
    if name in UDF_DATES:
        day = _date(body, name)
        return day.isoformat() if day is not None else None
    value = _text(body, name)
    if value is not None and len(value) > MAX_UDF_STRING:
        raise _invalid(name, "{field_name} has at most {limit} characters", field_name=name, limit=MAX_UDF_STRING)
    return value


def _identifier(body: dict, name: str) -> Ref | None:
    """An identifier object naming exactly one of its allowed fields: ``{"number": "ACR0000001"}``."""
    value = body.get(name)
    if value is None:
        return None
    allowed = IDENTIFIERS[name]
    names = ", ".join(allowed)
    if not isinstance(value, dict):
        raise _invalid(name, "{field_name} must be an object naming one of {names}", field_name=name, names=names)
    unknown_keys = [key for key in value if key not in allowed]
    if unknown_keys:
        raise _invalid(name, "{field_name} has no field {field}; use one of {names}", field_name=name,
                       field=unknown_keys[0], names=names)
    given = {key: v for key, v in value.items() if v is not None}
    if len(given) != 1:
        raise _invalid(name, "{field_name} must name exactly one of {names} (it names {count})",
                       field_name=name, names=names, count=len(given))
    (key, v), = given.items()
    if isinstance(v, int) and not isinstance(v, bool) and key == "id":
        v = str(v)
    if not isinstance(v, str) or not v.strip() or len(v) > 200:
        raise _invalid(name, "{field_name}.{key} must be a non-empty string", field_name=name, key=key)
    return Ref(allowed[key], v)


def _text(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(name, "{field_name} must be a string", field_name=name)
    return value


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$")


def _date(body: dict, name: str) -> date | None:
    """A date ``YYYY-MM-DD`` (a date-time ``YYYY-MM-DDTHH:MM[:SS]`` keeps its date)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
        except ValueError:
            pass
    raise _invalid(name, "{field_name} must be a date such as 2026-06-15", field_name=name)


def fields_set(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("fields_set", "fields_set must be a comma-separated list of field names")
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown_names = [name for name in names if name not in DATA_FIELDS]
    if unknown_names:
        raise _invalid("fields_set", "fields_set names an unknown field {field}", field=unknown_names[0])
    return names or None


# -- identifiers in a query, or refund_identifier in a body ----------------------------------------------

def _query_value(value, name: str) -> str:
    if value is None or not value.strip():
        raise Invalid(missing(name))
    if "\x00" in value:  # %00 in the query: PostgreSQL text cannot hold it
        raise _invalid(name, "{field_name} must not contain the NUL character", field_name=name)
    return value.strip()


def _json_pair(value: str, keys, types) -> tuple[str, str] | None:
    """``{"<key>": <value>}`` with one of ``keys`` and a value of ``types``, or None."""
    try:
        data = loads_exact(value)
    except ValueError:
        return None
    if isinstance(data, dict) and len(data) == 1:
        (key, v), = data.items()
        if key in keys and isinstance(v, types) and not isinstance(v, bool):
            return key, str(v)
    return None


def refund_identifier(value) -> Ref:
    """``id=<id>``, ``number=<number>``, a JSON object ``{"id": ...}``, or a bare id or number."""
    name, value = "refund_identifier", _query_value(value, "refund_identifier")
    if value.startswith("{"):
        pair = _json_pair(value, REFUND_FIELDS, str)
        if pair is None:
            raise _invalid(name, "refund_identifier must name exactly one of id, number")
        return Ref(*pair)
    key, sep, v = value.partition("=")
    if sep:
        if key not in REFUND_FIELDS or not v:
            raise _invalid(name, "refund_identifier must be id=<id> or number=<number>")
        return Ref(key, v)
    return Ref("number" if re.match(r"^[A-Z]{2}-\d{4}-\d+$", value) else "id", value)


def body_identifier(body: dict) -> Ref:
    """``refund_identifier`` of refunds/update and refunds/reject: ``{"id": ...}``, ``{"number": ...}``
    or the query forms of ``refund_identifier``."""
    value = body.get("refund_identifier")
    if value is None:
        raise Invalid(missing("refund_identifier"))
    if isinstance(value, str):
        return refund_identifier(value)
    given = {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else {}
    if len(given) == 1:
        (key, v), = given.items()
        if key in REFUND_FIELDS and isinstance(v, str) and v.strip() and "\x00" not in v:
            return Ref(key, v)
    raise _invalid("refund_identifier", "refund_identifier must name exactly one of id, number")


def account_identifier(value) -> Ref:
    """refunds/list's ``accounts_receivable_identifier``: ``number=<number>`` (or another account
    field), a JSON object ``{"number": ...}``, or a bare account number."""
    name, value = "accounts_receivable_identifier", _query_value(value, "accounts_receivable_identifier")
    names = ", ".join(ACCOUNT_FIELDS)
    if value.startswith("{"):
        pair = _json_pair(value, ACCOUNT_FIELDS, (str, int))
        if pair is None:
            raise _invalid(name, "{field_name} must name exactly one of {names}", field_name=name, names=names)
        return Ref(ACCOUNT_FIELDS[pair[0]], pair[1])
    key, sep, v = value.partition("=")
    if sep:
        if key not in ACCOUNT_FIELDS or not v:
            raise _invalid(name, "{field_name} must be <field>=<value> with a field of {names}",
                           field_name=name, names=names)
        return Ref(ACCOUNT_FIELDS[key], v)
    return Ref("code", value)


def count(query, name: str, low: int, high: int, default: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise _invalid(name, "{field_name} must be a whole number from {low} to {high}",
                       field_name=name, low=low, high=high)
    return int(value)
