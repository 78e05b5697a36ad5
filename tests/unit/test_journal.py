"""Journal entries (R14): one balanced entry per posting, written the way an accountant reads it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from salesrefund.domain import money
from salesrefund.domain.journal import (ROLE_ACCOUNT, Posting, Unbalanced, check_balanced, entry,
                                        refund_entry, reversal, sale_entry)
from salesrefund.domain.model import Policy

from refund_builders import MYR, amount, assert_entry, invoice, line, parse_entry, pay, plan, refund

R14_INVOICE = """
    line  product  quantity  unit_price  tax_rate
    1     WIDGET   1         100.00      15
"""


def totals(postings):
    return sum(p.debit_minor for p in postings), sum(p.credit_minor for p in postings)


def test_r14_tax_exclusive_refund_paid_in_cash():
    inv = invoice(R14_INVOICE, payments=(("cash", "115.00"),))
    e = refund_entry(plan(refund(line(1)), inv))
    assert_entry(e, """
        4100 Sales returns   100.00        -
        2100 Tax payable      15.00        -
        1000 Cash                 -   115.00
    """)
    assert totals(e) == (amount("115.00"), amount("115.00"))


def test_r14_tax_inclusive_refund_paid_in_cash():
    inv = invoice("""
        line  product  quantity  unit_price  tax_rate
        1     WIDGET   1         100.00      15
    """, inclusive=True, payments=(("cash", "100.00"),))
    assert_entry(refund_entry(plan(refund(line(1)), inv)), """
        4100 Sales returns    86.96        -
        2100 Tax payable      13.04        -
        1000 Cash                 -   100.00
    """)


def test_store_credit_credits_the_customer_account():
    inv = invoice(R14_INVOICE)
    assert_entry(refund_entry(plan(refund(line(1), payments=(pay("store_credit", "115.00"),)), inv)), """
        4100 Sales returns      100.00        -
        2100 Tax payable         15.00        -
        2200 Customer credit         -   115.00
    """)


def test_a_credit_note_on_an_unpaid_invoice_lowers_the_receivable():
    inv = invoice(R14_INVOICE)   # not paid: the default credits what the customer owes
    assert_entry(refund_entry(plan(refund(line(1)), inv)), """
        4100 Sales returns      100.00        -
        2100 Tax payable         15.00        -
        1100 Accounts receivable     -   115.00
    """)
    allow_others = Policy(currency=inv.currency, refund_to_other_methods=True)
    explicit = plan(refund(line(1), payments=(pay("cash", "15.00"), pay("store_credit", "100.00"))), inv,
                    policy=allow_others)
    assert_entry(refund_entry(explicit), """
        4100 Sales returns      100.00        -
        2100 Tax payable         15.00        -
        1000 Cash                    -    15.00
        2200 Customer credit         -   100.00
    """)


def test_split_payments_credit_each_account():
    inv = invoice(R14_INVOICE, payments=(("cash", "40.00"), ("card", "75.00")))
    assert_entry(refund_entry(plan(refund(line(1)), inv)), """
        4100 Sales returns    100.00        -
        2100 Tax payable       15.00        -
        1000 Cash                  -    40.00
        1010 Card clearing         -    75.00
    """)


def test_two_payments_to_one_account_are_merged():
    inv = invoice(R14_INVOICE, payments=(("cash", "115.00"),))
    e = refund_entry(plan(refund(line(1), payments=(pay("cash", "100.00"), pay("cash", "15.00"))), inv))
    assert_entry(e, """
        4100 Sales returns    100.00        -
        2100 Tax payable       15.00        -
        1000 Cash                  -   115.00
    """)


CASH_5 = Policy(currency=MYR, cash_increment_minor=5)


def myr_invoice(unit_price):
    """A cash sale of one TEA as the till took it: rounded to 5 sen (the sale's own rounding, R5)."""
    sold = amount(unit_price, MYR)
    paid = money.round_to_increment(sold, 5)
    return replace(invoice(f"""
        line  product  quantity  unit_price
        1     TEA      1         {unit_price}
    """, cur=MYR, payments=(("cash", money.format_amount(paid, MYR)),)), rounding_minor=paid - sold)


def test_cash_rounding_down_is_a_credit_to_the_rounding_account():
    p = plan(refund(line(1)), myr_invoice("1.02"), policy=CASH_5)
    assert p.rounding_minor == -2
    assert_entry(refund_entry(p), """
        4100 Sales returns   1.02       -
        1000 Cash               -    1.00
        6900 Cash rounding      -    0.02
    """, MYR)


def test_cash_rounding_up_is_a_debit_to_the_rounding_account():
    p = plan(refund(line(1)), myr_invoice("1.03"), policy=CASH_5)
    assert p.rounding_minor == 2
    assert_entry(refund_entry(p), """
        4100 Sales returns   1.03       -
        6900 Cash rounding   0.02       -
        1000 Cash               -    1.05
    """, MYR)


STOCKED = """
    line  product  quantity  unit_price  tax_rate  cost  stock
    1     CHAIR    3         100.00      15        60    yes
"""


def test_restocked_goods_at_original_cost():
    inv = invoice(STOCKED, payments=(("cash", "345.00"),))
    assert_entry(refund_entry(plan(refund(line(1, quantity="1")), inv)), """
        4100 Sales returns        100.00        -
        2100 Tax payable           15.00        -
        1000 Cash                      -   115.00
        1200 Inventory             60.00        -
        5000 Cost of goods sold        -    60.00
    """)
    # not restocked (damaged): no stock effect at all
    assert_entry(refund_entry(plan(refund(line(1, quantity="1", restock=False)), inv)), """
        4100 Sales returns        100.00        -
        2100 Tax payable           15.00        -
        1000 Cash                      -   115.00
    """)


def test_account_overrides():
    inv = invoice(R14_INVOICE, payments=(("cash", "115.00"),))
    e = refund_entry(plan(refund(line(1)), inv), {"sales_returns": "4110", "tax": "2110"})
    assert_entry(e, """
        4110 Returns    100.00        -
        2110 VAT         15.00        -
        1000 Cash            -   115.00
    """)


def test_reversal_swaps_sides():
    inv = invoice(STOCKED, payments=(("cash", "345.00"),))
    e = refund_entry(plan(refund(line(1, quantity="1")), inv))
    assert_entry(reversal(e), """
        4100 Sales returns             -   100.00
        2100 Tax payable               -    15.00
        1000 Cash                 115.00        -
        1200 Inventory                 -    60.00
        5000 Cost of goods sold    60.00        -
    """)
    assert sorted(reversal(reversal(e)), key=repr) == sorted(e, key=repr)


def test_reversal_of_a_rounded_refund():
    p = plan(refund(line(1)), myr_invoice("1.02"), policy=CASH_5)
    assert_entry(reversal(refund_entry(p)), """
        4100 Sales returns      -    1.02
        1000 Cash            1.00       -
        6900 Cash rounding   0.02       -
    """, MYR)


def test_entry_refuses_unbalanced_postings():
    with pytest.raises(Unbalanced):
        entry(parse_entry("""
            4100 Sales returns  100.00       -
            1000 Cash                -   99.99
        """))
    with pytest.raises(AssertionError):   # Unbalanced is an AssertionError: a bug, never user input
        entry([Posting("1000", debit_minor=1)])
    with pytest.raises(Unbalanced):
        check_balanced([Posting("1000", 0, 5)])


def test_entry_merges_drops_zeros_and_flips_negatives():
    e = entry([
        Posting("4100", debit_minor=60),
        Posting("4100", debit_minor=40),
        Posting("2100", debit_minor=0),
        Posting("6900", debit_minor=-5),          # a negative debit is a credit
        Posting("1000", credit_minor=95),
        Posting("1000", debit_minor=0, credit_minor=0),
    ])
    assert_entry(e, """
        4100   1.00      -
        6900      -   0.05
        1000      -   0.95
    """)
    assert entry([]) == ()


def test_entry_keeps_debit_and_credit_of_one_account_apart():
    e = entry([Posting("1000", debit_minor=10), Posting("1000", credit_minor=10)])
    assert sorted(e, key=repr) == sorted([Posting("1000", 10, 0), Posting("1000", 0, 10)], key=repr)


def test_sale_entry():
    e = sale_entry(net_minor=amount("100.00"), tax_minor=amount("15.00"), cost_minor=amount("60.00"),
                   payments=[("1000", amount("15.00")), ("1010", amount("50.00"))])
    assert_entry(e, """
        1000 Cash                  15.00        -
        1010 Card clearing         50.00        -
        1100 Accounts receivable   50.00        -
        4000 Sales                     -   100.00
        2100 Tax payable               -    15.00
        5000 Cost of goods sold    60.00        -
        1200 Inventory                 -    60.00
    """)
    # a refund of the whole sale undoes its revenue side
    assert totals(reversal(e)) == totals(e)


def test_default_chart_roles():
    assert ROLE_ACCOUNT["cash"] == "1000"
    assert ROLE_ACCOUNT["store_credit"] == "2200"
    assert ROLE_ACCOUNT["rounding"] == "6900"
    assert ROLE_ACCOUNT["sales_returns"] == "4100"
