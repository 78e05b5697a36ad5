"""``GET /metrics`` (Prometheus) and the structured request log (issue 13): the counts move by
exactly what the requests did, several workers report one sum, and no secret reaches a log line."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from salesrefund.http import logs
from salesrefund.service.tenants import create_tenant
from salesrefund.store.engine import make_engine
from salesrefund.store.migrate import migrate


def scrape(client) -> dict:
    """{(sample name, sorted labels): value} of one /metrics answer."""
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_refund_outcomes_replays_conflicts_and_cap_refusals(books, client):
    api = books["api"]
    before = scrape(client)
    body = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}
    assert api.post("/v1/refunds", body, key="m-1").status_code == 201
    assert api.post("/v1/refunds", body, key="m-1").headers["Idempotent-Replayed"] == "true"
    assert api.post("/v1/refunds", {**body, "reason": "other"}, key="m-1").status_code == 422  # reused
    too_many = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "9"}]}
    assert api.post("/v1/refunds", too_many).json()["code"] == "quantity_exceeds_refundable"
    assert api.get("/v1/refunds/nope").status_code == 404
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/v1/refunds"
    assert delta("salesrefund_http_requests_total", route=route, door="native", method="POST", status="201") == 2
    assert delta("salesrefund_http_requests_total", route=route, door="native", method="POST", status="422") == 2
    assert delta("salesrefund_http_requests_total", route="/v1/refunds/{refund_id}", door="native", method="GET",
                 status="404") == 1
    assert delta("salesrefund_http_request_duration_seconds_count", route=route, door="native") == 4
    assert delta("salesrefund_refunds_total", door="native", operation="refund.issue", outcome="ok") == 1
    assert delta("salesrefund_refunds_total", door="native", operation="refund.issue", outcome="replayed") == 1
    assert delta("salesrefund_refunds_total", door="native", operation="refund.issue",
                 outcome="quantity_exceeds_refundable") == 1
    assert delta("salesrefund_idempotency_total", door="native", result="replayed") == 1
    assert delta("salesrefund_idempotency_total", door="native", result="reused") == 1
    assert delta("salesrefund_cap_refusals_total", door="native", code="quantity_exceeds_refundable") == 1
    for gauge in ("salesrefund_outbox_pending", "salesrefund_outbox_dead_letters", "salesrefund_outbox_lag_seconds"):
        assert (gauge, ()) in after


def test_outbox_lag_and_pending_come_from_the_database(books, client, app, engine, clock):
    app.state.webhooks.allow_private = True
    api = books["api"]
    assert api.post("/v1/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["refund.created"]}).status_code == 201
    before = value(scrape(client), "salesrefund_outbox_pending")
    assert api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}).status_code == 201
    after = scrape(client)
    assert value(after, "salesrefund_outbox_pending") == before + 1
    assert value(after, "salesrefund_outbox_lag_seconds") > 0  # the refund was written at the tests' fixed time
    from salesrefund.service.dispatch import Dispatcher, DispatchSettings
    Dispatcher(engine, clock, DispatchSettings(allow_private=True, timeout=1, tenant_id=books["tenant"]["id"])
               ).run_once()  # port 9: refused
    attempts = scrape(client)
    assert value(attempts, "salesrefund_webhook_attempts_total", type="refund.created", result="failed") >= \
        value(after, "salesrefund_webhook_attempts_total", type="refund.created", result="failed") + 1
    assert value(attempts, "salesrefund_webhook_attempt_seconds_count") > value(after, "salesrefund_webhook_attempt_seconds_count")


def test_a_database_retry_is_counted(client):
    from salesrefund.http import metrics
    from salesrefund.service.uow import RETRY_OBSERVERS, with_retries
    from sqlalchemy.exc import OperationalError

    class Deadlock(Exception):
        sqlstate = "40P01"

    calls = []

    def attempt():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE", {}, Deadlock("deadlock detected"))
        return "done"

    before = value(scrape(client), "salesrefund_db_retries_total", reason="deadlock")
    assert metrics.db_retry in RETRY_OBSERVERS
    assert with_retries(attempt) == "done"
    assert value(scrape(client), "salesrefund_db_retries_total", reason="deadlock") == before + 1


# -- several workers: one sum ----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_workers_report_the_sum_of_both(tmp_path):
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    migrate(make_engine(url))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    server = subprocess.Popen([str(Path(sys.executable).with_name("salesrefund")), "serve", "--db", url, "--port",
                               str(port), "--workers", "2", "--no-access-log"], env={**env, "SALESREFUND_DISPATCH": "0"},
                              stdout=open(tmp_path / "serve.log", "wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        time.sleep(1.5)  # the second worker too
        sent = 40
        for _ in range(sent):  # a new connection each: the kernel spreads them over both workers
            assert httpx.get(f"{base}/v1/periods", timeout=5).status_code == 401
        counts = set()
        for _ in range(6):  # whichever worker answers the scrape, the sum is the same
            text = httpx.get(f"{base}/metrics", timeout=5).text
            samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                       for f in text_string_to_metric_families(text) for s in f.samples}
            counts.add(value(samples, "salesrefund_http_requests_total", route="/v1/periods", door="native",
                             method="GET", status="401"))
        assert counts == {sent}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)


# -- logs ---------------------------------------------------------------------------------------------------

@pytest.fixture
def log_lines():
    stream = io.StringIO()
    logs.configure("json", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    structlog.reset_defaults()


def test_one_json_line_per_request_with_its_facts(books, client, log_lines):
    api = books["api"]
    made = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]},
                    headers={"X-Request-ID": "req-log-1"})
    refused = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "9"}]},
                       headers={"X-Request-ID": "req-log-2"})
    assert made.status_code == 201 and refused.status_code == 422
    lines = {line["request_id"]: line for line in log_lines() if line.get("event") == "request"}
    first, second = lines["req-log-1"], lines["req-log-2"]
    assert {k: first[k] for k in ("tenant", "door", "method", "route", "status", "outcome", "level")} == {
        "tenant": books["tenant"]["id"], "door": "native", "method": "POST", "route": "/v1/refunds", "status": 201,
        "outcome": "ok", "level": "info"}
    assert first["duration_ms"] > 0 and first["timestamp"].endswith("Z")
    assert (second["status"], second["outcome"]) == (422, "quantity_exceeds_refundable")


def test_no_secret_token_password_or_query_credential_reaches_the_log(books, client, log_lines):
    token = books["tenant"]["token"]
    secret_query = "sr_querysecret_0123456789"
    client.get(f"/v1/refunds?token={secret_query}&password=hunter2-pw", headers={"Authorization": f"Bearer {token}"})
    client.get("/v1/refunds", headers={"Authorization": "Bearer sr_not_a_real_token_0000000000"})
    client.post("/crmcom/v4/authentication/token", json={"username": "u", "password": "hunter2-pw",
                                                         "organisation": "o"})
    client.get("/crmcom/v4/refunds/show", params={"token": "crm-session-secret-42", "refund_identifier": "id=1"})
    client.post("/v1/webhooks", json={"url": "https://93.184.216.34/h", "events": ["refund.posted"]},
                headers={"Authorization": f"Bearer {token}"})
    logs.request(note="a careless caller", password="hunter2-pw", headers={"authorization": f"Bearer {token}"},
                 detail=f"with Bearer {token} inside", items=[{"api_key": "k-123"}])
    lines = log_lines()
    text = json.dumps(lines)
    assert len([line for line in lines if line.get("event") == "request"]) >= 6
    for secret in (token, secret_query, "hunter2-pw", "crm-session-secret-42", "sr_not_a_real_token", "k-123",
                   "whsec_"):
        assert secret not in text, secret
    assert "[redacted]" in text


def test_uvicorn_access_log_loses_its_query_string():
    logs.configure("json", stream=io.StringIO())
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/crmcom/v4/refunds/show?token=abc", "1.1", 200), None)
    for f in logging.getLogger("uvicorn.access").filters:
        f.filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /crmcom/v4/refunds/show HTTP/1.1" 200'
    structlog.reset_defaults()


def test_console_format_is_readable():
    stream = io.StringIO()
    logs.configure("console", stream=stream)
    logs.request(request_id="r1", route="/v1/refunds", status=201, password="x")
    structlog.reset_defaults()
    line = stream.getvalue()
    assert "request" in line and "route=/v1/refunds" in line and "status=201" in line and "password=[redacted]" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
