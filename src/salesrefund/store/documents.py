"""Reads and writes of the credit-note documents (issue 11), scoped by tenant like every query
(R19): the rows a ``CreditNoteRecord`` is made from, the seller profile, customer addresses,
the invoice's MyInvois UUID, the signing key, and the ZATCA hash chain."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from . import tables as t
from .repository import TenantStore

ADDRESS_COLUMNS = ("street", "building_number", "additional_number", "district", "city", "postal_code",
                   "region", "country", "phone", "email", "registration_scheme", "registration_number")
# the longest text each column holds (PostgreSQL refuses longer; SQLite would keep it)
SIZES = {c.name: c.type.length for table in (t.seller_profiles, t.customer_addresses) for c in table.columns
         if getattr(c.type, "length", None)}
SELLER_COLUMNS = ("legal_name", "vat_number", *ADDRESS_COLUMNS, "language", "activity_code", "activity",
                  "zatca_exemption_code")


class DocumentStore(TenantStore):
    # -- the refund and what it points at ---------------------------------------------------
    def refund(self, public_id: str):
        return self._one(t.refunds, t.refunds.c.public_id == public_id)

    def refund_by_number(self, number: str):
        return self._one(t.refunds, t.refunds.c.number == number)

    def refund_lines(self, refund_id: int):
        """The refund's lines, each with its product's code and unit too."""
        rl, p = t.refund_lines.c, t.products.c
        stmt = (select(t.refund_lines, p.code.label("product_code"), p.unit.label("product_unit"))
                .outerjoin(t.products, p.id == rl.product_id)
                .where(self._where(t.refund_lines, rl.refund_id == refund_id)).order_by(rl.line_no))
        return self.conn.execute(stmt).mappings().all()

    # -- parties ------------------------------------------------------------------------------
    def seller_profile(self):
        return self.conn.execute(select(t.seller_profiles).where(
            t.seller_profiles.c.tenant_id == self.tenant_id)).mappings().first()

    def set_seller_profile(self, values: dict) -> None:
        values = {k: v for k, v in values.items() if k in SELLER_COLUMNS}
        if self.seller_profile() is None:
            self.conn.execute(insert(t.seller_profiles).values(tenant_id=self.tenant_id, **values))
        elif values:
            self.conn.execute(update(t.seller_profiles).where(
                t.seller_profiles.c.tenant_id == self.tenant_id).values(**values))

    def customer_address(self, customer_id: int):
        return self._one(t.customer_addresses, t.customer_addresses.c.customer_id == customer_id)

    def set_customer_address(self, customer_id: int, values: dict) -> None:
        values = {k: v for k, v in values.items() if k in ADDRESS_COLUMNS}
        if self.customer_address(customer_id) is None:
            self._insert(t.customer_addresses, customer_id=customer_id, **values)
        elif values:
            self.conn.execute(update(t.customer_addresses).where(self._where(
                t.customer_addresses, t.customer_addresses.c.customer_id == customer_id)).values(**values))

    def set_myinvois_uuid(self, invoice_id: int, value: str | None) -> None:
        self.conn.execute(update(t.invoices).where(self._where(t.invoices, t.invoices.c.id == invoice_id))
                          .values(myinvois_uuid=value))

    # -- ZATCA: the signing key and the hash chain ----------------------------------------------
    def signing_key(self):
        return self.conn.execute(select(t.signing_keys).where(
            t.signing_keys.c.tenant_id == self.tenant_id)).mappings().first()

    def set_signing_key(self, private_key_pem: str, certificate_pem: str, now) -> None:
        self.conn.execute(t.signing_keys.delete().where(t.signing_keys.c.tenant_id == self.tenant_id))
        self.conn.execute(insert(t.signing_keys).values(tenant_id=self.tenant_id, private_key_pem=private_key_pem,
                                                        certificate_pem=certificate_pem, created_at=now))

    def zatca_document(self, refund_id: int):
        return self._one(t.zatca_documents, t.zatca_documents.c.refund_id == refund_id)

    def zatca_chain(self):
        z = t.zatca_documents.c
        return self.conn.execute(select(t.zatca_documents).where(self._where(t.zatca_documents))
                                 .order_by(z.icv)).mappings().all()

    def zatca_last(self):
        z = t.zatca_documents.c
        return self.conn.execute(select(t.zatca_documents).where(self._where(t.zatca_documents))
                                 .order_by(z.icv.desc()).limit(1)).mappings().first()

    def add_zatca_document(self, **values) -> int:
        return self._insert(t.zatca_documents, **values)

    def set_zatca_status(self, refund_id: int, status: str) -> None:
        self.conn.execute(update(t.zatca_documents).where(self._where(
            t.zatca_documents, t.zatca_documents.c.refund_id == refund_id)).values(status=status))


def tenant_of_public_id(conn, public_id: str) -> int | None:
    """The tenant of a refund's public id (unique across tenants): for operators' commands only."""
    return conn.execute(select(t.refunds.c.tenant_id).where(t.refunds.c.public_id == public_id)).scalar()


def all_zatca_documents(conn):
    """Every tenant's ZATCA documents in chain order (for ``salesrefund check``)."""
    z = t.zatca_documents.c
    return conn.execute(select(t.zatca_documents).order_by(z.tenant_id, z.icv)).mappings()


def signing_certificates(conn) -> dict[int, str]:
    return dict(conn.execute(select(t.signing_keys.c.tenant_id, t.signing_keys.c.certificate_pem)).all())
