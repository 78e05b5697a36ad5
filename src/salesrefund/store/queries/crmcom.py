"""What the CRM.COM door reads beyond a payout's result: an account's payouts, a page at a time
(``GET refunds/list``). Every statement is scoped by the store's tenant."""

from __future__ import annotations

from ..repository import TenantStore
from .. import tables as t


def payouts_of_customer(store: TenantStore, customer_id: int, *, kind: str, limit: int, offset: int) -> list:
    """The rows of the tenant's refunds of ``kind`` (``payout``) paid out of the customer's
    account, oldest first, ``limit`` of them after the first ``offset``."""
    c = t.refunds.c
    stmt = (t.refunds.select().where(store._where(t.refunds, c.kind == kind, c.customer_id == customer_id))
            .order_by(c.id).offset(offset).limit(limit))
    return store.conn.execute(stmt).mappings().all()
