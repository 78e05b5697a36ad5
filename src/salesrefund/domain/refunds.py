"""Plan a refund: decide every figure of a credit note from the invoice snapshot (R6-R11, R13).

``plan_refund`` is pure: it reads snapshots and a command and returns a ``RefundPlan`` (or raises
``RefundError`` with every violation it found, first by precedence). The store then applies the
plan's cap increments with conditional updates, which is where concurrency is decided (R7).

How a line's amounts are found (R8). A credit-note line is figured like an invoice line (R4):
its base (the gross when the invoice's prices include tax, else the net) and then its tax. For a
line sold as quantity Q with base B, let E(n) = round(B x n / Q) be "the base of the first n
units". A refund of q units when r units were already refunded gets base E(r + q) - E(r); its tax
is round(base x rate) (exclusive) or round(base x rate / (1 + rate)) (inclusive). These bases
telescope, and the refund that brings the line to its sold quantity at the original price takes
exactly what remains (gross, tax and net), so however a line is split its refunds sum exactly to
it; every piece is clamped to what remains, so none exceeds it by even one minor unit.
Worked numbers: 2 x 49.99 excl. 8.25 % (net 99.98, tax 8.25) refunded one at a time: 49.99 + 4.12,
then the rest, 49.99 + 4.13. 3 units for 10.00 incl. tax: gross 3.33, 3.34, 3.33.

At a lower unit price (R9) the full-price piece is scaled by new price / original price, so the
customer gets less; the difference is *retained* on the line, and the last units take what remains
less what was retained (never the shortfall of an earlier lower-price refund).

The same closure holds in every other dimension a refund is split along (R8), each figured on the
invoice's running figures so that the last piece takes exactly what remains whatever order refunds
and voids came in: restocked cost telescopes over the units returned to stock; tax refunded at a
rate never exceeds the tax charged at it; payments follow what each tender of the invoice (payment
method, or the receivable) still holds, and the refund that closes the invoice pays back exactly
what it still owes (so cash, cash rounding included, never goes back beyond what was taken).
``posted`` gives the running figures after a plan is posted or voided, as the store's updates do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from . import money
from .commands import ExpectedTotals, IssueRefund, PaymentRequest, RefundLineRequest
from .errors import Invalid, RefundError, Violation
from .model import RECEIVABLE, Invoice, InvoiceLine, PaymentMethod, Policy, Product, Tender, Till


@dataclass(frozen=True)
class PlannedLine:
    """One refund line with every figure decided."""

    invoice_line: int | None  # the invoice line number, None for free-amount and unlinked lines
    product: str | None
    description: str
    quantity: int  # 1/10,000 units (0 for amount-only lines)
    unit_price: int | None  # 1/10,000 currency units, None for amount-only lines
    tax_rate: int
    net_minor: int
    tax_minor: int
    gross_minor: int
    restock: bool
    location: str | None
    unit_cost: int = 0
    cost_minor: int = 0
    retained_gross_minor: int = 0  # at a lower price (R9): the full-price piece less what is refunded
    retained_tax_minor: int = 0

    @property
    def kind(self) -> str:
        if self.invoice_line is not None:
            return "line" if self.quantity else "amount"
        return "unlinked" if self.product else "free_amount"


@dataclass(frozen=True)
class PlannedPayment:
    method: str
    kind: str
    account: str
    amount_minor: int
    reference: str | None = None
    tender_minor: int = 0  # the part that gives back what the invoice took by this method


@dataclass(frozen=True)
class RefundPlan:
    lines: tuple[PlannedLine, ...]
    payments: tuple[PlannedPayment, ...]
    posting_date: date
    document_date: date
    rounding_minor: int

    @property
    def net_minor(self) -> int:
        return sum(line.net_minor for line in self.lines)

    @property
    def tax_minor(self) -> int:
        return sum(line.tax_minor for line in self.lines)

    @property
    def gross_minor(self) -> int:
        return sum(line.gross_minor for line in self.lines)

    @property
    def total_minor(self) -> int:
        """What is paid back: gross plus the cash rounding adjustment (R5)."""
        return self.gross_minor + self.rounding_minor

    def tax_summary(self) -> list[tuple[int, int, int]]:
        """(rate, net, tax) per tax rate, ascending by rate: the e-invoice tax subtotals (R4)."""
        rates: dict[int, list[int]] = {}
        for line in self.lines:
            figures = rates.setdefault(line.tax_rate, [0, 0])
            figures[0] += line.net_minor
            figures[1] += line.tax_minor
        return [(rate, net, tax) for rate, (net, tax) in sorted(rates.items())]

    def cap_increments(self) -> dict[int, tuple[int, int, int]]:
        """Per invoice line number: (quantity, gross, tax) this refund adds to the refunded figures."""
        increments: dict[int, tuple[int, int, int]] = {}
        for line in self.lines:
            if line.invoice_line is None:
                continue
            q, g, t = increments.get(line.invoice_line, (0, 0, 0))
            increments[line.invoice_line] = (q + line.quantity, g + line.gross_minor, t + line.tax_minor)
        return increments

    def retained_increments(self) -> dict[int, tuple[int, int]]:
        """Per invoice line number: (gross, tax) this refund leaves with the business (R9)."""
        increments: dict[int, tuple[int, int]] = {}
        for line in self.lines:
            if line.invoice_line is not None and (line.retained_gross_minor or line.retained_tax_minor):
                g, x = increments.get(line.invoice_line, (0, 0))
                increments[line.invoice_line] = (g + line.retained_gross_minor, x + line.retained_tax_minor)
        return increments

    def restock_increments(self) -> dict[int, tuple[int, int]]:
        """Per invoice line number: (quantity, cost) this refund returns to stock."""
        increments: dict[int, tuple[int, int]] = {}
        for line in self.stock_returns():
            if line.invoice_line is not None:
                q, c = increments.get(line.invoice_line, (0, 0))
                increments[line.invoice_line] = (q + line.quantity, c + line.cost_minor)
        return increments

    @property
    def free_gross_minor(self) -> int:
        """The gross of the free-amount lines (no invoice line) against the invoice."""
        return sum(line.gross_minor for line in self.lines if line.invoice_line is None)

    def tender_increments(self) -> dict[str, int]:
        """Per tender of the invoice (its payment method, or "receivable"): what this refund gives back."""
        increments: dict[str, int] = {}
        for payment in self.payments:
            if payment.tender_minor:
                increments[payment.method] = increments.get(payment.method, 0) + payment.tender_minor
        return increments

    def stock_returns(self) -> list[PlannedLine]:
        return [line for line in self.lines if line.restock and line.quantity > 0]


def plan_refund(
    command: IssueRefund,
    *,
    policy: Policy,
    invoice: Invoice | None,
    customer: str | None,
    methods: dict[str, PaymentMethod],
    products: dict[str, Product],
    today: date,
    default_location: str | None = None,
    till: Till | None = None,
) -> RefundPlan:
    """Decide every figure of the refund, or raise ``RefundError`` naming each broken rule."""
    _check_shape(command)
    _check_till(command, till)
    _check_parties(command, policy=policy, invoice=invoice, customer=customer, products=products)
    posting_date, document_date = refund_dates(command, policy=policy, invoice=invoice, today=today)
    lines = _plan_lines(command, policy=policy, invoice=invoice, products=products,
                        default_location=default_location)
    _check_magnitudes(lines, invoice.currency if invoice else policy.currency)
    if sum(line.gross_minor for line in lines) == 0 and not any(line.restock for line in lines):
        raise _error("refund_is_zero", "/lines", "the refund comes to zero and returns no goods: there is nothing "
                     "to credit")  # no credit note, and so no number, for nothing
    rounding, payments = _plan_payments(command, policy=policy, invoice=invoice, methods=methods,
                                        gross_minor=sum(line.gross_minor for line in lines))
    plan = RefundPlan(tuple(lines), tuple(payments), posting_date, document_date, rounding)
    if command.expected is not None:
        _check_expected(command, plan, invoice.currency if invoice else policy.currency)
    return plan


def _check_magnitudes(lines: list[PlannedLine], cur: money.Currency) -> None:
    """R1's bound on computed figures: a line without an invoice is priced as requested, so its
    quantity x unit price (and cost) could exceed what any column holds; so could a sum of lines."""
    figures = [(line.gross_minor, f"/lines/{i}/unit_price") for i, line in enumerate(lines)]
    figures += [(line.cost_minor, f"/lines/{i}/quantity") for i, line in enumerate(lines)]
    figures += [(sum(line.gross_minor for line in lines), "/lines"), (sum(line.cost_minor for line in lines), "/lines")]
    for value, field in figures:
        money.bounded(value, cur, field)  # Invalid (validation_error), never stored under a key


def _check_till(command: IssueRefund, till: Till | None) -> None:
    """A refund at a point of sale needs that till's session, and the session open."""
    if command.pos_session is None and command.pos is None:
        return
    if till is None:
        raise _error("pos_session_not_found", "/pos_session",
                     "point of sale {pos} has no session {session}", pos=command.pos, session=command.pos_session)
    if till.state != "open":
        raise _error("pos_session_closed", "/pos_session",
                     "session {session} of point of sale {pos} is closed", session=till.session, pos=till.pos)


