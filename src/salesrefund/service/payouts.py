"""Payouts (CRM.COM's "refund"): money paid out of what the business owes a customer (R11).

A payout is stored as a refund of ``kind="payout"`` so the native API shows it (``GET
/v1/refunds/{id}`` and its journal), with no lines, one refund payment, and, when posted, its
journal entry (Dr 2200 Customer credit, Cr the method's account) and a number of its own series
``PO-YYYY-NNNNNN``. It is written in ONE transaction through ``RefundService.once``, so a door's
natural key (CRM.COM's ``back_office_code``) makes it exactly-once like any refund (R17).

The cap is held by the database: posting lowers the customer's ``credit_balance_minor`` with one
conditional UPDATE (``TenantStore.adjust_customer_credit``), which matches no row when it would go
below zero, and the payout is rejected (``amount_exceeds_balance``). A draft is stored, validated
like a posted payout, and has no ledger or balance effect and no number. A draft is changed and
posted later by ``PayoutService.update`` (CRM.COM's ``refunds/update``; the native ``POST
/v1/refunds/{id}/post`` still answers ``invalid_state`` for a payout), and rejected by
``PayoutService.reject_draft`` (CRM.COM's ``refunds/reject``): the refunds table's states are
draft, posted and voided, so a rejected draft is stored as ``voided`` with no ``posted_at`` and no
void entry (a posted payout voided always has both) and an audit event ``reject``; no migration.

A ``reference`` (the client's own code) is unique among the tenant's payouts for good, not only
while its idempotency key lives (72 hours): a later payout with the same reference is refused
with ``duplicate``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date


from ..domain.commands import Context
from ..domain.errors import reject
from ..domain.payouts import (
    Account, PayOut, PayoutCatalog, PayoutPlan, Ref, check_shape, payout_entry, plan_payout,
)
from ..store.repository import TenantStore, policy_of
from . import events, views
from .results import RefundResult, native_view
from .idempotency import Response
from .refunds import RefundService, Responder
from .uow import UnitOfWork

KIND = "payout"
SERIES = "PO"


class PayoutService:
    """Payouts, written through the refund service's unit of work and exactly-once mechanism."""

    def __init__(self, refunds: RefundService):
        self.refunds = refunds
        self.clock = refunds.clock

    def pay_out(self, ctx: Context, command: PayOut, catalog: PayoutCatalog, responder: Responder) -> Response:
        """Issue a payout (posted or draft); the responder renders its ``PayoutResult`` or the error."""
        return self.refunds.once(ctx, "payout.issue", command, responder,
                                 lambda uow: (self._pay_out(uow, ctx, command, catalog), 200))

    def get(self, tenant_id: int, ref: Ref) -> PayoutResult:
        """A payout by ``Ref("id", public id)`` or ``Ref("number", number)``; ``not_found`` for
        anything else, another tenant's payout and a refund that is not a payout (R19)."""
        with self.refunds.uow(tenant_id, write=False) as uow:
            store = uow.store
            row = store.payout(ref.field, ref.value)
            if row is None:
                raise reject("not_found", "/id", "payout {id} does not exist", id=ref.value)
            return payout_result(store, row)

    def update(self, ctx: Context, ref: Ref, changes: dict, catalog: PayoutCatalog, responder: Responder) -> Response:
        """Change a payout DRAFT (``changes``: fields of ``PayOut``); with ``state="posted"`` post
        it (the cap, the number, the journal entry), all in one transaction. Anything but a draft
        payout of the tenant: ``not_found`` or ``invalid_state``, nothing changed."""
        def work(uow: UnitOfWork):
            store = uow.store
            row = _draft_row(store, ref, "update")
            command = dataclasses.replace(decode_payout(row["command_json"]), **changes)
            posting = command.state == "posted"
            tenant = store.tenant(share_lock=posting)
            policy = policy_of(tenant)
            today = self.clock.today_in(tenant["timezone"])
            check_shape(command)
            customer = store.customer_by_id(row["customer_id"])
            account = Account(code=customer["code"], name=customer["name"],
                              currency=customer["currency"] or policy.currency.code,
                              credit_balance_minor=customer["credit_balance_minor"])
            plan = plan_payout(command, policy=policy, account=account, catalog=catalog,
                               methods=store.payment_methods(), today=today)
            amount = plan.amount_minor
            store.set_refund(row["id"], dict(
                net_minor=amount, gross_minor=amount, total_minor=amount, reason=command.reason,
                posting_date=plan.posting_date if posting else command.posting_date,
                document_date=plan.document_date if posting else command.document_date,
                metadata_json=json.dumps(_metadata(command, plan)), command_json=encode_payout(command)))
            store.set_refund_payment(
                row["id"], method=plan.payment.code, kind=plan.payment.kind, amount_minor=amount,
                reference=plan.preference.id if plan.preference else None)
            now = self.clock.now()
            store.audit(refund_id=row["id"], action="edit", channel=ctx.channel, credential_id=ctx.credential_id,
                        request_id=ctx.request_id, now=now, payload={"fields": sorted(changes)})
            if posting:
                self._post(store, row["id"], row["customer_id"], plan)
                store.audit(refund_id=row["id"], action="post", channel=ctx.channel,
                            credential_id=ctx.credential_id, request_id=ctx.request_id, now=now)
            payout = payout_result(store, store.refund_by_id(row["id"]))
            if posting:
                _emit(store, "refund.posted", payout, now)
            return payout, 200
        payload = {name: dataclasses.asdict(v) if isinstance(v, Ref) else v for name, v in changes.items()}
        return self.refunds.once(ctx, f"payout.update:{ref.field}:{ref.value}", json.loads(json.dumps(
            payload, default=str)), responder, work)

    def reject_draft(self, ctx: Context, ref: Ref, responder: Responder) -> Response:
        """A payout DRAFT becomes rejected: stored as ``voided`` with no ``posted_at`` (see the
        module's text), audited ``reject``; no ledger or balance effect (a draft had none)."""
        def work(uow: UnitOfWork):
            store = uow.store
            row = _draft_row(store, ref, "reject")
            now = self.clock.now()
            store.set_refund(row["id"], dict(state="voided", voided_at=now))
            store.audit(refund_id=row["id"], action="reject", channel=ctx.channel, credential_id=ctx.credential_id,
                        request_id=ctx.request_id, now=now)
            payout = payout_result(store, store.refund_by_id(row["id"]))
            _emit(store, "refund.voided", payout, now)
            return payout, 200
        return self.refunds.once(ctx, f"payout.reject:{ref.field}:{ref.value}", {}, responder, work)

    # -- writing ------------------------------------------------------------------------------
    def _pay_out(self, uow: UnitOfWork, ctx: Context, command: PayOut, catalog: PayoutCatalog) -> PayoutResult:
        store = uow.store
        posting = command.state == "posted"
        tenant = store.tenant(share_lock=posting)
        policy = policy_of(tenant)
        today = self.clock.today_in(tenant["timezone"])
        check_shape(command)
        customer = resolve_customer(store, command.customer)
        account = Account(code=customer["code"], name=customer["name"],
                          currency=customer["currency"] or policy.currency.code,
                          credit_balance_minor=customer["credit_balance_minor"])
        plan = plan_payout(command, policy=policy, account=account, catalog=catalog,
                           methods=store.payment_methods(), today=today)
        if command.reference is not None:
            taken = store.payout_with_reference(command.reference)
            if taken is not None:
                raise reject("duplicate", "/reference", "reference {reference} is already used by payout {id}",
                             reference=command.reference, id=taken)
        now = self.clock.now()
        cur = policy.currency
        amount = plan.amount_minor
        refund_id = store.insert_refund(
            public_id=str(uuid.uuid4()), kind=KIND, number=None, state="draft", invoice_id=None,
            customer_id=customer["id"], currency=cur.code, currency_exponent=cur.exponent,
            reason=command.reason, reference=command.reference,
            posting_date=plan.posting_date if posting else command.posting_date,
            document_date=plan.document_date if posting else command.document_date,
            location_id=None, net_minor=amount, tax_minor=0, gross_minor=amount, rounding_minor=0,
            total_minor=amount, unlinked=False, metadata_json=json.dumps(_metadata(command, plan)),
            command_json=encode_payout(command), channel=ctx.channel, credential_id=ctx.credential_id,
            request_id=ctx.request_id,
            request_json=json.dumps(ctx.request, default=str) if ctx.request is not None else None,
            created_at=now)
        uow.refund_id = refund_id  # the refund this request wrote (its document numbers point to it)
        store.insert_refund_parts([], [{
            "refund_id": refund_id, "method": plan.payment.code, "kind": plan.payment.kind, "amount_minor": amount,
            "reference": plan.preference.id if plan.preference else None}], [])
        if posting:
            self._post(store, refund_id, customer["id"], plan)
        store.audit(refund_id=refund_id, action="create", channel=ctx.channel, credential_id=ctx.credential_id,
                    request_id=ctx.request_id, now=now)
        payout = payout_result(store, store.refund_by_id(refund_id))
        _emit(store, "payout.created", payout, now)  # the outbox, same transaction
        return payout

    def _post(self, store: TenantStore, refund_id: int, customer_id: int, plan: PayoutPlan) -> None:
        """The cap (one conditional UPDATE), the number and the journal entry, in the caller's
        transaction."""
        if not store.adjust_customer_credit(customer_id, -plan.amount_minor):
            raise reject("amount_exceeds_balance", "/amount",
                         "the payout exceeds what the business owes the customer")
        series = f"{SERIES}-{plan.posting_date.year}"
        number = f"{series}-{store.next_number(series):06d}"
        now = self.clock.now()
        entry_id = store.write_entry(day=plan.posting_date, source_type=KIND, source_id=refund_id,
                                     memo=f"Payout {number}", postings=payout_entry(plan), now=now)
        store.set_refund(refund_id, dict(state="posted", number=number, journal_entry_id=entry_id, posted_at=now))




