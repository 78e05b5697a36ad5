"""Configuration: where the database is. ``--db URL`` beats ``SALESREFUND_DATABASE_URL`` beats
the default, a SQLite file in the per-user data directory."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

ENV_DATABASE_URL = "SALESREFUND_DATABASE_URL"


def default_database_url() -> str:
    path = Path(user_data_dir("salesrefund", appauthor=False)) / "salesrefund.db"
    return f"sqlite:///{path}"


def database_url(given: str | None = None) -> str:
    return given or os.environ.get(ENV_DATABASE_URL) or default_database_url()


ENV_READ_DATABASE_URL = "SALESREFUND_READ_DATABASE_URL"


def read_database_url() -> str | None:
    """A read replica for the reads that may lag (lists, journal, reports, ``check``), or None:
    everything on the primary. Writes and read-your-write paths never use it."""
    return os.environ.get(ENV_READ_DATABASE_URL) or None