def _check_expected(command: IssueRefund, plan: RefundPlan, cur: money.Currency) -> None:
    """The client's own arithmetic and totals against ours: the first figure that differs."""
    expected = command.expected
    for i, (request, line, mine) in enumerate(zip(command.lines, expected.lines, plan.lines)):
        at = f"/expected/lines/{i}"
        price = request.unit_price if request.unit_price is not None else line.unit_price
        if line.unit_price is not None and mine.unit_price is not None and line.unit_price > mine.unit_price:
            raise _error("price_exceeds_original", f"{at}/unit_price",
                         "unit price {price} exceeds the original {original}",
                         price=money.format_quantity(line.unit_price),
                         original=money.format_quantity(mine.unit_price))
        if line.extended_minor is not None and request.quantity is not None and price is not None:
            _same(line.extended_minor, money.extend(request.quantity, price, cur), f"{at}/extended",
                  "unit price x quantity", cur)
            if line.total_minor is not None:
                _same(line.total_minor, line.extended_minor - line.discount_minor, f"{at}/total",
                      "the line total (gross - discount)", cur)
        if line.total_minor is not None:
            _same(line.total_minor, mine.gross_minor, f"{at}/total", "the line total", cur)
    _check_client_totals(expected, plan.gross_minor, plan.rounding_minor, plan.total_minor, cur)


