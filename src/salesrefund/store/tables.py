"""Tables. Every row carries its tenant (R19); money is integer minor units, quantities, unit
prices and costs are integers in 1/10,000, tax rates integers in 1/10,000 percent (R2): sums are
identical on SQLite and PostgreSQL. The column suffix names the unit (``_minor``, scaled otherwise).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, ForeignKeyConstraint, Index,
    Integer, MetaData, String, Table, Text, UniqueConstraint, literal_column,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER keys


def _id() -> Column:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _tenant(**kwargs) -> Column:
    return Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False, **kwargs)


# -- keys a tenant-distributed PostgreSQL (Citus) can carry (issue 15) ---------------------------
#
# A tenant's table is keyed (id, tenant_id): id first, so ``inserted_primary_key[0]`` is the id
# and max(id) reads the key's index; its unique constraints include tenant_id; it refers to
# another tenant table by (x_id, tenant_id) -> x(id, tenant_id). Only the global tables below
# (read before the tenant is known: by token, door login or credential) lack tenant_id in a key;
# under Citus they are reference tables (README "Running on several machines").

REFERENCE_TABLES = ("tenants", "credentials", "door_credentials", "door_sessions", "app_sessions",
                    "rate_windows", "server_secrets")


class next_id(FunctionElement):
    """A tenant table's next id. PostgreSQL: ``DEFAULT``, the column's own sequence, so ids stay
    globally unique across tenants and processes. SQLite numbers only a one-column INTEGER
    PRIMARY KEY by itself, so there: one more than the table's largest id, which is what SQLite
    did before (rowid), safe because every SQLite write transaction holds the write lock from its
    ``BEGIN IMMEDIATE`` (store/engine.py). Executed once per row, including executemany; not
    with several rows in one VALUES (SQLAlchemy's insertmanyvalues, i.e. executemany with
    RETURNING), which the SQLite engine therefore turns off."""

    type = Id
    inherit_cache = True
    name = "next_id"


@compiles(next_id)
def _next_id_default(element, compiler, **kw):
    return "DEFAULT"


@compiles(next_id, "sqlite")
def _next_id_sqlite(element, compiler, **kw):
    table = compiler.process(element.clauses.clauses[0], **kw)
    return f"(SELECT coalesce(max(id), 0) + 1 FROM {table})"


def _keys(table: str) -> list[Column]:
    # autoincrement=False: the id is next_id's (the PostgreSQL sequences are the migrations'), and
    # SQLAlchemy reads it back with RETURNING rather than running the default in a SELECT first.
    return [Column("id", Id, primary_key=True, autoincrement=False, default=next_id(literal_column(table))),
            _tenant(primary_key=True)]


def _ref(name: str, table: str, **kwargs) -> list:
    """A column referring to ``table``'s row of the same tenant: (name, tenant_id) -> (id, tenant_id)."""
    return [Column(name, Id, **kwargs),
            ForeignKeyConstraint([name, "tenant_id"], [f"{table}.id", f"{table}.tenant_id"])]


def _money(name: str, default: int | None = 0) -> Column:
    return Column(name, BigInteger, nullable=False, server_default=None if default is None else str(default))


tenants = Table(
    "tenants", metadata, _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("currency", String(3), nullable=False),
    Column("currency_exponent", Integer, nullable=False),
    Column("country", String(2)),
    Column("timezone", String(64), nullable=False),
    Column("prices_include_tax", Boolean, nullable=False),
    Column("cash_increment_minor", Integer, nullable=False, server_default="0"),
    Column("cash_rounding_all_methods", Boolean, nullable=False, server_default="0"),
    Column("allow_unlinked_refunds", Boolean, nullable=False),
    Column("tax_rates", Text, nullable=False, server_default=""),  # space-separated 1/10,000 %: unlinked refunds' rates
    Column("refund_to_other_methods", Boolean, nullable=False, server_default="0"),
    Column("closed_through", Date),
    Column("closed_at", DateTime(timezone=True)),  # when closed_through last moved forward
    Column("created_at", DateTime(timezone=True), nullable=False),
    # active | fenced (being moved: writes refused) | moved (lives in another database now)
    Column("status", String(10), nullable=False, server_default="active"),
    CheckConstraint("status IN ('active', 'fenced', 'moved')", name="status"),
)

