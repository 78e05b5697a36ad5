"""What the Internom door reads beyond a refund's result: its refunds by ``reference`` (a column) or
``reference_id`` (kept in the refund's metadata). Every statement is scoped by the store's tenant."""

from __future__ import annotations

import json

from sqlalchemy import select

from ..repository import TenantStore
from .. import tables as t


def refunds_by_reference(store: TenantStore, channel: str, field: str, value: str) -> list:
    """The rows of the tenant's refunds of ``channel`` whose ``reference`` is ``value``
    (``field == "reference"``) or whose metadata may hold ``reference_id: value`` (the caller
    checks the decoded metadata: the LIKE only narrows), oldest first."""
    c = t.refunds.c
    where = [c.channel == channel]
    if field == "reference":
        where.append(c.reference == value)
    else:
        fragment = json.dumps({"reference_id": value})[1:-1]
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(c.metadata_json.like(f"%{escaped}%", escape="\\"))
    return store.conn.execute(select(t.refunds).where(store._where(t.refunds, *where)).order_by(c.id)).mappings().all()
