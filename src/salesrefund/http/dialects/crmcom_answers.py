"""The CRM.COM door's answers (``crmcom.py``): a payout or an error in CRM.COM's envelope
``{"status": {"code", "message", "description"}, "data"}``. Money is written as JSON numbers with
exactly the currency's decimals (``120.00``), never through a binary float. Messages are English.
And ``accounts_receivable.id``, this door's id of an account, both ways."""

from __future__ import annotations

import hashlib
import hmac
import re

from ...domain.errors import RefundError, Violation
from ...domain.payouts import Ref
from ...service.idempotency import Response
from ...domain import money
from ...service.payouts import PayoutResult
from ...service.results import iso
from ..problems import loads_exact
from . import common
from .common import JsonNumber, dumps
from .crmcom_params import MISSING, UDF_FLOATS, UDFS

JSON = "application/json"
LANGUAGE = "en"
LIFE_CYCLE = {"draft": "DRAFT", "posted": "POSTED", "voided": "CANCELLED"}
LOGIN_FIELD = "username"
CODES = {"unauthorized": "INVALID_TOKEN", "forbidden": "FORBIDDEN", "not_found": "NOT_FOUND",
         "server_error": "INTERNAL_SERVER_ERROR"}
# The command's JSON pointers -> this door's parameter names (errors name the door's fields).
FIELDS = {
    "/customer": "accounts_receivable_identifier", "/type": "type_identifier",
    "/method": "refund_method_identifier", "/category": "category_identifier",
    "/payment_preference": "accounts_receivable_payment_preference_identifier",
    "/amount": "refund_amount", "/currency": "intended_currency_identifier", "/posting_date": "posted_on",
    "/document_date": "issue_on", "/reason": "issue_reason", "/reference": "back_office_code",
    "/notes": "notes", "/state": "life_cycle_state", "/id": "refund_identifier",
}


class CrmResponder:
    """Renders a payout of the tenant, or an error, in CRM.COM's envelope; stored for replays (R17)."""

    def __init__(self, tenant_id: int):
        self.tenant_id = tenant_id

    def success(self, payout: PayoutResult, status: int, reads=None) -> Response:
        return Response(status, JSON, dumps(envelope(render(payout, self.tenant_id))))

    def failure(self, error: RefundError) -> Response:
        return failure(error)


def render(payout: PayoutResult, tenant_id: int) -> dict:
    """A payout (``service.payouts.PayoutResult``) of the tenant as CRM.COM names a refund's fields."""
    refund, account = payout.refund, payout.account
    meta = refund.metadata or {}
    number = account.get("code")
    state = "REJECTED" if payout.rejected else LIFE_CYCLE.get(refund.state, refund.state.upper())
    data = {
        "id": refund.id,
        "number": refund.number,
        "life_cycle_state": state,
        "refund_amount": JsonNumber(money.format_amount(refund.total_minor, refund.currency)),
        "currency": {"id": refund.currency.code, "code": refund.currency.code},
        "accounts_receivable": {"id": account_id(tenant_id, number) if number is not None else None,
                                "number": number, "name": account.get("name")},
        "type": _named(meta.get("type")),
        "refund_method": _named(meta.get("method")),
        "category": _named(meta.get("category")),
        "accounts_receivable_payment_preference": _named(meta.get("payment_preference")),
        "notes": meta.get("notes"),
        "back_office_code": refund.reference,
        "issued_on": iso(refund.document_date),
        "issue_reason": refund.reason,
        "posted_on": iso(refund.posting_date),
    }
    for name in UDFS:
        value = meta.get(name)
        data[name] = JsonNumber(value) if name in UDF_FLOATS and value is not None else value
    data["created_date"] = iso(refund.created_at)
    data["posted_date"] = iso(refund.posted_at)
    return data


def _named(item: dict | None) -> dict | None:
    if item is None:
        return None
    return {"id": item.get("id"), "name": item.get("name"), "alternative_code": item.get("alternative_code")}


def envelope(data, code: str = "OK", message: str = "", description: str = "") -> dict:
    """CRM.COM's envelope; a success has ``code`` OK and empty ``message`` and ``description``,
    as the seed document prints it."""
    return {"status": {"code": code, "message": message, "description": description}, "data": data}


