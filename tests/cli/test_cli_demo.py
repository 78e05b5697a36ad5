"""``salesrefund demo``: a tenant a new user can try every endpoint on, loaded idempotently."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from cli_support import Cli, count_rows
from salesrefund.config import ENV_DATABASE_URL
from salesrefund.bootstrap import engine_for
from salesrefund.demo import DEMO_TOKEN, load_demo
from salesrefund.app import create_app
from salesrefund.seeds import SEEDS
from salesrefund.service.books import Books
from salesrefund.service.uow import Clock
from salesrefund.store.engine import make_engine
from salesrefund.store.migrate import migrate


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """One demo database for the read-only checks of this module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ENV_DATABASE_URL, raising=False)
        first = Cli(mp).json("demo", "--db", url)
    engine = make_engine(url)
    yield {"url": url, "first": first, "engine": engine}
    engine.dispose()


@pytest.fixture(scope="module")
def demo_api(demo_db):
    client = TestClient(create_app(demo_db["engine"]), raise_server_exceptions=False)
    token = demo_db["first"]["token"]

    class Api:
        def get(self, path, **params):
            return client.get(path, headers={"Authorization": f"Bearer {token}"}, params=params or None)

        def post(self, path, body=None):
            return client.post(path, headers={"Authorization": f"Bearer {token}"}, json=body)

    return Api()


def test_second_load_reports_created_false_and_changes_no_row(demo_db, cli):
    first = demo_db["first"]
    assert {k: first[k] for k in ("tenant", "token", "created")} == {"tenant": "demo", "token": DEMO_TOKEN,
                                                                     "created": True}
    before = count_rows(demo_db["engine"])
    assert before["tenants"] == 1 + len(SEEDS) and before["refunds"] >= 4 and before["journal_lines"] > 0

    second = cli.json("demo", "--db", demo_db["url"])
    assert {k: second[k] for k in ("tenant", "token", "created")} == {"tenant": "demo", "token": DEMO_TOKEN,
                                                                      "created": False}
    assert count_rows(demo_db["engine"]) == before
    third = cli.ok("demo", "--db", demo_db["url"])  # the plain form too
    assert "demo" in third.stdout and DEMO_TOKEN in third.stdout
    assert count_rows(demo_db["engine"]) == before


def test_demo_token_reads_invoices(demo_api):
    r = demo_api.get("/v1/invoices")
    assert r.status_code == 200, r.text
    numbers = [item["number"] for item in r.json()["items"]]
    assert numbers == ["INV-1001", "INV-1002", "INV-1003"]
    one = demo_api.get("/v1/invoices/INV-1001")
    assert one.status_code == 200
    assert one.json()["total"] == "69.02"


def test_demo_has_posted_and_draft_refunds(demo_api):
    r = demo_api.get("/v1/refunds")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    states = [item["state"] for item in items]
    assert states.count("posted") >= 1 and states.count("draft") >= 1
    posted = [item for item in items if item["state"] == "posted"]
    assert all(item["number"] and item["number"].startswith("CN-") for item in posted)
    assert all(item["number"] is None for item in items if item["state"] == "draft")
    free = [line for item in posted for line in item["lines"] if line["invoice_line"] is None]
    assert free and not free[0]["restock"], "the free-amount goodwill credit"
    assert demo_api.get("/v1/refunds", state="draft").json()["items"] == \
        [item for item in items if item["state"] == "draft"]


def test_demo_has_exactly_one_closed_period(demo_api):
    r = demo_api.get("/v1/periods")
    assert r.status_code == 200, r.text
    body = r.json()
    statuses = [p["status"] for p in body["items"]]
    assert statuses.count("closed") == 1, body
    assert statuses[0] == "closed" and set(statuses[1:]) == {"open"}
    assert body["closed_through"] == body["items"][0]["end"]


def test_demo_trial_balance_balances(demo_api):
    r = demo_api.get("/v1/ledger/trial-balance")
    assert r.status_code == 200, r.text
    tb = r.json()
    assert tb["currency"] == "EUR"
    assert tb["accounts"]
    assert tb["total_debit"] == tb["total_credit"]
    cents = lambda text: int(text.replace(".", "").replace("-", "")) * (-1 if text.startswith("-") else 1)  # noqa: E731
    assert sum(cents(a["balance"]) for a in tb["accounts"]) == 0
    assert cents(tb["total_debit"]) > 0


