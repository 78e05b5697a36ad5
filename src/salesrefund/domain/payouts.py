"""Payouts: money paid back out of what the business owes a customer (R11; CRM.COM's "refund").

Store credit raises the customer's credit balance (account 2200 Customer credit); a payout lowers
it and may never take it below zero. A payout has no lines, no tax and no stock effect: its one
journal entry is Dr 2200 Customer credit, Cr the paying method's account (cash 1000, card 1010,
bank 1020). The database enforces the cap with one conditional UPDATE of the balance inside the
posting transaction (``TenantStore.adjust_customer_credit``); the planner checks it up front
against the balance it read so the usual rejection names the figures.

The *catalog* holds a tenant's payout configuration (CRM.COM keeps it per organisation): payout
types (each with a default method), payout methods (each paying with one of the tenant's
payment methods, possibly through a payment gateway), categories, and the customers' stored
payment preferences that gateways use. A command names these by reference (``Ref``: which field,
which value); ``plan_payout`` resolves them and applies every rule:

* the method is the named one, else the type's default (CRM.COM: "if not specified then the
  refund method which is specified as the default on the selected refund type is applied");
* a method processed by a payment gateway needs a payment preference, and a given preference must
  belong to the payout's customer;
* the method's payment method must exist and be active for the tenant (R11) and cannot be store
  credit (paying store credit out into store credit would change nothing);
* an intended currency must be the customer's currency (not stored);
* dates follow R13 exactly as refunds do (not in the future, not in a closed period);
* the amount is more than zero and at most the customer's credit balance.

Worked example: a customer owed 500.00 is paid 120.00 in cash: Dr 2200 120.00, Cr 1000 120.00;
the customer is owed 380.00 after it. A payout of 380.01 is then refused
(``amount_exceeds_balance``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from . import money
from .commands import IssueRefund
from .errors import Invalid, RefundError, Violation
from .journal import ROLE_ACCOUNT, Posting, entry
from .model import PaymentMethod, Policy
from .refunds import refund_dates

MAX_REFERENCE = 100  # refunds.reference
MAX_REASON = 500  # refunds.reason
MAX_NOTES = 2000
CUSTOMER_FIELDS = ("id", "code", "name", "tax_number")
CATALOG_FIELDS = ("id", "name", "alternative_code")


@dataclass(frozen=True)
class Ref:
    """A reference to an object by one of its identifying fields: ``Ref("name", "Cash")``."""

    field: str
    value: str


@dataclass(frozen=True)
class PayOut:
    """Pay money out of a customer's credit balance, posted or as a draft."""

    customer: Ref  # field: id | code | name | tax_number
    amount_minor: int
    type: Ref | None = None  # a payout type; its default method applies when no method is named
    method: Ref | None = None
    category: Ref | None = None
    payment_preference: Ref | None = None  # a gateway method's stored payment details
    state: str = "posted"  # "posted" | "draft"
    currency: str | None = None  # the currency the client intends: checked, not stored
    posting_date: date | None = None
    document_date: date | None = None
    reason: str | None = None
    notes: str | None = None
    reference: str | None = None  # the client's own unique code for the payout
    metadata: dict = field(default_factory=dict, compare=False)


# -- the catalog ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PayoutMethod:
    id: str
    name: str
    payment_method: str  # the tenant's payment method it pays with (cash, card, bank, ...)
    gateway: bool = False  # processed by a payment gateway: needs a payment preference
    alternative_code: str | None = None


@dataclass(frozen=True)
class PayoutType:
    id: str
    name: str
    default_method: str | None = None  # a PayoutMethod id
    alternative_code: str | None = None


@dataclass(frozen=True)
class PayoutCategory:
    id: str
    name: str
    alternative_code: str | None = None


@dataclass(frozen=True)
class PaymentPreference:
    id: str
    name: str
    customer: str  # the code of the customer it belongs to
    alternative_code: str | None = None


