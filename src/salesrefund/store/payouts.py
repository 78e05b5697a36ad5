"""CRM.COM's payouts of store credit (refunds of kind ``payout``, ``service.payouts``): the rows
they are read by and the customer accounts they pay out of. A part of ``TenantStore``: every
statement is scoped to the store's tenant."""

from __future__ import annotations

from sqlalchemy import select

from . import tables as t

PAYOUT = "payout"


class PayoutQueries:
    """Payouts and customer accounts of one tenant (mixed into TenantStore)."""

    def payout(self, field: str, value: str, *, lock: bool = False):
        """The payout whose ``field`` (``id``: public id, ``number``) is ``value``, or None; with
        ``lock`` (PostgreSQL) locked until commit."""
        r = t.refunds.c
        column = {"id": r.public_id, "number": r.number}.get(field)
        if column is None:
            return None
        stmt = select(t.refunds).where(self._where(t.refunds, column == value, r.kind == PAYOUT))
        if lock and self.postgres:
            stmt = stmt.with_for_update()
        return self.conn.execute(stmt).mappings().first()

    def payout_with_reference(self, reference: str) -> str | None:
        """The public id of the payout that carries the client's ``reference``."""
        r = t.refunds.c
        row = self._one(t.refunds, r.kind == PAYOUT, r.reference == reference, columns=[r.public_id])
        return row["public_id"] if row is not None else None

    def set_refund_payment(self, refund_id: int, **values) -> None:
        """Change the payment row(s) of a refund (a payout draft has exactly one)."""
        rp = t.refund_payments
        self.conn.execute(rp.update().where(self._where(rp, rp.c.refund_id == refund_id)).values(**values))

    def customers_matching(self, field: str, value: str, limit: int = 2):
        """Up to ``limit`` customers whose ``field`` (id, code, name, tax_number) is ``value``."""
        c = t.customers.c
        if field == "id":
            if not (value.isdigit() and len(value) < 19):
                return []
            condition = c.id == int(value)
        else:
            condition = {"code": c.code, "name": c.name, "tax_number": c.tax_number}[field] == value
        return self.conn.execute(select(t.customers).where(self._where(t.customers, condition))
                                 .order_by(c.id).limit(limit)).mappings().all()
