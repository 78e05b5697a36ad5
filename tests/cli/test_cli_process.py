"""The installed ``salesrefund`` console script in a real process: exit codes, stdout/stderr,
the environment variable, and ``serve --demo`` answering HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from cli_support import console_script, count_rows, subprocess_env
from salesrefund.config import ENV_DATABASE_URL
from salesrefund.demo import DEMO_TOKEN
from salesrefund.app import create_app
from salesrefund.store.engine import make_engine


def run(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([console_script(), *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_tenant_create_in_a_real_process_with_the_environment_variable(tmp_path):
    url = f"sqlite:///{tmp_path / 'proc.db'}"
    env = subprocess_env(**{ENV_DATABASE_URL: url})
    done = run("tenant", "create", "procco", "--currency", "EUR", "--country", "DE", "--json", env=env)
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["tenant"] == "procco" and created["token"].startswith("sr_")

    engine = make_engine(url)
    try:
        client = TestClient(create_app(engine), raise_server_exceptions=False)
        r = client.get("/v1/periods", headers={"Authorization": f"Bearer {created['token']}"})
        assert r.status_code == 200, r.text

        dup = run("tenant", "create", "procco", "--currency", "EUR", env=env)
        assert dup.returncode != 0
        assert "already exists" in dup.stderr
        assert "Traceback" not in dup.stderr + dup.stdout
        assert "sr_" not in dup.stdout
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_demo_answers_with_the_demo_token_and_demo_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([console_script(), "serve", "--demo", "--db", url, "--port", str(port)],
                              env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        r = httpx.get(f"{base}/v1/invoices/INV-1001", headers={"Authorization": f"Bearer {DEMO_TOKEN}"}, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["number"] == "INV-1001"
        assert httpx.get(f"{base}/v1/invoices", timeout=10).status_code == 401

        # the demo is loaded already: `demo` against the same file (server still running) creates nothing
        engine = make_engine(url)
        try:
            before = count_rows(engine)
            again = run("demo", "--db", url, "--json", env=subprocess_env())
            assert again.returncode == 0, again.stderr
            loaded = json.loads(again.stdout)
            assert {k: loaded[k] for k in ("tenant", "token", "created")} == {
                "tenant": "demo", "token": DEMO_TOKEN, "created": False}
            assert {t["tenant"] for t in loaded["tenants"]} == {"demo", "internom", "vodo", "crmcom", "beansbooks",
                                                              "snr2u"}
            assert count_rows(engine) == before
        finally:
            engine.dispose()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert f"API token: {DEMO_TOKEN}" in output
    assert "Traceback" not in output
