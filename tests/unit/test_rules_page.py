"""docs/rules.md (the rules R1-R20) and the README's "where is…" table cannot go stale.

Every reference they make must exist: ``path`` a file or folder of the repository, ``path:name`` a
function, class, method (``Class.method``) or module-level name defined in that file, ``path::test``
a test function in that test file, every relative Markdown link a file, and a link written
``[`file.py:name`](path/file.py)`` (the README's "where is…" table) a name defined in that file. The worked examples
the page marks "(recomputed)" are recomputed here with the domain functions: the page must
show the figures salesrefund computes today. No document may send a reader to ``../shared`` for
the rules, which a clone of the repository does not have.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from salesrefund.domain import journal, money, payouts
from salesrefund.domain.errors import RefundError
from salesrefund.domain.invoices import SoldLine, line_figures
from salesrefund.domain.model import Policy

from refund_builders import METHODS, MYR, SAR, apply, invoice, line, pay, plan, price, qty, rate, refund

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "rules.md"
README = ROOT / "README.md"

# `path`, `path:name`, `path::test` inside backticks; path under src/, tests/, docs/ or bench/
REFERENCE = re.compile(r"`((?:src|tests|docs|bench)/[\w./-]*?)(?:(::?)([\w.]+))?`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
# [`file.py:name`](path/to/file.py): a link to a file whose text names a definition in it
LINKED_NAME = re.compile(r"\[`[\w.]+\.py:([\w.]+)`\]\(([^)\s#]+)\)")


def rules_text() -> str:
    return RULES.read_text(encoding="utf-8")


def layout_text() -> str:
    """The README's Layout section (its "where is…" table), up to the next section."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Layout\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README.md has no '## Layout' section followed by another section"
    return match.group(1)


def section(rule: str) -> str:
    """The text of one rule's section of docs/rules.md (its ### heading to the next heading)."""
    match = re.search(rf"^### {rule} —.*?(?=^##)", rules_text(), re.S | re.M)
    assert match, f"docs/rules.md has no section for {rule}"
    return " ".join(match.group(0).split())  # one line: the page wraps its sentences anywhere


