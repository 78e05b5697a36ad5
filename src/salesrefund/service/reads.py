"""What a door may read beside a refund's result (issue 10), in the refund's own transaction.

``RefundService`` hands a ``RefundReads`` to the responder with the ``RefundResult``: a narrow,
read-only view of the tenant's store, so a door asks for what it shows beyond the result (SnR2U
the customer's name, Vodo the invoice as it stands with its running totals) and never reaches
the store itself. Read in the refund's transaction, a stored replay shows the figures of that time.
"""

from __future__ import annotations

from ..store.queries import vodo as vodo_queries
from ..store.queries.vodo import CreditNote
from ..store.repository import TenantStore


class RefundReads:
    def __init__(self, store: TenantStore):
        self._store = store

    def customer_name(self, code: str | None) -> str | None:
        """The name of the tenant's customer ``code``; None for no or an unknown customer."""
        customer = self._store.customer(code) if code else None
        return customer["name"] if customer is not None else None

    def credit_note(self, public_id: str, invoice: str) -> CreditNote:
        """Vodo's credit note: the refund ``public_id`` as integers, with its invoice as it stands."""
        store = self._store
        return vodo_queries.credit_note(store, public_id, vodo_queries.invoice_standing(store, invoice))