def error_code(error: RefundError) -> str:
    """CRM.COM-style codes: MISSING_PARAMETER / INVALID_PARAMETER for malformed requests,
    AUTHENTICATION_FAILED (401, the login), INVALID_TOKEN (401), FORBIDDEN (403), NOT_FOUND (404),
    else our stable code upper-cased (AMOUNT_EXCEEDS_BALANCE, PERIOD_CLOSED, IDEMPOTENCY_KEY_REUSED, ...)."""
    first = error.first
    if first.code == "validation_error":
        return "MISSING_PARAMETER" if first.message == MISSING else "INVALID_PARAMETER"
    if first.code == "unauthorized" and first.field == LOGIN_FIELD:
        return "AUTHENTICATION_FAILED"
    return CODES.get(first.code, first.code.upper())


def door_field(pointer: str) -> str:
    """A command pointer (``/amount``) as this door's parameter (``refund_amount``); the door's own
    parameter names (no leading ``/``) pass through, so an unknown parameter ``id`` is named ``id``,
    never the ``refund_identifier`` the command's ``/id`` stands for."""
    if not pointer.startswith("/"):
        return pointer
    if pointer in FIELDS:
        return FIELDS[pointer]
    return pointer.lstrip("/").replace("/", ".")


def failure(error: RefundError) -> Response:
    first = error.first
    status = 500 if first.code == "server_error" else error.status
    parts = []
    for violation in error.violations:
        field = door_field(violation.field)
        message = common.text(violation, LANGUAGE)
        parts.append(f"{field}: {message}" if field else message)
    body = envelope(None, error_code(error), common.text(first, LANGUAGE), "; ".join(parts))
    return Response(status, JSON, dumps(body))


def ok(data) -> Response:
    return Response(200, JSON, dumps(envelope(data)))


def limited(response: Response, fields_set: tuple[str, ...] | None) -> Response:
    """The response with ``data`` (a refund, or a list of them) limited to ``fields_set`` (the
    stored response is complete, so a replay asking for other fields gets them)."""
    if not fields_set:
        return response
    body = loads_exact(response.body)
    pick = lambda item: {name: value for name, value in item.items() if name in fields_set}  # noqa: E731
    if isinstance(body.get("data"), dict):
        body["data"] = pick(body["data"])
    elif isinstance(body.get("data"), list):
        body["data"] = [pick(item) if isinstance(item, dict) else item for item in body["data"]]
    else:
        return response
    return Response(response.status, response.content_type, dumps(body), replayed=response.replayed)


# -- accounts_receivable.id ------------------------------------------------------------------------------

_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


def account_id(tenant_id: int, number: str) -> str:
    """This door's id of an account (``accounts_receivable.id``): the account number (our customer
    code) in upper-case hex, then 8 hex digits of SHA-256 over the tenant and the number.
    ``ACR0000001`` -> ``41435230303030303031`` + tag. It is the tenant's own: it counts nothing
    across tenants (a global row id did: a tenant saw how many accounts others opened), it stays
    the same for good, and the same number in another tenant has another id (decisions.md)."""
    return number.encode().hex().upper() + _tag(tenant_id, number)


def account_number(tenant_id: int, value: str) -> str | None:
    """The account number an ``accounts_receivable.id`` of this tenant stands for, or None (not
    such an id, or another tenant's)."""
    body, tag = value[:-8], value[-8:]
    if not body or not _HEX.match(body) or not _HEX.match(tag):
        return None
    try:
        number = bytes.fromhex(body).decode()
    except ValueError:
        return None
    return number if hmac.compare_digest(_tag(tenant_id, number), tag.upper()) else None


def by_account_number(ref: Ref | None, tenant_id: int) -> Ref | None:
    """A reference to an account by ``id`` as the account number it stands for; an id that is not
    this tenant's answers ``customer_not_found``, as an unknown number does."""
    if ref is None or ref.field != "id":
        return ref
    number = account_number(tenant_id, ref.value)
    if number is None:
        raise RefundError(Violation("/customer", "customer_not_found", "there is no customer account {value}",
                                    {"value": ref.value}))
    return Ref("code", number)


def _tag(tenant_id: int, number: str) -> str:
    return hashlib.sha256(f"crmcom-account:{tenant_id}:{number}".encode()).hexdigest()[:8].upper()
