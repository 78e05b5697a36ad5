"""Where the CLI's database is (``--db`` > ``SALESREFUND_DATABASE_URL`` > user data dir) and
``salesrefund migrate``."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from salesrefund.config import ENV_DATABASE_URL, database_url, default_database_url
from salesrefund.seeds import SEEDS
from salesrefund.store import tables as t
from salesrefund.store.engine import make_engine
from salesrefund.store.migrate import alembic_config


def tenant_names(url):
    engine = make_engine(url)
    try:
        if "tenants" not in inspect(engine).get_table_names():
            return []
        with engine.connect() as conn:
            return sorted(conn.execute(select(t.tenants.c.name)).scalars())
    finally:
        engine.dispose()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_environment_variable_is_honoured(cli, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv(ENV_DATABASE_URL, url)
    created = cli.json("tenant", "create", "envco", "--currency", "EUR")
    assert tenant_names(url) == ["envco"]
    listed = cli.json("token", "list", "--tenant", "envco")
    assert [item["id"] for item in listed] == [created["credential_id"]]
    made = cli.json("token", "create", "--tenant", "envco")
    cli.ok("token", "revoke", str(made["id"]))
    cli.json("demo")
    assert tenant_names(url) == sorted(["demo", "envco", *SEEDS])


def test_db_option_beats_the_environment_variable(cli, tmp_path, monkeypatch):
    env_url = f"sqlite:///{tmp_path / 'env.db'}"
    opt_url = f"sqlite:///{tmp_path / 'opt.db'}"
    monkeypatch.setenv(ENV_DATABASE_URL, env_url)
    cli.json("tenant", "create", "optco", "--currency", "EUR", "--db", opt_url)
    assert tenant_names(opt_url) == ["optco"]
    assert tenant_names(env_url) == []
    assert database_url(opt_url) == opt_url
    assert database_url(None) == env_url


def test_default_is_a_sqlite_file_in_the_user_data_dir(cli, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    expected = tmp_path / "xdg" / "salesrefund" / "salesrefund.db"
    assert default_database_url() == f"sqlite:///{expected}"
    assert database_url(None) == f"sqlite:///{expected}"
    assert not expected.exists()
    cli.ok("migrate")
    assert expected.exists(), "the data directory and the file are created on first use"
    cli.json("tenant", "create", "homeco", "--currency", "EUR")
    assert tenant_names(f"sqlite:///{expected}") == ["homeco"]


def test_migrate_creates_the_schema_and_is_idempotent(cli, db_url, db):
    first = cli.ok("migrate", "--db", db_url)
    assert "migrat" in first.stdout
    tables = set(inspect(db).get_table_names())
    assert {table.name for table in t.metadata.sorted_tables} | {"alembic_version"} <= tables
    with db.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]

    cli.json("tenant", "create", "keep", "--currency", "EUR", "--db", db_url)
    cli.ok("migrate", "--db", db_url)
    cli.ok("migrate", "--db", db_url)
    assert set(inspect(db).get_table_names()) == tables
    with db.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    assert tenant_names(db_url) == ["keep"], "re-running migrations keeps the data"


def test_every_command_accepts_db(cli):
    for command in (["migrate"], ["demo"], ["serve"], ["tenant", "create"], ["token", "create"],
                    ["token", "list"], ["token", "revoke"]):
        result = cli(*command, "--help")
        assert result.exit_code == 0, command
        assert "--db" in result.stdout, command
