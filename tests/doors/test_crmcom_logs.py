"""No CRM.COM session token reaches a log (issue 10). CRM.COM's ``GET refunds/show`` and
``refunds/list`` take the token in the query string; a real server (``salesrefund serve``: uvicorn
with its access log on, and the structured request log) answers them, and neither log holds it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from salesrefund.http.dialects import crmcom as door
from salesrefund.seeds import crmcom as seed
from salesrefund.service.uow import Clock
from salesrefund.store.engine import make_engine
from salesrefund.store.migrate import migrate


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(url: str, log: Path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", door.BASE_ENV)}
    env.update(SALESREFUND_DISPATCH="0", SALESREFUND_LOG_FORMAT="json")
    server = subprocess.Popen([str(Path(sys.executable).with_name("salesrefund")), "serve", "--db", url, "--port",
                               str(port)], env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            os.killpg(server.pid, signal.SIGTERM)
            raise AssertionError(log.read_text())
        time.sleep(0.2)


def test_the_session_token_in_the_query_reaches_neither_the_access_log_nor_the_request_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = make_engine(url)
    migrate(engine)
    assert seed.load(engine, Clock())
    engine.dispose()
    log = tmp_path / "serve.log"
    server, base = _serve(url, log)
    crm = base + door.DEFAULT_BASE
    try:
        login = httpx.post(crm + "/authentication/token", json={
            "username": seed.USERNAME, "password": seed.PASSWORD, "organisation": seed.ORGANISATION})
        token = login.json()["data"]["token"]
        answers = [
            httpx.get(crm + "/refunds/show", params={"token": token, "refund_identifier": "number=PO-2026-000001"}),
            httpx.get(crm + "/refunds/show", params={"refund_identifier": "id=nope", "token": token}),
            httpx.get(crm + "/refunds/list", params={"token": token, "accounts_receivable_identifier": "ACR0000001"}),
            httpx.get(f"{crm}/refunds/show/?token={token}&refund_identifier=x"),  # a redirect, not followed
        ]
        assert [a.status_code for a in answers] == [404, 404, 200, 307]
        assert answers[2].json()["status"]["code"] == "OK"
        time.sleep(0.5)  # the last lines reach the file
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
    text = log.read_text()
    access = [line for line in text.splitlines() if '"GET /crmcom/v4/refunds/' in line]
    structured = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests = [line for line in structured if line.get("event") == "request" and line.get("door") == "crmcom"]
    assert len(access) == 4 and len(requests) == 4, text  # uvicorn's lines; ours (the login, show, show, list)
    assert token not in text and token[:16] not in text, text
    assert all("token=" not in line for line in access)
    assert {line["route"] for line in requests} >= {"/crmcom/v4/refunds/show", "/crmcom/v4/refunds/list"}
