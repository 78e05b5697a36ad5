"""Errors as values with stable codes, in precedence order.

A rejection names the field (a JSON pointer into the request), a stable machine code, and a
message template with its parameters, so every door can render it in its own shape and language.
When one request breaks several rules, the violations are sorted by the precedence below, so the
same bad request always reports the same first error (R18).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Stable codes in precedence order: earlier codes win when several apply.
PRECEDENCE: tuple[str, ...] = (
    "unauthorized",
    "forbidden",
    "rate_limited",
    "validation_error",
    "not_found",
    "invoice_not_found",
    "customer_not_found",
    "customer_ambiguous",
    "product_not_found",
    "location_not_found",
    "payout_type_not_found",
    "category_not_found",
    "payment_preference_not_found",
    "tax_not_found",
    "pos_session_not_found",
    "pos_session_closed",
    "unlinked_refunds_not_allowed",
    "customer_mismatch",
    "currency_mismatch",
    "tax_mismatch",
    "invalid_state",
    "posting_date_in_future",
    "posting_date_before_invoice",
    "period_closed",
    "line_not_found",
    "product_ambiguous",
    "unit_mismatch",
    "tax_rate_not_on_invoice",
    "tax_rate_not_allowed",
    "price_exceeds_original",
    "quantity_exceeds_refundable",
    "amount_exceeds_refundable",
    "amount_exceeds_balance",
    "refund_is_zero",
    "unknown_payment_method",
    "payment_method_not_on_invoice",
    "payment_exceeds_paid",
    "payment_preference_required",
    "payment_preference_mismatch",
    "payments_do_not_match_total",
    "total_mismatch",
    "customer_balance_insufficient",
    "idempotency_key_reused",
    "idempotency_key_in_use",
    "duplicate",
    "service_unavailable",
)

STATUS: dict[str, int] = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "idempotency_key_in_use": 409,
    "rate_limited": 429,
    "service_unavailable": 503,
    "duplicate": 409,
    "payload_too_large": 413,  # answered at the app's edge (http.app), before any route
    "request_timeout": 408,
}

TITLES: dict[str, str] = {
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    "validation_error": "Invalid request",
    "duplicate": "Already exists",
    "idempotency_key_in_use": "Request in progress",
    "rate_limited": "Too many requests",
    "service_unavailable": "Service unavailable",
    "payload_too_large": "Payload too large",
    "request_timeout": "Request timeout",
}


def status_of(code: str) -> int:
    """HTTP status for a code: business-rule rejections are 422 unless listed."""
    return STATUS.get(code, 422)


def rank(code: str) -> int:
    try:
        return PRECEDENCE.index(code)
    except ValueError:
        return len(PRECEDENCE)


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (JSON pointer), what (stable code) and why (English template)."""

    field: str
    code: str
    message: str
    params: dict = field(default_factory=dict, compare=False)

    def text(self) -> str:
        return self.message.format(**self.params)


class RefundError(Exception):
    """A request rejected by a rule. Carries one or more violations, first = most important."""

    def __init__(self, violations: list[Violation] | Violation):
        if isinstance(violations, Violation):
            violations = [violations]
        assert violations, "a RefundError needs at least one violation"
        self.violations = sorted(violations, key=lambda v: rank(v.code))
        super().__init__(self.first.text())

    @property
    def first(self) -> Violation:
        return self.violations[0]

    @property
    def code(self) -> str:
        return self.first.code

    @property
    def status(self) -> int:
        return status_of(self.code)


def reject(code: str, field: str, message: str, /, **params) -> RefundError:
    """Build a single-violation error: ``raise reject("line_not_found", "/lines/0/line", ...)``."""
    return RefundError(Violation(field, code, message, params))


class Invalid(RefundError):
    """Malformed input (422 validation_error): decided before anything is claimed or written."""

    def __init__(self, violations: list[Violation] | Violation):
        super().__init__(violations)
