"""Events and webhooks (issue 13): the transactional outbox, the admin API, and delivery to a real
receiving HTTP server on loopback, with the dispatcher's clock under the test's control so that a
day of retries takes milliseconds. Both engines (``SALESREFUND_TEST_DATABASE_URL``)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from receiver import Receiver
from salesrefund.service.dispatch import Dispatcher, DispatchSettings, signature_header, verify
from salesrefund.store import tables as t

ALL = ["refund.created", "refund.posted", "refund.voided", "payout.created", "invoice.created"]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


_TENANT: list = [None]


@pytest.fixture
def hooks(app, books, receiver):
    """``books`` with a webhook endpoint (all events) on the loopback receiver, then invoice INV-2
    (INV-1 was recorded before the endpoint existed: its event is not queued for it)."""
    app.state.webhooks.allow_private = True  # the server setting the tests need to reach loopback
    api = books["api"]
    made = api.post("/v1/webhooks", {"url": receiver.url, "events": ALL, "description": "test"})
    assert made.status_code == 201, made.text
    receiver.secret = made.json()["secret"]
    _TENANT[0] = books["tenant"]["id"]
    invoice = api.post("/v1/invoices", {"number": "INV-2", "customer": "C1", "date": "2026-06-02", "lines": [
        {"product": "WRAP", "quantity": "1", "unit_price": "2.00", "tax_rate": "0"}]})  # after the endpoint
    assert invoice.status_code == 201, invoice.text
    return {**books, "webhook": made.json()}


def dispatcher(engine, clock, **options) -> Dispatcher:
    """A dispatcher for the current test's tenant only: other tests' endpoints (the matrix tests
    register public addresses that cannot be reached here) are not its business."""
    settings = dict(allow_private=True, timeout=2.0, lease=10.0, backoff_base=30.0, tenant_id=_TENANT[0])
    return Dispatcher(engine, clock, DispatchSettings(**{**settings, **options}))


def drain(d: Dispatcher, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not d.run_once():
            return


def refund(api, lines, **extra):
    r = api.post("/v1/refunds", {"invoice": "INV-1", "lines": lines, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def mine(receiver, records=None):
    """What the receiver got, as (type, object id or number)."""
    return [(r["body"]["type"], r["body"]["data"].get("id") or r["body"]["data"].get("number"))
            for r in (receiver.accepted if records is None else records)]


# -- the outbox ------------------------------------------------------------------------------------

def test_every_change_writes_its_event_in_order_with_the_object_as_the_api_renders_it(hooks, engine, clock):
    api = hooks["api"]
    posted = refund(api, [{"line": 1, "quantity": "1"}])
    draft = refund(api, [{"line": 2, "quantity": "1"}], state="draft")
    assert api.post(f"/v1/refunds/{draft['id']}/post").status_code == 200
    assert api.post(f"/v1/refunds/{posted['id']}/void", {"reason": "wrong"}).status_code == 200
    events = api.get("/v1/events", limit=200).json()["items"]
    assert [(e["type"], e["data"].get("id") or e["data"]["number"]) for e in events] == [
        ("invoice.created", "INV-1"), ("invoice.created", "INV-2"),
        ("refund.created", posted["id"]), ("refund.posted", posted["id"]),
        ("refund.created", draft["id"]), ("refund.posted", draft["id"]),
        ("refund.voided", posted["id"])]
    assert events[2]["data"] == posted  # as POST answered it
    assert events[6]["data"] == api.get(f"/v1/refunds/{posted['id']}").json()  # voided, as GET renders it
    assert events[6]["data"]["state"] == "voided" and events[5]["data"]["state"] == "posted"
    assert events[1]["data"] == api.get("/v1/invoices/INV-2").json()
    assert all(e["id"].startswith("evt_") and e["created_at"] for e in events)
    assert api.get(f"/v1/events/{events[2]['id']}").json() == events[2]
    assert api.get("/v1/events", type="refund.voided").json()["items"] == [events[6]]


def test_a_rejected_request_writes_no_event_and_a_replayed_one_no_second(hooks, engine):
    api = hooks["api"]

    def count():
        with engine.connect() as conn:
            return [conn.execute(select(func.count()).select_from(table).where(
                table.c.tenant_id == hooks["tenant"]["id"])).scalar() for table in (t.events, t.webhook_deliveries)]

    before = count()
    r = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "9"}]})
    assert r.status_code == 422
    assert count() == before
    first = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}, key="k-1")
    again = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}, key="k-1")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert count() == [before[0] + 2, before[1] + 2]  # created and posted, once, each to the one endpoint


# -- delivery ------------------------------------------------------------------------------------

def test_delivered_signed_and_verified_once(hooks, engine, clock, receiver):
    api = hooks["api"]
    made = refund(api, [{"line": 1, "quantity": "1"}])
    drain(dispatcher(engine, clock))
    got = [r for r in receiver.accepted if r["body"]["data"].get("id") == made["id"]]
    assert [r["body"]["type"] for r in got] == ["refund.created", "refund.posted"]
    assert all(r["verified"] for r in got)
    first = got[0]
    assert first["path"] == "/hooks?source=salesrefund"
    assert first["headers"]["Salesrefund-Event-Id"] == first["body"]["id"]
    assert first["headers"]["Salesrefund-Event-Type"] == "refund.created"
    assert first["headers"]["Content-Type"] == "application/json"
    assert first["body"]["data"] == made
    # the signature covers timestamp and body: a changed byte, another secret or an old stamp fail
    header, raw, secret = first["headers"]["Salesrefund-Signature"], first["raw"], receiver.secret
    assert verify(secret, header, raw)
    assert not verify(secret, header, raw.replace(b"refund.created", b"refund.voided"))
    assert not verify("whsec_other", header, raw)
    stamp = int(header.split(",")[0][2:])
    assert not verify(secret, header, raw, now=stamp + 301)
    assert not verify(secret, signature_header(secret, raw, timestamp=stamp - 3600), raw)
    # nothing is sent twice once delivered
    count = len(receiver.got)
    drain(dispatcher(engine, clock))
    assert len(receiver.got) == count
    hook = hooks["webhook"]["id"]
    delivered = api.get(f"/v1/webhooks/{hook}/deliveries", state="delivered").json()["items"]
    assert {d["event"] for d in delivered} >= {r["body"]["id"] for r in got}
    assert all(d["attempts"] == 1 and d["last_status"] == 200 for d in delivered)


def test_receiver_down_for_hours_then_back_gets_everything_in_order(hooks, engine, clock, receiver):
    api = hooks["api"]
    receiver.stop()  # the port is closed: connection refused
    made = [refund(api, [{"line": 1, "quantity": "1"}]), refund(api, [{"line": 2, "quantity": "1"}])]
    assert api.post(f"/v1/refunds/{made[0]['id']}/void").status_code == 200
    d = dispatcher(engine, clock)
    for _ in range(6):  # six hours of failing attempts
        drain(d)
        clock.current += timedelta(hours=1)
    receiver.start()
    for _ in range(12):  # the longest backoff then is about 4 hours; each refund's later events follow at once
        drain(d)
        clock.current += timedelta(hours=1)
    got = mine(receiver)
    expected = [("refund.created", made[0]["id"]), ("refund.posted", made[0]["id"]), ("refund.voided", made[0]["id"]),
                ("refund.created", made[1]["id"]), ("refund.posted", made[1]["id"])]
    assert sorted(got) == sorted(expected + [("invoice.created", "INV-2")])  # all of them, none twice
    for refund_id in (made[0]["id"], made[1]["id"]):  # in order per refund
        assert [e for e in got if e[1] == refund_id] == [e for e in expected if e[1] == refund_id]
    hook = hooks["webhook"]["id"]
    deliveries = api.get(f"/v1/webhooks/{hook}/deliveries").json()["items"]
    assert {x["state"] for x in deliveries} == {"delivered"}
    assert max(x["attempts"] for x in deliveries) > 1


def test_a_slow_receiver_times_out_and_is_retried(hooks, engine, clock, receiver):
    receiver.mode, receiver.delay = "slow", 1.5
    d = dispatcher(engine, clock, timeout=0.3)
    drain(d, rounds=1)  # invoice.created: sent, not answered in time
    hook = hooks["webhook"]["id"]
    [pending] = hooks["api"].get(f"/v1/webhooks/{hook}/deliveries").json()["items"]
    assert pending["state"] == "pending" and pending["attempts"] == 1
    assert pending["last_error"].startswith("timed out") and pending["last_status"] is None
    receiver.mode = "ok"
    drain(d)
    assert mine(receiver) == []  # not due yet: it waits out its backoff
    clock.current += timedelta(seconds=40)
    drain(d)
    assert mine(receiver) == [("invoice.created", "INV-2")]
    assert len(receiver.got) == 2  # at least once: the slow receiver saw it too, with the same event id
    assert receiver.got[0]["body"]["id"] == receiver.got[1]["body"]["id"]


def test_after_24_hours_of_failures_a_dead_letter_that_a_replay_delivers(hooks, engine, clock, receiver):
    receiver.mode = "fail"  # answers 500
    api, hook = hooks["api"], hooks["webhook"]["id"]
    d = dispatcher(engine, clock, backoff_max=3 * 3600)
    for _ in range(40):
        drain(d)
        clock.current += timedelta(hours=1)
    [dead] = api.get(f"/v1/webhooks/{hook}/deliveries", state="dead").json()["items"]
    assert dead["type"] == "invoice.created" and dead["last_status"] == 500 and dead["attempts"] > 8
    attempts = [r for r in receiver.got if r["body"]["id"] == dead["event"]]
    assert len(attempts) == dead["attempts"]  # every attempt reached the receiver; none after it died
    receiver.mode = "ok"
    drain(d)
    assert mine(receiver) == []
    replayed = api.post(f"/v1/events/{dead['event']}/replay")
    assert replayed.status_code == 200 and replayed.json() == {"events": 1, "deliveries": 1}
    drain(d)
    assert receiver.ids() == [dead["event"]]  # the same event id, for the receiver's de-duplication


def test_replay_a_time_range_through_the_api_and_to_one_endpoint(hooks, engine, clock, receiver):
    api = hooks["api"]
    refund(api, [{"line": 1, "quantity": "1"}])
    drain(dispatcher(engine, clock))
    assert len(receiver.accepted) == 3
    day = clock.now().date().isoformat()
    r = api.post("/v1/events/replay", {"from": day, "to": day, "endpoint": hooks["webhook"]["id"]})
    # INV-1's event too: a replay to a named endpoint sends what it was not subscribed to then
    assert r.status_code == 200 and r.json() == {"events": 4, "deliveries": 4}
    drain(dispatcher(engine, clock))
    assert sorted(mine(receiver)[3:]) == sorted(mine(receiver)[:3] + [("invoice.created", "INV-1")])
    assert set(receiver.ids()[:3]) < set(receiver.ids()[3:])  # the same events again, the same ids
    refund_events = [e for e in mine(receiver)[3:] if e[0].startswith("refund.")]
    assert [e[0] for e in refund_events] == ["refund.created", "refund.posted"]  # in order per refund
    assert api.post("/v1/events/replay", {"from": day, "to": "2000-01-01"}).status_code == 422
    assert api.post("/v1/events/evt_nope/replay").status_code == 404
    tomorrow = (clock.now().date() + timedelta(days=1)).isoformat()
    assert api.post("/v1/events/replay", {"from": tomorrow, "to": tomorrow}).json() == {"events": 0, "deliveries": 0}


def test_two_dispatchers_at_once_never_send_the_same_attempt(hooks, engine, clock, receiver):
    api = hooks["api"]
    for _ in range(3):
        refund(api, [{"line": 1, "quantity": "1"}])
    for _ in range(2):
        refund(api, [{"line": 2, "quantity": "1"}])
    ds = [dispatcher(engine, clock, batch=2) for _ in range(3)]
    threads = [threading.Thread(target=drain, args=(d, 30)) for d in ds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = receiver.ids()
    assert len(ids) == 11 and len(set(ids)) == 11  # 1 invoice + 5 refunds x 2, each exactly once
    assert len(receiver.got) == 11
    for refund_id in {e[1] for e in mine(receiver) if e[0] != "invoice.created"}:
        assert [e[0] for e in mine(receiver) if e[1] == refund_id] == ["refund.created", "refund.posted"]


# -- the admin API ------------------------------------------------------------------------------------

def test_webhook_admin_api(hooks, api_for, make_token, receiver):
    api, hook = hooks["api"], hooks["webhook"]
    assert hook["secret"].startswith("whsec_") and hook["events"] == ALL and hook["url"] == receiver.url
    listed = api.get("/v1/webhooks").json()["items"]
    assert listed == [{k: v for k, v in hook.items() if k != "secret"}]  # the secret is shown once
    assert api.get(f"/v1/webhooks/{hook['id']}").json() == listed[0]
    # only admins manage webhooks
    reader = api_for(make_token(hooks["tenant"], "refund:read"))
    assert reader.get("/v1/webhooks").status_code == 403
    assert reader.post("/v1/webhooks", {"url": receiver.url, "events": ["refund.posted"]}).status_code == 403
    # validation
    for body, field in [({"url": receiver.url, "events": ["refund.deleted"]}, "/events/0"),
                        ({"url": receiver.url, "events": []}, "/events"),
                        ({"url": "ftp://example.com/x", "events": ["refund.posted"]}, "/url"),
                        ({"url": receiver.url, "events": ["refund.posted"], "secret": "mine"}, "/secret")]:
        r = api.post("/v1/webhooks", body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, (body, r.text)
    assert api.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{hook['id']}").status_code == 404
    assert api.get("/v1/webhooks").json()["items"] == []


def test_another_tenants_webhooks_and_events_are_not_found(hooks, make_tenant, api_for):
    other = api_for(make_tenant()["token"])
    assert other.get(f"/v1/webhooks/{hooks['webhook']['id']}").status_code == 404
    assert other.delete(f"/v1/webhooks/{hooks['webhook']['id']}").status_code == 404
    event = hooks["api"].get("/v1/events").json()["items"][0]["id"]
    assert other.get(f"/v1/events/{event}").status_code == 404
    assert other.post(f"/v1/events/{event}/replay").status_code == 404
    assert other.get("/v1/events").json()["items"] == []


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/x", "http://localhost/x", "http://10.0.0.8/x", "http://192.168.1.1/x", "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/x", "http://[fd00:ec2::254]/", "http://0.0.0.0/",
    "http://100.64.0.1/", "http://[::ffff:127.0.0.1]/", "https://user:pw@93.184.216.34/", "file:///etc/passwd",
    "http://no-such-host.invalid/"])
def test_ssrf_unsafe_urls_are_refused_unless_the_server_allows_private_addresses(books, url):
    r = books["api"].post("/v1/webhooks", {"url": url, "events": ["refund.posted"]})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "/url"


def test_a_public_address_is_accepted(books):
    r = books["api"].post("/v1/webhooks", {"url": "https://93.184.216.34/hooks", "events": ["refund.posted"]})
    assert r.status_code == 201, r.text


def test_the_dispatcher_refuses_an_address_that_became_private(hooks, engine, clock, receiver):
    """Checked again when sending: an endpoint whose host now resolves to a private address (DNS
    rebinding, or the setting turned off) is not called."""
    d = dispatcher(engine, clock, allow_private=False)
    drain(d, rounds=1)
    assert receiver.got == []
    [pending] = hooks["api"].get(f"/v1/webhooks/{hooks['webhook']['id']}/deliveries").json()["items"]
    assert pending["last_error"].startswith("refused:")


# -- the payout write path (CRM.COM's refunds) ---------------------------------------------------------

def test_a_payout_through_the_crmcom_door_writes_payout_created(engine, clock, client, api_for):
    import uuid
    from decimal import Decimal

    from salesrefund.http.dialects import crmcom as door
    from salesrefund.seeds import crmcom as seed
    from salesrefund.service.tenants import create_tenant

    name = f"crm-{uuid.uuid4().hex[:12]}"
    tenant = create_tenant(engine, name, clock=clock, **seed.TENANT_OPTIONS)
    username = f"mpadmin-{uuid.uuid4().hex[:10]}"
    seed.build(engine, clock, tenant["id"], name, username=username)
    token = client.post(door.BASE + "/authentication/token", json={
        "username": username, "password": seed.PASSWORD, "organisation": seed.ORGANISATION}).json()["data"]["token"]
    body = {"token": token, "accounts_receivable_identifier": {"number": "ACR0000001"},
            "type_identifier": {"name": "Refund"}, "life_cycle_state": "POSTED", "refund_amount": Decimal("50.00")}
    paid = client.post(door.BASE + "/refunds/create", content=door.dumps(body),
                       headers={"Content-Type": "application/json"})
    assert paid.status_code == 200, paid.text
    api = api_for(tenant["token"])
    [event] = api.get("/v1/events", type="payout.created").json()["items"]
    payout = event["data"]
    assert payout["kind"] == "payout" and payout["state"] == "posted" and payout["total"] == "50.00"
    assert {k: v for k, v in payout.items() if k != "account"} == api.get(f"/v1/refunds/{payout['id']}").json()
    # the account by the tenant's own code, never its global row id (which counts other tenants' accounts)
    assert payout["account"] == {"code": "ACR0000001", "name": payout["account"]["name"],
                                 "tax_number": payout["account"]["tax_number"]}
    refund_events = api.get("/v1/events", type="refund.created").json()["items"]  # the seed's store-credit refunds
    assert refund_events and {e["data"]["kind"] for e in refund_events} == {"refund"}  # a payout is not one


# -- the command line ---------------------------------------------------------------------------------------

def test_cli_replay_and_dead_letters(hooks, engine, clock, receiver, database_url, monkeypatch):
    import json

    from typer.testing import CliRunner

    from salesrefund.cli import app as cli_app

    receiver.mode = "fail"
    d = dispatcher(engine, clock, backoff_max=3 * 3600)
    for _ in range(30):
        drain(d)
        clock.current += timedelta(hours=1)
    runner = CliRunner()
    tenant = hooks["tenant"]["tenant"]
    dead = runner.invoke(cli_app, ["events", "dead", "--tenant", tenant, "--db", database_url, "--json"])
    assert dead.exit_code == 0, dead.output
    [letter] = json.loads(dead.stdout)
    assert letter["type"] == "invoice.created" and letter["url"] == receiver.url and letter["last_error"] == "HTTP 500"
    receiver.mode = "ok"
    one = runner.invoke(cli_app, ["events", "replay", "--tenant", tenant, "--event", letter["event"], "--db",
                                  database_url, "--json"])
    assert one.exit_code == 0 and json.loads(one.stdout) == {"events": 1, "deliveries": 1}, one.output
    day = FIXED_DAY
    ranged = runner.invoke(cli_app, ["events", "replay", "--tenant", tenant, "--from", day, "--to", day, "--db",
                                     database_url])
    assert ranged.exit_code == 0 and "2 event(s) queued as 2 delivery(ies)" in ranged.stdout, ranged.output
    clock.current = datetime.now(timezone.utc)  # the CLI queued them on the wall clock
    drain(d)
    # to the endpoints subscribed now: INV-1's event too, recorded before the endpoint existed
    assert sorted(mine(receiver)) == [("invoice.created", "INV-1"), ("invoice.created", "INV-2"),
                                      ("invoice.created", "INV-2")]
    assert [i for i in receiver.ids() if i == letter["event"]] == [letter["event"]] * 2
    neither = runner.invoke(cli_app, ["events", "replay", "--tenant", tenant, "--db", database_url])
    assert neither.exit_code == 2 and "give --event, or --from and --to" in neither.stderr


FIXED_DAY = "2026-06-15"


def test_an_endpoint_that_hangs_does_not_hold_up_another(hooks, engine, clock, receiver):
    import time

    slow = Receiver().start()
    try:
        slow.mode, slow.delay = "slow", 3.0
        api = hooks["api"]
        drain(dispatcher(engine, clock))  # INV-2's event
        assert api.delete(f"/v1/webhooks/{hooks['webhook']['id']}").status_code == 204
        for url in (slow.url, receiver.url):  # the hanging endpoint first: its delivery is claimed first
            made = api.post("/v1/webhooks", {"url": url, "events": ["refund.created"]})
            assert made.status_code == 201, made.text
        receiver.secret = made.json()["secret"]
        receiver.accepted.clear()
        refund(api, [{"line": 1, "quantity": "1"}])
        d = dispatcher(engine, clock, timeout=2.5)
        started = time.monotonic()
        worker = threading.Thread(target=d.run_once)
        worker.start()
        while not any(r["body"]["type"] == "refund.created" for r in receiver.accepted):
            assert time.monotonic() - started < 2.0, "the healthy endpoint waited for the hanging one"
            time.sleep(0.02)
        worker.join()
        assert slow.got and not slow.accepted  # the slow one was called at the same time, and timed out
    finally:
        slow.stop()