def _draft_row(store: TenantStore, ref: Ref, action: str):
    """The tenant's payout a ``Ref`` names, locked, which must be a draft."""
    row = store.payout(ref.field, ref.value, lock=True)
    if row is None:
        raise reject("not_found", "/id", "payout {id} does not exist", id=ref.value)
    if row["state"] != "draft":
        raise reject("invalid_state", "/state", "a {state} payout cannot be {action}ed; it must be a draft",
                     state="rejected" if row["state"] == "voided" and row["posted_at"] is None else row["state"],
                     action=action.rstrip("e"))
    return row


def decode_payout(text: str) -> PayOut:
    """The ``PayOut`` ``encode_payout`` stored."""
    data = dict(json.loads(text)["payout"])
    for name in ("customer", "type", "method", "category", "payment_preference"):
        if data.get(name) is not None:
            data[name] = Ref(**data[name])
    for name in ("posting_date", "document_date"):
        if data.get(name) is not None:
            data[name] = date.fromisoformat(data[name])
    return PayOut(**data)


def resolve_customer(store: TenantStore, ref: Ref):
    """The customer row a ``Ref`` names: by id (the database id), code, name or tax number."""
    rows = store.customers_matching(ref.field, ref.value)
    if not rows:
        raise reject("customer_not_found", "/customer", "there is no customer account {value}",
                     value=ref.value)
    if len(rows) > 1:
        raise reject("customer_ambiguous", "/customer",
                     "several customer accounts match {value}; identify the account otherwise",
                     value=ref.value)
    return rows[0]


