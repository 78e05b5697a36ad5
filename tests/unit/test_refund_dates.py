"""A refund's posting and document dates (``domain.refunds.refund_dates``, R13)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from salesrefund.domain.commands import IssueRefund, RefundLineRequest
from salesrefund.domain.errors import RefundError
from salesrefund.domain.model import Policy
from salesrefund.domain.refunds import refund_dates

from refund_builders import SAR, TODAY

COMMAND = IssueRefund(invoice="INV-1", lines=(RefundLineRequest(line=1, quantity=10_000),))
POLICY = Policy(currency=SAR)


def test_today_unless_given():
    assert refund_dates(COMMAND, policy=POLICY, invoice=None, today=TODAY) == (TODAY, TODAY)
    given = replace(COMMAND, posting_date=date(2026, 3, 10), document_date=date(2026, 3, 9))
    assert refund_dates(given, policy=POLICY, invoice=None, today=TODAY) == (date(2026, 3, 10), date(2026, 3, 9))
    assert refund_dates(replace(COMMAND, posting_date=date(2026, 3, 10)), policy=POLICY, invoice=None,
                        today=TODAY) == (date(2026, 3, 10), date(2026, 3, 10))


@pytest.mark.parametrize("posting, closed, expected", [
    (date(2026, 3, 16), None, "posting_date_in_future"),
    (date(2026, 2, 28), date(2026, 2, 28), "period_closed"),
])
def test_broken_rules(posting, closed, expected):
    with pytest.raises(RefundError) as raised:
        refund_dates(replace(COMMAND, posting_date=posting), policy=replace(POLICY, closed_through=closed),
                     invoice=None, today=TODAY)
    assert raised.value.violations[0].code == expected