@cache
def definitions(path: Path) -> frozenset[str]:
    """Names a module defines: top-level functions, classes and assignments, and Class.method."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(f"{node.name}.{item.name}" for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
            names.update(f"{node.name}.{target.id}" for item in node.body if isinstance(item, ast.AnnAssign)
                         for target in [item.target] if isinstance(target, ast.Name))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


def problems_of(text: str, base: Path) -> list[str]:
    """Every reference or relative link in ``text`` that does not resolve."""
    problems = []
    for path, sep, name in REFERENCE.findall(text):
        file = ROOT / path
        if not file.exists():
            problems.append(f"`{path}` does not exist")
        elif sep and file.suffix != ".py":
            problems.append(f"`{path}{sep}{name}`: only Python files have names")
        elif sep == "::" and not name.startswith("test"):
            problems.append(f"`{path}::{name}`: a test reference must name a test function")
        elif sep and name.replace("::", ".") not in definitions(file):
            problems.append(f"`{path}{sep}{name}`: {path} defines no {name}")
    for name, target in LINKED_NAME.findall(text):
        file = base / target
        if file.is_file() and name not in definitions(file):
            problems.append(f"[`…:{name}`]({target}): {target} defines no {name}")
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        if not (base / target.split("#")[0]).exists():
            problems.append(f"link ({target}) does not exist")
    return problems


# -- the references resolve --------------------------------------------------------------------------

def test_every_reference_on_the_rules_page_exists():
    assert REFERENCE.findall(rules_text()), "the pattern found no reference at all"
    assert problems_of(rules_text(), RULES.parent) == []


def test_every_reference_of_the_readme_layout_exists():
    assert len(LINKED_NAME.findall(layout_text())) >= 11, "the 'where is…' table names code"
    assert problems_of(layout_text(), README.parent) == []


@pytest.mark.parametrize("reference", [
    "`src/salesrefund/domain/refunds.py:no_such_function`", "`src/salesrefund/domain/no_such_module.py`",
    "`tests/unit/test_money.py::test_no_such_test`", "`src/salesrefund/store/repository.py:TenantStore.nothing`",
    "[gone](no-such-page.md)", "[`refunds.py:plan_refunds`](../src/salesrefund/domain/refunds.py)",
])
def test_the_checker_notices_a_stale_reference(reference):
    assert problems_of(reference, RULES.parent)


def test_the_checker_accepts_each_kind_of_reference():
    text = ("`src/salesrefund/domain/refunds.py:plan_refund` `src/salesrefund/store/repository.py:TenantStore.raise_caps` "
            "`src/salesrefund/domain/money.py:ISO_EXPONENTS` `tests/unit/test_money.py::test_allocate` "
            "`src/salesrefund/domain/` [decisions](decisions.md) [doors](doors/) "
            "[`refunds.py:plan_refund`](../src/salesrefund/domain/refunds.py)")
    assert problems_of(text, RULES.parent) == []


@pytest.mark.parametrize("number", range(1, 21))
def test_each_rule_has_its_meaning_an_example_its_code_and_its_tests(number):
    text = section(f"R{number}")
    assert "Worked example" in text
    code = text.split("- Code:")[1].split("- Tests:")[0]
    tests = text.split("- Tests:")[1]
    assert REFERENCE.search(code), f"R{number} names no code"
    assert re.search(r"`tests/[\w/]+\.py(::\w+)?`", tests), f"R{number} names no test"


def test_no_document_sends_the_reader_to_shared_for_the_rules():
    documents = [README, *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "src").rglob("*.md")),
                 *sorted((ROOT / "src").rglob("*.py"))]
    stale = [str(doc.relative_to(ROOT)) for doc in documents if "shared/docs" in doc.read_text(encoding="utf-8")]
    assert stale == []


# -- the worked examples show what the domain computes ------------------------------------------------

def amount_text(minor: int, cur: money.Currency = SAR) -> str:
    return money.format_amount(minor, cur)


def refused(command, inv, **kwargs) -> RefundError:
    with pytest.raises(RefundError) as info:
        plan(command, inv, **kwargs)
    return info.value


def test_r1_example():
    text, eur = section("R1"), money.currency("EUR")
    assert money.parse_amount("12.50", "/amount", eur) == 1250 and "1250 minor units" in text
    for value in ("12.345", 0.1, "10000000000000"):
        with pytest.raises(RefundError) as info:
            money.parse_amount(value, "/lines/0/amount", eur)
        assert f'"{info.value.first.text()}"' in text
    with pytest.raises(RefundError) as info:
        money.parse_quantity("1.00001", "/lines/0/quantity")
    assert info.value.first.text() in text


def test_r3_example():
    text = section("R3")
    assert money.format_amount(1234, money.currency("JPY")) == "1234" and money.currency("JPY").exponent == 0
    assert money.format_amount(1234, money.currency("KWD")) == "1.234" and '`"1.234"` in KWD' in text
    assert (money.div_round(5, 2), money.div_round(-5, 2)) == (3, -3) and "`div_round(-5, 2)` is −3" in text


def test_r4_example():
    text = section("R4")
    inclusive = line_figures(SoldLine("X", "x", qty("2"), price("57.50"), 0, rate("15")), cur=SAR, prices_include_tax=True)
    exclusive = line_figures(SoldLine("X", "x", qty("2"), price("50.00"), 0, rate("15")), cur=SAR, prices_include_tax=False)
    assert (inclusive.gross_minor, inclusive.tax_minor, inclusive.net_minor) == (11500, 1500, 10000)
    assert (exclusive.net_minor, exclusive.tax_minor, exclusive.gross_minor) == (10000, 1500, 11500)
    assert "gross 115.00, tax 15.00, net 100.00" in text and "net 100.00, tax 15.00, gross 115.00" in text
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     PEN      2         49.99       8.25
    """)
    sold = inv.lines[0]
    assert f"(net {amount_text(sold.net_minor)}, tax {amount_text(sold.tax_minor)}, gross {amount_text(sold.gross_minor)})" in text
    pieces = []
    for _ in range(2):
        p = plan(refund(line(1, quantity="1")), inv)
        pieces.append(f"{amount_text(p.net_minor)} + {amount_text(p.tax_minor)} = {amount_text(p.gross_minor)}")
        inv = apply(inv, p)
    assert f"{pieces[0]}, then {pieces[1]}" in text


