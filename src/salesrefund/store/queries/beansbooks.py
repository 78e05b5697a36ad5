"""What the BeansBooks door reads beyond a refund's result: the refund it made whose credit-note
number a lookup or cancel names. Every statement is scoped by the store's tenant."""

from __future__ import annotations

from ..repository import TenantStore
from .. import tables as t


def door_refund(store: TenantStore, number: str, channel: str):
    """The tenant's refund (not payout) numbered ``number`` made through the door ``channel``, or None."""
    c = t.refunds.c
    return store._one(t.refunds, c.number == number, c.channel == channel, c.kind == "refund")
