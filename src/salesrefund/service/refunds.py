"""Refund use cases: issue (posted or draft), preview, post, void, edit and delete a draft.

Every door calls these with the same ``IssueRefund`` command and a ``Responder`` that renders
the result or the error in the door's own shape; with an idempotency key that rendered response
is stored in the same transaction as the refund and replayed verbatim (R17).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date, timedelta, timezone
from typing import Callable, Protocol

from ..domain import journal
from ..domain.commands import (
    Context, ExpectedLine, ExpectedTotals, IssueRefund, PaymentRequest, RefundLineRequest,
)
from ..domain.errors import Invalid, RefundError, reject
from ..domain.model import Invoice, Policy, Till
from ..domain.money import Currency
from ..domain.refunds import RefundPlan, plan_refund
from ..store.engine import Engine
from ..store.repository import CapExceeded, InvoiceRows, TenantStore, policy_of
from . import events, results, views
from .idempotency import KEY_LIFETIME_HOURS, Response, fingerprint, key_in_use, plain, replay_of
from .reads import RefundReads
from .results import RefundResult, native_view
from .uow import Clock, UnitOfWork, with_retries

DEFAULT_LOCATION = "main"


class Responder(Protocol):
    """Renders a door's response. ``success`` renders the use case's ``RefundResult`` with
    ``reads``, a read-only ``RefundReads`` of the tenant's store in the same transaction, for what
    the door shows beside the refund (SnR2U the customer's name, Vodo the invoice with its running
    totals), so a stored replay shows the figures of that time; a payout's answer (``service.payouts``)
    is still its native view, without ``reads``. ``store_rejections = False`` keeps business-rule
    rejections out of the idempotency store (they are raised instead) for a door whose natural key
    must stay free for a corrected retry."""

    def success(self, result: RefundResult, status: int, reads: RefundReads) -> Response: ...
    def failure(self, error: RefundError) -> Response: ...


@dataclasses.dataclass
class Settings:
    unguarded_caps: bool = False  # test-only control: read-then-write without the database guard


class RefundService:
    def __init__(self, engine: Engine, clock: Clock | None = None, settings: Settings | None = None):
        self.engine = engine
        self.clock = clock or Clock()
        self.settings = settings or Settings()

    def uow(self, tenant_id: int, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self.engine, tenant_id, write=write)

    # -- exactly once ---------------------------------------------------------------------
    def once(self, ctx: Context, operation: str, payload: object, responder: Responder,
             work: Callable[[UnitOfWork], tuple[object, int]]) -> Response:
        """``_once`` with serialization failures and deadlocks retried (same keys), then 503."""
        return with_retries(lambda: self._once(ctx, operation, payload, responder, work))

    def _once(self, ctx: Context, operation: str, payload: object, responder: Responder,
              work: Callable[[UnitOfWork], tuple[object, int]]) -> Response:
        """Run ``work`` in one transaction; with a key, claim it and store the response there.

        Business-rule rejections are stored and replayed; malformed requests (``Invalid``) are
        not stored, so a corrected retry with the same key goes through.

        On every path the answer is rendered and encoded to its bytes *before* the commit (issue
        9, item 8): whatever fails in rendering rolls the refund back with it, so an error answer
        ("nothing was recorded") is never sent for a refund that was recorded.
        """
        keys = ctx.keys()
        with self.uow(ctx.tenant_id) as uow:
            if not keys:
                result, status = work(uow)
                response = sendable(_success(responder, result, status, uow))
                uow.commit()
                return response
            print_ = fingerprint(operation, ctx.channel, payload)
            now = self.clock.now()
            stored = self._stored(uow, keys, now)
            if stored:  # a replay needs no lock: the stored response is final
                return replay_of(stored, print_)
            for field, key in keys:
                if not uow.store.try_lock_key(key):
                    raise key_in_use(field)
            if uow.store.postgres:  # SQLite's BEGIN IMMEDIATE has held off every writer since the read
                stored = self._stored(uow, keys, now)  # again, now that no one else holds the keys
                if stored:
                    return replay_of(stored, print_)
            savepoint = uow.savepoint()
            try:
                self._numbers_free(uow, ctx)
                result, status = work(uow)
                self._claim_numbers(uow, ctx)
                savepoint.commit()
                response = sendable(_success(responder, result, status, uow))
            except Invalid:
                raise
            except RefundError as error:
                if not getattr(responder, "store_rejections", True):
                    raise  # the door's natural key must stay free for a corrected retry
                savepoint.rollback()
                response = sendable(responder.failure(error))
            for _, key in keys:
                uow.store.store_response(key, fingerprint=print_, status_code=response.status,
                                         content_type=response.content_type, body=response.body, now=now,
                                         expires_at=now + timedelta(hours=KEY_LIFETIME_HOURS))
            uow.commit()
            return response

    def _numbers_free(self, uow: UnitOfWork, ctx: Context) -> None:
        """A client's document number already used by a refund of the tenant is refused with
        ``duplicate`` (409) naming the door's field, however long ago (issue 9, item 10). Within
        the 72 hours of its idempotency record the same request was answered by a replay before
        this point, and another request with ``idempotency_key_reused``."""
        for field, number in ctx.document_numbers:
            used_by = uow.store.document_number_user(ctx.channel, field, number)
            if used_by is not None:
                raise reject("duplicate", field, "document number {number} was already used by credit note {used_by}",
                             number=number, used_by=used_by)

    def _claim_numbers(self, uow: UnitOfWork, ctx: Context) -> None:
        """Record the request's document numbers for the refund it wrote; the table's primary key
        makes them unique in the tenant (the database's guard, behind the check above)."""
        refund_id = getattr(uow, "refund_id", None)
        if refund_id is None:
            return
        now = self.clock.now()
        uow.store.record_document_numbers([
            {"door": ctx.channel, "field": field, "number": number, "refund_id": refund_id, "created_at": now}
            for field, number in ctx.document_numbers])

    def _stored(self, uow: UnitOfWork, keys: list[tuple[str, str]], now) -> list[tuple[str, dict]]:
        """The live stored responses of ``keys``; expired ones are forgotten (keys live 72 hours)."""
        stored = []
        for field, key in keys:
            record = uow.store.idempotency_record(key)
            if record is not None and _aware(record["expires_at"]) <= now:
                uow.store.forget_key(key)
            elif record is not None:
                stored.append((field, record))
        return stored

    # -- issue and preview ------------------------------------------------------------------
    def issue(self, ctx: Context, command: IssueRefund, responder: Responder) -> Response:
        stale = self._stale_basis(ctx, command) if self.settings.unguarded_caps else None
        return self.once(ctx, "refund.issue", command, responder,
                         lambda uow: (self._issue(uow, ctx, command, stale), 201))

    def preview(self, ctx: Context, command: IssueRefund) -> dict:
        with self.uow(ctx.tenant_id, write=False) as uow:
            basis = self._basis(uow.store, command, posting=False)
            plan = self._plan(basis, command)
            return views.preview_view(plan, cur=basis.currency, invoice=command.invoice,
                                      customer=basis.customer_code, state=command.state,
                                      reason=command.reason)

    def _issue(self, uow: UnitOfWork, ctx: Context, command: IssueRefund, stale: "Basis | None" = None) -> RefundResult:
        """Write the refund and answer with what was written (nothing is read back)."""
        store = uow.store
        posting = command.state == "posted"
        basis = stale or self._basis(store, command, posting=posting)
        plan = self._plan(basis, command)
        now = self.clock.now()
        header = dict(
            public_id=str(uuid.uuid4()), number=None, state="draft",
            invoice_id=basis.invoice_id, customer_id=basis.customer_id, currency=basis.currency.code,
            currency_exponent=basis.currency.exponent, reason=command.reason, reference=command.reference,
            posting_date=plan.posting_date if posting else command.posting_date,
            document_date=plan.document_date if posting else command.document_date,
            location_id=basis.location_ids.get(basis.location), unlinked=basis.invoice_id is None,
            metadata_json=json.dumps(command.metadata or {}), command_json=encode_command(command),
            channel=ctx.channel, credential_id=ctx.credential_id, request_id=ctx.request_id,
            request_json=json.dumps(ctx.request, default=str) if ctx.request is not None else None,
            created_at=now, **_totals(plan))
        refund_id = store.insert_refund(**header)
        uow.refund_id = refund_id  # the refund this request wrote (its document numbers point to it)
        lines, payments, taxes = self._write_lines(store, refund_id, plan, basis)
        store.audit(refund_id=refund_id, action="create", channel=ctx.channel,
                    credential_id=ctx.credential_id, request_id=ctx.request_id, now=now)
        if posting:
            header.update(self._post(store, refund_id, plan, basis, command))
        row = {"kind": "refund", "posted_at": None, "voided_at": None, **header, "id": refund_id}
        codes = {id_: code for code, id_ in basis.location_ids.items()}
        result = results.result_of(
            row, payments=payments, taxes=taxes, customer=basis.customer_code,
            invoice=command.invoice if basis.invoice_id else None, location=codes.get(row["location_id"]),
            lines=[{**line, "product": planned.product if line["product_id"] is not None else None,
                    "location": codes.get(line["location_id"])} for line, planned in zip(lines, plan.lines)])
        _emit(store, ("refund.created", "refund.posted") if posting else ("refund.created",), result, now)
        return result

    def _stale_basis(self, ctx: Context, command: IssueRefund) -> "Basis":
        """Test-only control (``unguarded_caps``): the naive "read, then write" a guard prevents,
        the snapshot read in its own earlier transaction."""
        with self.uow(ctx.tenant_id, write=False) as uow:
            return self._basis(uow.store, command, posting=False)

    # -- the basis a plan is made from ----------------------------------------------------------
    def _basis(self, store: TenantStore, command: IssueRefund, *, posting: bool) -> "Basis":
        tenant = store.tenant(share_lock=posting)
        policy = policy_of(tenant)
        today = self.clock.today_in(tenant["timezone"])
        invoice = snapshot = rows = None
        line_ids: dict[int, int] = {}
        products, product_ids = {}, {}
        if command.invoice is not None:
            invoice = store.invoice_row(command.invoice, lock=posting)
            if invoice is None:
                raise reject("invoice_not_found", "/invoice", "invoice {invoice} does not exist",
                             invoice=command.invoice)
            snapshot, rows = store.invoice_snapshot(invoice)
            line_ids, product_ids = rows.line_ids, rows.product_ids
            if snapshot.refunded_free_minor:  # R8 per tax rate: what free amounts took of each rate
                snapshot = dataclasses.replace(snapshot, free_tax_by_rate=store.free_amount_tax(invoice["id"]))
            customer_id, customer_code = invoice["customer_id"], snapshot.customer
        else:
            customer = store.customer(command.customer) if command.customer is not None else None
            if command.customer is not None and customer is None:
                raise reject("customer_not_found", "/customer", "customer {customer} does not exist",
                             customer=command.customer)
            customer_id = customer["id"] if customer else None
            customer_code = customer["code"] if customer else None
        till = store.till(command.pos, command.pos_session) if command.pos or command.pos_session else None
        if till is not None and command.location is None:
            command_location = till.location
        else:
            command_location = command.location
        codes = [command_location, DEFAULT_LOCATION, snapshot.location if snapshot else None]
        codes += [line.location for line in command.lines]
        location_ids = store.location_ids(codes)
        for field, code in [("/location", command.location)] + [
                (f"/lines/{i}/location", line.location) for i, line in enumerate(command.lines)]:
            if code is not None and code not in location_ids:
                raise reject("location_not_found", field, "location {location} does not exist", location=code)
        if invoice is None:
            products, product_ids = store.products_for(line.product for line in command.lines)
        return Basis(policy=policy, today=today, invoice=snapshot, invoice_id=invoice["id"] if invoice else None,
                     line_ids=line_ids, customer_id=customer_id, customer_code=customer_code,
                     methods=store.payment_methods(), products=products, product_ids=product_ids,
                     location_ids=location_ids,
                     currency=snapshot.currency if snapshot else policy.currency, till=till,
                     location=command_location, invoice_rows=rows)

    def _plan(self, basis: "Basis", command: IssueRefund) -> RefundPlan:
        if basis.location != command.location:  # a till's location stands in for the request's
            command = dataclasses.replace(command, location=basis.location)
        return plan_refund(command, policy=basis.policy, invoice=basis.invoice, customer=basis.customer_code,
                           methods=basis.methods, products=basis.products, today=basis.today,
                           default_location=DEFAULT_LOCATION if DEFAULT_LOCATION in basis.location_ids else None,
                           till=basis.till)

    # -- writing --------------------------------------------------------------------------------
    def _write_lines(self, store: TenantStore, refund_id: int, plan: RefundPlan,
                     basis: "Basis") -> tuple[list[dict], list[dict], list[dict]]:
        """Insert the plan's lines, payments and tax summary; return the rows written."""
        product_ids = basis.product_ids
        lines = [{
            "refund_id": refund_id, "line_no": i, "invoice_line_no": line.invoice_line,
            "invoice_line_id": basis.line_ids.get(line.invoice_line) if line.invoice_line else None,
            "product_id": product_ids.get(line.product), "description": line.description[:500],
            "quantity": line.quantity, "unit_price": line.unit_price, "tax_rate": line.tax_rate,
            "net_minor": line.net_minor, "tax_minor": line.tax_minor, "gross_minor": line.gross_minor,
            "restock": line.restock, "location_id": basis.location_ids.get(line.location),
            "unit_cost": line.unit_cost, "cost_minor": line.cost_minor,
            "retained_gross_minor": line.retained_gross_minor, "retained_tax_minor": line.retained_tax_minor,
        } for i, line in enumerate(plan.lines, start=1)]
        payments = [{"refund_id": refund_id, "method": p.method, "kind": p.kind, "amount_minor": p.amount_minor,
                     "reference": p.reference, "tender_minor": p.tender_minor} for p in plan.payments]
        taxes = [{"refund_id": refund_id, "tax_rate": rate, "net_minor": net, "tax_minor": tax}
                 for rate, net, tax in plan.tax_summary()]
        store.insert_refund_parts(lines, payments, taxes)
        return lines, payments, taxes

    def _post(self, store: TenantStore, refund_id: int, plan: RefundPlan, basis: "Basis",
              command: IssueRefund) -> dict:
        """The effects of posting (R7, R14-R16), all in the caller's transaction; returns what it
        set on the refund. The gapless number comes last: its row stays locked until commit, so
        concurrent postings wait on it for as short a time as possible."""
        if basis.invoice_id is not None:
            try:
                store.raise_caps(basis.invoice_id, basis.invoice_rows, plan, guarded=not self.settings.unguarded_caps)
            except CapExceeded as exceeded:
                raise _cap_error(exceeded, plan, command)
        now = self.clock.now()
        store.insert_stock_moves([{
            "product_id": basis.product_ids[line.product], "location_id": basis.location_ids[line.location],
            "quantity": line.quantity, "unit_cost": line.unit_cost, "date": plan.posting_date,
            "source_type": "refund", "source_id": refund_id} for line in plan.stock_returns()])
        credit = sum(p.amount_minor for p in plan.payments if p.kind == "store_credit")
        if credit:
            store.adjust_customer_credit(basis.customer_id, credit)
        series = f"CN-{plan.posting_date.year}"
        number = f"{series}-{store.next_number(series):06d}"
        entry_id = store.write_entry(day=plan.posting_date, source_type="refund", source_id=refund_id,
                                     memo=f"Credit note {number}", postings=journal.refund_entry(plan), now=now)
        posted = dict(state="posted", number=number, journal_entry_id=entry_id, posted_at=now,
                      posting_date=plan.posting_date, document_date=plan.document_date)
        store.set_refund(refund_id, posted)
        return posted

    # -- post, void, edit, delete --------------------------------------------------------------
    def post(self, ctx: Context, public_id: str, responder: Responder) -> Response:
        def work(uow: UnitOfWork):
            row = self._refund_row(uow.store, public_id, lock=True)
            _require_state(row, "draft", "post")
            _not_payout(row, "post")
            command = decode_command(row["command_json"])
            command = dataclasses.replace(command, state="posted")
            basis = self._basis(uow.store, command, posting=True)
            plan = self._plan(basis, command)
            self._rewrite(uow.store, row["id"], plan, basis)
            self._post(uow.store, row["id"], plan, basis, command)
            self._audit(uow, ctx, row["id"], "post")
            result = views.refund_result(uow.store, self._refund_row(uow.store, public_id))
            _emit(uow.store, ("refund.posted",), result, self.clock.now())
            return result, 200
        return self.once(ctx, f"refund.post:{public_id}", {}, responder, work)

    def void(self, ctx: Context, public_id: str, responder: Responder, reason: str | None = None) -> Response:
        def work(uow: UnitOfWork):
            store = uow.store
            row = self._refund_row(store, public_id, lock=True)
            _require_state(row, "posted", "void")
            tenant = store.tenant(share_lock=True)
            policy = policy_of(tenant)
            today = self.clock.today_in(tenant["timezone"])
            if policy.is_closed(today):
                raise reject("period_closed", "/", "the accounting period of {day} is closed", day=today)
            now = self.clock.now()
            self._release(store, row, today)
            entry_id = store.write_entry(
                day=today, source_type="void", source_id=row["id"], memo=f"Void of credit note {row['number']}",
                postings=journal.reversal(store.entry_postings(row["journal_entry_id"])), now=now)
            store.set_refund(row["id"], dict(state="voided", voided_at=now, void_entry_id=entry_id))
            self._audit(uow, ctx, row["id"], "void", {"reason": reason} if reason else None)
            result = views.refund_result(store, self._refund_row(store, public_id))
            _emit(store, ("refund.voided",), result, now)
            return result, 200
        return self.once(ctx, f"refund.void:{public_id}", {"reason": reason}, responder, work)

    def _release(self, store: TenantStore, row, day: date) -> None:
        """Undo a posted refund's caps, stock and store credit (the entry is reversed apart). The
        stock moves out are dated ``day``, the void's own date like its reversing entry (issue 9,
        item 15), never the refund's: that may lie in a period closed since."""
        if row["kind"] == "payout":  # a voided payout (CRM.COM) gives the customer their credit back
            store.adjust_customer_credit(row["customer_id"], row["total_minor"])
            return
        lines = store.refund_lines(row["id"])
        payments = store.refund_payments(row["id"])
        if row["invoice_id"] is not None:
            store.lock_invoice(row["invoice_id"])
            store.release_caps(row["invoice_id"], lines, payments, row["gross_minor"], row["total_minor"])
        moves = store.stock_moves_of("refund", row["id"])
        store.insert_stock_moves([{
            "product_id": m["product_id"], "location_id": m["location_id"], "quantity": -m["quantity"],
            "unit_cost": m["unit_cost"], "date": day,
            "source_type": "void", "source_id": row["id"]} for m in moves])
        credit = sum(p["amount_minor"] for p in payments if p["kind"] == "store_credit")
        if credit and not store.adjust_customer_credit(row["customer_id"], -credit):
            raise reject("customer_balance_insufficient", "/",
                         "the customer has already used the store credit this refund gave")

    def edit(self, ctx: Context, public_id: str, changes: dict, responder: Responder) -> Response:
        def work(uow: UnitOfWork):
            row = self._refund_row(uow.store, public_id, lock=True)
            _require_state(row, "draft", "edit")
            _not_payout(row, "edit")
            command = dataclasses.replace(decode_command(row["command_json"]), **changes)
            basis = self._basis(uow.store, command, posting=False)
            plan = self._plan(basis, command)
            self._rewrite(uow.store, row["id"], plan, basis)
            uow.store.set_refund(row["id"], dict(
                command_json=encode_command(command), reason=command.reason,
                posting_date=command.posting_date, document_date=command.document_date,
                metadata_json=json.dumps(command.metadata or {}),
                location_id=basis.location_ids.get(command.location)))
            self._audit(uow, ctx, row["id"], "edit", {"fields": sorted(changes)})
            return views.refund_result(uow.store, self._refund_row(uow.store, public_id)), 200
        return self.once(ctx, f"refund.edit:{public_id}", changes, responder, work)

    def delete(self, ctx: Context, public_id: str) -> None:
        with self.uow(ctx.tenant_id) as uow:
            row = self._refund_row(uow.store, public_id, lock=True)
            _require_state(row, "draft", "delete")
            uow.store.delete_refund(row["id"])
            self._audit(uow, ctx, row["id"], "delete", {"id": public_id, "command": row["command_json"]})
            uow.commit()

    def _rewrite(self, store: TenantStore, refund_id: int, plan: RefundPlan, basis: "Basis") -> None:
        store.delete_refund_parts(refund_id)
        self._write_lines(store, refund_id, plan, basis)
        store.set_refund(refund_id, _totals(plan))

    def _refund_row(self, store: TenantStore, public_id: str, *, lock: bool = False):
        row = store.refund_by_public_id(public_id, lock=lock)
        if row is None:
            raise reject("not_found", "/id", "refund {id} does not exist", id=public_id)
        return row

    def _audit(self, uow: UnitOfWork, ctx: Context, refund_id: int, action: str, payload=None) -> None:
        uow.store.audit(refund_id=refund_id, action=action, channel=ctx.channel,
                        credential_id=ctx.credential_id, request_id=ctx.request_id,
                        now=self.clock.now(), payload=payload)

    # -- reading --------------------------------------------------------------------------------
    def get(self, tenant_id: int, public_id: str) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            return views.refund_view(uow.store, self._refund_row(uow.store, public_id))

    def result(self, tenant_id: int, public_id: str) -> RefundResult:
        """The refund ``public_id`` as a typed result (what a door renders in its own shape)."""
        with self.uow(tenant_id, write=False) as uow:
            return views.refund_result(uow.store, self._refund_row(uow.store, public_id))


@dataclasses.dataclass(frozen=True)
class Basis:
    """Everything a plan is made from, read in the plan's own transaction."""

    policy: Policy
    today: date
    invoice: Invoice | None
    invoice_id: int | None
    line_ids: dict
    customer_id: int | None
    customer_code: str | None
    methods: dict
    products: dict
    product_ids: dict  # product code -> row id, of the invoice's lines or the unlinked refund's products
    location_ids: dict
    currency: Currency
    till: Till | None = None
    location: str | None = None  # the request's location, or its till's
    invoice_rows: InvoiceRows | None = None  # row ids of the invoice's lines and payments


def _emit(store: TenantStore, types: tuple[str, ...], result: RefundResult, now) -> None:
    """The refund's events, in its own transaction (the outbox, service.events): their data is
    the refund in the native form (``results.native_view``, the one renderer of it)."""
    events.emit_all(store, types, f"refund:{result.id}", native_view(result), now)


def _success(responder: Responder, result, status: int, uow: UnitOfWork) -> Response:
    """The responder's answer: a refund's result with the reads beside it; a payout's view
    (``service.payouts``, not a typed result yet) alone."""
    if isinstance(result, RefundResult):
        return responder.success(result, status, RefundReads(uow.store))
    return responder.success(result, status)


def _totals(plan: RefundPlan) -> dict:
    return {"net_minor": plan.net_minor, "tax_minor": plan.tax_minor, "gross_minor": plan.gross_minor,
            "rounding_minor": plan.rounding_minor, "total_minor": plan.total_minor}


def _require_state(row, state: str, action: str) -> None:
    if row["state"] != state:
        raise reject("invalid_state", "/state", "a {state} refund cannot be {action}ed; it must be {needed}",
                     state=row["state"], action=action.rstrip("e"), needed=state)


def _not_payout(row, action: str) -> None:
    """Payout drafts (``kind="payout"``, service.payouts) are not re-planned from a refund command."""
    if row["kind"] == "payout":
        raise reject("invalid_state", "/id", "a payout draft cannot be {action}ed through this endpoint",
                     action=action.rstrip("e"))


def _cap_error(exceeded: CapExceeded, plan: RefundPlan, command: IssueRefund) -> RefundError:
    """Another refund took what this one needed between its read and its write: same errors as
    the planner gives when it sees that up front."""
    index = next((i for i, line in enumerate(plan.lines) if line.invoice_line == exceeded.line_no), 0)
    if exceeded.line_no is not None and plan.lines[index].quantity:
        return reject("quantity_exceeds_refundable", f"/lines/{index}/quantity",
                      "quantity exceeds what is still refundable on line {line}", line=exceeded.line_no)
    return reject("amount_exceeds_refundable", f"/lines/{index}/amount",
                  "the refund exceeds what is still refundable on the invoice")


def encode_command(command: IssueRefund) -> str:
    return json.dumps(plain(command), default=str)


def decode_command(text: str) -> IssueRefund:
    data = json.loads(text)
    data["lines"] = tuple(RefundLineRequest(**line) for line in data["lines"])
    if data.get("payments") is not None:
        data["payments"] = tuple(PaymentRequest(**p) for p in data["payments"])
    for key in ("posting_date", "document_date"):
        if data.get(key):
            data[key] = date.fromisoformat(data[key])
    if data.get("expected") is not None:
        expected = data["expected"]
        expected["lines"] = tuple(ExpectedLine(**line) for line in expected["lines"])
        data["expected"] = ExpectedTotals(**expected)
    return IssueRefund(**data)


def sendable(response: Response) -> Response:
    """``response`` once its body is known to encode as UTF-8, the way it is sent and stored; a
    body that cannot (a lone surrogate that got past the readers) raises here, before the commit.
    (In-process callers such as the seeds may render to something other than a ``Response``.)"""
    body = getattr(response, "body", None)
    if isinstance(body, str):
        body.encode("utf-8")
    return response


def _aware(value):
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
