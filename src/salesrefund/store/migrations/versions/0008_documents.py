"""Credit-note documents (issue 11): the seller's and customers' document details, the invoice's
MyInvois UUID, each tenant's ZATCA signing key and certificate, and the ZATCA hash chain.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _address() -> list[sa.Column]:
    return [sa.Column(name, sa.String(size)) for name, size in (
        ("street", 200), ("building_number", 20), ("additional_number", 20), ("district", 100),
        ("city", 100), ("postal_code", 20), ("region", 50), ("country", 2), ("phone", 40), ("email", 254),
        ("registration_scheme", 10), ("registration_number", 64))]


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("myinvois_uuid", sa.String(64)))
    op.create_table(
        "seller_profiles",
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", name=op.f("fk_seller_profiles_tenant_id_tenants")),
                  nullable=False),
        sa.Column("legal_name", sa.String(200)),
        sa.Column("vat_number", sa.String(64)),
        *_address(),
        sa.Column("language", sa.String(5)),
        sa.Column("activity_code", sa.String(10)),
        sa.Column("activity", sa.String(300)),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_seller_profiles")),
    )
    op.create_table(
        "customer_addresses",
        sa.Column("customer_id", Id, sa.ForeignKey("customers.id", name=op.f("fk_customer_addresses_customer_id_customers")),
                  nullable=False),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", name=op.f("fk_customer_addresses_tenant_id_tenants")),
                  nullable=False),
        *_address(),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_addresses")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", name=op.f("fk_signing_keys_tenant_id_tenants")),
                  nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "zatca_documents",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id", name=op.f("fk_zatca_documents_tenant_id_tenants")),
                  nullable=False),
        sa.Column("refund_id", Id, sa.ForeignKey("refunds.id", name=op.f("fk_zatca_documents_refund_id_refunds")),
                  nullable=False),
        sa.Column("icv", sa.BigInteger(), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("pih", sa.String(100), nullable=False),
        sa.Column("invoice_hash", sa.String(64), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zatca_documents")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_zatca_documents_refund_id")),
        sa.UniqueConstraint("tenant_id", "icv", name=op.f("uq_zatca_documents_tenant_id")),
    )


def downgrade() -> None:
    op.drop_table("zatca_documents")
    op.drop_table("signing_keys")
    op.drop_table("customer_addresses")
    op.drop_table("seller_profiles")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("myinvois_uuid")
