"""Helpers shared by the command-line tests (imported as ``cli_support``)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from salesrefund import bootstrap
from salesrefund.cli import app as cli_app
from salesrefund.config import ENV_DATABASE_URL
from salesrefund.store import tables as t


class Cli:
    """``cli("tenant", "create", "acme", "--currency", "EUR")`` -> click Result (stdout/stderr split).

    Engines the CLI opens are disposed after each call, so SQLite files and PostgreSQL databases
    are not held open by leftover pools."""

    def __init__(self, monkeypatch):
        self.runner = CliRunner()
        self.engines = []
        original = bootstrap.engine_for

        def recording(url=None, **kwargs):
            engine = original(url, **kwargs)
            self.engines.append(engine)
            return engine

        monkeypatch.setattr(bootstrap, "engine_for", recording)

    def __call__(self, *args: str, env: dict | None = None):
        try:
            return self.runner.invoke(cli_app, list(args), env=env)
        finally:
            while self.engines:
                self.engines.pop().dispose()

    def ok(self, *args: str, env: dict | None = None):
        result = self(*args, env=env)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str, env: dict | None = None):
        result = self.ok(*args, "--json", env=env)
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, f"--json must print exactly one JSON object, got: {result.stdout!r}"
        return json.loads(lines[0])

    @staticmethod
    def failed_cleanly(result) -> None:
        """A refusal: a non-zero exit through SystemExit (no traceback), an ``error:`` on stderr."""
        assert result.exit_code != 0, result.stdout
        assert isinstance(result.exception, SystemExit), f"crashed instead of refusing: {result.exception!r}"
        assert "Traceback" not in result.output
        assert result.stderr.strip(), "the reason must be printed on stderr"



def count_rows(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in t.metadata.sorted_tables}


def console_script() -> str:
    """The installed ``salesrefund`` entry point of this virtualenv."""
    candidate = Path(sys.executable).with_name("salesrefund")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("salesrefund")
    if not found:
        pytest.skip("the salesrefund console script is not installed")
    return found


def subprocess_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in (ENV_DATABASE_URL, "SALESREFUND_TEST_UNGUARDED_CAPS")}
    env.update(extra)
    return env
