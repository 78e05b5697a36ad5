"""Who calls: the SQL of ``service.doors`` (door credentials, CRM.COM's sessions) and of
``service.limits`` (issue 4's request counter, issue 10's sign-in failures), and the database's own
secrets (``server_secrets``, issue 10).

The counters live in the *counts database* (``counts_engine``): the database itself on
PostgreSQL, a file of its own beside a SQLite database. The counts need no crash durability, so
each is one small transaction of its own that skips the fsync (``synchronous_commit = off`` on
PostgreSQL; the SQLite counters file runs ``synchronous=OFF``): a documented exception to "every
write goes through the unit of work" (``service/docs.md``). So is ``use_session``: a session's
sliding expiry is read and moved before the caller's tenant is known. Writes whose tenant is known
(``insert_door_credential``, ``insert_session``) take the caller's unit of work's connection.

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
    """The secret ``name`` of this database (``server_secrets``, made by migration 0014), or None
    when the database has none (not migrated)."""
    from . import tables as t

    try:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return conn.execute(select(t.server_secrets.c.value).where(t.server_secrets.c.name == name)).scalar()
    except DBAPIError:
        return None


# -- the per-credential request counter (issue 4; ``service.limits.hit``) ----------------------------

def _rate_upsert(dialect: str):
    from . import tables as t

    w = t.rate_windows.c
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = build(t.rate_windows).values(credential_id=bindparam("credential"), window_start=bindparam("window"),
                                        count=bindparam("n"))
    return stmt.on_conflict_do_update(index_elements=[w.credential_id, w.window_start],
                                      set_={"count": w.count + bindparam("n")}).returning(w.count)


def _rate_forget_older():
    from . import tables as t

    w = t.rate_windows.c
    return delete(t.rate_windows).where((w.credential_id == bindparam("credential")) & (w.window_start < bindparam("window")))


_RATE_UPSERT = {dialect: _rate_upsert(dialect) for dialect in ("postgresql", "sqlite")}
_RATE_FORGET_OLDER = _rate_forget_older()


def count_request(engine: Engine, credential_id: int, window: int, n: int = 1) -> int:
    """``n`` more requests of ``credential_id`` in ``window``; its count so far. A new window forgets
    the credential's older ones. Its own small transaction, without fsync (see the module)."""
    with engine.begin() as conn:
        _skip_fsync(conn)
        count = conn.execute(_RATE_UPSERT[engine.dialect.name],
                             {"credential": credential_id, "window": window, "n": n}).scalar_one()
        if count == n:
            conn.execute(_RATE_FORGET_OLDER, {"credential": credential_id, "window": window})
    return count


_COUNTS_TABLE = """CREATE TABLE IF NOT EXISTS rate_windows (
    credential_id INTEGER NOT NULL, window_start BIGINT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (credential_id, window_start))"""
_counts_engines: dict[str, Engine] = {}
_counts_lock = threading.Lock()


def counts_engine(engine: Engine) -> Engine:
    """Where ``engine``'s requests and sign-in failures are counted: PostgreSQL (and in-memory
    SQLite): the database itself; a SQLite file: ``<file>-counters`` beside it, made on first use."""
    from .engine import make_engine

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


# -- door credentials and CRM.COM's sessions (``service.doors``) ------------------------------------

def insert_door_credential(conn, *, tenant_id: int, door: str, login: str, secret_hash: str, credential_id: int,
                           settings_json: str) -> int:
    from . import tables as t

    return conn.execute(t.door_credentials.insert().values(
        tenant_id=tenant_id, door=door, login=login, secret_hash=secret_hash, credential_id=credential_id,
        settings_json=settings_json)).inserted_primary_key[0]


def door_credential(engine: Engine, door: str, *, login: str | None = None, door_credential_id: int | None = None):
    """The door credential of ``door`` with that ``login`` (or id), with its tenant credential's
    permissions and state and the tenant's currency; None when there is none. Read before the
    caller's tenant is known (it is what tells it), so not through a tenant's unit of work."""
    from . import tables as t

    d, c = t.door_credentials.c, t.credentials.c
    where = [d.door == door, d.login == login] if login is not None else [d.door == door, d.id == door_credential_id]
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return conn.execute(
            select(d.id, d.tenant_id, d.secret_hash, d.settings_json, c.id.label("credential_id"), c.permissions,
                   c.revoked_at, c.expires_at, t.tenants.c.currency, t.tenants.c.currency_exponent)
            .join(t.credentials, t.credentials.c.id == d.credential_id)
            .join(t.tenants, t.tenants.c.id == d.tenant_id)
            .where(*where)).mappings().first()


def insert_session(conn, *, token_hash: str, tenant_id: int, door_credential_id: int, now) -> None:
    from . import tables as t

    conn.execute(t.door_sessions.insert().values(token_hash=token_hash, tenant_id=tenant_id,
                                                 door_credential_id=door_credential_id, created_at=now,
                                                 last_used_at=now))


def use_session(engine: Engine, token_hash: str, now, still_alive) -> tuple[str, dict | None]:
    """One use of a session token, in one transaction: ``("unknown", None)``; ``("expired",
    session)`` (deleted: ``still_alive(last_used_at)`` said no); or ``("alive", session)``, its
    last use moved to ``now`` (sliding expiry). Before the caller's tenant is known, so its own
    transaction (a documented exception, ``service/docs.md``)."""
    from . import tables as t

    s = t.door_sessions.c
    with engine.begin() as conn:
        session = conn.execute(select(t.door_sessions).where(s.token_hash == token_hash)).mappings().first()
        if session is None:
            return "unknown", None
        if not still_alive(session["last_used_at"]):
            conn.execute(delete(t.door_sessions).where(s.token_hash == token_hash))
            return "expired", dict(session)
        conn.execute(t.door_sessions.update().where(s.token_hash == token_hash).values(last_used_at=now))
        return "alive", dict(session)
