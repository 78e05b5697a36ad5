"""Builders for the domain tests, written in the domain's own notation.

Invoices, expected refund lines and expected journal entries are written as small aligned
tables of decimal text (the way an accountant would write them down) and parsed with the
domain's own parsers, so a test reads like the worked example it checks::

    inv = invoice('''
        line  product  quantity  unit_price  discount  tax_rate
        1     APPLE    3         3.3333      0         0
    ''', cur=SAR)

    assert_lines(plan, '''
        line  quantity  net   tax   gross
        1     1         3.33  0.00  3.33
    ''')

    assert_entry(refund_entry(plan), '''
        4100 Sales returns   100.00       -
        2100 Tax payable      15.00       -
        1000 Cash                 -  115.00
    ''', SAR)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from salesrefund.domain import money
from salesrefund.domain.commands import IssueRefund, PaymentRequest, RefundLineRequest
from salesrefund.domain.invoices import SoldLine, line_figures
from salesrefund.domain.journal import Posting
from salesrefund.domain.model import Invoice, InvoiceLine, PaymentMethod, Policy, Product
from salesrefund.domain.refunds import posted, RefundPlan, plan_refund

SAR = money.currency("SAR")
MYR = money.currency("MYR")
JPY = money.currency("JPY")
KWD = money.currency("KWD")

INVOICE_DATE = date(2026, 3, 1)
TODAY = date(2026, 3, 15)

METHODS: dict[str, PaymentMethod] = {
    "cash": PaymentMethod("cash", "cash", "1000"),
    "card": PaymentMethod("card", "card", "1010"),
    "bank": PaymentMethod("bank", "bank", "1020"),
    "store_credit": PaymentMethod("store_credit", "store_credit", "2200"),
}


def _rows(table: str) -> list[dict[str, str]]:
    """An aligned table (first non-blank line = header) as a list of {column: text}."""
    lines = [ln.split() for ln in table.strip().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    header, body = lines[0], lines[1:]
    rows = []
    for cells in body:
        assert len(cells) == len(header), f"row {cells} does not match header {header}"
        rows.append(dict(zip(header, cells)))
    return rows


def amount(text: str, cur: money.Currency = SAR) -> int:
    return money.parse_amount(text, "/test", cur)


def qty(text: str) -> int:
    return money.parse_quantity(text, "/test")


def price(text: str) -> int:
    return money.parse_price(text, "/test")


def rate(text: str) -> int:
    return money.parse_rate(text, "/test")


def invoice_line(number: int, *, product: str | None = None, quantity: str = "1", unit_price: str = "0",
                 discount: str = "0", tax_rate: str = "0", cost: str = "0", stock: bool = False,
                 cur: money.Currency = SAR, inclusive: bool = False) -> InvoiceLine:
    sold = SoldLine(product, product or f"line {number}", qty(quantity), price(unit_price),
                    amount(discount, cur), rate(tax_rate))
    figures = line_figures(sold, cur=cur, prices_include_tax=inclusive)
    return InvoiceLine(line=number, product=sold.product, description=sold.description,
                       quantity=sold.quantity, unit_price=sold.unit_price,
                       discount_minor=sold.discount_minor, tax_rate=sold.tax_rate,
                       net_minor=figures.net_minor, tax_minor=figures.tax_minor,
                       gross_minor=figures.gross_minor, unit_cost=price(cost), stock_tracked=stock,
                       cost_minor=money.extend(sold.quantity, price(cost), cur) if stock else 0)


def invoice(table: str, *, cur: money.Currency = SAR, inclusive: bool = False,
            payments: tuple[tuple[str, str], ...] = (), customer: str = "C1", number: str = "INV-1",
            on: date = INVOICE_DATE, location: str | None = "MAIN") -> Invoice:
    """Columns: line product quantity unit_price [discount] [tax_rate] [cost] [stock]; "-" = none."""
    lines = []
    for row in _rows(table):
        lines.append(invoice_line(
            int(row["line"]),
            product=None if row.get("product", "-") == "-" else row["product"],
            quantity=row["quantity"], unit_price=row["unit_price"],
            discount=row.get("discount", "0"), tax_rate=row.get("tax_rate", "0"),
            cost=row.get("cost", "0"), stock=row.get("stock", "no") == "yes",
            cur=cur, inclusive=inclusive))
    return Invoice(number=number, customer=customer, currency=cur, date=on, prices_include_tax=inclusive,
                   location=location, lines=tuple(lines),
                   payments=tuple((method, amount(value, cur)) for method, value in payments))


def line(number: int | None = None, *, product: str | None = None, quantity: str | None = None,
         unit_price: str | None = None, amount_: str | None = None, cur: money.Currency = SAR,
         restock: bool | None = None, tax_rate: str | None = None, location: str | None = None
         ) -> RefundLineRequest:
    return RefundLineRequest(
        line=number, product=product,
        quantity=None if quantity is None else qty(quantity),
        unit_price=None if unit_price is None else price(unit_price),
        amount_minor=None if amount_ is None else amount(amount_, cur),
        restock=restock, location=location,
        tax_rate=None if tax_rate is None else rate(tax_rate))


def pay(method: str, value: str, cur: money.Currency = SAR) -> PaymentRequest:
    return PaymentRequest(method, amount(value, cur))


def refund(*lines: RefundLineRequest, invoice_number: str | None = "INV-1", **kwargs) -> IssueRefund:
    return IssueRefund(lines=tuple(lines), invoice=invoice_number, **kwargs)


def plan(command: IssueRefund, inv: Invoice | None, *, policy: Policy | None = None,
         methods: dict[str, PaymentMethod] | None = None, products: dict[str, Product] | None = None,
         customer: str | None = None, today: date = TODAY, default_location: str | None = None
         ) -> RefundPlan:
    if policy is None:
        policy = Policy(currency=inv.currency if inv else SAR,
                        prices_include_tax=inv.prices_include_tax if inv else False)
    return plan_refund(command, policy=policy, invoice=inv,
                       customer=customer if customer is not None else (inv.customer if inv else None),
                       methods=METHODS if methods is None else methods, products=products or {},
                       today=today, default_location=default_location)


def apply(inv: Invoice, refund_plan: RefundPlan) -> Invoice:
    """What the store does after posting: raise the running figures by the plan's increments."""
    return posted(inv, refund_plan)


