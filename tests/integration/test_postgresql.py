"""PostgreSQL: URL normalisation, and the very same migrations applied to a fresh database of
its own (created and dropped here, so the shared ``test`` database is left alone)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from typer.testing import CliRunner

from salesrefund import bootstrap
from salesrefund.cli import app as cli_app
from salesrefund.config import ENV_DATABASE_URL
from salesrefund.demo import DEMO_TOKEN
from salesrefund.app import create_app
from salesrefund.store import tables as t
from salesrefund.store.engine import make_engine, normalize_url
from salesrefund.store.migrate import migrate

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1/test"


@pytest.mark.parametrize("given, expected", [
    ("postgresql://u:p@db.example:5433/books", "postgresql+psycopg://u:p@db.example:5433/books"),
    ("postgres://u@localhost/books", "postgresql+psycopg://u@localhost/books"),
    ("postgresql://postgres@127.0.0.1/test", "postgresql+psycopg://postgres@127.0.0.1/test"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2://u@h/d"),
    ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
    ("sqlite:///postgres://odd.db", "sqlite:///postgres://odd.db"),
])
def test_normalize_url(given, expected):
    assert normalize_url(given) == expected


def test_plain_postgres_urls_get_the_psycopg3_driver():
    for url in ("postgres://u@h/d", "postgresql://u@h/d"):
        engine = make_engine(url)  # lazy: nothing connects
        try:
            assert engine.dialect.name == "postgresql"
            assert engine.dialect.driver == "psycopg"
        finally:
            engine.dispose()


# -- a fresh database ------------------------------------------------------------------------

def _server_url() -> str:
    given = os.environ.get("SALESREFUND_TEST_DATABASE_URL", "")
    return given if given.startswith(("postgres://", "postgresql")) else DEFAULT_SERVER


@pytest.fixture(scope="module")
def pg_url():
    """A database of its own on the test server; yields its plain ``postgresql://`` URL."""
    server = make_url(normalize_url(_server_url()))
    admin = make_engine(server.render_as_string(hide_password=False), pool_size=1)
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as error:
        admin.engine.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {_server_url()}: {error.orig}")
    name = f"salesrefund_cli_test_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        own = server.set(database=name).render_as_string(hide_password=False)
        yield "postgresql://" + own.split("://", 1)[1]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.engine.dispose()