def _check_client_totals(expected: ExpectedTotals, net: int, rounding: int, total: int, cur: money.Currency) -> None:
    """The client's net, cash rounding and final amount against ours, in that order."""
    for given, computed, field, what in ((expected.net_minor, net, "/expected/net", "the net amount"),
                                         (expected.rounding_minor, rounding, "/expected/rounding", "the cash rounding"),
                                         (expected.total_minor, total, "/expected/total", "the final amount")):
        if given is not None:
            _same(given, computed, field, what, cur)


def _same(given: int, computed: int, field: str, what: str, cur: money.Currency) -> None:
    if given != computed:
        raise _error("total_mismatch", field, "{what} is {computed}, not {given}", what=what,
                     computed=money.format_amount(computed, cur), given=money.format_amount(given, cur))


def _check_shape(command: IssueRefund) -> None:
    """Malformed values every door must refuse the same way (validation_error)."""
    bad: list[Violation] = []

    def invalid(field: str, message: str) -> None:
        bad.append(Violation(field, "validation_error", message))

    if command.state not in ("posted", "draft"):
        invalid("/state", "state must be \"posted\" or \"draft\"")
    if not command.lines:
        invalid("/lines", "a refund needs at least one line")
    for i, line in enumerate(command.lines):
        at = f"/lines/{i}"
        if line.quantity is not None and line.quantity <= 0:
            invalid(f"{at}/quantity", "quantity must be greater than zero")
        if line.unit_price is not None and line.unit_price < 0:
            invalid(f"{at}/unit_price", "unit_price must not be negative")
        if line.amount_minor is not None and line.amount_minor <= 0:
            invalid(f"{at}/amount", "amount must be greater than zero")
        if line.unit_price is not None and line.amount_minor is not None:
            invalid(f"{at}/amount", "give unit_price or amount, not both")
        if line.line is not None and line.line <= 0:
            invalid(f"{at}/line", "line numbers start at 1")
        if line.line is None and line.product is None and line.amount_minor is None:
            invalid(at, "a line needs an invoice line, a product or an amount")
    for i, payment in enumerate(command.payments or ()):
        if payment.amount_minor <= 0:
            invalid(f"/payments/{i}/amount", "amount must be greater than zero")
    if bad:
        raise Invalid(bad)


def _check_parties(command: IssueRefund, *, policy: Policy, invoice: Invoice | None,
                   customer: str | None, products: dict[str, Product]) -> None:
    if invoice is None:
        if not policy.allow_unlinked_refunds:
            raise _error("unlinked_refunds_not_allowed", "/invoice",
                         "this tenant does not allow refunds without an invoice")
        if customer is None:
            raise Invalid(Violation("/customer", "validation_error",
                                    "a refund without an invoice must name its customer"))
        for i, line in enumerate(command.lines):
            if line.product is None:
                raise Invalid(Violation(f"/lines/{i}/product", "validation_error",
                                        "a refund without an invoice needs a product on each line"))
            if line.quantity is None or line.unit_price is None:
                field = "quantity" if line.quantity is None else "unit_price"
                raise Invalid(Violation(f"/lines/{i}/{field}", "validation_error",
                                        "a refund without an invoice needs quantity and unit_price"))
        missing = [Violation(f"/lines/{i}/product", "product_not_found", "product {product} does not exist",
                             {"product": line.product})
                   for i, line in enumerate(command.lines) if line.product not in products]
        if missing:
            raise RefundError(missing)
    else:
        if command.customer is not None and command.customer != invoice.customer:
            raise _error("customer_mismatch", "/customer",
                         "the invoice {invoice} belongs to another customer", invoice=invoice.number)
    expected = invoice.currency.code if invoice else policy.currency.code
    if command.currency is not None and command.currency != expected:
        raise _error("currency_mismatch", "/currency",
                     "the refund must be in {expected}, not {given}",
                     expected=expected, given=command.currency)