def test_r5_example():
    text, policy = section("R5"), Policy(currency=MYR, cash_increment_minor=5)
    for unit_price, sign, side in (("1.02", "−", "Cr"), ("1.03", "+", "Dr")):
        inv = invoice(f"""
            line  product  quantity  unit_price
            1     TEA      2         {unit_price}
        """, cur=MYR, payments=(("cash", amount_text(2 * money.parse_amount(unit_price, "/p", MYR), MYR)),))
        p = plan(refund(line(1, quantity="1")), inv, policy=policy)
        rounding, total = amount_text(abs(p.rounding_minor), MYR), amount_text(p.total_minor, MYR)
        assert f"a refund of {unit_price} has rounding {sign}{rounding} and pays {total}" in text
        postings = {(q.account, q.debit_minor, q.credit_minor) for q in journal.refund_entry(p)}
        debit, credit = (p.rounding_minor, 0) if side == "Dr" else (0, -p.rounding_minor)
        assert postings == {("4100", p.gross_minor, 0), ("6900", debit, credit), ("1000", 0, p.total_minor)}
        assert f"(Dr 4100 {unit_price}, {side} 6900 {rounding}, Cr 1000 {total})" in text
    inv = replace(invoice("""
        line  product  quantity  unit_price
        1     TEA      3         1.01
    """, cur=MYR, payments=(("cash", "3.05"),)), rounding_minor=2)
    first = plan(refund(line(1, quantity="1")), inv, policy=policy)
    last = plan(refund(line(1)), apply(inv, first), policy=policy)
    assert (first.total_minor, last.total_minor, last.rounding_minor) == (100, 205, 3)
    assert "one unit back pays 1.00, the last two pay 2.05 (rounding +0.03), 3.05 in all" in text


def test_r6_example():
    text = section("R6")
    inv = invoice("""
        line  product  quantity  unit_price
        1     BOOK     2         10.00
        2     BOOK     1         10.00
        3     MUG      1         5.00
    """)
    p = plan(refund(line(product="MUG")), inv)
    assert [(pl.invoice_line, pl.gross_minor) for pl in p.lines] == [(3, 500)] and "refunds line 3 (5.00)" in text
    error = refused(refund(line(product="BOOK", quantity="1")), inv)
    assert error.code == "product_ambiguous" and f'("{error.first.text()}")' in text
    assert refused(refund(line(1, quantity="1"), customer="C2"), inv).code == "customer_mismatch"
    error = refused(refund(line(1, quantity="1"), currency="EUR"), inv)
    assert error.code == "currency_mismatch" and error.first.text() in text


def test_r7_example():
    text = section("R7")
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     BOOK     3         10.00       15
    """)
    assert amount_text(inv.lines[0].gross_minor) == "34.50" and "(gross 34.50)" in text
    inv = apply(inv, plan(refund(line(1, quantity="2")), inv))
    for command, code in ((refund(line(1, quantity="2")), "quantity_exceeds_refundable"),
                          (refund(line(amount_="20.00")), "amount_exceeds_refundable")):
        error = refused(command, inv)
        assert error.code == code and f"`{code}` (\"{error.first.text()}\")" in text


def test_r8_example():
    text = section("R8")
    inv = invoice("""
        line  product  quantity  unit_price
        1     APPLE    3         3.3333
    """)
    pieces = []
    for _ in range(3):
        p = plan(refund(line(1, quantity="1")), inv)
        pieces.append(amount_text(p.gross_minor))
        inv = apply(inv, p)
    assert "give " + ", ".join(pieces) + "." in text
    assert money.allocate(100, [1, 1, 1]) == [34, 33, 33] and "`allocate(100, [1, 1, 1])` is `[34, 33, 33]`" in text


def test_r9_example():
    text = section("R9")
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     VASE     2         50.00       15
    """)
    low = plan(refund(line(1, quantity="1", unit_price="40.00")), inv)
    figures = [amount_text(x) for x in (low.net_minor, low.tax_minor, low.gross_minor, low.lines[0].retained_gross_minor)]
    assert "net {}, tax {}, gross {}, and retains {}".format(*figures) in text
    after = apply(inv, low)
    rest = plan(refund(line(1)), after)
    assert f"then refunds {amount_text(rest.gross_minor)}" in text
    assert amount_text(apply(after, rest).lines[0].refundable_gross_minor) == "11.50"
    assert refused(refund(line(1, quantity="1", unit_price="50.01")), inv).code == "price_exceeds_original"


def test_r11_example():
    text = section("R11")
    inv = invoice("""
        line  product  quantity  unit_price
        1     BOOK     3         10.00
    """, payments=(("cash", "10.00"), ("card", "20.00")))
    p = plan(refund(line(1, quantity="1")), inv)
    assert "no payments named → " + ", ".join(f"{x.method} {amount_text(x.amount_minor)}" for x in p.payments) in text
    error = refused(refund(line(1, quantity="1"), payments=(pay("card", "9.00"),)), inv)
    assert error.code == "payments_do_not_match_total" and error.first.text() in text
    assert refused(refund(line(1, quantity="1"), payments=(pay("bank", "10.00"),)), inv).code == \
        "payment_method_not_on_invoice"
    credit = plan(refund(line(1, quantity="1"), payments=(pay("store_credit", "10.00"),)), inv)
    assert {(q.account, q.debit_minor, q.credit_minor) for q in journal.refund_entry(credit)} == {
        ("4100", 1000, 0), ("2200", 0, 1000)}
    assert "store credit 10.00 → Dr 4100 10.00, Cr 2200 10.00" in text


