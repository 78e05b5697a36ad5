"""Counters of who calls (issue 4's rate limit, issue 10's sign-in throttle): the SQL of
``service.limits``.

They live in the *counts database* (``service.limits.counts_engine``): the database itself on
PostgreSQL, a file of its own beside a SQLite database. The counts need no crash durability, so
each is one small transaction of its own that skips the fsync (``synchronous_commit = off`` on
PostgreSQL; the SQLite counters file runs ``synchronous=OFF``): a documented exception to "every
write goes through the unit of work" (``service/docs.md``).

``login_failures`` is not part of the business schema (``tables.metadata``): it is created on first
use in the counts database, as the counters file's own tables are, and holds no tenant data (keys
are hashes of a door login or a client address).
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import BigInteger, Column, Engine, Integer, MetaData, String, Table, bindparam, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

counters = MetaData()

login_failures = Table(
    "login_failures", counters,
    Column("key", String(100), primary_key=True),  # "login:<door>:<hash>" or "address:<hash>"
    Column("window_start", BigInteger, primary_key=True),  # epoch seconds // window length
    Column("count", Integer, nullable=False),
)

_f = login_failures.c
_READ_FAILURES = select(_f.key, _f.count).where(_f.key.in_(bindparam("keys", expanding=True)),
                                                 _f.window_start == bindparam("window"))
_FORGET_OLDER_FAILURES = delete(login_failures).where((_f.key == bindparam("key")) & (_f.window_start < bindparam("window")))


def _failure_upsert(dialect: str):
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = build(login_failures).values(key=bindparam("key"), window_start=bindparam("window"), count=1)
    return stmt.on_conflict_do_update(index_elements=[_f.key, _f.window_start],
                                      set_={"count": _f.count + 1}).returning(_f.count)


_FAILURE_UPSERT = {dialect: _failure_upsert(dialect) for dialect in ("postgresql", "sqlite")}
_ready: weakref.WeakSet = weakref.WeakSet()
_ready_lock = threading.Lock()


def _with_counters(engine: Engine, work):
    """``work(engine)``, the counters' own tables created in ``engine`` first (on first use, or
    again when they were dropped since: a database rebuilt under a running process)."""
    for attempt in (1, 2):
        if engine not in _ready:
            with _ready_lock:
                try:
                    counters.create_all(engine, checkfirst=True)
                except DBAPIError:  # another process created them at the same moment
                    counters.create_all(engine, checkfirst=True)
                _ready.add(engine)
        try:
            return work(engine)
        except DBAPIError:
            if attempt == 2 or not _missing_table(engine):
                raise
            _ready.discard(engine)


def _missing_table(engine: Engine) -> bool:
    with engine.connect() as conn:
        return not engine.dialect.has_table(conn, login_failures.name)


def failure_counts(engine: Engine, keys: tuple[str, ...], window: int) -> dict[str, int]:
    """The failures counted under each of ``keys`` in ``window`` (absent: none)."""
    def read(engine):
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return dict(conn.execute(_READ_FAILURES, {"keys": list(keys), "window": window}).all())
    return _with_counters(engine, read)


def count_failure(engine: Engine, keys: tuple[str, ...], window: int) -> None:
    """One more failure under each of ``keys`` in ``window``; a key's older windows are forgotten."""
    def write(engine):
        with engine.begin() as conn:
            _skip_fsync(conn)
            for key in keys:
                count = conn.execute(_FAILURE_UPSERT[engine.dialect.name], {"key": key, "window": window}).scalar_one()
                if count == 1:
                    conn.execute(_FORGET_OLDER_FAILURES, {"key": key, "window": window})
    _with_counters(engine, write)


def _skip_fsync(conn) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL synchronous_commit TO OFF"))


# -- the server's own secrets (issue 10) -------------------------------------------------------------

def server_secret(engine: Engine, name: str) -> str | None:
    """The secret ``name`` of this database (``server_secrets``, made by migration 0013), or None
    when the database has none (not migrated)."""
    from . import tables as t

    try:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return conn.execute(select(t.server_secrets.c.value).where(t.server_secrets.c.name == name)).scalar()
    except DBAPIError:
        return None
