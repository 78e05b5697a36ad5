"""What a door may read beside a refund's result (issue 10), in the refund's own transaction.

``RefundService`` hands a ``RefundReads`` to the responder with the ``RefundResult``: a narrow,
read-only view of the tenant's store, so a door asks for what it shows beyond the result (SnR2U
the customer's name, Vodo the invoice as it stands with its running totals) and never reaches
the store itself. Read in the refund's transaction, a stored replay shows the figures of that time.
"""

from __future__ import annotations

from ..store.queries import vodo as vodo_queries
from ..store.queries.vodo import InvoiceStanding
from ..store.repository import TenantStore
from . import views
from .results import RefundResult


class RefundReads:
    def __init__(self, store: TenantStore):
        self._store = store

    def customer_name(self, code: str | None) -> str | None:
        """The name of the tenant's customer ``code``; None for no or an unknown customer."""
        customer = self._store.customer(code) if code else None
        return customer["name"] if customer is not None else None

    def invoice_standing(self, number: str) -> InvoiceStanding | None:
        """The tenant's invoice ``number`` as it stands now, with what it received and what credit
        notes paid back in money (Vodo); None when the tenant has no such invoice."""
        return vodo_queries.invoice_standing(self._store, number)

    def credit_notes(self, number: str) -> list[RefundResult]:
        """Every credit note (a posted or voided refund) of the tenant's invoice ``number``, oldest
        first, as results."""
        return [views.refund_result(self._store, row) for row in vodo_queries.credit_note_rows(self._store, number)]