def test_r11_payout_example():
    text, policy = section("R11"), Policy(currency=SAR)
    catalog = payouts.PayoutCatalog(methods=(payouts.PayoutMethod("M1", "Cash", "cash"),))

    def pay_out(balance: str, amount: str):
        command = payouts.PayOut(customer=payouts.Ref("code", "C1"), amount_minor=money.parse_amount(amount, "/a", SAR),
                                 method=payouts.Ref("name", "Cash"))
        account = payouts.Account("C1", "Customer C1", "SAR", money.parse_amount(balance, "/b", SAR))
        return payouts.plan_payout(command, policy=policy, account=account, catalog=catalog, methods=METHODS,
                                   today=date(2026, 3, 15))

    paid = pay_out("500.00", "120.00")
    assert {(q.account, q.debit_minor, q.credit_minor) for q in payouts.payout_entry(paid)} == {
        ("2200", 12000, 0), ("1000", 0, 12000)}
    assert "owed 500.00 paid out 120.00 in cash (Dr 2200 120.00, Cr 1000 120.00) is owed 380.00" in text
    with pytest.raises(RefundError) as info:
        pay_out("380.00", "380.01")
    assert info.value.code == "amount_exceeds_balance" and "payout of 380.01 is then refused with `amount_exceeds_balance`" in text


def test_r13_example():
    text = section("R13")
    inv = invoice("""
        line  product  quantity  unit_price
        1     BOOK     3         10.00
    """)  # dated 2026-03-01, today 2026-03-15 (refund_builders)
    assert refused(refund(line(1, quantity="1"), posting_date=date(2026, 3, 16)), inv).code == "posting_date_in_future"
    error = refused(refund(line(1, quantity="1"), posting_date=date(2026, 2, 28)), inv)
    assert error.code == "posting_date_before_invoice" and error.first.text() in text
    closed = Policy(currency=SAR, closed_through=date(2026, 3, 10))
    assert refused(refund(line(1, quantity="1"), posting_date=date(2026, 3, 10)), inv, policy=closed).code == "period_closed"
    assert plan(refund(line(1, quantity="1")), inv).posting_date == date(2026, 3, 15)


def r14_plan(**restock):
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate  cost   stock
        1     BOOK     2         50.00       15        30.00  yes
    """, payments=(("cash", "115.00"),))
    return plan(refund(line(1, **restock)), inv, default_location="MAIN")


def test_r14_example():
    entry = journal.refund_entry(r14_plan())
    shown = {(q.account, "Dr" if q.debit_minor else "Cr", amount_text(q.debit_minor or q.credit_minor)) for q in entry}
    assert shown == {("4100", "Dr", "100.00"), ("2100", "Dr", "15.00"), ("1000", "Cr", "115.00"),
                     ("1200", "Dr", "60.00"), ("5000", "Cr", "60.00")}
    assert "Dr 4100 100.00, Dr 2100 15.00, Cr 1000 115.00, Dr 1200 60.00, Cr 5000 60.00" in section("R14")
    assert {(q.account, q.debit_minor, q.credit_minor) for q in journal.reversal(entry)} == {
        (q.account, q.credit_minor, q.debit_minor) for q in entry}


def test_r15_example():
    moves = [(m.product, money.format_quantity(m.quantity), m.location, amount_text(m.cost_minor))
             for m in r14_plan().stock_returns()]
    assert moves == [("BOOK", "2", "MAIN", "60.00")] and "moves +2 BOOK into the invoice's location at 60.00" in section("R15")
    assert r14_plan(restock=False).stock_returns() == []


def test_r18_example():
    inv = invoice("""
        line  product  quantity  unit_price
        1     BOOK     3         10.00
    """)
    error = refused(refund(line(1, quantity="1"), customer="C2", currency="EUR"), inv)
    assert (error.code, error.first.field) == ("customer_mismatch", "/customer")
    assert "`customer_mismatch` at `/customer` first" in section("R18")


def test_every_example_marked_recomputed_is_recomputed_here():
    marked = [n for n in range(1, 21) if "*(recomputed)*" in section(f"R{n}")]
    assert len(marked) >= 10
    assert [n for n in marked if f"test_r{n}_example" not in globals()] == []
