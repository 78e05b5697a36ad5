"""Journal entries (R14): balanced debits and credits, built so they cannot be unbalanced.

Refund of a tax-exclusive 100 + 15 VAT paid in cash, restocked goods that cost 60::

    4100 Sales returns       100.00
    2100 Tax payable          15.00
    1000 Cash                          115.00
    1200 Inventory            60.00
    5000 Cost of goods sold            60.00
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .refunds import RefundPlan

DEFAULT_CHART: tuple[tuple[str, str, str], ...] = (
    # code, name, role
    ("1000", "Cash", "cash"),
    ("1010", "Card clearing", "card"),
    ("1020", "Bank", "bank"),
    ("1100", "Accounts receivable", "receivable"),
    ("1200", "Inventory", "inventory"),
    ("2100", "Tax payable", "tax"),
    ("2200", "Customer credit", "store_credit"),
    ("3000", "Opening balance equity", "equity"),
    ("4000", "Sales", "sales"),
    ("4100", "Sales returns", "sales_returns"),
    ("5000", "Cost of goods sold", "cogs"),
    ("6900", "Cash rounding", "rounding"),
)
ROLE_ACCOUNT = {role: code for code, _, role in DEFAULT_CHART}


class Unbalanced(AssertionError):
    """An entry whose debits and credits differ: a bug, never a user error."""


@dataclass(frozen=True)
class Posting:
    account: str
    debit_minor: int = 0
    credit_minor: int = 0


def entry(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    """Merge postings per account (debits and credits kept apart), drop zeros, assert balance."""
    merged: dict[tuple[str, str], int] = {}
    for p in postings:
        for side, amount in (("debit", p.debit_minor), ("credit", p.credit_minor)):
            if amount < 0:
                side, amount = ("credit" if side == "debit" else "debit"), -amount
            if amount:
                merged[(p.account, side)] = merged.get((p.account, side), 0) + amount
    result = tuple(Posting(account, amount, 0) if side == "debit" else Posting(account, 0, amount)
                   for (account, side), amount in merged.items())
    check_balanced(result)
    return result


def check_balanced(postings: Iterable[Posting]) -> None:
    postings = list(postings)
    debit = sum(p.debit_minor for p in postings)
    credit = sum(p.credit_minor for p in postings)
    if debit != credit:
        raise Unbalanced(f"journal entry unbalanced: debit {debit} != credit {credit}")


def refund_entry(plan: RefundPlan, accounts: dict[str, str] | None = None) -> tuple[Posting, ...]:
    """Dr sales returns (net) and tax; Cr each payment's account; rounding; restocked cost."""
    acc = {**ROLE_ACCOUNT, **(accounts or {})}
    cost = sum(line.cost_minor for line in plan.lines)
    postings = [
        Posting(acc["sales_returns"], debit_minor=plan.net_minor),
        Posting(acc["tax"], debit_minor=plan.tax_minor),
        Posting(acc["rounding"], debit_minor=plan.rounding_minor),  # negative flips to a credit
        Posting(acc["inventory"], debit_minor=cost),
        Posting(acc["cogs"], credit_minor=cost),
    ]
    postings += [Posting(p.account, credit_minor=p.amount_minor) for p in plan.payments]
    return entry(postings)


def sale_entry(*, net_minor: int, tax_minor: int, cost_minor: int,
               payments: Iterable[tuple[str, int]], rounding_minor: int = 0,
               accounts: dict[str, str] | None = None) -> tuple[Posting, ...]:
    """The invoice's own posting: Dr what was paid (the rest to receivable), Cr sales and tax,
    Cr the sale's cash rounding (a debit when it rounded down), Dr cost of goods sold, Cr inventory.

    A MYR cash sale of 10.02 paid 10.00: Dr 1000 Cash 10.00, Dr 6900 Cash rounding 0.02,
    Cr 4000 Sales 10.02."""
    acc = {**ROLE_ACCOUNT, **(accounts or {})}
    payments = list(payments)
    unpaid = net_minor + tax_minor + rounding_minor - sum(amount for _, amount in payments)
    postings = [Posting(account, debit_minor=amount) for account, amount in payments]
    postings += [
        Posting(acc["rounding"], credit_minor=rounding_minor),  # negative flips to a debit
        Posting(acc["receivable"], debit_minor=unpaid),
        Posting(acc["sales"], credit_minor=net_minor),
        Posting(acc["tax"], credit_minor=tax_minor),
        Posting(acc["cogs"], debit_minor=cost_minor),
        Posting(acc["inventory"], credit_minor=cost_minor),
    ]
    return entry(postings)


def receipt_entry(cost_minor: int, accounts: dict[str, str] | None = None) -> tuple[Posting, ...]:
    """Goods received into stock at cost: Dr inventory, Cr opening balance equity."""
    acc = {**ROLE_ACCOUNT, **(accounts or {})}
    return entry([Posting(acc["inventory"], debit_minor=cost_minor), Posting(acc["equity"], credit_minor=cost_minor)])


def reversal(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    """The entry that undoes another (a void, R12): the same lines with sides swapped."""
    return entry(Posting(p.account, p.credit_minor, p.debit_minor) for p in postings)
