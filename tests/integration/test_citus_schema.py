"""A schema a tenant-distributed PostgreSQL (Citus) can carry (issue 15), read from the live
database on the engine under test (SQLite by default, PostgreSQL with SALESREFUND_TEST_DATABASE_URL):

- every table but the declared global ones (``tables.REFERENCE_TABLES``, Citus reference tables)
  has tenant_id in its primary key, in each unique constraint and unique index, and in each
  foreign key to another tenant table, paired with the referred table's tenant_id;
- the global tables are exactly the declared list, and refer to no tenant table;
- migration 0013 brings a database written at 0012 there with every row kept, ``check`` clean,
  and goes back down;
- the README's ``create_reference_table`` / ``create_distributed_table`` calls name every table
  of the live schema once, each the right kind, in one colocation group, parents first.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from salesrefund.demo import DEMO_TOKEN, load_books_for_tests
from salesrefund.app import create_app
from salesrefund.service.check import run_checks
from salesrefund.store import tables as t
from salesrefund.store.credentials import counters
from salesrefund.store.engine import make_engine, normalize_url
from salesrefund.store.migrate import alembic_config, migrate

README = Path(__file__).resolve().parents[2] / "README.md"


def schema_rule(engine) -> tuple[set[str], list[str]]:
    """(the tables whose primary key lacks tenant_id, every breach of the rule: "table: what")."""
    inspector = inspect(engine)
    # the sign-in throttle's counts (store.credentials.counters) are made on first use outside the
    # business schema: global, keyed by hashes, no tenant data (README: a Citus coordinator keeps them local)
    tables = set(inspector.get_table_names()) - {"alembic_version"} - set(counters.tables)
    declared = set(t.REFERENCE_TABLES)
    global_tables = {name for name in tables
                     if "tenant_id" not in inspector.get_pk_constraint(name)["constrained_columns"]}
    broken = []
    for name in sorted(tables):
        pk = inspector.get_pk_constraint(name)
        fks = inspector.get_foreign_keys(name)
        if name in declared:  # a reference table may refer only to reference tables
            broken += [f"{name}: foreign key {fk['name']} {fk['constrained_columns']} refers to the tenant table "
                       f"{fk['referred_table']}" for fk in fks if fk["referred_table"] not in declared]
            continue
        if "tenant_id" not in pk["constrained_columns"]:
            broken.append(f"{name}: primary key {pk['name']} {pk['constrained_columns']} lacks tenant_id")
        for unique in inspector.get_unique_constraints(name):
            if "tenant_id" not in unique["column_names"]:
                broken.append(f"{name}: unique constraint {unique['name']} {unique['column_names']} lacks tenant_id")
        for index in inspector.get_indexes(name):
            if index.get("unique") and "tenant_id" not in index["column_names"]:
                broken.append(f"{name}: unique index {index['name']} {index['column_names']} lacks tenant_id")
        for fk in fks:
            if fk["referred_table"] in declared:
                continue  # a distributed table may refer to a reference table by any column
            pairs = dict(zip(fk["constrained_columns"], fk["referred_columns"]))
            if pairs.get("tenant_id") != "tenant_id":
                broken.append(f"{name}: foreign key {fk['name']} {fk['constrained_columns']} -> "
                              f"{fk['referred_table']} {fk['referred_columns']} lacks tenant_id = tenant_id")
    return global_tables, broken


def test_every_tenant_table_keys_uniques_and_foreign_keys_include_tenant_id(engine):
    global_tables, broken = schema_rule(engine)
    assert broken == []
    assert global_tables == set(t.REFERENCE_TABLES)
    assert set(t.REFERENCE_TABLES) <= set(inspect(engine).get_table_names())


@pytest.fixture
def fresh_url(tmp_path, database_url):
    """``make()`` -> the URL of a new, empty database of the engine under test (PostgreSQL: a
    database of its own, dropped afterwards, so that migrating down leaves the suite's alone)."""
    made, engines = [], []
    admin = None
    if database_url.startswith("postgres"):
        admin = create_engine(make_url(normalize_url(database_url)), isolation_level="AUTOCOMMIT")

    def make() -> str:
        if admin is None:
            return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.db'}"
        name = f"citus_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return admin.url.set(database=name).render_as_string(hide_password=False)

    def engine_of(url: str):
        engines.append(make_engine(url, pool_size=2))
        return engines[-1]

    make.engine = engine_of
    yield make
    for engine in engines:
        engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def downgrade(engine, revision: str) -> None:
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        command.downgrade(alembic_config(connection), revision)
        connection.commit()
        if sqlite:
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").first() is None
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def rows(engine) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with engine.connect() as conn:
        return {name: sorted((tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr)
                for name in sorted(set(inspect(engine).get_table_names()) - {"alembic_version"})}


def test_the_rule_finds_the_keys_of_0012(fresh_url):
    """The check above can fail: before 0013 it names the tables and constraints that break the rule."""
    engine = fresh_url.engine(fresh_url())
    migrate(engine, "0012")
    global_tables, broken = schema_rule(engine)
    assert "refunds" in global_tables and "journal_lines" in global_tables
    assert "refunds: primary key pk_refunds ['id'] lacks tenant_id" in broken
    assert "refunds: unique constraint uq_refunds_public_id ['public_id'] lacks tenant_id" in broken
    assert any(b.startswith("journal_lines: foreign key fk_journal_lines_entry_id_journal_entries") for b in broken)
    assert "invoice_lines: unique constraint uq_invoice_lines_invoice_id ['invoice_id', 'line_no'] lacks tenant_id" \
        in broken


def test_0013_brings_a_database_written_at_0012_there_with_its_rows_and_goes_back_down(fresh_url):
    engine = fresh_url.engine(fresh_url())
    migrate(engine, "0012")
    load_books_for_tests(engine)  # the demo books: invoices, posted refunds, a draft, a closed period
    at_0012 = rows(engine)
    assert at_0012["refunds"] and at_0012["journal_lines"] and at_0012["customer_addresses"] == []

    migrate(engine, "0013")
    assert rows(engine) == at_0012
    assert {name: found for name, found in run_checks(engine).items() if found} == {}
    assert schema_rule(engine) == (set(t.REFERENCE_TABLES) - {"server_secrets"}, [])  # 0014 adds it
    migrate(engine)

    # and it keeps working: new ids follow the old ones, a refund posts (PostgreSQL: the
    # per-tenant balance trigger fires at commit), check stays clean
    top = max(row[0] for row in at_0012["refunds"])
    api = TestClient(create_app(engine))
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}", "Idempotency-Key": "after-0013"}
    answer = api.post("/v1/refunds", json={"invoice": "INV-1003", "lines": [{"line": 1, "quantity": "1"}]},
                      headers=headers)
    assert answer.status_code == 201, answer.text
    with engine.connect() as conn:
        assert conn.execute(text("SELECT max(id) FROM refunds")).scalar() > top
    assert {name: found for name, found in run_checks(engine).items() if found} == {}

    downgrade(engine, "0012")
    global_tables, broken = schema_rule(engine)
    assert "refunds: primary key pk_refunds ['id'] lacks tenant_id" in broken
    after = rows(engine)
    assert len(after["refunds"]) == len(at_0012["refunds"]) + 1
    assert {name: found for name, found in run_checks(engine).items() if found} == {}
    migrate(engine)
    assert schema_rule(engine) == (set(t.REFERENCE_TABLES), [])
    assert {name: found for name, found in rows(engine).items() if name != "server_secrets"} == after


def test_an_unbalanced_entry_is_refused_per_tenant_at_commit(engine, make_tenant):
    """PostgreSQL's deferred balance trigger (0013) sums the entry's lines within their tenant, on
    the table it fired on (under Citus the tenant's shard: a local query, as Citus asks of
    trigger functions); a balanced entry of one tenant does not hide an unbalanced one of another."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the deferred balance trigger is PostgreSQL's")
    from datetime import date, datetime, timezone

    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError
    a, b = make_tenant(), make_tenant()
    now = datetime.now(timezone.utc)

    def entry(conn, tenant, debit, credit):
        entry_id = conn.execute(insert(t.journal_entries).values(
            tenant_id=tenant["id"], date=date(2026, 6, 1), source_type="refund", source_id=0, memo="test",
            created_at=now)).inserted_primary_key[0]
        conn.execute(insert(t.journal_lines), [
            {"tenant_id": tenant["id"], "entry_id": entry_id, "account_code": "4100", "debit_minor": debit,
             "credit_minor": 0},
            {"tenant_id": tenant["id"], "entry_id": entry_id, "account_code": "1000", "debit_minor": 0,
             "credit_minor": credit}])
        return entry_id

    with engine.begin() as conn:  # balanced in each tenant: committed
        assert entry(conn, a, 100, 100) != entry(conn, b, 5, 5)
    with pytest.raises(IntegrityError, match="unbalanced by 1"):
        with engine.begin() as conn:
            entry(conn, a, 100, 100)
            entry(conn, b, 6, 5)
    with engine.connect() as conn:
        source = conn.execute(text("SELECT prosrc FROM pg_proc WHERE proname = 'salesrefund_check_entry_balanced'"))
        body = source.scalar()
    assert "WHERE tenant_id = $1 AND entry_id = $2', TG_TABLE_SCHEMA, TG_TABLE_NAME" in body


# -- the README's Citus calls ---------------------------------------------------------------------

CALL = re.compile(r"SELECT (create_reference_table|create_distributed_table)\('(\w+)'(?:, '(\w+)'"
                  r"(?:, colocate_with => '(\w+)')?)?\);")


def readme_calls() -> list[tuple[str, str, str | None, str | None]]:
    text_ = README.read_text()
    section = text_.split("### A schema for a tenant-distributed PostgreSQL (Citus)", 1)[1].split("\n## ", 1)[0]
    return CALL.findall(section)


def test_the_readme_names_every_table_once_as_the_schema_has_it(engine):
    calls = readme_calls()
    tables = [name for _, name, _, _ in calls]
    assert len(tables) == len(set(tables)), "a table is named twice"
    live = set(inspect(engine).get_table_names()) - {"alembic_version"} - set(counters.tables)
    assert set(tables) == live
    reference = {name for kind, name, _, _ in calls if kind == "create_reference_table"}
    assert reference == set(t.REFERENCE_TABLES)
    distributed = [(name, column, colocate) for kind, name, column, colocate in calls
                   if kind == "create_distributed_table"]
    assert {column for _, column, _ in distributed} == {"tenant_id"}
    first, *others = distributed
    assert not first[2] and {colocate for _, _, colocate in others} == {first[0]}
    # parents before children: a foreign key may only refer to a table distributed (or referenced) before it
    order = {name: i for i, (_, name, _, _) in enumerate(calls)}
    inspector = inspect(engine)
    for name in live:
        for fk in inspector.get_foreign_keys(name):
            assert order[fk["referred_table"]] < order[name] or fk["referred_table"] == name, (name, fk["name"])