credentials = Table(
    "credentials", metadata, _id(), _tenant(),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("permissions", Text, nullable=False),  # space-separated
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

accounts = Table(
    "accounts", metadata, *_keys("accounts"),
    Column("code", String(20), nullable=False),
    Column("name", String(100), nullable=False),
    Column("role", String(30)),
    UniqueConstraint("tenant_id", "code"),
)

payment_methods = Table(
    "payment_methods", metadata, *_keys("payment_methods"),
    Column("code", String(40), nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("account_code", String(20), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    UniqueConstraint("tenant_id", "code"),
)

locations = Table(
    "locations", metadata, *_keys("locations"),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    UniqueConstraint("tenant_id", "code"),
)

customers = Table(
    "customers", metadata, *_keys("customers"),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("tax_number", String(64)),
    Column("currency", String(3)),
    Column("email", String(254)),
    _money("credit_balance_minor"),  # store credit owed to the customer (R11)
    UniqueConstraint("tenant_id", "code"),
    CheckConstraint("credit_balance_minor >= 0", name="credit_not_negative"),
)
Index("ix_customers_tax_number", customers.c.tenant_id, customers.c.tax_number)

products = Table(
    "products", metadata, *_keys("products"),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("unit", String(20), nullable=False, server_default="unit"),
    Column("stock_tracked", Boolean, nullable=False),
    Column("unit_cost", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("tenant_id", "code"),
)

product_barcodes = Table(
    "product_barcodes", metadata, *_keys("product_barcodes"),
    *_ref("product_id", "products", nullable=False),
    Column("barcode", String(64), nullable=False),
    UniqueConstraint("tenant_id", "barcode"),
)

journal_entries = Table(
    "journal_entries", metadata, *_keys("journal_entries"),
    Column("date", Date, nullable=False),
    Column("source_type", String(20), nullable=False),  # invoice | refund | void
    Column("source_id", Id, nullable=False),
    Column("memo", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_journal_entries_date", journal_entries.c.tenant_id, journal_entries.c.date)

journal_lines = Table(
    "journal_lines", metadata, *_keys("journal_lines"),
    *_ref("entry_id", "journal_entries", nullable=False, index=True),
    Column("account_code", String(20), nullable=False),
    _money("debit_minor"),
    _money("credit_minor"),
    CheckConstraint("debit_minor >= 0 AND credit_minor >= 0 AND (debit_minor = 0 OR credit_minor = 0)",
                    name="one_side"),
)

invoices = Table(
    "invoices", metadata, *_keys("invoices"),
    Column("number", String(64), nullable=False),
    *_ref("customer_id", "customers", nullable=False),
    Column("date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("currency_exponent", Integer, nullable=False),
    Column("prices_include_tax", Boolean, nullable=False),
    *_ref("location_id", "locations"),
    _money("net_minor"), _money("tax_minor"), _money("total_minor"),
    _money("refunded_total_minor"),
    _money("rounding_minor"),  # the sale's own cash rounding: paid + receivable = total + rounding
    _money("receivable_minor"),  # what the sale left unpaid, on the customer's account
    _money("refunded_receivable_minor"),  # what refunds took off that (R8 per payment method)
    _money("refunded_free_minor"),  # the free amounts among refunded_total (their tax is read per rate)
    _money("paid_back_minor"),  # what posted refunds paid back by any method (totals, rounding included)
    *_ref("journal_entry_id", "journal_entries"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("myinvois_uuid", String(64)),  # the invoice's MyInvois UUID (issue 11), when it has one
    UniqueConstraint("tenant_id", "number"),
    CheckConstraint("refunded_total_minor >= 0 AND refunded_total_minor <= total_minor",
                    name="refunded_within_total"),
    CheckConstraint("refunded_receivable_minor >= 0 AND refunded_receivable_minor <= receivable_minor",
                    name="receivable_cap"),
)

invoice_lines = Table(
    "invoice_lines", metadata, *_keys("invoice_lines"),
    *_ref("invoice_id", "invoices", nullable=False),
    Column("line_no", Integer, nullable=False),
    *_ref("product_id", "products"),
    Column("description", String(500), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    _money("discount_minor"),
    Column("tax_rate", BigInteger, nullable=False),
    _money("net_minor"), _money("tax_minor"), _money("gross_minor"),
    Column("unit_cost", BigInteger, nullable=False, server_default="0"),
    Column("stock_tracked", Boolean, nullable=False),
    Column("refunded_quantity", BigInteger, nullable=False, server_default="0"),
    _money("refunded_gross_minor"),
    _money("refunded_tax_minor"),
    _money("cost_minor"),  # the cost booked out when sold (stock-tracked lines)
    Column("restocked_quantity", BigInteger, nullable=False, server_default="0"),
    _money("restocked_cost_minor"),  # the cost refunds booked back in (R8 per cost)
    _money("retained_gross_minor"),  # what refunds at a lower price (R9) left with the business
    _money("retained_tax_minor"),
    UniqueConstraint("invoice_id", "line_no", "tenant_id"),
    CheckConstraint("restocked_quantity >= 0 AND restocked_quantity <= refunded_quantity", name="restock_cap"),
    CheckConstraint("restocked_cost_minor >= 0 AND restocked_cost_minor <= cost_minor", name="cost_cap"),
    # R7: refunded <= sold, checked by the database on every write.
    CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity", name="quantity_cap"),
    CheckConstraint("refunded_gross_minor >= 0 AND refunded_gross_minor <= gross_minor", name="gross_cap"),
    CheckConstraint("refunded_tax_minor >= 0 AND refunded_tax_minor <= tax_minor", name="tax_cap"),
    CheckConstraint("refunded_gross_minor - refunded_tax_minor <= net_minor", name="net_cap"),
    CheckConstraint("net_minor + tax_minor = gross_minor", name="net_plus_tax"),
)

invoice_payments = Table(
    "invoice_payments", metadata, *_keys("invoice_payments"),
    *_ref("invoice_id", "invoices", nullable=False, index=True),
    Column("method", String(40), nullable=False),
    _money("amount_minor"),
    _money("refunded_minor"),  # what refunds gave back by this payment (R8 per payment method)
    CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refund_cap"),
)

refunds = Table(
    "refunds", metadata, *_keys("refunds"),
    Column("public_id", String(36), nullable=False),
    Column("kind", String(10), nullable=False, server_default="refund"),  # refund | payout (CRM.COM)
    Column("number", String(40)),
    Column("state", String(10), nullable=False),
    *_ref("invoice_id", "invoices"),
    *_ref("customer_id", "customers", nullable=False),
    Column("currency", String(3), nullable=False),
    Column("currency_exponent", Integer, nullable=False),
    Column("reason", String(500)),
    Column("reference", String(100)),
    Column("posting_date", Date),
    Column("document_date", Date),
    *_ref("location_id", "locations"),
    _money("net_minor"), _money("tax_minor"), _money("gross_minor"),
    _money("rounding_minor"), _money("total_minor"),
    Column("unlinked", Boolean, nullable=False),
    Column("metadata_json", Text, nullable=False, server_default="{}"),
    Column("command_json", Text, nullable=False),  # the decoded command (drafts re-plan from it)
    Column("channel", String(20), nullable=False),
    Column("credential_id", Id),
    Column("request_id", String(64)),
    Column("request_json", Text),  # the request as received, secrets removed (R20)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("posted_at", DateTime(timezone=True)),
    Column("voided_at", DateTime(timezone=True)),
    *_ref("journal_entry_id", "journal_entries"),
    *_ref("void_entry_id", "journal_entries"),
    UniqueConstraint("public_id", "tenant_id"),
    UniqueConstraint("tenant_id", "number"),
    CheckConstraint("state IN ('draft', 'posted', 'voided')", name="state"),
    CheckConstraint("net_minor + tax_minor = gross_minor", name="net_plus_tax"),
    CheckConstraint("gross_minor + rounding_minor = total_minor", name="total"),
)
Index("ix_refunds_invoice", refunds.c.tenant_id, refunds.c.invoice_id)
Index("ix_refunds_tenant_id", refunds.c.tenant_id, refunds.c.id)

refund_lines = Table(
    "refund_lines", metadata, *_keys("refund_lines"),
    *_ref("refund_id", "refunds", nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    *_ref("invoice_line_id", "invoice_lines"),
    Column("invoice_line_no", Integer),
    *_ref("product_id", "products"),
    Column("description", String(500), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", BigInteger),
    Column("tax_rate", BigInteger, nullable=False),
    _money("net_minor"), _money("tax_minor"), _money("gross_minor"),
    Column("restock", Boolean, nullable=False),
    *_ref("location_id", "locations"),
    Column("unit_cost", BigInteger, nullable=False, server_default="0"),
    _money("cost_minor"),
    _money("retained_gross_minor"),  # at a lower price (R9): the full-price piece less what was refunded
    _money("retained_tax_minor"),
    CheckConstraint("net_minor + tax_minor = gross_minor", name="net_plus_tax"),
)

refund_payments = Table(
    "refund_payments", metadata, *_keys("refund_payments"),
    *_ref("refund_id", "refunds", nullable=False, index=True),
    Column("method", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    _money("amount_minor"),
    Column("reference", String(100)),
    _money("tender_minor"),  # the part giving back what the invoice took by this method (or receivable)
)

refund_taxes = Table(
    "refund_taxes", metadata, *_keys("refund_taxes"),
    *_ref("refund_id", "refunds", nullable=False, index=True),
    Column("tax_rate", BigInteger, nullable=False),
    _money("net_minor"), _money("tax_minor"),
)

stock_moves = Table(
    "stock_moves", metadata, *_keys("stock_moves"),
    *_ref("product_id", "products", nullable=False),
    *_ref("location_id", "locations", nullable=False),
    Column("quantity", BigInteger, nullable=False),  # signed: + into the location, - out
    Column("unit_cost", BigInteger, nullable=False),
    Column("date", Date, nullable=False),
    Column("source_type", String(20), nullable=False),
    Column("source_id", Id, nullable=False),
)
Index("ix_stock_moves_product", stock_moves.c.tenant_id, stock_moves.c.product_id, stock_moves.c.location_id)

sequences = Table(
    "sequences", metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("series", String(40), primary_key=True),
    Column("last_value", BigInteger, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# A client's own document number (SnR2U's AcCusRefundNoteMID, Internom's reference and
# reference_id, CRM.COM's back_office_code): unique in its tenant forever, not only for the 72 hours
# of an idempotency record (issue 9, item 10). Deleting a draft frees its numbers.
document_numbers = Table(
    "document_numbers", metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("door", String(20), primary_key=True),
    Column("field", String(60), primary_key=True),
    Column("number", String(255), primary_key=True),
    *_ref("refund_id", "refunds", nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_document_numbers_refund", document_numbers.c.refund_id)

audit_events = Table(
    "audit_events", metadata, *_keys("audit_events"),
    Column("refund_id", Id),
    Column("action", String(20), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("credential_id", Id),
    Column("request_id", String(64)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("payload_json", Text),
)
Index("ix_audit_events_refund", audit_events.c.tenant_id, audit_events.c.refund_id)

# -- the doors (seed dialects) ------------------------------------------------------------------

door_credentials = Table(
    "door_credentials", metadata, _id(), _tenant(),
    Column("door", String(20), nullable=False),  # internom | vodo | crmcom | beansbooks | snr2u
    Column("login", String(200), nullable=False),  # the door's own key id: apikey, username, auth_uid
    Column("secret_hash", String(200), nullable=False),  # hash of the door's secret (see service.doors)
    Column("credential_id", Id, ForeignKey("credentials.id"), nullable=False),  # permissions, revocation
    Column("settings_json", Text, nullable=False, server_default="{}"),  # door-specific configuration
    UniqueConstraint("door", "login"),
)

door_sessions = Table(
    "door_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("door_credential_id", Id, ForeignKey("door_credentials.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
)

pos_sessions = Table(
    "pos_sessions", metadata, *_keys("pos_sessions"),
    Column("pos", String(40), nullable=False),  # the point of sale (Vodo pos_id)
    Column("session", String(40), nullable=False),  # the till session (Vodo pos_session_id)
    *_ref("location_id", "locations", nullable=False),
    Column("state", String(10), nullable=False),  # open | closed
    UniqueConstraint("tenant_id", "pos", "session"),
    CheckConstraint("state IN ('open', 'closed')", name="state"),
)

rate_windows = Table(
    "rate_windows", metadata,
    Column("credential_id", Id, ForeignKey("credentials.id"), primary_key=True),
    Column("window_start", BigInteger, primary_key=True),  # epoch seconds // window length
    Column("count", Integer, nullable=False),
)

# -- credit-note documents (issue 11) ---------------------------------------------------------


def _address() -> list[Column]:
    """A party's postal address and contacts as e-invoices need them (EN 16931 BG-5/BG-8, ZATCA's
    building and additional numbers, MyInvois's state code in ``region``)."""
    return [Column(name, String(size)) for name, size in (
        ("street", 200), ("building_number", 20), ("additional_number", 20), ("district", 100),
        ("city", 100), ("postal_code", 20), ("region", 50), ("country", 2), ("phone", 40), ("email", 254),
        ("registration_scheme", 10), ("registration_number", 64))]


seller_profiles = Table(
    "seller_profiles", metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("legal_name", String(200)),  # BT-27; the tenant's name when unset
    Column("vat_number", String(64)),  # BT-31 (MyInvois: the TIN)
    *_address(),
    Column("language", String(5)),  # the documents' default language (en, ar, mn, ms)
    Column("activity_code", String(10)),  # MyInvois MSIC code
    Column("activity", String(300)),  # MyInvois business activity description
    Column("zatca_exemption_code", String(20)),  # ZATCA VATEX code of 0 % lines (zatca.EXEMPTIONS)
)

customer_addresses = Table(
    "customer_addresses", metadata,
    Column("customer_id", Id, primary_key=True),
    _tenant(primary_key=True),
    ForeignKeyConstraint(["customer_id", "tenant_id"], ["customers.id", "customers.tenant_id"]),
    *_address(),
)

signing_keys = Table(
    "signing_keys", metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("private_key_pem", Text, nullable=False),  # ECDSA secp256k1 (ZATCA)
    Column("certificate_pem", Text, nullable=False),  # self-signed until onboarding with ZATCA
    Column("created_at", DateTime(timezone=True), nullable=False),
)

zatca_documents = Table(
    "zatca_documents", metadata, *_keys("zatca_documents"),
    *_ref("refund_id", "refunds", nullable=False),
    Column("icv", BigInteger, nullable=False),  # KSA-16 invoice counter value, 1, 2, 3 … per tenant
    Column("uuid", String(36), nullable=False),  # KSA-1
    Column("pih", String(100), nullable=False),  # KSA-13 previous invoice hash (base64; the first is 88 characters)
    Column("invoice_hash", String(64), nullable=False),  # this document's hash (base64 SHA-256)
    Column("xml", Text, nullable=False),  # the signed document, byte for byte as issued
    Column("status", String(30), nullable=False),  # pending_clearance | pending_reporting | cleared | reported
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("refund_id", "tenant_id"),
    UniqueConstraint("tenant_id", "icv"),
)

# -- the back office page (/app) -----------------------------------------------------------------

app_sessions = Table(
    "app_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the session cookie's value
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("credential_id", Id, ForeignKey("credentials.id"), nullable=False),  # permissions, revocation
    Column("csrf_token", String(64), nullable=False),  # the synchronizer token every form sends back
    Column("language", String(8), nullable=False),  # en | ar | mn | ms
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False),  # idle expiry slides from here
    Column("expires_at", DateTime(timezone=True), nullable=False),  # absolute expiry
)


# -- events and webhooks (issue 13) -------------------------------------------------------------

webhook_endpoints = Table(
    "webhook_endpoints", metadata, *_keys("webhook_endpoints"),
    Column("public_id", String(36), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("events", Text, nullable=False),  # space-separated event types
    Column("secret", String(100), nullable=False),  # the HMAC key: kept, as signing needs it
    Column("description", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),  # deleted endpoints keep their delivery history
    UniqueConstraint("public_id", "tenant_id"),
)

events = Table(
    "events", metadata, *_keys("events"),
    Column("public_id", String(40), nullable=False),  # evt_…, the receivers' de-duplication key
    Column("type", String(40), nullable=False),
    Column("subject", String(200), nullable=False),  # refund:<id>, invoice:<number>: deliveries keep its order
    Column("payload_json", Text, nullable=False),  # the whole body sent, rendered in the writing transaction
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("public_id", "tenant_id"),
)
Index("ix_events_tenant_created", events.c.tenant_id, events.c.created_at)

webhook_deliveries = Table(
    "webhook_deliveries", metadata, *_keys("webhook_deliveries"),
    *_ref("event_id", "events", nullable=False),
    *_ref("endpoint_id", "webhook_endpoints", nullable=False),
    Column("subject", String(200), nullable=False),  # the event's: in order per subject and endpoint
    Column("state", String(10), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_token", String(36)),  # the claim of the process delivering the current attempt
    Column("lease_until", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    CheckConstraint("state IN ('pending', 'delivered', 'dead')", name="state"),
)
Index("ix_webhook_deliveries_due", webhook_deliveries.c.state, webhook_deliveries.c.next_attempt_at)
Index("ix_webhook_deliveries_order", webhook_deliveries.c.endpoint_id, webhook_deliveries.c.subject,
      webhook_deliveries.c.state, webhook_deliveries.c.id)

# -- the server's own secrets (issue 10) -------------------------------------------------------

# ``ids``: the key of the permutation that shows row ids to tenants (``service.views.public_number``);
# made at random by migration 0014, shared by every worker and server of the database.
server_secrets = Table(
    "server_secrets", metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(128), nullable=False),
)
