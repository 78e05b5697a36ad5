"""The per-credential rate limit (issue 4): at most ``PER_MINUTE`` requests a credential in each
one-minute window, counted in the database so that every server process and machine shares the
count. Over the limit: ``rate_limited`` (429) with ``Retry-After`` = seconds to the next window.

Counting is one upsert per authenticated request, in its own small transaction. The count needs no
crash durability, so it skips the fsync: on PostgreSQL ``synchronous_commit = off`` for that
transaction; on SQLite the counts live in a file of their own beside the database
(``<database>-counters``, ``synchronous=OFF``), so that counting never queues behind refunds for
the database's one write lock (issue 5). ``SALESREFUND_RATE_LIMIT`` sets the limit per minute
(default 6000 = 100 requests a second); 0 turns it off.
"""

from __future__ import annotations

import logging
import os
import threading

from sqlalchemy import Engine, bindparam, delete, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from ..domain.errors import reject
from ..store import tables as t
from ..store.engine import make_engine
from .uow import Clock, unwritable

log = logging.getLogger("salesrefund")

WINDOW_SECONDS = 60
PER_MINUTE = int(os.environ.get("SALESREFUND_RATE_LIMIT", "6000"))

_w = t.rate_windows.c
_FORGET_OLDER = delete(t.rate_windows).where(
    (_w.credential_id == bindparam("credential")) & (_w.window_start < bindparam("window")))


def _upsert(dialect: str):
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = build(t.rate_windows).values(credential_id=bindparam("credential"), window_start=bindparam("window"),
                                        count=1)
    return stmt.on_conflict_do_update(index_elements=[_w.credential_id, _w.window_start],
                                      set_={"count": _w.count + 1}).returning(_w.count)


_UPSERT = {dialect: _upsert(dialect) for dialect in ("postgresql", "sqlite")}


def hit(engine: Engine, credential_id: int, clock: Clock | None = None, limit: int | None = None) -> None:
    """Count one request of ``credential_id``; raise ``rate_limited`` when over the limit."""
    limit = PER_MINUTE if limit is None else limit
    if limit <= 0:
        return
    now = int((clock or Clock()).now().timestamp())
    window = now // WINDOW_SECONDS
    try:
        count = _count(counts_engine(engine), credential_id, window)
    except (DBAPIError, OSError) as error:
        # Counting must not stop the request when the counts cannot be written (a read-only data
        # directory, a full disk: issue 9, item 14): reads go on, writes get their own 503.
        if isinstance(error, DBAPIError) and not unwritable(error):
            raise
        log.warning("rate limit not counted: %s", error)
        return
    if count > limit:
        error = reject("rate_limited", "/headers/Authorization",
                       "too many requests for this credential; retry in {seconds} s",
                       seconds=WINDOW_SECONDS - now % WINDOW_SECONDS)
        error.retry_after = WINDOW_SECONDS - now % WINDOW_SECONDS
        raise error


def _count(engine: Engine, credential_id: int, window: int) -> int:
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
        count = conn.execute(_UPSERT[engine.dialect.name], {"credential": credential_id, "window": window}).scalar_one()
        if count == 1:  # a new window: forget this credential's older ones
            conn.execute(_FORGET_OLDER, {"credential": credential_id, "window": window})
    return count


_COUNTS_TABLE = """CREATE TABLE IF NOT EXISTS rate_windows (
    credential_id INTEGER NOT NULL, window_start BIGINT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (credential_id, window_start))"""
_counts_engines: dict[str, Engine] = {}
_counts_lock = threading.Lock()


def counts_engine(engine: Engine) -> Engine:
    """Where ``engine``'s requests are counted: PostgreSQL (and in-memory SQLite): the database
    itself; a SQLite file: ``<file>-counters`` beside it, made on first use."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return engine
    path = f"{database}-counters"
    with _counts_lock:
        if path not in _counts_engines:
            counts = make_engine(f"sqlite:///{path}", synchronous="OFF")
            with counts.begin() as conn:  # rate_windows without its key to credentials (not in this file)
                conn.execute(text(_COUNTS_TABLE))
            _counts_engines[path] = counts
        return _counts_engines[path]