@pytest.fixture(scope="module")
def pg(pg_url):
    engine = make_engine(pg_url, pool_size=2)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def cli(monkeypatch):
    """Run the CLI in process; dispose the engines it opens (so the database can be dropped)."""
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)
    engines = []
    original = bootstrap.engine_for

    def recording(url=None, **kwargs):
        engines.append(original(url, **kwargs))
        return engines[-1]

    monkeypatch.setattr(bootstrap, "engine_for", recording)
    runner = CliRunner()

    def invoke(*args):
        try:
            return runner.invoke(cli_app, list(args))
        finally:
            while engines:
                engines.pop().dispose()

    def run(*args):
        result = invoke(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    run.invoke = invoke
    return run


def check_constraints(engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {table.name: {c["name"] for c in inspector.get_check_constraints(table.name)}
            for table in t.metadata.sorted_tables}


def test_the_same_migrations_apply_to_postgresql(pg, tmp_path):
    migrate(pg)  # twice is fine
    names = set(inspect(pg).get_table_names())
    assert names == {table.name for table in t.metadata.sorted_tables} | {"alembic_version"}
    with pg.connect() as conn:
        assert len(conn.execute(text("SELECT version_num FROM alembic_version")).all()) == 1
        types = dict(conn.execute(text(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name LIKE '%\\_minor'")).all())
    assert types.pop("tenants.cash_increment_minor") in ("integer", "bigint")  # a rounding step, not a sum
    assert types and set(types.values()) == {"bigint"}, types

    sqlite = make_engine(f"sqlite:///{tmp_path / 'same.db'}")
    try:
        migrate(sqlite)
        sqlite_checks = check_constraints(sqlite)
    finally:
        sqlite.dispose()
    pg_checks = check_constraints(pg)
    assert pg_checks["invoice_lines"] >= {"ck_invoice_lines_quantity_cap", "ck_invoice_lines_gross_cap"}
    assert pg_checks == sqlite_checks


def test_migrate_command_and_tenant_create_on_postgresql(pg, pg_url, cli):
    cli("migrate", "--db", pg_url)
    cli("migrate", "--db", "postgres://" + pg_url.split("://", 1)[1])
    created = json.loads(cli("tenant", "create", f"pg-{uuid.uuid4().hex[:6]}", "--currency", "KWD",
                             "--db", pg_url, "--json").stdout)
    with pg.connect() as conn:
        row = conn.execute(select(t.tenants).where(t.tenants.c.id == created["id"])).mappings().one()
    assert (row["currency"], row["currency_exponent"]) == ("KWD", 3)
    client = TestClient(create_app(pg), raise_server_exceptions=False)
    assert client.get("/v1/periods", headers={"Authorization": f"Bearer {created['token']}"}).status_code == 200


def test_exact_sums_on_postgresql(pg, cli, pg_url):
    created = json.loads(cli("tenant", "create", f"sum-{uuid.uuid4().hex[:6]}", "--currency", "EUR",
                             "--db", pg_url, "--json").stdout)
    amount, n = 98_765_432_100, 1_000
    now = datetime(2026, 6, 15, tzinfo=timezone.utc)
    with pg.begin() as conn:
        entry = conn.execute(insert(t.journal_entries).values(
            tenant_id=created["id"], date=now.date(), source_type="test", source_id=0, memo="R2",
            created_at=now)).inserted_primary_key[0]
        conn.execute(insert(t.journal_lines), [
            {"tenant_id": created["id"], "entry_id": entry, "account_code": code, "debit_minor": d, "credit_minor": c}
            for code, d, c in [("1000", amount, 0)] * n + [("4000", 0, amount)] * n])
    jl = t.journal_lines.c
    with pg.connect() as conn:
        debit, credit = conn.execute(select(func.sum(jl.debit_minor), func.sum(jl.credit_minor))
                                     .where(jl.entry_id == entry)).one()
    assert not isinstance(debit, float)
    assert int(debit) == debit == int(credit) == amount * n


def test_demo_on_postgresql_is_idempotent_and_checked(pg, pg_url, cli):
    first = json.loads(cli("demo", "--db", pg_url, "--json").stdout)
    with pg.connect() as conn:
        before = {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                  for table in t.metadata.sorted_tables}
    second = json.loads(cli("demo", "--db", "postgres://" + pg_url.split("://", 1)[1], "--json").stdout)
    assert (first["created"], second["created"]) == (True, False)
    with pg.connect() as conn:
        after = {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                 for table in t.metadata.sorted_tables}
    assert after == before

    client = TestClient(create_app(pg), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    tb = client.get("/v1/ledger/trial-balance", headers=headers).json()
    assert tb["total_debit"] == tb["total_credit"]
    periods = client.get("/v1/periods", headers=headers).json()["items"]
    assert [p["status"] for p in periods].count("closed") == 1

    c = t.invoice_lines.c
    with pytest.raises(IntegrityError):
        with pg.begin() as conn:
            demo_id = conn.execute(select(t.tenants.c.id).where(t.tenants.c.name == "demo")).scalar_one()
            conn.execute(update(t.invoice_lines).where(c.tenant_id == demo_id)
                         .values(refunded_quantity=c.quantity + 1))


def test_an_unbalanced_journal_entry_is_refused_by_postgresql(pg, cli, pg_url):
    created = json.loads(cli("tenant", "create", f"bal-{uuid.uuid4().hex[:6]}", "--currency", "EUR",
                             "--db", pg_url, "--json").stdout)
    now = datetime(2026, 6, 15, tzinfo=timezone.utc)
    with pytest.raises(IntegrityError):
        with pg.begin() as conn:
            entry = conn.execute(insert(t.journal_entries).values(
                tenant_id=created["id"], date=now.date(), source_type="test", source_id=0, memo="unbalanced",
                created_at=now)).inserted_primary_key[0]
            conn.execute(insert(t.journal_lines).values(tenant_id=created["id"], entry_id=entry,
                                                        account_code="1000", debit_minor=100, credit_minor=0))


@pytest.mark.parametrize("args", [["dataerr", "--country", "DEU"], ["y" * 101]], ids=["country", "name"])
def test_too_long_values_get_a_clear_refusal_on_postgresql(pg, pg_url, cli, args):
    result = cli.invoke("tenant", "create", *args, "--currency", "EUR", "--db", pg_url)
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), f"crashed: {result.exception!r}"
    assert result.stderr.startswith("error:")
