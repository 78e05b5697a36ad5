"""Fixtures for the end-to-end tests: real server processes over fresh databases.

By default each server gets a fresh SQLite file; with ``SALESREFUND_TEST_DATABASE_URL`` set to a
PostgreSQL URL (the setting the whole suite uses), each gets a fresh database created on that
server and dropped afterwards.

``make_server(workers=1, unguarded=False)`` gives a started ``ServerProcess`` with its own
database, an EUR tenant (created before the server starts) and master data C1, P1..P3; every
server started here is stopped at teardown. Session-scoped ``server_w1``, ``server_w2`` and
``control_server`` are shared by the tests; each test makes its own invoices.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest
from e2e_harness import Api, ServerProcess, setup_master_data


@dataclass
class Running:
    server: ServerProcess
    token: str
    tenant: str

    def api(self) -> Api:
        return Api(self.server.base_url, self.token)


def _postgres_base() -> str | None:
    url = os.environ.get("SALESREFUND_TEST_DATABASE_URL", "")
    return url if url.startswith("postgres") else None


def _fresh_database(base) -> tuple[str, callable]:
    """A new, empty database for one server: its URL and a function that drops it."""
    pg = _postgres_base()
    if pg is None:
        return f"sqlite:///{base / 'refunds.db'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from salesrefund.store.engine import normalize_url

    admin_url = make_url(normalize_url(pg))
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def _launcher(tmp_path_factory):
    started: list[ServerProcess] = []
    apis: list[Api] = []
    drops: list = []

    def make(*, workers: int = 1, unguarded: bool = False) -> Running:
        from salesrefund.bootstrap import engine_for
        from salesrefund.service.tenants import create_tenant

        base = tmp_path_factory.mktemp("e2e")
        url, drop = _fresh_database(base)
        drops.append(drop)
        engine = engine_for(url)  # migrations
        name = f"e2e-{uuid.uuid4().hex[:8]}"
        created = create_tenant(engine, name, currency="EUR")
        engine.dispose()
        server = ServerProcess(url, base, workers=workers, unguarded=unguarded)
        started.append(server)
        server.start()
        running = Running(server, created["token"], name)
        api = running.api()
        apis.append(api)
        setup_master_data(api)
        return running

    def close():
        for api in apis:
            api.close()
        for server in started:
            server.stop()
        for drop in drops:
            drop()

    return make, close


@pytest.fixture
def make_server(tmp_path_factory):
    make, close = _launcher(tmp_path_factory)
    yield make
    close()


@pytest.fixture(scope="session")
def session_launcher(tmp_path_factory):
    make, close = _launcher(tmp_path_factory)
    yield make
    close()


@pytest.fixture(scope="session")
def server_w1(session_launcher) -> Running:
    return session_launcher(workers=1)


@pytest.fixture(scope="session")
def server_w2(session_launcher) -> Running:
    return session_launcher(workers=2)


@pytest.fixture(scope="session", params=[1, 2], ids=["1worker", "2workers"])
def guarded_server(request) -> Running:
    """The product as shipped (caps guarded), with one uvicorn worker and with two."""
    return request.getfixturevalue("server_w1" if request.param == 1 else "server_w2")


@pytest.fixture(scope="session")
def control_server(session_launcher) -> Running:
    """The test-only control: SALESREFUND_TEST_UNGUARDED_CAPS=1 (read caps in an earlier
    transaction, no conditional UPDATE guard)."""
    return session_launcher(workers=1, unguarded=True)
