"""The dispatcher as real processes: ``salesrefund dispatch`` SIGKILLed in the middle of a delivery
(delivered after a restart, once the lease of the dead process expires), and ``salesrefund serve``
delivering on its own. Each test has a fresh database (SQLite, or one created on the PostgreSQL
server of ``SALESREFUND_TEST_DATABASE_URL``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from receiver import Receiver
from salesrefund.app import create_app
from salesrefund.service.tenants import create_tenant
from salesrefund.store import tables as t
from salesrefund.store.engine import make_engine, normalize_url
from salesrefund.store.migrate import migrate

SALESREFUND = str(Path(sys.executable).with_name("salesrefund"))  # the installed console script
ENV = {"SALESREFUND_WEBHOOK_ALLOW_PRIVATE": "1", "SALESREFUND_WEBHOOK_LEASE": "2",
       "SALESREFUND_WEBHOOK_TIMEOUT": "30", "SALESREFUND_WEBHOOK_POLL": "0.1"}


@pytest.fixture
def fresh_url(tmp_path):
    base = os.environ.get("SALESREFUND_TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'hooks.db'}"
        return
    admin_url = make_url(normalize_url(base))
    name = f"hooks_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def world(fresh_url):
    engine = make_engine(fresh_url)
    migrate(engine)
    tenant = create_tenant(engine, "hooks", currency="EUR")
    app = create_app(engine)  # the wall clock: the processes below use it too
    app.state.webhooks.allow_private = True
    client = TestClient(app)
    receiver = Receiver()
    receiver.start()
    yield {"engine": engine, "url": fresh_url, "client": client, "receiver": receiver,
           "headers": {"Authorization": f"Bearer {tenant['token']}"}}
    receiver.release.set()
    receiver.stop()
    engine.dispose()


def subscribe(world) -> None:
    c, h, r = world["client"], world["headers"], world["receiver"]
    made = c.post("/v1/webhooks", json={"url": r.url, "events": ["invoice.created", "refund.created"]}, headers=h)
    assert made.status_code == 201, made.text
    r.secret = made.json()["secret"]


def record_invoice(post, number: str) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert post("/v1/customers", {"code": "C1", "name": "One"}).status_code in (201, 409)
    r = post("/v1/invoices", {"number": number, "customer": "C1", "date": today,
                              "lines": [{"description": "Service", "quantity": "1", "unit_price": "5.00",
                                         "tax_rate": "0"}]})
    assert r.status_code == 201, r.text


def dispatch_process(url: str, log) -> subprocess.Popen:
    return subprocess.Popen([SALESREFUND, "dispatch", "--db", url],
                            env={**os.environ, **ENV}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_dispatcher_killed_mid_delivery_delivers_after_restart(world, tmp_path):
    subscribe(world)
    receiver = world["receiver"]
    receiver.mode = "hang"  # holds the request: the dispatcher is in the middle of the delivery
    record_invoice(lambda p, b: world["client"].post(p, json=b, headers=world["headers"]), "INV-K")
    log = open(tmp_path / "dispatch.log", "wb")
    first = dispatch_process(world["url"], log)
    try:
        wait_for(receiver.arrived.is_set, 30, "the first attempt")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    receiver.mode = "ok"
    receiver.release.set()
    with world["engine"].connect() as conn:
        [(state, attempts)] = conn.execute(select(t.webhook_deliveries.c.state, t.webhook_deliveries.c.attempts)).all()
    assert (state, attempts) == ("pending", 1)  # claimed by the dead process, never finished
    second = dispatch_process(world["url"], log)
    try:
        wait_for(lambda: receiver.accepted, 30, "the delivery after the restart")
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0  # stops cleanly between deliveries
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
    assert [r["body"]["type"] for r in receiver.got] == ["invoice.created", "invoice.created"]
    assert receiver.got[0]["body"]["id"] == receiver.got[1]["body"]["id"]  # one event, at least once
    assert [r["headers"]["Salesrefund-Delivery-Attempt"] for r in receiver.got] == ["1", "2"]
    assert receiver.accepted[0]["verified"]
    with world["engine"].connect() as conn:
        assert conn.execute(select(t.webhook_deliveries.c.state)).scalars().all() == ["delivered"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_delivers_webhooks_itself(world, tmp_path):
    subscribe(world)
    receiver = world["receiver"]
    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen([SALESREFUND, "serve", "--db", world["url"], "--port",
                               str(port), "--no-access-log"], env={**os.environ, **ENV}, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _healthy(base), 30, "the server")
        with httpx.Client(base_url=base, headers=world["headers"]) as http:
            record_invoice(lambda p, b: http.post(p, json=b), "INV-S")
        wait_for(lambda: receiver.accepted, 30, "the delivery from serve")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
    assert [(r["body"]["type"], r["body"]["data"]["number"]) for r in receiver.accepted] == [
        ("invoice.created", "INV-S")]
    assert receiver.accepted[0]["verified"]


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
