"""The unit of work: one database transaction; every write of the service commits here (the
exceptions are listed in this package's docs.md)."""

from __future__ import annotations

import random
import time
from contextvars import ContextVar
from datetime import date, datetime, timezone
from typing import Callable, TypeVar
from zoneinfo import ZoneInfo

from ..domain.errors import RefundError, reject
from ..store.engine import DBAPIError, Engine
from ..store.app_sessions import Sessions
from ..store.dispatch import Deliveries
from ..store.prepared import Savepoint
from ..store.repository import TenantStore
from ..store.tenants import DoorCredentials, Tenants, write_status


T = TypeVar("T")


class Clock:
    """Wall-clock time; tests substitute a fixed one."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def today_in(self, tz_name: str) -> date:
        return self.now().astimezone(ZoneInfo(tz_name)).date()


# The writes committed while serving the current request: a list the HTTP layer puts here per
# request (``RequestIdMiddleware``); the service threads append to that same list. An error
# answer consults it so that it never says "nothing was recorded" after a commit (issue 9, item 8).
request_commits: ContextVar[list | None] = ContextVar("salesrefund_request_commits", default=None)

NOTHING_RECORDED = "an unexpected error occurred; nothing was recorded"
RECORDED_THEN_FAILED = ("an unexpected error occurred after the request was recorded; send it again with the same "
                        "key to get its answer")


def fault_message() -> str:
    """The text of a 500: "nothing was recorded" only while nothing of this request was committed."""
    return RECORDED_THEN_FAILED if request_commits.get() else NOTHING_RECORDED


class UnitOfWork:
    """``with UnitOfWork(engine, tenant_id) as uow: ... uow.commit()``; anything else rolls back.

    Writers start with ``BEGIN IMMEDIATE`` on SQLite (the write lock up front); readers
    (``write=False``) with a deferred ``BEGIN`` so they never wait for a writer.

    ``tenant_id=None`` is a transaction above any one tenant (creating a tenant, finding a
    credential's tenant): it has ``tenants`` and no ``store``.
    """

    def __init__(self, engine: Engine, tenant_id: int | None, *, write: bool = True,
                 store: type[TenantStore] = TenantStore):
        self.engine = engine
        self.tenant_id = tenant_id
        self.write = write
        self.store_class = store  # a TenantStore, or a kind of it (store.documents.DocumentStore)
        self.savepoints = 0  # savepoints set so far (their names: sr_1, sr_2, ...)

    def __enter__(self) -> "UnitOfWork":
        self.conn = self.engine.connect()
        if not self.write:
            self.conn = self.conn.execution_options(sqlite_begin="DEFERRED")
        self.tx = self.conn.begin()
        self.store = self.store_class(self.conn, self.tenant_id) if self.tenant_id is not None else None
        self.tenants = Tenants(self.conn)
        if self.write and self.tenant_id is not None:
            try:
                writable(self.conn, self.tenant_id)
            except BaseException:
                self.__exit__(RefundError, None, None)
                raise
        return self

    def savepoint(self) -> Savepoint:
        """A savepoint in this transaction (set on the driver, ``store.prepared.Savepoint``)."""
        self.savepoints += 1
        return Savepoint(self.conn, f"sr_{self.savepoints}")

    # -- the store's parts above one tenant, in this transaction ----------------------------------
    @property
    def sessions(self) -> Sessions:
        return Sessions(self.conn)

    @property
    def door_credentials(self) -> DoorCredentials:
        return DoorCredentials(self.conn)

    def deliveries(self, tenant_id: int | None = None) -> Deliveries:
        """The webhook deliveries of every tenant, or of ``tenant_id`` only."""
        return Deliveries(self.conn, tenant_id)

    def commit(self) -> None:
        """Commit. If the connection is lost while the commit is under way, nobody can say whether
        it took effect: that is answered 503 ``service_unavailable`` with ``Retry-After`` (a retry
        with the same idempotency key gets the stored answer or does the work once), never a 500
        saying nothing was recorded (issue 9, items 8 and 13)."""
        try:
            self.tx.commit()
            if self.write and self.tenant_id is not None and (commits := request_commits.get()) is not None:
                commits.append(self.tenant_id)
        except DBAPIError as error:
            if unwritable(error):
                note_write_failure(self.engine)
            if not lost(error):
                raise
            self.lost = True  # never pooled again, whatever the driver made of it
            unknown = reject("service_unavailable", "/",
                             "the database connection was lost while committing; retry shortly (with the same "
                             "Idempotency-Key the request is carried out exactly once)")
            unknown.retry_after = RETRY_AFTER_SECONDS
            raise unknown from error

    def __exit__(self, exc_type, exc, tb) -> None:
        """Roll back whatever was not committed. After an unexpected error (a failed statement or
        commit, not a business-rule rejection) the connection is discarded rather than pooled, so
        no half-finished transaction can reach the next request."""
        broken = (exc_type is not None and not issubclass(exc_type, RefundError)) or getattr(self, "lost", False)
        if exc is not None and unwritable(exc):
            note_write_failure(self.engine)
        elif exc_type is None and self.write and not self.tx.is_active:
            note_write_success(self.engine)
        try:
            if self.tx.is_active:
                self.tx.rollback()
        except Exception:
            broken = True
        finally:
            if broken:
                self.conn.invalidate()
            self.conn.close()


# -- the write fence of a tenant being moved (issue 15, service.moves) -------------------------------

def writable(conn, tenant_id: int) -> None:
    """Refuse a write to a tenant that is being moved or has moved (503, nothing written).

    PostgreSQL: every write transaction holds the tenant's fence lock shared; the move takes it
    exclusively to set ``fenced``, so it waits for the writes in flight, and every later write
    reads the new status (a statement of its own, begun after the lock is granted). SQLite:
    writers are serialized by ``BEGIN IMMEDIATE``, so reading the status inside suffices."""
    status = write_status(conn, tenant_id)
    if status in (None, "active"):
        return
    moving = reject("service_unavailable", "/", "this tenant is being moved to another database; retry shortly"
                    if status == "fenced" else "this tenant has moved to another database")
    moving.retry_after = RETRY_AFTER_SECONDS
    raise moving


RETRY_OBSERVERS: list[Callable[[BaseException], None]] = []  # told of every retry (the metrics)
RETRY_ATTEMPTS = 3
RETRY_AFTER_SECONDS = 1
UNWRITABLE_RETRY_AFTER_SECONDS = 30
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def transient(error: BaseException) -> bool:
    """A database failure that a retry of the whole transaction may not meet again."""
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return True
    text = str(error.orig).lower()
    return "database is locked" in text or "database table is locked" in text


def lost(error: BaseException) -> bool:
    """The database connection itself failed (the server closed it, ``pg_terminate_backend``, a
    network cut): SQLAlchemy has invalidated it, so the pool will not hand it out again."""
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


_UNWRITABLE_SQLITE = ("readonly database", "unable to open database file", "database or disk is full",
                      "disk i/o error")
_UNWRITABLE_SQLSTATES = {"25006", "53100", "53200"}  # read-only transaction, disk full, out of memory
UNWRITABLE = "the database cannot be written at the moment (read-only or full); reads still work; retry later"
_write_failures: dict[str, float] = {}  # database URL -> when a write last failed for want of space or rights
WRITE_FAILURE_MEMORY_SECONDS = 60


def unwritable(error: BaseException) -> bool:
    """The database refused a write because it cannot be written (a read-only file, directory or
    file system, a full disk; on PostgreSQL a read-only transaction or a full disk): issue 9, item 14."""
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return sqlstate in _UNWRITABLE_SQLSTATES or any(text in str(error.orig).lower() for text in _UNWRITABLE_SQLITE)


def note_write_failure(engine: Engine) -> None:
    _write_failures[str(engine.url)] = time.monotonic()


def note_write_success(engine: Engine) -> None:
    _write_failures.pop(str(engine.url), None)


def recent_write_failure(engine: Engine) -> bool:
    when = _write_failures.get(str(engine.url))
    return when is not None and time.monotonic() - when < WRITE_FAILURE_MEMORY_SECONDS


CONNECTION_LOST = "the database connection was lost; retry shortly"


def unavailable_reason(error: BaseException) -> str | None:
    """Why the database cannot serve this request right now, for a 503, or None."""
    if lost(error):
        return CONNECTION_LOST
    if unwritable(error):
        return UNWRITABLE
    return None


def with_retries(attempt: Callable[[], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
    """Run ``attempt`` (one whole transaction) again on a transient failure, a bounded number of
    times, then answer ``service_unavailable`` (503 with Retry-After), never a 500. SQLite's
    "database is locked" has already waited out the busy timeout, so it is not retried. A lost
    connection is a transient failure too when it happens before the commit (nothing was sent to
    commit, so the server rolled the transaction back); during the commit ``UnitOfWork.commit``
    answers 503 itself, as the outcome is unknown."""
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except DBAPIError as error:
            if unwritable(error):  # not retried: it lasts until an operator acts (issue 9, item 14)
                unavailable = reject("service_unavailable", "/", UNWRITABLE)
                unavailable.retry_after = UNWRITABLE_RETRY_AFTER_SECONDS
                raise unavailable from error
            if not transient(error) and not lost(error):
                raise
            if number == attempts or "locked" in str(error.orig).lower():
                unavailable = reject("service_unavailable", "/", "the database is busy; retry shortly")
                unavailable.retry_after = RETRY_AFTER_SECONDS
                raise unavailable from error
            for observe in RETRY_OBSERVERS:
                observe(error)
            time.sleep(0.01 * 4 ** number * (0.5 + random.random()))
