"""The unit of work: one database transaction, the only place that commits."""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timezone
from typing import Callable, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from ..domain.errors import RefundError, reject
from ..store.repository import TenantStore


T = TypeVar("T")


class Clock:
    """Wall-clock time; tests substitute a fixed one."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def today_in(self, tz_name: str) -> date:
        return self.now().astimezone(ZoneInfo(tz_name)).date()


class UnitOfWork:
    """``with UnitOfWork(engine, tenant_id) as uow: ... uow.commit()``; anything else rolls back.

    Writers start with ``BEGIN IMMEDIATE`` on SQLite (the write lock up front); readers
    (``write=False``) with a deferred ``BEGIN`` so they never wait for a writer.
    """

    def __init__(self, engine: Engine, tenant_id: int, *, write: bool = True):
        self.engine = engine
        self.tenant_id = tenant_id
        self.write = write

    def __enter__(self) -> "UnitOfWork":
        self.conn = self.engine.connect()
        if not self.write:
            self.conn = self.conn.execution_options(sqlite_begin="DEFERRED")
        self.tx = self.conn.begin()
        self.store = TenantStore(self.conn, self.tenant_id)
        return self

    def savepoint(self):
        return self.conn.begin_nested()

    def commit(self) -> None:
        self.tx.commit()

    def __exit__(self, exc_type, exc, tb) -> None:
        """Roll back whatever was not committed. After an unexpected error (a failed statement or
        commit, not a business-rule rejection) the connection is discarded rather than pooled, so
        no half-finished transaction can reach the next request."""
        broken = exc_type is not None and not issubclass(exc_type, RefundError)
        try:
            if self.tx.is_active:
                self.tx.rollback()
        except Exception:
            broken = True
        finally:
            if broken:
                self.conn.invalidate()
            self.conn.close()


RETRY_OBSERVERS: list[Callable[[BaseException], None]] = []  # told of every retry (the metrics)
RETRY_ATTEMPTS = 3
RETRY_AFTER_SECONDS = 1
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


def with_retries(attempt: Callable[[], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
    """Run ``attempt`` (one whole transaction) again on a transient failure, a bounded number of
    times, then answer ``service_unavailable`` (503 with Retry-After), never a 500. SQLite's
    "database is locked" has already waited out the busy timeout, so it is not retried."""
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except DBAPIError as error:
            if not transient(error):
                raise
            if number == attempts or "locked" in str(error.orig).lower():
                unavailable = reject("service_unavailable", "/", "the database is busy; retry shortly")
                unavailable.retry_after = RETRY_AFTER_SECONDS
                raise unavailable from error
            for observe in RETRY_OBSERVERS:
                observe(error)
            time.sleep(0.01 * 4 ** number * (0.5 + random.random()))