def refund_dates(command: IssueRefund, *, policy: Policy, invoice: Invoice | None,
                 today: date) -> tuple[date, date]:
    """The refund's posting date (given, else today) and document date (given, else the posting
    date), or the first broken rule: a posting date after today (``posting_date_in_future``),
    before the invoice's date (``posting_date_before_invoice``), or in a closed period
    (``period_closed``, R13). Today 2026-03-15, nothing given: (2026-03-15, 2026-03-15)."""
    posting_date = command.posting_date or today
    document_date = command.document_date or posting_date
    if posting_date > today:
        raise _error("posting_date_in_future", "/posting_date",
                     "the posting date {day} is after today ({today})", day=posting_date, today=today)
    if invoice is not None and posting_date < invoice.date:
        raise _error("posting_date_before_invoice", "/posting_date",
                     "the posting date {day} is before the invoice date {invoice_date}",
                     day=posting_date, invoice_date=invoice.date)
    if policy.is_closed(posting_date):
        raise _error("period_closed", "/posting_date",
                     "the accounting period of {day} is closed", day=posting_date)
    return posting_date, document_date


def _plan_lines(command: IssueRefund, *, policy: Policy, invoice: Invoice | None,
                products: dict[str, Product], default_location: str | None) -> list[PlannedLine]:
    planned: list[PlannedLine] = []
    violations: list[Violation] = []
    running: dict[int, InvoiceLine] = {}
    for i, request in enumerate(command.lines):
        try:
            if invoice is None:
                line = _unlinked_line(request, i, policy=policy, products=products,
                                      location=request.location or command.location or default_location)
            elif request.line is None and request.product is None:
                line = _free_amount_line(request, i, invoice)
            else:
                sold = _resolve(invoice, request, i)
                current = running.get(sold.line, sold)
                line = _invoice_line_refund(
                    request, current, i, cur=invoice.currency, inclusive=invoice.prices_include_tax,
                    location=request.location or invoice.location or command.location or default_location)
                running[sold.line] = replace(
                    current,
                    refunded_quantity=current.refunded_quantity + line.quantity,
                    refunded_gross_minor=current.refunded_gross_minor + line.gross_minor,
                    refunded_tax_minor=current.refunded_tax_minor + line.tax_minor,
                    restocked_quantity=current.restocked_quantity + (line.quantity if line.restock else 0),
                    restocked_cost_minor=current.restocked_cost_minor + line.cost_minor,
                    retained_gross_minor=current.retained_gross_minor + line.retained_gross_minor,
                    retained_tax_minor=current.retained_tax_minor + line.retained_tax_minor)
            planned.append(line)
        except RefundError as error:
            violations.extend(error.violations)
    if violations:
        raise RefundError(violations)
    if invoice is not None:
        _check_tax_by_rate(planned, invoice)
        gross = sum(line.gross_minor for line in planned)
        if gross > invoice.refundable_total_minor:
            at = next((i for i, r in enumerate(command.lines) if r.line is None and r.product is None), 0)
            raise _error("amount_exceeds_refundable", f"/lines/{at}/amount",
                         "the refund ({amount}) exceeds what remains refundable on invoice "
                         "{invoice} ({remaining})", amount=money.format_amount(gross, invoice.currency),
                         invoice=invoice.number,
                         remaining=money.format_amount(invoice.refundable_total_minor, invoice.currency))
    return planned


def _resolve(invoice: Invoice, request: RefundLineRequest, i: int) -> InvoiceLine:
    if request.line is not None:
        sold = invoice.line_numbered(request.line)
        if sold is None:
            raise _error("line_not_found", f"/lines/{i}/line",
                         "invoice {invoice} has no line {line}", invoice=invoice.number, line=request.line)
        if request.product is not None and sold.product != request.product:
            raise _error("line_not_found", f"/lines/{i}/product",
                         "line {line} of invoice {invoice} is not product {product}",
                         line=request.line, invoice=invoice.number, product=request.product)
        return sold
    matches = [line for line in invoice.lines if line.product == request.product]
    if not matches:
        raise _error("line_not_found", f"/lines/{i}/product",
                     "invoice {invoice} has no line for product {product}",
                     invoice=invoice.number, product=request.product)
    if len(matches) > 1:
        raise _error("product_ambiguous", f"/lines/{i}/product",
                     "product {product} is on {count} lines of invoice {invoice}: name the line",
                     product=request.product, count=len(matches), invoice=invoice.number)
    return matches[0]


def _piece(total: int, before: int, after: int, sold: int) -> int:
    """E(after) - E(before) with E(n) = round(total x n / sold): the telescoping share."""
    return money.div_round(total * after, sold) - money.div_round(total * before, sold)


