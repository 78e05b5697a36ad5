"""Issue 12, the CLI a newcomer can use: every demo tenant's credentials, expired tokens shown as
expired, ``--permission`` with several values, no ``<bool>`` in help, ``tenant list`` and the
door credentials (create, list, revoke)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cli_support import Cli
from salesrefund.cli import spread_permissions
from salesrefund.config import ENV_DATABASE_URL
from salesrefund.service import doors


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def cli(monkeypatch):
    return Cli(monkeypatch)


def test_demo_prints_every_demo_tenants_credentials(cli, db):
    loaded = cli.json("demo", "--db", db)
    by_tenant = {item["tenant"]: item for item in loaded["tenants"]}
    assert set(by_tenant) == {"demo", "internom", "vodo", "crmcom", "beansbooks", "snr2u"}
    assert by_tenant["crmcom"]["credentials"] == {"username": "mpadministrator", "password": "1234",
                                                  "organisation": "CRMDEMO"}
    assert by_tenant["beansbooks"]["credentials"]["auth_key"] == "beans-demo-key"
    assert by_tenant["vodo"]["credentials"]["secure-business-key"] == "4765066450c0bd66325.48403130"
    plain = cli.ok("demo", "--db", db).stdout
    for item in loaded["tenants"]:
        assert item["token"] in plain
    assert "mpadministrator" in plain and "snr2u-demo-key" in plain and "beans-demo-key" in plain
    # every printed admin token works: one per tenant, listed by `tenant list`
    names = {t["name"] for t in cli.json("tenant", "list", "--db", db)}
    assert names == set(by_tenant)


def test_token_list_shows_an_expired_token_as_expired(cli, db):
    cli.ok("tenant", "create", "acme", "--currency", "EUR", "--db", db)
    old = cli.json("token", "create", "--tenant", "acme", "--expires", "2020-01-01T00:00:00", "--db", db)
    new = cli.json("token", "create", "--tenant", "acme", "--expires", "2999-01-01T00:00:00", "--db", db)
    gone = cli.json("token", "create", "--tenant", "acme", "--db", db)
    cli.ok("token", "revoke", str(gone["id"]), "--db", db)
    states = {t["id"]: t["state"] for t in cli.json("token", "list", "--tenant", "acme", "--db", db)}
    assert (states[old["id"]], states[new["id"]], states[gone["id"]]) == ("expired", "active", "revoked")
    lines = {line.split()[0]: line for line in cli.ok("token", "list", "--tenant", "acme", "--db", db).stdout.splitlines()}
    assert "expired" in lines[str(old["id"])] and "active" in lines[str(new["id"])]


def test_permission_takes_several_values():
    assert spread_permissions(["token", "create", "--tenant", "a", "--permission", "refund:read", "refund:post",
                               "--name", "x"]) == ["token", "create", "--tenant", "a", "--permission", "refund:read",
                                                   "--permission", "refund:post", "--name", "x"]
    assert spread_permissions(["--permission=refund:read,refund:void"]) == [
        "--permission", "refund:read", "--permission", "refund:void"]
    assert spread_permissions(["--permission", "a", "--permission", "b"]) == [
        "--permission", "a", "--permission", "b"]


def test_the_installed_command_takes_several_permissions_as_the_readme_writes_them(db, tmp_path):
    env = {**os.environ, "SALESREFUND_DATABASE_URL": db}
    run = lambda *args: subprocess.run([sys.executable, "-c", "from salesrefund.cli import main; main()", *args],
                                       capture_output=True, text=True, env=env, timeout=60)
    assert run("tenant", "create", "shop", "--currency", "EUR").returncode == 0
    made = run("token", "create", "--tenant", "shop", "--permission", "refund:read", "refund:post", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["permissions"] == ["refund:read", "refund:post"]


def test_help_shows_no_bool_for_flags(cli):
    for command in (["serve", "--help"], ["demo", "--help"], ["tenant", "create", "--help"],
                    ["token", "create", "--help"], ["door", "create", "--help"]):
        text = cli.ok(*command).stdout
        assert "<bool>" not in text, command
        assert "--json" in text or "--demo" in text or "--prices-include-tax" in text
    assert "<int" in cli.ok("serve", "--help").stdout  # options keep their types


def test_tenant_list(cli, db):
    cli.ok("tenant", "create", "first", "--currency", "EUR", "--country", "DE", "--db", db)
    cli.ok("tenant", "create", "second", "--currency", "MNT", "--currency-exponent", "0", "--db", db)
    listed = cli.json("tenant", "list", "--db", db)
    assert [(t["name"], t["currency"], t["country"], t["active_tokens"]) for t in listed] == [
        ("first", "EUR", "DE", 1), ("second", "MNT", None, 1)]
    assert "second" in cli.ok("tenant", "list", "--db", db).stdout


def test_door_credentials_from_the_command_line(cli, db):
    from salesrefund.bootstrap import engine_for
    cli.ok("tenant", "create", "shop", "--currency", "EUR", "--db", db)
    made = cli.json("door", "create", "crmcom", "--tenant", "shop", "--login", "clerk", "--secret", "pw-12345",
                    "--settings", '{"organisation": "SHOPORG"}', "--db", db)
    assert made["settings"]["organisation"] == "SHOPORG" and made["settings"]["types"]
    engine = engine_for(db)
    try:
        assert doors.authenticate_door(engine, "crmcom", "clerk", "pw-12345") is not None
        listed = cli.json("door", "list", "--tenant", "shop", "--db", db)
        assert [(d["door"], d["login"], d["revoked"]) for d in listed] == [("crmcom", "clerk", False)]
        cli.ok("door", "revoke", made["id"], "--tenant", "shop", "--db", db)
        assert doors.authenticate_door(engine, "crmcom", "clerk", "pw-12345") is None
        assert cli.json("door", "list", "--tenant", "shop", "--db", db)[0]["revoked"] is True
    finally:
        engine.dispose()
    Cli.failed_cleanly(cli("door", "create", "nope", "--tenant", "shop", "--login", "x", "--db", db))
    Cli.failed_cleanly(cli("door", "revoke", "999", "--tenant", "shop", "--db", db))
    Cli.failed_cleanly(cli("door", "create", "vodo", "--tenant", "shop", "--login", "x", "--settings", "{",
                           "--db", db))
