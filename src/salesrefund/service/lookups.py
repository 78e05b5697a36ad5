"""Read-only lookups a door needs to map its own identifiers onto ours (R19: tenant-scoped).

A door speaks in its system's identifiers (Internom's customer tax number and product barcode,
BeansBooks' integer sale id and line descriptions); the command every door builds speaks in ours
(customer code, product code, invoice line number). These lookups translate, nothing more: they
decide no rule, and every rule is checked again by the refund service inside its own transaction.

All reads go through ``store.repository.TenantStore`` in a read ``UnitOfWork`` (a deferred
transaction on SQLite, so a lookup never waits for a writer)::

    with Lookups(engine, tenant_id) as find:
        code = find.customer_code_by_tax_number("8218528")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..store.engine import Engine
from .uow import UnitOfWork


@dataclass(frozen=True)
class SaleLine:
    """One invoice line as a door needs to recognise it (figures in the store's scales)."""

    line: int
    description: str
    product: str | None
    quantity: int  # 1/10,000 units
    unit_price: int  # 1/10,000 currency units
    tax_rate: int  # 1/10,000 percent


@dataclass(frozen=True)
class Sale:
    """An invoice with its customer, as a door renders and maps it."""

    number: str
    date: date
    customer: str  # the customer's code
    customer_name: str
    customer_email: str | None
    customer_tax_number: str | None
    lines: tuple[SaleLine, ...]


@dataclass(frozen=True)
class DoorRefund:
    """A refund a door issued before (for a door's own "one refund per ..." rule)."""

    id: str  # public id
    state: str
    created_at: datetime
    command_json: str


class Lookups:
    """Tenant-scoped, read-only lookups in one read transaction."""

    def __init__(self, engine: Engine, tenant_id: int):
        self._uow = UnitOfWork(engine, tenant_id, write=False)

    def __enter__(self) -> "Lookups":
        self._uow.__enter__()
        self.store = self._uow.store
        return self

    def __exit__(self, *exc) -> None:
        self._uow.__exit__(*exc)

    # -- master data ------------------------------------------------------------------------
    def customer_code_by_tax_number(self, tax_number: str) -> str | None:
        """The code of the customer with this tax number (the first one, when several share it)."""
        return self.store.first_customer_code_with_tax_number(tax_number)

    def product_code(self, identifier: str) -> str | None:
        """The code of the product with this barcode (ACS code), else with this product code."""
        row = self.store.product_by_barcode(identifier)
        if row is None:
            row = self.store.product(identifier)
        return row["code"] if row is not None else None

    def location_exists(self, code: str) -> bool:
        return self.store.location(code) is not None

    # -- invoices -----------------------------------------------------------------------------
    def sale(self, number: str) -> Sale | None:
        """The invoice ``number`` with its customer and lines, or None."""
        invoice = self.store.invoice_row(number)
        if invoice is None:
            return None
        customer = self.store.customer_by_id(invoice["customer_id"])
        rows = self.store.sale_lines(invoice["id"])
        return Sale(number=invoice["number"], date=invoice["date"], customer=customer["code"],
                    customer_name=customer["name"], customer_email=customer["email"],
                    customer_tax_number=customer["tax_number"],
                    lines=tuple(SaleLine(r["line_no"], r["description"], r["product"], r["quantity"],
                                         r["unit_price"], r["tax_rate"]) for r in rows))

    def refunds_of(self, invoice_number: str, channel: str) -> list[DoorRefund]:
        """The refunds of an invoice that came through ``channel``, oldest first."""
        invoice = self.store.invoice_row(invoice_number)
        if invoice is None:
            return []
        return [DoorRefund(*row) for row in self.store.door_refunds(invoice["id"], channel)]
