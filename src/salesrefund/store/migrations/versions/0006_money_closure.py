"""Running figures for every dimension a refund is split along (issue 9): what each payment of an
invoice got back, the receivable, the cost returned to stock per line; the sale's own cash
rounding; what refunds at a lower price left with the business; the tenant's tax rates and whether refunds may go back by another method.

Existing databases are brought there from what their posted refunds wrote: the figures are the
sums over posted (not voided) refunds, clamped to what was paid or booked (``salesrefund check``
then reports an invoice whose refunds had already gone past a cap).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("tax_rates", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("refund_to_other_methods", sa.Boolean(), nullable=False, server_default=sa.false()))
    for table, columns in (("refund_payments", ("tender_minor",)),
                           ("refund_lines", ("retained_gross_minor", "retained_tax_minor")),
                           ("invoices", ("rounding_minor", "receivable_minor", "refunded_receivable_minor",
                                         "refunded_free_minor", "paid_back_minor")),
                           ("invoice_lines", ("cost_minor", "restocked_quantity", "restocked_cost_minor",
                                              "retained_gross_minor", "retained_tax_minor")),
                           ("invoice_payments", ("refunded_minor",))):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(_money(column))
    _backfill(op.get_bind())
    with op.batch_alter_table("invoices") as batch:
        batch.create_check_constraint(
            op.f("ck_invoices_receivable_cap"),
            "refunded_receivable_minor >= 0 AND refunded_receivable_minor <= receivable_minor")
    with op.batch_alter_table("invoice_lines") as batch:
        batch.create_check_constraint(
            op.f("ck_invoice_lines_restock_cap"),
            "restocked_quantity >= 0 AND restocked_quantity <= refunded_quantity")
        batch.create_check_constraint(
            op.f("ck_invoice_lines_cost_cap"), "restocked_cost_minor >= 0 AND restocked_cost_minor <= cost_minor")
    with op.batch_alter_table("invoice_payments") as batch:
        batch.create_check_constraint(
            op.f("ck_invoice_payments_refund_cap"), "refunded_minor >= 0 AND refunded_minor <= amount_minor")


def _backfill(conn) -> None:
    q = lambda sql, **params: conn.execute(sa.text(sql), params).all()  # noqa: E731
    run = lambda sql, **params: conn.execute(sa.text(sql), params)  # noqa: E731
    for tenant_id, in q("SELECT id FROM tenants"):
        rates = q("SELECT DISTINCT tax_rate FROM invoice_lines WHERE tenant_id = :t UNION "
                  "SELECT DISTINCT tax_rate FROM refund_lines WHERE tenant_id = :t", t=tenant_id)
        run("UPDATE tenants SET tax_rates = :r WHERE id = :t",
            r=" ".join(str(rate) for rate in sorted({r for r, in rates} - {0})), t=tenant_id)
    for line_id, quantity, unit_cost, exponent in q(
            "SELECT l.id, l.quantity, l.unit_cost, i.currency_exponent FROM invoice_lines l "
            "JOIN invoices i ON i.id = l.invoice_id WHERE l.stock_tracked"):
        run("UPDATE invoice_lines SET cost_minor = :c WHERE id = :id",
            c=_div_round(quantity * unit_cost * 10 ** exponent, 10 ** 8), id=line_id)
    for line_id, restocked, cost in q(
            "SELECT rl.invoice_line_id, SUM(rl.quantity), SUM(rl.cost_minor) FROM refund_lines rl "
            "JOIN refunds r ON r.id = rl.refund_id WHERE r.state = 'posted' AND rl.restock "
            "AND rl.invoice_line_id IS NOT NULL GROUP BY rl.invoice_line_id"):
        run("UPDATE invoice_lines SET restocked_quantity = MIN(:q, refunded_quantity), "
            "restocked_cost_minor = MIN(:c, cost_minor) WHERE id = :id".replace("MIN(", _least(conn) + "("),
            q=restocked, c=cost, id=line_id)
    for invoice_id, total in q("SELECT id, total_minor FROM invoices"):
        payments = q("SELECT id, method, amount_minor FROM invoice_payments WHERE invoice_id = :i ORDER BY id",
                     i=invoice_id)
        receivable = max(0, total - sum(amount for _, _, amount in payments))
        back = dict(q("SELECT p.method, SUM(p.amount_minor) FROM refund_payments p JOIN refunds r "
                      "ON r.id = p.refund_id WHERE r.state = 'posted' AND r.invoice_id = :i GROUP BY p.method",
                      i=invoice_id))
        for payment_id, method, amount in payments:
            taken = min(amount, back.get(method, 0))
            back[method] = back.get(method, 0) - taken
            run("UPDATE invoice_payments SET refunded_minor = :x WHERE id = :id", x=taken, id=payment_id)
        run("UPDATE invoices SET receivable_minor = :r, refunded_receivable_minor = :x WHERE id = :i",
            r=receivable, x=min(receivable, back.get("receivable", 0)), i=invoice_id)
    run("UPDATE invoices SET refunded_free_minor = COALESCE((SELECT SUM(l.gross_minor) FROM refund_lines l "
        "JOIN refunds r ON r.id = l.refund_id WHERE r.invoice_id = invoices.id AND r.state = 'posted' "
        "AND l.invoice_line_id IS NULL), 0)")
    run("UPDATE invoices SET paid_back_minor = COALESCE((SELECT SUM(r.total_minor) FROM refunds r "
        "WHERE r.invoice_id = invoices.id AND r.state = 'posted'), 0)")
    run("UPDATE refund_payments SET tender_minor = amount_minor WHERE kind = 'receivable' OR EXISTS ("
        "SELECT 1 FROM refunds r JOIN invoice_payments ip ON ip.invoice_id = r.invoice_id "
        "WHERE r.id = refund_payments.refund_id AND ip.method = refund_payments.method)")


def _least(conn) -> str:
    return "LEAST" if conn.dialect.name == "postgresql" else "MIN"


def _div_round(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)


def downgrade() -> None:
    with op.batch_alter_table("invoice_payments") as batch:
        batch.drop_constraint(op.f("ck_invoice_payments_refund_cap"), type_="check")
        batch.drop_column("refunded_minor")
    with op.batch_alter_table("invoice_lines") as batch:
        batch.drop_constraint(op.f("ck_invoice_lines_restock_cap"), type_="check")
        batch.drop_constraint(op.f("ck_invoice_lines_cost_cap"), type_="check")
        for column in ("cost_minor", "restocked_quantity", "restocked_cost_minor", "retained_gross_minor",
                       "retained_tax_minor"):
            batch.drop_column(column)
    with op.batch_alter_table("invoices") as batch:
        batch.drop_constraint(op.f("ck_invoices_receivable_cap"), type_="check")
        for column in ("rounding_minor", "receivable_minor", "refunded_receivable_minor", "refunded_free_minor",
                       "paid_back_minor"):
            batch.drop_column(column)
    with op.batch_alter_table("refund_payments") as batch:
        batch.drop_column("tender_minor")
    with op.batch_alter_table("refund_lines") as batch:
        batch.drop_column("retained_gross_minor")
        batch.drop_column("retained_tax_minor")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("tax_rates")
        batch.drop_column("refund_to_other_methods")
