"""The server's own secrets (issue 10, "Security at the edges"): one row, ``ids``, the key of the
permutation that shows row ids (list cursors, journal entry ids) without
revealing the global counters they come from. Made here, at random, so every worker and server of
the database shares it.

Revision ID: 0014
Revises: 0013
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    op.bulk_insert(table, [{"name": "ids", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    op.drop_table("server_secrets")