def _invoice_line_refund(request: RefundLineRequest, sold: InvoiceLine, i: int, *, cur: money.Currency,
                         inclusive: bool, location: str | None) -> PlannedLine:
    at = f"/lines/{i}"
    if request.tax_rate is not None:
        raise Invalid(Violation(f"{at}/tax_rate", "validation_error",
                                "tax_rate comes from the invoice line; give it only on free-amount lines"))
    _check_unit(request, sold.unit, sold.product, i)
    quantity = request.quantity
    if quantity is None and request.amount_minor is None:  # everything still refundable on the line
        quantity = sold.refundable_quantity
        if quantity <= 0 and sold.refundable_gross_minor > 0:  # the units are back, money is not (a
            request = replace(request, amount_minor=sold.refundable_gross_minor)  # void reopened it)
            quantity = None
        elif quantity <= 0:
            raise _error("quantity_exceeds_refundable", f"{at}/line",
                         "line {line} is already fully refunded", line=sold.line)
    price = sold.unit_price if request.unit_price is None else request.unit_price
    if price > sold.unit_price:
        raise _error("price_exceeds_original", f"{at}/unit_price",
                     "unit price {price} exceeds the original {original}",
                     price=money.format_quantity(price), original=money.format_quantity(sold.unit_price))
    if quantity is not None and quantity > sold.refundable_quantity:
        raise _error("quantity_exceeds_refundable", f"{at}/quantity",
                     "quantity {quantity} exceeds the {remaining} still refundable on line {line}",
                     quantity=money.format_quantity(quantity),
                     remaining=money.format_quantity(sold.refundable_quantity), line=sold.line)
    retained = (0, 0)
    if quantity is None:  # amount only: a price adjustment on the line, no goods move
        quantity = 0
        if request.amount_minor > sold.refundable_gross_minor:
            raise _error("amount_exceeds_refundable", f"{at}/amount",
                         "amount {amount} exceeds the {remaining} still refundable on line {line}",
                         amount=money.format_amount(request.amount_minor, cur),
                         remaining=money.format_amount(sold.refundable_gross_minor, cur), line=sold.line)
        gross, tax = _amount_piece(sold, request.amount_minor)
    else:
        full = _full_price_piece(sold, quantity, inclusive)
        gross, tax = full if price == sold.unit_price else _lower_price_piece(sold, full, price, inclusive)
        if request.amount_minor is not None:
            if request.amount_minor > full[0]:
                raise _error("price_exceeds_original", f"{at}/amount",
                             "amount {amount} exceeds {full} for these units at the original price",
                             amount=money.format_amount(request.amount_minor, cur),
                             full=money.format_amount(full[0], cur))
            gross, tax = _amount_piece(sold, request.amount_minor)
        retained = (full[0] - gross, full[1] - tax)
    restock = bool(sold.stock_tracked and quantity > 0 and request.restock is not False)
    return PlannedLine(
        invoice_line=sold.line, product=sold.product, description=request.description or sold.description,
        quantity=quantity, unit_price=price if quantity else None, tax_rate=sold.tax_rate,
        net_minor=gross - tax, tax_minor=tax, gross_minor=gross, restock=restock,
        location=location if restock else None, unit_cost=sold.unit_cost,
        cost_minor=_cost_piece(sold, quantity) if restock else 0,
        retained_gross_minor=retained[0], retained_tax_minor=retained[1])


def _check_unit(request: RefundLineRequest, unit: str | None, product: str | None, i: int) -> None:
    """A quantity counted in another unit of measure than the product's is not the same quantity."""
    if request.unit is not None and request.unit != unit:
        raise _error("unit_mismatch", f"/lines/{i}/unit", "product {product} is counted in {unit}, not {given}",
                     product=product or "", unit=unit or "-", given=request.unit)


def _full_price_piece(sold: InvoiceLine, quantity: int, inclusive: bool) -> tuple[int, int]:
    """(gross, tax) for ``quantity`` units at the original price: the line's base (gross if its
    prices include tax, else net) telescopes and the piece's tax is R4's on that base; the refund
    that takes the line's last refundable units takes exactly what remains of it (R8), whatever
    order partial refunds, price adjustments and voids came in, less only what earlier refunds at
    a lower price (R9) left with the business."""
    before, after = sold.refunded_quantity, sold.refunded_quantity + quantity
    if after == sold.quantity:
        gross = max(0, sold.refundable_gross_minor - sold.retained_gross_minor)
        return _within_remaining(sold, gross, max(0, sold.refundable_tax_minor - sold.retained_tax_minor))
    base_total = sold.gross_minor if inclusive else sold.net_minor
    base = _piece(base_total, before, after, sold.quantity)
    if inclusive:
        return _within_remaining(sold, base, money.tax_included(base, sold.tax_rate))
    return _within_remaining_net(sold, base, money.tax_on(base, sold.tax_rate))


