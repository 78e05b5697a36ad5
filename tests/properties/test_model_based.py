"""Model-based test (issue 4, proof 5): the system against a pure model, step by step.

A Hypothesis RuleBasedStateMachine records invoices, issues partial refunds (posted or draft, with
or without an Idempotency-Key), replays them, posts drafts, voids refunds, closes and reopens
periods, and probes from a second tenant. After every step the system must equal the model: each
invoice line's refunded quantity, the refunds by state, stock on hand, and the books must balance
with every `salesrefund check` passing for both tenants.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule

from salesrefund.domain import money
from salesrefund.domain.commands import (
    Context, InvoiceLineRequest, IssueRefund, PaymentRequest, RecordInvoice, RefundLineRequest,
)
from salesrefund.domain.errors import RefundError
from salesrefund.http.problems import NativeResponder
from salesrefund.service.books import Books
from salesrefund.service.check import run_checks
from salesrefund.service.refunds import RefundService
from salesrefund.service.tenants import create_tenant

PRODUCTS = {"A": 5000, "B": 1250, "C": 0}  # product -> unit cost (1/10,000), C is a service
STOCKED = {"A", "B"}
Q = money.QUANTITY_SCALE
numbers = itertools.count(1)


class Books_vs_Model(RuleBasedStateMachine):
    engine = None
    clock = None

    invoices = Bundle("invoices")
    posted = Bundle("posted")
    drafts = Bundle("drafts")

    def __init__(self):
        super().__init__()
        self.refunds = RefundService(self.engine, self.clock)
        self.books = Books(self.engine, self.clock)
        self.tenant = self._tenant()
        self.other = self._tenant()
        self.responder = NativeResponder()
        self.today = self.clock.today_in("UTC")
        # the model
        self.sold: dict[tuple[str, int], int] = {}  # (invoice, line) -> quantity sold
        self.refunded: dict[tuple[str, int], int] = {}  # posted refunds only
        self.lines_of: dict[str, list[tuple[int, str]]] = {}  # invoice -> [(line, product)]
        self.stock: dict[str, int] = {p: 100 * Q for p in STOCKED}
        self.state: dict[str, str] = {}  # refund id -> state
        self.refund_lines: dict[str, list[tuple[str, int, int]]] = {}  # id -> [(invoice, line, quantity)]
        self.keys: dict[str, tuple[IssueRefund, str]] = {}  # key -> (command, refund id or "")
        self.closed_through = None

    def _tenant(self) -> int:
        created = create_tenant(self.engine, f"model-{uuid.uuid4().hex[:10]}", currency="EUR", clock=self.clock)
        books = Books(self.engine, self.clock)
        books.create_customer(created["id"], code="C", name="Customer")
        for code, cost in PRODUCTS.items():
            books.create_product(created["id"], code=code, name=code, stock_tracked=code in STOCKED, cost=cost)
            if code in STOCKED:
                books.receive_stock(created["id"], product=code, quantity=100 * Q, day=self.clock.today_in("UTC") - timedelta(days=40))
        return created["id"]

    def ctx(self, key: str | None = None, tenant: int | None = None) -> Context:
        return Context(tenant_id=tenant or self.tenant, channel="native", idempotency_key=key)

    def issue(self, command: IssueRefund, key: str | None = None, tenant: int | None = None):
        try:
            response = self.refunds.issue(self.ctx(key, tenant), command, self.responder)
        except RefundError as error:  # rejections without a key are raised, not stored
            response = self.responder.failure(error)
        return response.status, json.loads(response.body), response.replayed

    # -- rules ------------------------------------------------------------------------------
    @rule(target=invoices, lines=st.lists(st.tuples(st.sampled_from(sorted(PRODUCTS)), st.integers(1, 5),
                                                  st.integers(0, 50_00), st.sampled_from([0, 7, 19])),
                                        min_size=1, max_size=3),
          inclusive=st.booleans(), age=st.integers(0, 40))
    def record_invoice(self, lines, inclusive, age):
        number = f"I{next(numbers)}"
        day = self.today - timedelta(days=age)
        if self.closed_through is not None and day <= self.closed_through:
            day = self.today
        self.books.record_invoice(self.tenant, RecordInvoice(
            number=number, customer="C", date=day, prices_include_tax=inclusive,
            lines=tuple(InvoiceLineRequest(quantity=q * Q, unit_price=cents * 100, tax_rate=rate * 10_000, product=p)
                        for p, q, cents, rate in lines),
            payments=()))
        self.lines_of[number] = []
        for n, (p, q, _cents, _rate) in enumerate(lines, start=1):
            self.sold[(number, n)] = q * Q
            self.refunded[(number, n)] = 0
            self.lines_of[number].append((n, p))
            if p in STOCKED:
                self.stock[p] -= q * Q
        return number

    @rule(target=posted, invoice=invoices, data=st.data(), draft=st.booleans(), keyed=st.booleans())
    def refund(self, invoice, data, draft, keyed):
        picks = data.draw(st.lists(st.sampled_from(self.lines_of[invoice]), min_size=1, max_size=2, unique=True))
        requests, wanted = [], []
        for line, _product in picks:
            left = self.sold[(invoice, line)] - self.refunded[(invoice, line)]
            quantity = data.draw(st.integers(1, max(1, left // Q + 1))) * Q
            requests.append(RefundLineRequest(line=line, quantity=quantity))
            wanted.append((invoice, line, quantity))
        command = IssueRefund(lines=tuple(requests), invoice=invoice, state="draft" if draft else "posted",
                              payments=None)
        key = f"k{next(numbers)}" if keyed else None
        status, body, _ = self.issue(command, key)
        fits = all(q <= self.sold[(i, n)] - self.refunded[(i, n)] for i, n, q in wanted)
        if draft:
            # a draft is checked like a posted refund but has no effect
            assert (status == 201) == fits, (status, body)
        else:
            assert (status == 201) == fits, (status, body)
        if status != 201:
            assert body["code"] == "quantity_exceeds_refundable"
            if key:
                self.keys[key] = (command, "")
            return ""
        self.state[body["id"]] = body["state"]
        self.refund_lines[body["id"]] = wanted
        if key:
            self.keys[key] = (command, body["id"])
        if not draft:
            self._apply(wanted, +1)
        return body["id"]

    def _apply(self, wanted, sign):
        for invoice, line, quantity in wanted:
            self.refunded[(invoice, line)] += sign * quantity
            product = dict(self.lines_of[invoice])[line]
            if product in STOCKED:
                self.stock[product] += sign * quantity

    @precondition(lambda self: self.keys)
    @rule(data=st.data())
    def replay(self, data):
        key = data.draw(st.sampled_from(sorted(self.keys)))
        command, refund_id = self.keys[key]
        status, body, replayed = self.issue(command, key)
        assert replayed
        assert body.get("id", "") == refund_id or (refund_id == "" and status == 422)

    @precondition(lambda self: self.keys)
    @rule(data=st.data())
    def reuse_key_for_another_request(self, data):
        key = data.draw(st.sampled_from(sorted(self.keys)))
        command, _ = self.keys[key]
        other = IssueRefund(lines=command.lines, invoice=command.invoice, state=command.state, reason="changed")
        status, body, _ = self.issue(other, key)
        assert (status, body["code"]) == (422, "idempotency_key_reused")

    @rule(refund_id=posted)
    def post_draft(self, refund_id):
        if not refund_id or self.state.get(refund_id) != "draft":
            return
        wanted = self.refund_lines[refund_id]
        fits = all(q <= self.sold[(i, n)] - self.refunded[(i, n)] for i, n, q in wanted)
        try:
            response = self.refunds.post(self.ctx(), refund_id, self.responder)
        except RefundError as error:
            response = self.responder.failure(error)
        assert (response.status == 200) == fits, response.body
        if fits:
            self.state[refund_id] = "posted"
            self._apply(wanted, +1)

    @rule(refund_id=posted)
    def void(self, refund_id):
        if not refund_id:
            return
        before = self.state[refund_id]
        try:
            status = self.refunds.void(self.ctx(), refund_id, self.responder).status
        except RefundError as error:  # invalid_state is raised, not stored (no key)
            status = error.status
            assert error.code == "invalid_state", error
        assert (status == 200) == (before == "posted")
        if status == 200:
            self.state[refund_id] = "voided"
            self._apply(self.refund_lines[refund_id], -1)

    @rule(days_ago=st.integers(1, 30))
    def close_periods(self, days_ago):
        through = self.today - timedelta(days=days_ago)
        self.books.close_periods(self.tenant, through)
        if self.closed_through is None or through > self.closed_through:
            self.closed_through = through

    @rule()
    def reopen_periods(self):
        self.books.reopen_periods(self.tenant)
        self.closed_through = None

    @rule(invoice=invoices)
    def backdated_refund_respects_closed_periods(self, invoice):
        if self.closed_through is None:
            return
        command = IssueRefund(lines=(RefundLineRequest(line=1, quantity=Q),), invoice=invoice,
                              posting_date=self.closed_through)
        status, body, _ = self.issue(command)
        assert status == 422 and body["code"] in ("period_closed", "posting_date_before_invoice"), body

    @rule(invoice=invoices)
    def second_tenant_sees_nothing(self, invoice):
        status, body, _ = self.issue(IssueRefund(lines=(RefundLineRequest(line=1, quantity=Q),), invoice=invoice),
                                     tenant=self.other)
        assert (status, body["code"]) == (422, "invoice_not_found")

    # -- the system equals the model ----------------------------------------------------------
    @invariant()
    def refunded_quantities_match(self):
        for number, lines in self.lines_of.items():
            view = self.books.get_invoice(self.tenant, number)
            for line in view["lines"]:
                key = (number, line["line"])
                assert money.parse_quantity(line["refunded_quantity"], "/") == self.refunded[key], (key, line)
                if self.refunded[key] == self.sold[key]:
                    assert line["refunded_amount"] == line["gross"]

    @invariant()
    def stock_matches(self):
        on_hand = {item["product"]: money.parse_quantity(item["on_hand"], "/")
                   for item in self.books.stock(self.tenant)["items"]}
        for product in STOCKED:
            assert on_hand.get(product, 0) == self.stock[product], (product, on_hand)

    @invariant()
    def states_match(self):
        for refund_id, state in self.state.items():
            assert self.refunds.get(self.tenant, refund_id)["state"] == state

    @invariant()
    def books_balance_and_check_passes(self):
        balance = self.books.trial_balance(self.tenant)
        assert balance["total_debit"] == balance["total_credit"]
        findings = [f for found in run_checks(self.engine).values() for f in found
                    if f.tenant_id in (self.tenant, self.other)]
        assert findings == []


def test_system_equals_model(engine, clock):
    Books_vs_Model.engine = engine
    Books_vs_Model.clock = clock
    runner = Books_vs_Model.TestCase
    long = os.environ.get("SALESREFUND_LONG_TESTS") == "1"  # the on-demand longer variant
    runner.settings = settings(max_examples=200 if long else 12, stateful_step_count=40 if long else 15,
                               deadline=None, suppress_health_check=list(HealthCheck))
    runner().runTest()
