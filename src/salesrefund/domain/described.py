"""Refund lines known only by their description, as BeansBooks sends them (its refund lines carry
no link to the sale's lines): which sale line each one refunds, whether the taxes the request
names agree with that line's (R8), and what a line that matches no sale line becomes.

BeansBooks makes every refund line a line of the refund sale, so a line whose description matches
no sale line is refunded as a **free amount** (``RefundLineRequest.amount_minor``, no sale line):
BeansBooks' line total ``round(amount x quantity, 2)`` plus its tax ``round(total x rate)`` at the
rate the request's taxes come to. The planner then caps it with the other lines by what remains
refundable on the sale (R7), and its tax by what the sale charged at that rate (R8 per rate).
Amounts here are tax-exclusive (BeansBooks' own arithmetic); the free amount's gross is chosen so
that the planner, which reads a free amount as tax-inclusive, finds the same net and tax again
(``free_amount``: ``tax_included(net + tax_on(net, r), r) == tax_on(net, r)`` for every net and
rate, see ``tests/unit/test_described.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from . import money
from .commands import RefundLineRequest
from .errors import RefundError, Violation


class SoldLine(Protocol):
    """A sale line as a door recognises it (``service.lookups.SaleLine``)."""

    line: int
    description: str
    unit_price: int  # 1/10,000 currency units
    tax_rate: int  # 1/10,000 percent


@dataclass(frozen=True)
class DescribedLine:
    """One refund line as BeansBooks sends it, parsed."""

    description: str
    unit_price: int  # |amount| per unit, tax excluded, 1/10,000 currency units
    quantity: int  # 1/10,000 units
    tax_rate: int  # what the request's taxes come to for this line (0 when tax-exempt), 1/10,000 percent
    tax_field: str = "taxes"  # the request field that rate comes from, named by a tax_mismatch


def words(text: str) -> str:
    """A description compared as BeansBooks users type it: case and spacing ignored."""
    return " ".join(text.split()).casefold()


def described(sold: Sequence[SoldLine], description: str, unit_price: int) -> list[SoldLine]:
    """The sale lines a refund line names: those with the same description (``words``); when
    several share it, those whose unit price equals ``unit_price``, or all of them if none does."""
    key = words(description)
    matches = [line for line in sold if words(line.description) == key]
    if len(matches) > 1:
        matches = [line for line in matches if line.unit_price == unit_price] or matches
    return matches


def tax_mismatch(sold: SoldLine, given_rate: int, *, field: str, sale: str) -> Violation | None:
    """The refund's taxes must come to the sale line's own rate (R8: the refund takes the sale
    line's tax); None when they do, else a ``tax_mismatch`` naming ``field``."""
    if given_rate == sold.tax_rate:
        return None
    return Violation(field, "tax_mismatch",
                     "line {line} of sale {sale} was taxed at {sold} %, but this refund's taxes come to {given} %",
                     {"line": sold.line, "sale": sale, "sold": money.format_rate(sold.tax_rate),
                      "given": money.format_rate(given_rate)})


def free_amount(line: DescribedLine, cur: money.Currency, field: str) -> int:
    """The tax-inclusive amount of a line that matches no sale line: BeansBooks' line total
    ``round(unit price x quantity)`` plus ``round(total x rate)``. 1 x 10.00 at 8.25 % -> 10.83."""
    net = money.bounded(money.extend(line.quantity, line.unit_price, cur), cur, field)
    return money.bounded(net + money.tax_on(net, line.tax_rate), cur, field)


def link(sale: str, sold: Sequence[SoldLine], lines: Sequence[DescribedLine],
         cur: money.Currency) -> tuple[RefundLineRequest, ...]:
    """The command's lines: each refund line linked to the one sale line it names (its quantity
    at its unit price, the sale line's caps and tax), or a free amount when it names none;
    ``RefundError`` with every line naming several sale lines and every tax disagreement."""
    requests: list[RefundLineRequest] = []
    problems: list[Violation] = []
    for i, line in enumerate(lines):
        matches = described(sold, line.description, line.unit_price)
        if len(matches) > 1:
            problems.append(Violation(f"/lines/{i}/description", "product_ambiguous",
                                      "{count} lines of sale {sale} are described as {description} at this amount",
                                      {"count": len(matches), "sale": sale, "description": line.description}))
        elif not matches:
            requests.append(RefundLineRequest(amount_minor=free_amount(line, cur, f"/lines/{i}/amount"),
                                              tax_rate=line.tax_rate, description=line.description))
        elif (mismatch := tax_mismatch(matches[0], line.tax_rate, field=line.tax_field, sale=sale)) is not None:
            problems.append(mismatch)
        else:
            requests.append(RefundLineRequest(line=matches[0].line, quantity=line.quantity,
                                              unit_price=line.unit_price, description=line.description))
    if problems:
        raise RefundError(problems)
    return tuple(requests)