@dataclass(frozen=True)
class PayoutCatalog:
    types: tuple[PayoutType, ...] = ()
    methods: tuple[PayoutMethod, ...] = ()
    categories: tuple[PayoutCategory, ...] = ()
    preferences: tuple[PaymentPreference, ...] = ()

    @classmethod
    def from_settings(cls, settings: dict) -> "PayoutCatalog":
        """The catalog from configuration (a door credential's settings), e.g.::

            {"types": [{"id": "T1", "name": "Refund", "default_method": "M1"}],
             "methods": [{"id": "M1", "name": "Cash", "payment_method": "cash", "gateway": false}],
             "categories": [{"id": "C1", "name": "General"}],
             "payment_preferences": [{"id": "P1", "name": "Visa 4242", "customer": "ACR0000001"}]}
        """
        def entries(key: str, kind, fields: tuple[str, ...]):
            out = []
            for item in settings.get(key) or ():
                out.append(kind(**{f: item[f] for f in fields if f in item}))
            return tuple(out)

        return cls(
            types=entries("types", PayoutType, ("id", "name", "default_method", "alternative_code")),
            methods=entries("methods", PayoutMethod, ("id", "name", "payment_method", "gateway", "alternative_code")),
            categories=entries("categories", PayoutCategory, ("id", "name", "alternative_code")),
            preferences=entries("payment_preferences", PaymentPreference,
                                ("id", "name", "customer", "alternative_code")))


def find(entries, ref: Ref):
    """The one entry whose ``ref.field`` equals ``ref.value``; None when none or several match."""
    if ref.field not in CATALOG_FIELDS:
        return None
    matches = [e for e in entries if getattr(e, ref.field) is not None and str(getattr(e, ref.field)) == ref.value]
    return matches[0] if len(matches) == 1 else None


# -- snapshots and the plan ----------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    """The customer's account as the planner reads it."""

    code: str
    name: str
    currency: str
    credit_balance_minor: int


@dataclass(frozen=True)
class PayoutPlan:
    amount_minor: int
    method: PayoutMethod
    payment: PaymentMethod  # the tenant's payment method that pays
    type: PayoutType | None
    category: PayoutCategory | None
    preference: PaymentPreference | None
    posting_date: date
    document_date: date


