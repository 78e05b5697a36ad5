"""Refund lines known by their description (BeansBooks, ``domain.described``): matching, the tax
agreement, and what a line matching no sale line becomes (a free amount), with worked numbers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, strategies as st

from salesrefund.domain import money
from salesrefund.domain.commands import RefundLineRequest
from salesrefund.domain.described import DescribedLine, described, free_amount, link, tax_mismatch, words
from salesrefund.domain.errors import Invalid, RefundError

USD = money.currency("USD")
RATE = 82_500  # 8.25 %


@dataclass(frozen=True)
class Sold:
    line: int
    description: str
    unit_price: int
    tax_rate: int = RATE


SALE = (Sold(1, "Coffee beans, 1 kg", 499_900), Sold(2, "Shipping", 150_000),
        Sold(3, "Mug", 100_000), Sold(4, "Mug", 120_000), Sold(5, "Mug", 120_000))


def line(description: str, price: int, quantity: int = 1, rate: int = RATE, field: str = "taxes") -> DescribedLine:
    return DescribedLine(description, price, quantity * money.QUANTITY_SCALE, rate, field)


# -- matching ----------------------------------------------------------------------------------------------

def test_descriptions_match_whatever_their_case_and_spacing():
    assert words("  Coffee   BEANS, 1 kg ") == "coffee beans, 1 kg"
    assert described(SALE, "coffee beans,  1 KG", 499_900) == [SALE[0]]
    assert described(SALE, "  shipping ", 1) == [SALE[1]]  # one line: its price does not matter


def test_lines_sharing_a_description_are_told_apart_by_unit_price():
    assert described(SALE, "mug", 100_000) == [SALE[2]]
    assert described(SALE, "mug", 120_000) == [SALE[3], SALE[4]]  # still two: ambiguous
    assert described(SALE, "mug", 99_000) == [SALE[2], SALE[3], SALE[4]]  # none at that price: all of them


@given(st.lists(st.sampled_from(["", " ", "  ", "\t"]), min_size=4, max_size=4), st.booleans())
def test_case_and_spacing_never_change_which_line_is_named(spaces, upper):
    text = spaces[0] + "Coffee" + (spaces[1] or " ") + "beans," + (spaces[2] or " ") + "1 kg" + spaces[3]
    assert described(SALE, text.upper() if upper else text, 1) == [SALE[0]]


def test_no_line_with_that_description():
    assert described(SALE, "Grinder", 100_000) == []


# -- the tax agreement -------------------------------------------------------------------------------------

def test_the_refunds_taxes_must_come_to_the_sale_lines_rate():
    assert tax_mismatch(SALE[0], RATE, field="taxes", sale="1") is None
    mismatch = tax_mismatch(SALE[0], 60_000, field="taxes", sale="1")
    assert (mismatch.field, mismatch.code) == ("taxes", "tax_mismatch")
    assert mismatch.text() == "line 1 of sale 1 was taxed at 8.25 %, but this refund's taxes come to 6 %"
    exempt = tax_mismatch(SALE[0], 0, field="lines[0].tax_exempt", sale="1")
    assert exempt.field == "lines[0].tax_exempt" and "come to 0 %" in exempt.text()
    assert tax_mismatch(Sold(9, "Untaxed", 1, tax_rate=0), 0, field="tax_exempt", sale="1") is None


# -- free amounts ------------------------------------------------------------------------------------------

def test_a_free_amount_is_beansbooks_line_total_plus_its_tax():
    assert free_amount(line("Grinder", 100_000), USD, "/lines/0/amount") == 1083  # 10.00 + round(0.825) = 10.83
    assert free_amount(line("Bags", 25_000, 3), USD, "/lines/0/amount") == 812  # 7.50 + round(0.61875) = 8.12
    assert free_amount(line("Bags", 3_333, 3), USD, "/lines/0/amount") == 108  # round(0.9999) = 1.00 + 0.08
    assert free_amount(line("Exempt", 100_000, rate=0), USD, "/lines/0/amount") == 1000


def test_a_free_amount_of_10_to_the_13_is_refused():
    with pytest.raises(Invalid) as info:
        free_amount(line("Huge", 10**13 * money.QUANTITY_SCALE), USD, "/lines/0/amount")
    assert info.value.first.field == "/lines/0/amount"


@given(net=st.integers(min_value=0, max_value=10**15), rate=st.integers(min_value=0, max_value=money.PERCENT))
def test_the_planner_finds_beansbooks_net_and_tax_in_the_free_amount(net, rate):
    """The planner reads a free amount as tax-inclusive: tax_included(gross, r). For the gross
    ``free_amount`` sends (net + round(net x r)), that is exactly round(net x r) again, so the
    refund line's net is BeansBooks' line total to the cent."""
    tax = money.tax_on(net, rate)
    assert money.tax_included(net + tax, rate) == tax


# -- linking a whole refund --------------------------------------------------------------------------------

def test_a_mixed_refund_links_one_line_and_makes_the_other_a_free_amount():
    lines = link("1", SALE, [line("COFFEE BEANS, 1 KG", 499_900), line("Grinder cleaning", 100_000, 2)], USD)
    assert lines == (
        RefundLineRequest(line=1, quantity=10_000, unit_price=499_900, description="COFFEE BEANS, 1 KG"),
        RefundLineRequest(amount_minor=2165, tax_rate=RATE, description="Grinder cleaning"))  # 20.00 + 1.65


def test_every_ambiguity_and_tax_disagreement_is_reported_at_once():
    with pytest.raises(RefundError) as info:
        link("1", SALE, [line("Mug", 120_000), line("Shipping", 150_000, rate=0, field="lines[1].tax_exempt"),
                         line("Grinder", 100_000)], USD)
    found = {v.code: v for v in info.value.violations}  # ordered by precedence (R18), not by line
    assert {(v.field, code) for code, v in found.items()} == {
        ("/lines/0/description", "product_ambiguous"), ("lines[1].tax_exempt", "tax_mismatch")}
    assert found["product_ambiguous"].text() == "2 lines of sale 1 are described as Mug at this amount"
