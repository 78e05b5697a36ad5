"""Sessions of the back office page (``/app``): one row per signed-in browser, so that every
server process (and every machine) behind a load balancer shares them.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "app_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("credential_id", Id, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_app_sessions_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"],
                                name=op.f("fk_app_sessions_credential_id_credentials")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_app_sessions")),
    )


def downgrade() -> None:
    op.drop_table("app_sessions")