def _lower_price_piece(sold: InvoiceLine, full: tuple[int, int], price: int, inclusive: bool) -> tuple[int, int]:
    """(gross, tax) at a lower unit price (R9): the full-price piece's base scaled by new price /
    original price, its tax R4's on that base; the difference stays with the business."""
    base = full[0] if inclusive else full[0] - full[1]
    base = money.div_round(base * price, sold.unit_price) if sold.unit_price else 0
    if inclusive:
        return _within_remaining(sold, base, money.tax_included(base, sold.tax_rate))
    return _within_remaining_net(sold, base, money.tax_on(base, sold.tax_rate))


def _cost_piece(sold: InvoiceLine, quantity: int) -> int:
    """The cost that ``quantity`` restocked units book back (R8 per cost): the cost booked out when
    sold telescopes over the units returned to stock, so all units back = exactly that cost."""
    before, after = sold.restocked_quantity, sold.restocked_quantity + quantity
    remaining = sold.cost_minor - sold.restocked_cost_minor
    if after >= sold.quantity:
        return remaining
    return max(0, min(_piece(sold.cost_minor, before, after, sold.quantity), remaining))


def _amount_piece(sold: InvoiceLine, gross: int) -> tuple[int, int]:
    """(gross, tax) for a tax-inclusive amount of the line; all that remains takes its exact tax."""
    if gross == sold.refundable_gross_minor:
        return gross, sold.refundable_tax_minor
    return _within_remaining(sold, gross, money.tax_included(gross, sold.tax_rate))


def _within_remaining_net(sold: InvoiceLine, net: int, tax: int) -> tuple[int, int]:
    """(gross, tax) of a tax-exclusive piece, its net and tax each clamped to what remains (R7):
    the net is the base and stays what it is unless less remains; the gross follows."""
    net = max(0, min(net, sold.net_minor - sold.refunded_net_minor))
    tax = max(0, min(tax, sold.refundable_tax_minor))
    return net + tax, tax


def _within_remaining(sold: InvoiceLine, gross: int, tax: int) -> tuple[int, int]:
    """Clamp a tax-inclusive piece so its gross, tax and net each stay within what remains on the
    line (R7): the gross is the base; the split between net and tax moves if it must."""
    remaining_net = sold.net_minor - sold.refunded_net_minor
    gross = max(0, min(gross, sold.refundable_gross_minor))
    tax = max(0, min(tax, sold.refundable_tax_minor, gross))
    if gross - tax > remaining_net:
        tax = gross - remaining_net
    return gross, tax


def _free_amount_line(request: RefundLineRequest, i: int, invoice: Invoice) -> PlannedLine:
    """A free amount (no invoice line): tax-inclusive at the given rate (default 0 %, which reclaims
    no tax), no goods move. The rate must be one the invoice charged (R8 per tax rate)."""
    gross = request.amount_minor
    rate = request.tax_rate or 0
    if rate and rate not in {line.tax_rate for line in invoice.lines}:
        raise _error("tax_rate_not_on_invoice", f"/lines/{i}/tax_rate",
                     "invoice {invoice} charged no tax at {rate} %", invoice=invoice.number,
                     rate=money.format_rate(rate))
    tax = money.tax_included(gross, rate)
    return PlannedLine(invoice_line=None, product=None, description=request.description or "Refund",
                       quantity=0, unit_price=None, tax_rate=rate, net_minor=gross - tax,
                       tax_minor=tax, gross_minor=gross, restock=False, location=None)


def _check_tax_by_rate(planned: list[PlannedLine], invoice: Invoice) -> None:
    """Tax refunded at each rate never exceeds the tax charged at it, counted over every posted
    refund of the invoice (R8 per tax rate). Without free amounts the lines' own caps keep it so;
    after a free amount took some of a rate's tax, a piece at that rate gets only what is left:
    a free amount keeps its gross (the rest is net), an invoice line's piece keeps its net."""
    left = {rate: charged - refunded for rate, (charged, refunded) in invoice.tax_by_rate().items()}
    for i, line in enumerate(planned):
        room = max(0, left.get(line.tax_rate, 0))
        if line.tax_minor > room:
            if line.invoice_line is None:
                planned[i] = replace(line, tax_minor=room, net_minor=line.gross_minor - room)
            else:
                planned[i] = replace(line, tax_minor=room, gross_minor=line.net_minor + room)
        left[line.tax_rate] = left.get(line.tax_rate, 0) - planned[i].tax_minor