def plan_payout(command: PayOut, *, policy: Policy, account: Account, catalog: PayoutCatalog,
                methods: dict[str, PaymentMethod], today: date) -> PayoutPlan:
    """Decide the payout, or raise ``RefundError`` naming each broken rule (first by precedence)."""
    check_shape(command)
    violations: list[Violation] = []

    def broken(field: str, code: str, message: str, **params) -> None:
        violations.append(Violation(field, code, message, params))

    type_ = method = category = preference = None
    if command.type is not None:
        type_ = find(catalog.types, command.type)
        if type_ is None:
            broken("/type", "payout_type_not_found", "there is no payout type {value}",
                   value=command.type.value)
    if command.category is not None:
        category = find(catalog.categories, command.category)
        if category is None:
            broken("/category", "category_not_found", "there is no category {value}",
                   value=command.category.value)
    if command.payment_preference is not None:
        preference = find(catalog.preferences, command.payment_preference)
        if preference is None:
            broken("/payment_preference", "payment_preference_not_found",
                   "there is no payment preference {value}",
                   value=command.payment_preference.value)
        elif preference.customer != account.code:
            broken("/payment_preference", "payment_preference_mismatch",
                   "payment preference {preference} belongs to another customer account",
                   preference=preference.name)
    if command.method is not None:
        method = find(catalog.methods, command.method)
        if method is None:
            broken("/method", "unknown_payment_method", "there is no payout method {value}",
                   value=command.method.value)
    elif type_ is not None:
        method = find(catalog.methods, Ref("id", type_.default_method)) if type_.default_method else None
        if method is None:
            broken("/method", "unknown_payment_method",
                   "name a payout method: type {type} has no default method", type=type_.name)
    elif command.type is None:
        raise Invalid(Violation("/method", "validation_error", "name a payout method or a payout type"))
    if command.currency is not None and command.currency != account.currency:
        broken("/currency", "currency_mismatch", "the customer's account is in {expected}, not {given}",
               expected=account.currency, given=command.currency)
    posting_date = document_date = today
    try:
        posting_date, document_date = refund_dates(_dated(command), policy=policy, invoice=None, today=today)
    except RefundError as error:
        violations.extend(error.violations)
    payment = None
    if method is not None:
        payment = methods.get(method.payment_method)
        if payment is None or not payment.active:
            broken("/method", "unknown_payment_method",
                   "payout method {method} pays with {payment}, which does not exist or is not active",
                   method=method.name, payment=method.payment_method)
        elif payment.kind == "store_credit":
            broken("/method", "unknown_payment_method",
                   "payout method {method} pays into store credit; a payout pays out of it", method=method.name)
        if method.gateway and command.payment_preference is None:
            broken("/payment_preference", "payment_preference_required",
                   "payout method {method} is processed by a payment gateway: name the customer's "
                   "payment preference", method=method.name)
    cur = policy.currency
    if command.amount_minor > account.credit_balance_minor:
        broken("/amount", "amount_exceeds_balance",
               "the payout ({amount}) exceeds what the business owes customer {customer} ({balance})",
               amount=money.format_amount(command.amount_minor, cur), customer=account.code,
               balance=money.format_amount(account.credit_balance_minor, cur))
    if violations:
        raise RefundError(violations)
    return PayoutPlan(amount_minor=command.amount_minor, method=method, payment=payment, type=type_,
                      category=category, preference=preference, posting_date=posting_date,
                      document_date=document_date)


def payout_entry(plan: PayoutPlan, accounts: dict[str, str] | None = None) -> tuple[Posting, ...]:
    """Dr customer credit (what the business owes falls), Cr the paying method's account."""
    acc = {**ROLE_ACCOUNT, **(accounts or {})}
    return entry([Posting(acc["store_credit"], debit_minor=plan.amount_minor),
                  Posting(plan.payment.account, credit_minor=plan.amount_minor)])


def _dated(command: PayOut) -> IssueRefund:
    """The date fields as the refund date rules read them (R13 is one rule for both)."""
    return IssueRefund(lines=(), posting_date=command.posting_date, document_date=command.document_date)


def check_shape(command: PayOut) -> None:
    """Malformed values (validation_error), refused before anything is read or written."""
    bad: list[Violation] = []

    def invalid(field: str, message: str, **params) -> None:
        bad.append(Violation(field, "validation_error", message, params))

    if command.state not in ("posted", "draft"):
        invalid("/state", "state must be \"posted\" or \"draft\"")
    if command.amount_minor <= 0:
        invalid("/amount", "amount must be greater than zero")
    if command.customer.field not in CUSTOMER_FIELDS:
        invalid("/customer", "a customer is identified by one of {fields}", fields=", ".join(CUSTOMER_FIELDS))
    for name, ref in (("type", command.type), ("method", command.method), ("category", command.category),
                      ("payment_preference", command.payment_preference)):
        if ref is not None and ref.field not in CATALOG_FIELDS:
            invalid(f"/{name}", "a {name} is identified by one of {fields}", name=name.replace("_", " "),
                    fields=", ".join(CATALOG_FIELDS))
    for name, value, limit in (("reference", command.reference, MAX_REFERENCE),
                               ("reason", command.reason, MAX_REASON), ("notes", command.notes, MAX_NOTES)):
        if value is not None and len(value) > limit:
            invalid(f"/{name}", "{name} has at most {limit} characters", name=name, limit=limit)
    if command.reference is not None and not command.reference.strip():
        invalid("/reference", "reference must not be empty")
    if bad:
        raise Invalid(bad)
