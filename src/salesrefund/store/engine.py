"""Engines for SQLite (embedded default) and PostgreSQL (production), configured for safety.

SQLite: WAL, ``synchronous=FULL`` (an acknowledged refund survives a killed process or power
loss), foreign keys on, a busy timeout, and write transactions that take the write lock when they
start (``BEGIN IMMEDIATE``) so two writers never interleave. Read-only work asks for a deferred
``BEGIN`` with ``connection.execution_options(sqlite_begin="DEFERRED")``.

Writers queue for SQLite's write lock on a ``WriterQueue`` first: an advisory file lock beside the
database (``<file>-writer``), taken before ``BEGIN IMMEDIATE`` and dropped when the transaction
ends. SQLite itself makes a waiting writer poll, sleeping up to 100 ms between tries, so under
load a writer often sleeps on a lock that was freed long ago; a waiter on the file lock is woken
by the kernel the moment it is free. Processes and threads queue alike; the kernel drops the lock
of a process that dies. Another program writing the file without it is still kept out by SQLite.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

__all__ = ["Connection", "DBAPIError", "Engine", "IntegrityError"]  # the persistence types the service names

BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """Accept URLs as users write them: ``postgresql://`` and ``postgres://`` use psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


ENV_POOLER = "SALESREFUND_DB_POOLER"  # "transaction": a transaction-pooling pooler (PgBouncer) in between
POOLER_MODES = ("", "none", "session", "transaction")


def pooler_mode() -> str:
    """``SALESREFUND_DB_POOLER``: ``transaction`` when the PostgreSQL URL is a pooler in
    transaction mode (PgBouncer ``pool_mode = transaction``), else nothing to adapt."""
    mode = os.environ.get(ENV_POOLER, "").strip().lower()
    if mode not in POOLER_MODES:
        raise ValueError(f"{ENV_POOLER} must be one of: none, session, transaction (got {mode!r})")
    return mode


def make_engine(url: str, *, pool_size: int = 10, synchronous: str = "FULL") -> Engine:
    """An engine for ``url``; ``synchronous`` (SQLite only) is FULL except for data that needs no
    crash durability (the rate-limit counts, service.limits)."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, synchronous)
    connect_args = {}
    if pooler_mode() == "transaction":
        # Behind a transaction pooler each transaction may run on another server connection, so
        # a statement psycopg prepared (by name, after 5 runs) on one is missing on the next
        # ("prepared statement _pg3_0 does not exist/already exists"). Unnamed statements only:
        # still the extended protocol with bound parameters. Everything else salesrefund does is
        # transaction-scoped already (advisory locks, SET LOCAL), see docs/decisions.md.
        connect_args["prepare_threshold"] = None
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                           connect_args=connect_args)
    event.listen(engine, "handle_error", _ended_by_server)
    return engine


SERVER_ENDED_SQLSTATES = ("57P01", "57P02", "57P03")  # admin shutdown (pg_terminate_backend), crash, startup


def server_ended(error: BaseException | None) -> bool:
    """PostgreSQL ended the connection: the error says so (``57P0x``, a class-08 connection error),
    or it was raised while handling one that did. psycopg's pipeline (``executemany``) reports a
    backend terminated mid-pipeline as "cannot exit pipeline mode while busy", raised while
    handling the ``AdminShutdown``, before it marks the connection broken; SQLAlchemy alone then
    sees no disconnect, and the request answered 500 instead of 503 (CI, issue 9 item 13's test)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        state = getattr(error, "sqlstate", None) or ""
        if state in SERVER_ENDED_SQLSTATES or state.startswith("08"):
            return True
        error = error.__cause__ or error.__context__
    return False


def _ended_by_server(context) -> None:
    """``handle_error``: a connection the server ended is a disconnect (SQLAlchemy invalidates it,
    ``service.uow.lost`` sees it: retried before the commit, 503 after)."""
    if not context.is_disconnect and server_ended(context.original_exception):
        context.is_disconnect = True


class WriterQueue:
    """One writer at a time per database file, across threads and processes: a thread lock around
    an exclusive ``flock``. Re-entrant for the thread that holds it, so a thread that nests a second
    write transaction meets SQLite's own busy timeout, as before, rather than waiting on itself."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._fd: int | None = None
        self._pid: int | None = None

    def acquire(self) -> None:
        if self._owner == threading.get_ident():
            self._depth += 1
            return
        self._lock.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise
        self._owner, self._depth = threading.get_ident(), 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._lock.release()

    def _file(self) -> int:
        if self._pid != os.getpid():  # a forked child opens its own: flock is per open file
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd


class QueuedConnection(sqlite3.Connection):
    """A sqlite3 connection that leaves the writer queue when its transaction ends."""

    queue: WriterQueue | None = None
    queued = False

    def enter_queue(self) -> None:
        if self.queue is not None and not self.queued:
            try:
                self.queue.acquire()
            except OSError:  # the queue's file cannot be opened (a read-only directory): SQLite's own
                return       # lock still keeps writers apart, and its error says what is wrong
            self.queued = True

    def leave_queue(self) -> None:
        if self.queued:
            self.queued = False
            self.queue.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_queue()


_queues: dict[str, WriterQueue] = {}


def writer_queue(database: str) -> WriterQueue:
    """The process's one queue for a database file (engines on the same file share it)."""
    path = str(Path(database).expanduser().resolve()) + "-writer"
    return _queues.setdefault(path, WriterQueue(path))


def _sqlite_engine(url: str, database: str | None, synchronous: str) -> Engine:
    queue = None
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        queue = writer_queue(database)
    # use_insertmanyvalues off: several rows in one VALUES would all take the same next id
    # (tables.next_id); SQLAlchemy then refuses executemany with RETURNING instead of writing it.
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False,
                                              "factory": QueuedConnection}, use_insertmanyvalues=False)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        dbapi_connection.queue = queue
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode == "IMMEDIATE":
            connection.connection.driver_connection.enter_queue()
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            connection.connection.driver_connection.leave_queue()
            raise

    return engine


def sqlite_write_problem(url: str) -> str | None:
    """What keeps salesrefund from writing a SQLite database at ``url``, in one line, or None
    (issue 9, item 14). SQLite writes the file and creates ``-wal`` and ``-shm`` beside it;
    salesrefund adds ``-writer`` and ``-counters``: the directory must be writable too."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database).expanduser()
    directory = path.parent
    existing = directory
    while not os.path.exists(existing) and existing != existing.parent:
        existing = existing.parent
    if not os.path.isdir(directory):
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"cannot create the data directory {directory}: {existing} is not writable"
        return None
    if not os.access(directory, os.W_OK | os.X_OK):
        return (f"the data directory {directory} is read-only: SQLite needs to create {path.name}-wal and "
                f"{path.name}-shm beside the database (make it writable, or use another --db)")
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-writer", f"{path.name}-counters"):
        file = directory / name
        if os.path.exists(file) and not os.access(file, os.R_OK | os.W_OK):
            return f"the database file {file} is read-only (make it writable, or use another --db)"
    return None


def is_postgres(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "postgresql"
