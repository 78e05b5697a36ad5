"""PostgreSQL: a deferred constraint trigger that rejects unbalanced journal entries at commit.

R14's second guard (the first is the domain, which cannot build an unbalanced entry). SQLite has no
deferred triggers; there the domain's check and `salesrefund check` stand guard.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION salesrefund_check_entry_balanced() RETURNS trigger AS $$
        DECLARE
            entry BIGINT := COALESCE(NEW.entry_id, OLD.entry_id);
            difference BIGINT;
        BEGIN
            SELECT COALESCE(SUM(debit_minor), 0) - COALESCE(SUM(credit_minor), 0)
              INTO difference FROM journal_lines WHERE entry_id = entry;
            IF difference <> 0 THEN
                RAISE EXCEPTION 'journal entry % is unbalanced by %', entry, difference
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE CONSTRAINT TRIGGER journal_entry_balanced
        AFTER INSERT OR UPDATE OR DELETE ON journal_lines
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION salesrefund_check_entry_balanced()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS journal_entry_balanced ON journal_lines")
    op.execute("DROP FUNCTION IF EXISTS salesrefund_check_entry_balanced()")
