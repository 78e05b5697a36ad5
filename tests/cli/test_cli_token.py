"""``salesrefund token create | list | revoke``: permissions, secrets shown once and stored hashed,
revocation refused from the next request on (R19)."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select

from salesrefund.store import tables as t


@pytest.fixture
def tenant(cli, db_url):
    return cli.json("tenant", "create", "acme", "--currency", "EUR", "--db", db_url)


def credential(engine, credential_id):
    with engine.connect() as conn:
        return conn.execute(select(t.credentials).where(t.credentials.c.id == credential_id)).mappings().one()


def credential_count(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.credentials)).scalar_one()


def test_create_with_permissions_grants_exactly_those(cli, db_url, db, http, tenant):
    made = cli.json("token", "create", "--tenant", "acme", "--permission", "refund:read",
                    "--permission", "masterdata:write", "--name", "pos-1", "--db", db_url)
    assert isinstance(made["id"], int) and made["token"].startswith("sr_")
    assert made["token"] != tenant["token"]
    assert sorted(made["permissions"]) == ["masterdata:write", "refund:read"]
    row = credential(db, made["id"])
    assert row["tenant_id"] == tenant["id"] and row["name"] == "pos-1"
    assert sorted(row["permissions"].split()) == ["masterdata:write", "refund:read"]

    token = made["token"]
    assert http.get("/v1/invoices", token).status_code == 200
    assert http.post("/v1/customers", token, {"code": "C9", "name": "Nine"}).status_code == 201
    r = http.post("/v1/periods/close", token, {"through": "2020-01-31"})
    assert r.status_code == 403, r.text  # period:close was not granted


def test_create_without_permission_gets_refund_create_and_read(cli, db_url, http, tenant):
    made = cli.json("token", "create", "--tenant", "acme", "--db", db_url)
    assert sorted(made["permissions"]) == ["refund:create", "refund:read"]
    assert http.get("/v1/refunds", made["token"]).status_code == 200
    assert http.post("/v1/customers", made["token"], {"code": "C1", "name": "x"}).status_code == 403


def test_plain_create_prints_the_secret_once(cli, db_url, tenant):
    result = cli.ok("token", "create", "--tenant", "acme", "--permission", "refund:read", "--db", db_url)
    assert result.stdout.count("sr_") == 1


def test_unknown_permission_is_refused_and_creates_nothing(cli, db_url, db, tenant):
    before = credential_count(db)
    result = cli("token", "create", "--tenant", "acme", "--permission", "refund:read",
                 "--permission", "refund:everything", "--db", db_url)
    cli.failed_cleanly(result)
    assert "refund:everything" in result.stderr
    assert "sr_" not in result.stdout
    assert credential_count(db) == before


def test_unknown_tenant_is_refused(cli, db_url, tenant):
    result = cli("token", "create", "--tenant", "nobody", "--db", db_url)
    cli.failed_cleanly(result)
    assert "nobody" in result.stderr
    cli.failed_cleanly(cli("token", "list", "--tenant", "nobody", "--db", db_url))


def test_tokens_are_stored_hashed(cli, db_url, db, db_path, tenant):
    made = cli.json("token", "create", "--tenant", "acme", "--permission", "refund:read", "--db", db_url)
    for credential_id, token in ((made["id"], made["token"]), (tenant["credential_id"], tenant["token"])):
        row = credential(db, credential_id)
        assert row["token_hash"] != token
        assert token not in row["token_hash"]
        assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    db.dispose()
    # the secret is nowhere in the database files, not even in the write-ahead log
    files = [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]
    assert files
    for path in files:
        data = path.read_bytes()
        assert made["token"].encode() not in data, path
        assert tenant["token"].encode() not in data, path


def test_list_shows_tokens_but_never_their_secrets(cli, db_url, db, tenant):
    made = cli.json("token", "create", "--tenant", "acme", "--permission", "refund:read",
                    "--permission", "refund:post", "--name", "till-7", "--db", db_url)
    hashes = [credential(db, made["id"])["token_hash"], credential(db, tenant["credential_id"])["token_hash"]]

    result = cli.ok("token", "list", "--tenant", "acme", "--db", db_url)
    out = result.output
    assert "till-7" in out and "refund:read" in out and "refund:post" in out
    assert str(made["id"]) in out and str(tenant["credential_id"]) in out
    for secret in (made["token"], tenant["token"], *hashes):
        assert secret not in out
    assert "sr_" not in out

    listed = cli.json("token", "list", "--tenant", "acme", "--db", db_url)
    assert [item["id"] for item in listed] == [tenant["credential_id"], made["id"]]
    text = json.dumps(listed)
    for secret in (made["token"], tenant["token"], *hashes):
        assert secret not in text
    assert all("token" not in item and "token_hash" not in item for item in listed)
    assert [item["revoked"] for item in listed] == [False, False]


def test_list_is_scoped_to_the_tenant(cli, db_url, tenant):
    other = cli.json("tenant", "create", "other", "--currency", "EUR", "--db", db_url)
    listed = cli.json("token", "list", "--tenant", "acme", "--db", db_url)
    assert other["credential_id"] not in [item["id"] for item in listed]


def test_revoked_token_is_refused_on_its_next_request(cli, db_url, db, http, tenant):
    made = cli.json("token", "create", "--tenant", "acme", "--permission", "refund:read", "--db", db_url)
    token = made["token"]
    assert http.get("/v1/invoices", token).status_code == 200  # used once: works

    result = cli.ok("token", "revoke", str(made["id"]), "--db", db_url)
    assert "revoked" in result.stdout

    r = http.get("/v1/invoices", token)  # the same app, the same engine: no restart needed
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert http.get("/v1/refunds", token).status_code == 401
    assert credential(db, made["id"])["revoked_at"] is not None
    # other tokens of the tenant are untouched
    assert http.get("/v1/invoices", tenant["token"]).status_code == 200

    listed = {item["id"]: item["revoked"] for item in cli.json("token", "list", "--tenant", "acme", "--db", db_url)}
    assert listed == {tenant["credential_id"]: False, made["id"]: True}
    plain = cli.ok("token", "list", "--tenant", "acme", "--db", db_url).stdout
    assert "revoked" in plain


def test_revoking_twice_or_an_unknown_id_fails(cli, db_url, tenant):
    made = cli.json("token", "create", "--tenant", "acme", "--db", db_url)
    cli.ok("token", "revoke", str(made["id"]), "--db", db_url)
    again = cli("token", "revoke", str(made["id"]), "--db", db_url)
    cli.failed_cleanly(again)
    unknown = cli("token", "revoke", "999999", "--db", db_url)
    cli.failed_cleanly(unknown)
    assert "999999" in unknown.stderr
    assert cli("token", "revoke", "not-a-number", "--db", db_url).exit_code != 0


def test_expired_token_is_refused_and_a_future_expiry_works(cli, db_url, http, tenant):
    old = cli.json("token", "create", "--tenant", "acme", "--expires", "2000-01-01T00:00:00", "--db", db_url)
    new = cli.json("token", "create", "--tenant", "acme", "--expires", "2999-01-01T00:00:00", "--db", db_url)
    assert http.get("/v1/invoices", old["token"]).status_code == 401
    assert http.get("/v1/invoices", new["token"]).status_code == 200