def test_demo_stock_is_never_negative(demo_api):
    r = demo_api.get("/v1/stock")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items
    assert all(not item["on_hand"].startswith("-") for item in items), items


def test_every_endpoint_family_answers_200_for_the_demo_tenant(demo_api):
    refunds = demo_api.get("/v1/refunds").json()["items"]
    posted = next(item for item in refunds if item["state"] == "posted")
    paths = [
        "/healthz",
        "/v1/invoices", "/v1/invoices/INV-1002", "/v1/invoices?customer=C001",
        "/v1/customers/C001", "/v1/customers/C002",
        "/v1/products/BOOK-1", "/v1/products/WRAP",
        "/v1/refunds", f"/v1/refunds/{posted['id']}", f"/v1/refunds/{posted['id']}/journal",
        f"/v1/refunds/{posted['id']}/audit", "/v1/refunds?invoice=INV-1002",
        "/v1/journal", "/v1/ledger/trial-balance", "/v1/stock", "/v1/stock?product=MUG-1", "/v1/periods",
    ]
    failures = {}
    for path in paths:
        r = demo_api.get(path)
        if r.status_code != 200:
            failures[path] = (r.status_code, r.text[:200])
    assert failures == {}
    preview = demo_api.post("/v1/refunds/preview", {"invoice": "INV-1003", "lines": [{"line": 1, "quantity": "1"}]})
    assert preview.status_code == 200, preview.text


def test_the_demo_draft_can_be_posted(tmp_path, cli):
    """On a database of its own (this changes the demo): the draft posts with the demo token."""
    url = f"sqlite:///{tmp_path / 'demo-post.db'}"
    cli.json("demo", "--db", url)
    engine = make_engine(url)
    try:
        client = TestClient(create_app(engine), raise_server_exceptions=False)
        headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
        draft = client.get("/v1/refunds", params={"state": "draft"}, headers=headers).json()["items"][0]
        r = client.post(f"/v1/refunds/{draft['id']}/post", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "posted" and r.json()["number"].startswith("CN-")
        tb = client.get("/v1/ledger/trial-balance", headers=headers).json()
        assert tb["total_debit"] == tb["total_credit"]
    finally:
        engine.dispose()


class _At(Clock):
    def __init__(self, now: datetime):
        self.current = now

    def now(self) -> datetime:
        return self.current


@pytest.mark.parametrize("now", [
    datetime(2027, 1, 1, 9, tzinfo=timezone.utc),      # new year: the closed month is last November
    datetime(2026, 3, 31, 9, tzinfo=timezone.utc),     # long month after a short one
    datetime(2028, 2, 29, 9, tzinfo=timezone.utc),     # leap day
    datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc),  # already 1 January in Berlin
], ids=str)
def test_demo_loads_on_awkward_days(tmp_path, now):
    engine = engine_for(f"sqlite:///{tmp_path / 'dated.db'}")
    try:
        clock = _At(now)
        assert load_demo(engine, clock)["created"] is True
        client = TestClient(create_app(engine, clock=clock), raise_server_exceptions=False)
        headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
        periods = client.get("/v1/periods", headers=headers).json()["items"]
        assert [p["status"] for p in periods] == ["closed", "open", "open"]
        assert periods[-1]["period"] == now.astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m")
        assert len(client.get("/v1/refunds", headers=headers).json()["items"]) == 4
    finally:
        engine.dispose()


def test_an_interrupted_demo_load_is_completed_or_rolled_back(tmp_path, cli, monkeypatch):
    url = f"sqlite:///{tmp_path / 'interrupted.db'}"
    original = Books.record_invoice
    calls = []

    def failing_second_invoice(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")  # stands in for a crash, Ctrl-C or a lock timeout
        return original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Books, "record_invoice", failing_second_invoice)
        assert cli("demo", "--db", url).exit_code != 0
    cli.json("demo", "--db", url)
    engine = make_engine(url)
    try:
        rows = count_rows(engine)
    finally:
        engine.dispose()
    clean = make_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    try:
        migrate(clean)
        load_demo(clean)
        expected = count_rows(clean)
    finally:
        clean.dispose()
    assert rows == expected, "an interrupted load must leave exactly what a clean load leaves"
