"""The per-credential rate limit (issue 4): at most ``PER_MINUTE`` requests a credential in each
one-minute window, counted in the database so that every server process and machine shares the
count. Over the limit: ``rate_limited`` (429) with ``Retry-After`` = seconds to the next window.

Counting is one upsert per authenticated request. The count needs no crash durability, so that
one small write skips the fsync (SQLite: ``synchronous=OFF`` on the connection for its duration;
PostgreSQL: ``synchronous_commit = off`` for its transaction). ``SALESREFUND_RATE_LIMIT`` sets the
limit per minute (default 6000 = 100 requests a second); 0 turns it off.
"""

from __future__ import annotations

import os

from sqlalchemy import Engine, delete, text
from sqlalchemy.dialects import postgresql, sqlite

from ..domain.errors import reject
from ..store import tables as t
from .uow import Clock

WINDOW_SECONDS = 60
PER_MINUTE = int(os.environ.get("SALESREFUND_RATE_LIMIT", "6000"))


def hit(engine: Engine, credential_id: int, clock: Clock | None = None, limit: int | None = None) -> None:
    """Count one request of ``credential_id``; raise ``rate_limited`` when over the limit."""
    limit = PER_MINUTE if limit is None else limit
    if limit <= 0:
        return
    now = int((clock or Clock()).now().timestamp())
    window = now // WINDOW_SECONDS
    count = _count(engine, credential_id, window)
    if count > limit:
        error = reject("rate_limited", "/headers/Authorization",
                       "too many requests for this credential; retry in {seconds} s",
                       seconds=WINDOW_SECONDS - now % WINDOW_SECONDS)
        error.retry_after = WINDOW_SECONDS - now % WINDOW_SECONDS
        raise error


def _count(engine: Engine, credential_id: int, window: int) -> int:
    postgres = engine.dialect.name == "postgresql"
    build = postgresql.insert if postgres else sqlite.insert
    upsert = build(t.rate_windows).values(credential_id=credential_id, window_start=window, count=1)
    upsert = upsert.on_conflict_do_update(
        index_elements=[t.rate_windows.c.credential_id, t.rate_windows.c.window_start],
        set_={"count": t.rate_windows.c.count + 1}).returning(t.rate_windows.c.count)
    with engine.connect() as conn:
        raw = None if postgres else conn.connection.driver_connection
        if raw is not None:
            raw.execute("PRAGMA synchronous=OFF")
        try:
            with conn.begin():
                if postgres:
                    conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
                count = conn.execute(upsert).scalar_one()
                if count == 1:  # a new window: forget this credential's older ones
                    conn.execute(delete(t.rate_windows).where(
                        (t.rate_windows.c.credential_id == credential_id) & (t.rate_windows.c.window_start < window)))
        finally:
            if raw is not None:
                raw.execute("PRAGMA synchronous=FULL")
    return count