@dataclasses.dataclass(frozen=True)
class PayoutResult:
    """What the payout use cases return (issue 10): the payout as a typed refund result, and the
    customer account it pays out of, named by its code (the tenant's own): never the global row
    id, which would count other tenants' accounts in every webhook event that carries it."""

    refund: RefundResult
    account: dict  # code, name, tax_number

    @property
    def rejected(self) -> bool:
        """A rejected draft: stored as voided, never posted (see the module's text)."""
        return self.refund.state == "voided" and self.refund.posted_at is None


def payout_result(store: TenantStore, row) -> PayoutResult:
    customer = store.customer_by_id(row["customer_id"])
    return PayoutResult(views.refund_result(store, row),
                        {"code": customer["code"], "name": customer["name"], "tax_number": customer["tax_number"]})


def native_payout(payout: PayoutResult) -> dict:
    """The native form of a payout (its events' data): the refund's, plus its ``account``."""
    return {**native_view(payout.refund), "account": payout.account}


def _emit(store: TenantStore, event_type: str, payout: PayoutResult, now) -> None:
    events.emit(store, event_type, f"refund:{payout.refund.id}", native_payout(payout), now)


def _metadata(command: PayOut, plan: PayoutPlan) -> dict:
    """What the native view shows of a payout's classification, beside the door's own extras."""
    def entry(item, *extra: str):
        if item is None:
            return None
        data = {"id": item.id, "name": item.name, "alternative_code": item.alternative_code}
        data.update({name: getattr(item, name) for name in extra})
        return data

    return {**command.metadata, "type": entry(plan.type), "method": entry(plan.method, "payment_method", "gateway"),
            "category": entry(plan.category), "payment_preference": entry(plan.preference),
            "notes": command.notes}


def encode_payout(command: PayOut) -> str:
    return json.dumps({"payout": dataclasses.asdict(command)}, default=str)