def line_table(refund_plan: RefundPlan, cur: money.Currency) -> list[dict[str, str]]:
    return [{"line": "-" if pl.invoice_line is None else str(pl.invoice_line),
             "quantity": money.format_quantity(pl.quantity),
             "net": money.format_amount(pl.net_minor, cur),
             "tax": money.format_amount(pl.tax_minor, cur),
             "gross": money.format_amount(pl.gross_minor, cur)} for pl in refund_plan.lines]


def assert_lines(refund_plan: RefundPlan, table: str, cur: money.Currency = SAR) -> None:
    """Compare the plan's lines with a table: line quantity net tax gross (amounts as printed)."""
    expected = _rows(table)
    actual = [{k: row[k] for k in expected[0]} for row in line_table(refund_plan, cur)]
    assert actual == expected


def parse_entry(text: str, cur: money.Currency = SAR) -> list[Posting]:
    """``account [name ...] debit credit`` per line, "-" for an empty side."""
    postings = []
    for raw in text.strip().splitlines():
        if not raw.strip():
            continue
        cells = raw.split()
        account, debit, credit = cells[0], cells[-2], cells[-1]
        postings.append(Posting(account,
                                0 if debit == "-" else amount(debit, cur),
                                0 if credit == "-" else amount(credit, cur)))
    return postings


def assert_entry(postings, text: str, cur: money.Currency = SAR) -> None:
    """Same postings (order-insensitive) as the written entry."""
    key = lambda p: (p.account, p.debit_minor, p.credit_minor)  # noqa: E731
    assert sorted(postings, key=key) == sorted(parse_entry(text, cur), key=key)