def _unlinked_line(request: RefundLineRequest, i: int, *, policy: Policy,
                   products: dict[str, Product], location: str | None) -> PlannedLine:
    """A walk-in return without an invoice (R10): priced as requested, no cap to check."""
    product = products.get(request.product)
    if product is None:
        raise _error("product_not_found", f"/lines/{i}/product",
                     "product {product} does not exist", product=request.product)
    _check_unit(request, product.unit, product.code, i)
    rate = request.tax_rate or 0
    if not policy.allows_tax_rate(rate):
        raise _error("tax_rate_not_allowed", f"/lines/{i}/tax_rate",
                     "{rate} % is not one of this tenant's tax rates", rate=money.format_rate(rate))
    extended = money.extend(request.quantity, request.unit_price, policy.currency)
    if policy.prices_include_tax:
        gross, tax = extended, money.tax_included(extended, rate)
    else:
        tax = money.tax_on(extended, rate)
        gross = extended + tax
    restock = product.stock_tracked and request.restock is not False
    return PlannedLine(
        invoice_line=None, product=product.code, description=request.description or product.code,
        quantity=request.quantity, unit_price=request.unit_price, tax_rate=rate,
        net_minor=gross - tax, tax_minor=tax, gross_minor=gross, restock=restock,
        location=location if restock else None, unit_cost=product.unit_cost,
        cost_minor=money.extend(request.quantity, product.unit_cost, policy.currency) if restock else 0)


def _plan_payments(command: IssueRefund, *, policy: Policy, invoice: Invoice | None,
                   methods: dict[str, PaymentMethod], gross_minor: int
                   ) -> tuple[int, list[PlannedPayment]]:
    """Who gets the money back, and how (R11), with cash rounding (R5); never more by a method
    than the invoice took by it (R8 per payment method and per cash)."""
    if command.payments is not None:
        return _explicit_payments(command.payments, policy=policy, invoice=invoice, methods=methods,
                                  gross_minor=gross_minor, expected=command.expected)
    if invoice is None:  # a walk-in return: cash
        method = _fallback_method(methods, "cash")
        total = _payable(gross_minor, [method], policy, held=None)
        return total - gross_minor, [_payment(method, total)]
    tenders, stranded = _open_tenders(invoice, methods)
    if not tenders:  # what is left was paid by methods no longer active: store credit for it
        total = min(gross_minor, stranded)  # 0 when cash rounding already gave everything back
        return total - gross_minor, [_payment(_fallback_method(methods, "store_credit"), total)] if total else []
    chosen = [tender_method for tender_method, _ in tenders]
    held = sum(tender.remaining_minor for _, tender in tenders)
    total = _payable(gross_minor, chosen, policy, held=held + stranded, owed=_owed(invoice, gross_minor))
    parts = money.allocate(min(total, held), [tender.remaining_minor for _, tender in tenders])
    payments = [_payment(method, part, tender_minor=part) for method, part in zip(chosen, parts) if part]
    if total > held:  # the rest was paid by methods no longer active: store credit
        payments.append(_payment(_fallback_method(methods, "store_credit"), total - held))
    return total - gross_minor, payments


def _explicit_payments(requested: tuple[PaymentRequest, ...], *, policy: Policy, invoice: Invoice | None,
                       methods: dict[str, PaymentMethod], gross_minor: int,
                       expected: ExpectedTotals | None = None) -> tuple[int, list[PlannedPayment]]:
    """The client's own split: each method known and active; a method the invoice was paid by
    gets back at most what it paid less what it already got back; store credit is always allowed;
    another method only where the tenant allows it; the amounts sum to the total."""
    cur = invoice.currency if invoice else policy.currency
    unknown = [Violation(f"/payments/{i}/method", "unknown_payment_method",
                         "payment method {method} does not exist or is not active", {"method": p.method})
               for i, p in enumerate(requested) if p.method not in methods or not methods[p.method].active]
    if unknown:
        raise RefundError(unknown)
    chosen = [methods[p.method] for p in requested]
    left = {tender.method: tender.remaining_minor for tender in invoice.tenders} if invoice else {}
    held = sum(left[m] for m in {m.code for m in chosen}) if all(m.code in left for m in chosen) else None
    total = _payable(gross_minor, chosen, policy, held=held, owed=_owed(invoice, gross_minor))
    paid = sum(p.amount_minor for p in requested)
    if paid != total and expected is not None:  # the client's own figure that is off, before its payments
        _check_client_totals(expected, gross_minor, total - gross_minor, total, cur)
    if paid != total:
        raise _error("payments_do_not_match_total", "/payments",
                     "the payments sum to {paid} but the refund total is {total}",
                     paid=money.format_amount(paid, cur), total=money.format_amount(total, cur))
    planned = []
    for i, (method, request) in enumerate(zip(chosen, requested)):
        tender_part = 0
        if method.code in left:
            tender_part = min(request.amount_minor, left[method.code])
            if tender_part < request.amount_minor and method.kind != "store_credit":
                raise _error("payment_exceeds_paid", f"/payments/{i}/amount",
                             "{method} can take back at most {left} of this invoice, not {amount}",
                             method=method.code, left=money.format_amount(left[method.code], cur),
                             amount=money.format_amount(request.amount_minor, cur))
            left[method.code] -= tender_part
        elif invoice is not None and method.kind != "store_credit" and not policy.refund_to_other_methods:
            raise _error("payment_method_not_on_invoice", f"/payments/{i}/method",
                         "invoice {invoice} was not paid by {method}; refund it by the methods it was "
                         "paid by or as store credit", invoice=invoice.number, method=method.code)
        planned.append(_payment(method, request.amount_minor, request.reference, tender_minor=tender_part))
    return total - gross_minor, planned


