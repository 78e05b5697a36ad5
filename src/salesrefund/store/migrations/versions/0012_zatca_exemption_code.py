"""The seller's ZATCA exemption reason code (VATEX) for 0 % lines (issue 11's leftovers): one
nullable column, so that a Saudi tenant's zero-rated or exempt refunds get a ZATCA document.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("seller_profiles") as batch:
        batch.add_column(sa.Column("zatca_exemption_code", sa.String(20)))


def downgrade() -> None:
    with op.batch_alter_table("seller_profiles") as batch:
        batch.drop_column("zatca_exemption_code")
