"""A tenant's status, for moving a tenant to another database (issue 15): ``active``, ``fenced``
(writes refused while it is copied and switched) or ``moved`` (it lives in another database now).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("status", sa.String(10), nullable=False, server_default="active"))
        batch.create_check_constraint("status", "status IN ('active', 'fenced', 'moved')")


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_constraint(op.f("ck_tenants_status"), type_="check")
        batch.drop_column("status")
