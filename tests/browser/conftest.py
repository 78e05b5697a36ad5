"""End-to-end tests against a live demo server: in a real browser, Playwright driving Debian's ``chromium`` (installed by
``.ci/run``; Playwright's own browser download is not used) against ``salesrefund serve --demo``
in a subprocess, on SQLite or, with ``SALESREFUND_TEST_DATABASE_URL`` set to PostgreSQL, on a
database of its own that is dropped afterwards. Every request to anything but the server is
aborted and recorded, so the tests also prove the pages work with no network."""

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

from browser_kit import ARGS, CHROMIUM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database(tmp_path_factory):
    url = os.environ.get("SALESREFUND_TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.db'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from salesrefund.store.engine import normalize_url
    admin_url = make_url(normalize_url(url))
    name = f"{admin_url.database}_browser_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """``salesrefund serve --demo`` on a free port: its base URL."""
    url, drop = _database(tmp_path_factory)
    port = _free_port()
    log = open(tmp_path_factory.mktemp("browser-log") / "server.log", "wb")  # noqa: SIM115
    env = {**os.environ, "SALESREFUND_DATABASE_URL": url}
    proc = subprocess.Popen([sys.executable, "-c", "from salesrefund.cli import main; main()", "serve", "--demo",
                             "--port", str(port), "--no-access-log"], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    else:
        proc.kill()
    if proc.poll() is not None:
        log.close()
        raise RuntimeError("the demo server did not start")
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    log.close()
    drop()


@pytest.fixture(scope="module")  # not the session: Playwright's loop must stop before later tests call asyncio.run()
def browser(server):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM} (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


class Offline:
    """Every request to another host is aborted and remembered."""

    def __init__(self, base: str):
        self.base = base
        self.blocked: list[str] = []

    def __call__(self, route):
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=server, locale="en-US")
    offline = Offline(server)
    context.route("**/*", offline)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.offline = offline
    yield tab
    context.close()
    assert offline.blocked == [], f"the page tried to reach the network: {offline.blocked}"
