"""The key of the ids shown to tenants is each database's own (issue 10): two apps on two
databases in one process show the same row id differently, each by its own database's ``ids``
secret, and each app's cursors decode with its own key, whichever app was created last."""

from __future__ import annotations

import contextvars

from fastapi.testclient import TestClient

from salesrefund.app import create_app
from salesrefund.service import views
from salesrefund.service.tenants import create_tenant
from salesrefund.store import credentials
from salesrefund.store.engine import make_engine
from salesrefund.store.migrate import migrate


def _shop(tmp_path, name: str, clock):
    engine = make_engine(f"sqlite:///{tmp_path / name}.db")
    migrate(engine)
    tenant = create_tenant(engine, "shop", currency="EUR", clock=clock)
    client = TestClient(create_app(engine, clock=clock))
    headers = {"Authorization": f"Bearer {tenant['token']}"}
    assert client.post("/v1/customers", headers=headers, json={"code": "C1", "name": "One"}).status_code == 201
    for number in ("INV-1", "INV-2"):
        r = client.post("/v1/invoices", headers=headers, json={
            "number": number, "customer": "C1", "date": "2026-06-01",
            "lines": [{"description": "Tea", "quantity": "1", "unit_price": "1.00", "tax_rate": "0"}]})
        assert r.status_code == 201, r.text
    return engine, client, headers


def _under(secret: str, function, *args):
    """``function(*args)`` with the ids shown under ``secret``'s key (as a request of its app)."""
    def run():
        views.serve_with_key(views.key_of(secret))
        return function(*args)
    return contextvars.copy_context().run(run)


def test_two_apps_in_one_process_show_ids_each_with_its_own_databases_key(tmp_path, clock):
    first_engine, first, first_headers = _shop(tmp_path, "first", clock)
    second_engine, second, second_headers = _shop(tmp_path, "second", clock)  # created last
    first_secret = credentials.server_secret(first_engine, "ids")
    second_secret = credentials.server_secret(second_engine, "ids")
    assert first_secret and second_secret and first_secret != second_secret

    cursors = {}
    for name, client, headers, secret in (("first", first, first_headers, first_secret),
                                          ("second", second, second_headers, second_secret)):
        page = client.get("/v1/invoices", headers=headers, params={"limit": 1}).json()
        cursors[name] = page["next"]
        assert cursors[name], page
        last_id = _under(secret, views.decode_cursor, cursors[name])
        assert _under(secret, views.encode_cursor, last_id) == cursors[name]  # round trip, own key
        following = client.get("/v1/invoices", headers=headers, params={"limit": 1, "cursor": cursors[name]})
        assert following.status_code == 200 and following.json()["items"][0]["number"] == "INV-2"

    # the same row id (each database's first invoice has id 1 on SQLite) is shown differently
    assert cursors["first"] != cursors["second"]
    assert _under(first_secret, views.public_number, "cursor", 0, 1) != _under(
        second_secret, views.public_number, "cursor", 0, 1)
    first_engine.dispose()
    second_engine.dispose()
