"""The unit of work: one database transaction, the only place that commits."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from ..domain.errors import RefundError
from ..store.repository import TenantStore


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
