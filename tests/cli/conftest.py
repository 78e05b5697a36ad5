"""Helpers for the command-line tests: each test gets its own SQLite file, the CLI runs through
typer's ``CliRunner`` (in process) and, where it matters, as the installed console script."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cli_support import Cli
from salesrefund.config import ENV_DATABASE_URL
from salesrefund.app import create_app
from salesrefund.store.engine import make_engine


@pytest.fixture
def cli(monkeypatch) -> Cli:
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)
    return Cli(monkeypatch)


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "cli.db"


@pytest.fixture
def db_url(db_path) -> str:
    return f"sqlite:///{db_path}"


@pytest.fixture
def db(db_url):
    """A plain engine on the same database the CLI writes (no migrations: the CLI runs them)."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def http(db):
    """An HTTP client for the app over the CLI's database: ``http.get(path, token)``."""

    class Http:
        client = TestClient(create_app(db), raise_server_exceptions=False)

        def get(self, path, token, **params):
            return self.client.get(path, headers={"Authorization": f"Bearer {token}"}, params=params or None)

        def post(self, path, token, body=None):
            return self.client.post(path, headers={"Authorization": f"Bearer {token}"}, json=body)

    return Http()
