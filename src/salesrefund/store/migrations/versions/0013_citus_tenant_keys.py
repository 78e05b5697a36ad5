"""Keys a tenant-distributed PostgreSQL (Citus) can carry (issue 15): every primary key, unique
constraint and foreign key of a tenant's tables includes tenant_id.

- primary keys ``id`` -> ``(id, tenant_id)`` (id first: ``inserted_primary_key[0]`` stays the id,
  and max(id), SQLite's next id, reads the key's index); customer_addresses ``(customer_id,
  tenant_id)``;
- foreign keys between tenant tables ``(x_id) -> x(id)`` -> ``(x_id, tenant_id) -> x(id, tenant_id)``
  (their names are kept);
- unique constraints without tenant_id get it (refunds, events and webhook endpoints'
  public_id, invoice lines' (invoice_id, line_no), a refund's one ZATCA document);
- PostgreSQL: the deferred balance trigger sums the entry's lines within its tenant, on the table
  it fired on (under Citus: the tenant's shard).

Every tenant table already has tenant_id, so nothing is backfilled; data is kept (SQLite copies
each table in batch mode, PostgreSQL alters in place; ids keep their sequences). The global
tables (tables.REFERENCE_TABLES) are unchanged.

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# table -> its primary key column besides tenant_id
KEYED = {name: "id" for name in (
    "accounts", "payment_methods", "locations", "customers", "products", "product_barcodes",
    "journal_entries", "journal_lines", "invoices", "invoice_lines", "invoice_payments", "refunds",
    "refund_lines", "refund_payments", "refund_taxes", "stock_moves", "audit_events", "pos_sessions",
    "zatca_documents", "webhook_endpoints", "events", "webhook_deliveries")}
KEYED["customer_addresses"] = "customer_id"

# (table, column, referred table): foreign keys between tenant tables
REFERENCES = (
    ("product_barcodes", "product_id", "products"),
    ("journal_lines", "entry_id", "journal_entries"),
    ("invoices", "customer_id", "customers"),
    ("invoices", "location_id", "locations"),
    ("invoices", "journal_entry_id", "journal_entries"),
    ("invoice_lines", "invoice_id", "invoices"),
    ("invoice_lines", "product_id", "products"),
    ("invoice_payments", "invoice_id", "invoices"),
    ("refunds", "invoice_id", "invoices"),
    ("refunds", "customer_id", "customers"),
    ("refunds", "location_id", "locations"),
    ("refunds", "journal_entry_id", "journal_entries"),
    ("refunds", "void_entry_id", "journal_entries"),
    ("refund_lines", "refund_id", "refunds"),
    ("refund_lines", "invoice_line_id", "invoice_lines"),
    ("refund_lines", "product_id", "products"),
    ("refund_lines", "location_id", "locations"),
    ("refund_payments", "refund_id", "refunds"),
    ("refund_taxes", "refund_id", "refunds"),
    ("stock_moves", "product_id", "products"),
    ("stock_moves", "location_id", "locations"),
    ("document_numbers", "refund_id", "refunds"),
    ("pos_sessions", "location_id", "locations"),
    ("customer_addresses", "customer_id", "customers"),
    ("zatca_documents", "refund_id", "refunds"),
    ("webhook_deliveries", "event_id", "events"),
    ("webhook_deliveries", "endpoint_id", "webhook_endpoints"),
)

# (table, name, columns before): unique constraints that get tenant_id last
UNIQUES = (
    ("refunds", "uq_refunds_public_id", ["public_id"]),
    ("events", "uq_events_public_id", ["public_id"]),
    ("webhook_endpoints", "uq_webhook_endpoints_public_id", ["public_id"]),
    ("invoice_lines", "uq_invoice_lines_invoice_id", ["invoice_id", "line_no"]),
    ("zatca_documents", "uq_zatca_documents_refund_id", ["refund_id"]),
)

# Per tenant, and on the table the trigger fired on (TG_TABLE_NAME): journal_lines here; under
# Citus the shard of the line's tenant, where all the entry's lines are (colocated by tenant_id),
# so the check stays a local query on that shard, as Citus asks of trigger functions.
PER_TENANT = """
    CREATE OR REPLACE FUNCTION salesrefund_check_entry_balanced() RETURNS trigger AS $$
    DECLARE
        entry BIGINT := COALESCE(NEW.entry_id, OLD.entry_id);
        tenant BIGINT := COALESCE(NEW.tenant_id, OLD.tenant_id);
        difference BIGINT;
    BEGIN
        EXECUTE format('SELECT COALESCE(SUM(debit_minor), 0) - COALESCE(SUM(credit_minor), 0) FROM %I.%I '
                       'WHERE tenant_id = $1 AND entry_id = $2', TG_TABLE_SCHEMA, TG_TABLE_NAME)
           INTO difference USING tenant, entry;
        IF difference <> 0 THEN
            RAISE EXCEPTION 'journal entry % is unbalanced by %', entry, difference
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
"""
# 0002's, for the downgrade
WHOLE_TABLE = """
    CREATE OR REPLACE FUNCTION salesrefund_check_entry_balanced() RETURNS trigger AS $$
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
"""


def _fk_name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def _tables() -> list[str]:
    return list(dict.fromkeys([*KEYED, *(table for table, _, _ in REFERENCES), *(table for table, _, _ in UNIQUES)]))


def _change(up: bool) -> None:
    """Both directions: ``up`` adds tenant_id to the keys, else takes it out again."""
    tenant = ["tenant_id"] if up else []
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # one copy of each table doing all its changes (foreign keys are off meanwhile: migrate.py)
        for table in _tables():
            with op.batch_alter_table(table, recreate="always") as batch:
                _drop(batch, table)
                _create(batch, table, tenant)
        return
    # PostgreSQL: foreign keys go before the keys they refer to, and come back after them
    for table in _tables():
        with op.batch_alter_table(table) as batch:
            for fk_table, column, referred in REFERENCES:
                if fk_table == table:
                    batch.drop_constraint(_fk_name(table, column, referred), type_="foreignkey")
    for table in _tables():
        with op.batch_alter_table(table) as batch:
            _drop(batch, table, foreign_keys=False)
            _create(batch, table, tenant, foreign_keys=False)
    for table in _tables():
        with op.batch_alter_table(table) as batch:
            _create_foreign_keys(batch, table, tenant)


def _drop(batch, table: str, foreign_keys: bool = True) -> None:
    if foreign_keys:
        for fk_table, column, referred in REFERENCES:
            if fk_table == table:
                batch.drop_constraint(_fk_name(table, column, referred), type_="foreignkey")
    for uq_table, name, _ in UNIQUES:
        if uq_table == table:
            batch.drop_constraint(name, type_="unique")
    if table in KEYED:
        batch.drop_constraint(f"pk_{table}", type_="primary")


def _create(batch, table: str, tenant: list[str], foreign_keys: bool = True) -> None:
    if table in KEYED:
        batch.create_primary_key(f"pk_{table}", [KEYED[table], *tenant])
    for uq_table, name, columns in UNIQUES:
        if uq_table == table:
            batch.create_unique_constraint(name, [*columns, *tenant])
    if foreign_keys:
        _create_foreign_keys(batch, table, tenant)


def _create_foreign_keys(batch, table: str, tenant: list[str]) -> None:
    for fk_table, column, referred in REFERENCES:
        if fk_table == table:
            batch.create_foreign_key(_fk_name(table, column, referred), referred, [column, *tenant], ["id", *tenant])


def upgrade() -> None:
    _change(up=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PER_TENANT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(WHOLE_TABLE)
    _change(up=False)