def _owed(invoice: Invoice | None, gross_minor: int) -> int | None:
    """What the refund that closes the invoice pays back; None for any other refund."""
    if invoice is None or gross_minor != invoice.refundable_total_minor:
        return None
    return invoice.owed_minor


def _open_tenders(invoice: Invoice, methods: dict[str, PaymentMethod]
                  ) -> tuple[list[tuple[PaymentMethod, Tender]], int]:
    """The invoice's tenders that still hold something to give back, with their methods (the
    receivable included), and what is held by methods deactivated since (``stranded``)."""
    open_, stranded = [], 0
    for tender in invoice.tenders:
        method = RECEIVABLE if tender.method == RECEIVABLE.code else methods.get(tender.method)
        if tender.remaining_minor <= 0:
            continue
        if method is not None and method.active:
            open_.append((method, tender))
        else:
            stranded += tender.remaining_minor
    return open_, stranded


def _fallback_method(methods: dict[str, PaymentMethod], code: str) -> PaymentMethod:
    method = methods.get(code)
    if method is None or not method.active:
        method = next((m for m in methods.values() if m.active), None)
    if method is None:
        raise _error("unknown_payment_method", "/payments", "the tenant has no active payment method")
    return method


def _payment(method: PaymentMethod, amount: int, reference: str | None = None, *,
             tender_minor: int = 0) -> PlannedPayment:
    return PlannedPayment(method.code, method.kind, method.account, amount, reference, tender_minor)


def _payable(gross_minor: int, methods: list[PaymentMethod], policy: Policy, *, held: int | None,
             owed: int | None = None) -> int:
    """What the refund pays back (R5). The refund that closes the invoice (``owed`` given) pays
    exactly what the sale took less what refunds paid back, so every dimension closes. Otherwise
    its gross, rounded to the cash increment when every method is cash (or the tenant rounds every
    method): rounding is per document, but never pays back more than the invoice's methods still
    hold (``held``): where the nearest increment would, the note rounds down."""
    if owed is not None:
        return max(0, owed)
    increment = policy.cash_increment_minor
    if increment <= 1 or not methods or not (
            policy.cash_rounding_all_methods or all(m.kind == "cash" for m in methods)):
        return gross_minor
    total = money.round_to_increment(gross_minor, increment)
    if held is not None and total > held:
        total = min(gross_minor // increment * increment, held)
    return total


def posted(invoice: Invoice, plan: RefundPlan, sign: int = 1) -> Invoice:
    """The invoice's running figures after ``plan`` is posted (``sign=-1``: after it is voided):
    what the store's conditional updates do (R7, R8), for models and property tests."""
    increments, restocks, kept = plan.cap_increments(), plan.restock_increments(), plan.retained_increments()
    lines = []
    for sold in invoice.lines:
        q, g, x = increments.get(sold.line, (0, 0, 0))
        rq, rc = restocks.get(sold.line, (0, 0))
        kg, kx = kept.get(sold.line, (0, 0))
        lines.append(replace(
            sold, refunded_quantity=sold.refunded_quantity + sign * q,
            refunded_gross_minor=sold.refunded_gross_minor + sign * g,
            refunded_tax_minor=sold.refunded_tax_minor + sign * x,
            restocked_quantity=sold.restocked_quantity + sign * rq,
            restocked_cost_minor=sold.restocked_cost_minor + sign * rc,
            retained_gross_minor=sold.retained_gross_minor + sign * kg,
            retained_tax_minor=sold.retained_tax_minor + sign * kx))
    back = dict(invoice.refunded_by_method)
    for method, given in plan.tender_increments().items():
        back[method] = back.get(method, 0) + sign * given
    free = dict(invoice.free_tax_by_rate)
    for line in plan.lines:
        if line.invoice_line is None:
            free[line.tax_rate] = free.get(line.tax_rate, 0) + sign * line.tax_minor
    return replace(invoice, lines=tuple(lines), refunded_by_method=tuple(back.items()),
                   free_tax_by_rate=tuple(free.items()),
                   refunded_total_minor=invoice.refunded_total_minor + sign * plan.gross_minor,
                   refunded_free_minor=invoice.refunded_free_minor + sign * plan.free_gross_minor,
                   paid_back_minor=invoice.paid_back_minor + sign * plan.total_minor)


def _error(code: str, field: str, message: str, /, **params) -> RefundError:
    return RefundError(Violation(field, code, message, params))
