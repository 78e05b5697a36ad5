"""Clients' document numbers, unique in their tenant forever (issue 9, item 10): SnR2U's
``AcCusRefundNoteMID``, Internom's ``reference`` and ``reference_id``, CRM.COM's ``back_office_code``.
Until now they were protected only for the 72 hours of an idempotency record.

The numbers of refunds already recorded are carried over; where a number was already recorded
twice (the defect this closes) the first refund keeps it and ``salesrefund check`` reports the rest
(``client_document_numbers``).

Revision ID: 0007
Revises: 0006
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# door -> [(field, where its number is kept: "reference" or a metadata key)]
SOURCES = {
    "snr2u": [("DocumentHeader.AcCusRefundNoteMID", "reference")],
    "internom": [("reference", "reference"), ("reference_id", "metadata:reference_id")],
    "crmcom": [("back_office_code", "reference")],
}


def upgrade() -> None:
    table = op.create_table(
        "document_numbers",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("door", sa.String(20), nullable=False),
        sa.Column("field", sa.String(60), nullable=False),
        sa.Column("number", sa.String(255), nullable=False),
        sa.Column("refund_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_document_numbers_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"], name=op.f("fk_document_numbers_refund_id_refunds")),
        sa.PrimaryKeyConstraint("tenant_id", "door", "field", "number", name=op.f("pk_document_numbers")),
    )
    op.create_index("ix_document_numbers_refund", "document_numbers", ["refund_id"])
    conn = op.get_bind()
    r = sa.table("refunds", sa.column("id"), sa.column("tenant_id"), sa.column("channel"), sa.column("reference"),
                 sa.column("metadata_json"), sa.column("created_at"))
    seen, rows = set(), []
    for refund in conn.execute(sa.select(r).where(r.c.channel.in_(list(SOURCES))).order_by(r.c.id)).mappings():
        metadata = json.loads(refund["metadata_json"] or "{}")
        for field, source in SOURCES[refund["channel"]]:
            number = refund["reference"] if source == "reference" else metadata.get(source.split(":", 1)[1])
            key = (refund["tenant_id"], refund["channel"], field, number)
            if number is None or not isinstance(number, str) or key in seen:
                continue
            seen.add(key)
            rows.append({"tenant_id": refund["tenant_id"], "door": refund["channel"], "field": field,
                         "number": number, "refund_id": refund["id"], "created_at": refund["created_at"]})
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index("ix_document_numbers_refund", "document_numbers")
    op.drop_table("document_numbers")
