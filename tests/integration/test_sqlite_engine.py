"""The SQLite engine is configured for safety: WAL, synchronous=FULL, foreign keys, a busy
timeout, and write transactions that take the write lock at BEGIN (BEGIN IMMEDIATE)."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.exc import IntegrityError

from salesrefund.store import tables as t
from salesrefund.store.engine import BUSY_TIMEOUT_MS, make_engine
from salesrefund.store.migrate import migrate


@pytest.fixture
def path(tmp_path):
    return tmp_path / "engine.db"


@pytest.fixture
def sqlite_engine(path):
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS marks (id INTEGER PRIMARY KEY, who TEXT)")
    yield engine
    engine.dispose()


def raw(path, timeout: float) -> sqlite3.Connection:
    """A second, independent connection with its own (short) busy timeout, autocommit mode."""
    return sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)


def pragmas(conn) -> dict:
    return {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}


def test_every_connection_has_the_safety_pragmas(sqlite_engine):
    deferred = {"sqlite_begin": "DEFERRED"}  # two writers at once would (rightly) wait for each other
    with sqlite_engine.connect().execution_options(**deferred) as a, \
            sqlite_engine.connect().execution_options(**deferred) as b:  # two pooled DBAPI connections
        assert a.connection.dbapi_connection is not b.connection.dbapi_connection
        for conn in (a, b):
            got = pragmas(conn)
            assert got["journal_mode"].lower() == "wal"
            assert got["synchronous"] == 2  # FULL
            assert got["foreign_keys"] == 1
            assert got["busy_timeout"] > 0
            assert got["busy_timeout"] == BUSY_TIMEOUT_MS


def test_the_file_is_in_wal_mode_for_other_processes_too(sqlite_engine, path):
    other = raw(path, 1)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        other.close()


def test_foreign_keys_are_enforced_on_the_migrated_schema(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    try:
        migrate(engine)
        with pytest.raises(IntegrityError):
            with engine.begin() as conn:
                conn.execute(insert(t.locations).values(tenant_id=424242, code="x", name="orphan"))
    finally:
        engine.dispose()


def test_write_transactions_begin_immediate(sqlite_engine):
    seen = []

    @event.listens_for(sqlite_engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args):
        seen.append(statement.strip().upper())

    with sqlite_engine.begin() as conn:
        conn.execute(text("SELECT 1"))
    assert seen[0] == "BEGIN IMMEDIATE"
    seen.clear()
    with sqlite_engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        conn.execute(text("SELECT 1"))
    assert seen[0] == "BEGIN DEFERRED"


def test_the_write_lock_is_taken_at_begin_before_any_statement(sqlite_engine, path):
    second = raw(path, timeout=0.3)
    try:
        with sqlite_engine.begin():  # nothing written yet
            started = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                second.execute("BEGIN IMMEDIATE")
            waited = time.monotonic() - started
            assert waited >= 0.2, "the second writer waits its busy timeout before giving up"
            # readers are not blocked in WAL mode
            assert second.execute("SELECT count(*) FROM marks").fetchone() == (0,)
        second.execute("BEGIN IMMEDIATE")  # free again once the first commits
        second.execute("INSERT INTO marks (who) VALUES ('second')")
        second.execute("COMMIT")
    finally:
        second.close()


def test_a_deferred_read_does_not_take_the_write_lock(sqlite_engine, path):
    second = raw(path, timeout=0.2)
    try:
        with sqlite_engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            conn.execute(text("SELECT count(*) FROM marks")).scalar()
            second.execute("BEGIN IMMEDIATE")
            second.execute("INSERT INTO marks (who) VALUES ('writer')")
            second.execute("COMMIT")
    finally:
        second.close()


def test_two_engine_writers_are_serialized(sqlite_engine, path):
    """A second writer (default 30 s busy timeout) waits at BEGIN until the first commits."""
    other = make_engine(f"sqlite:///{path}")
    times = {}
    first_holds = threading.Event()

    def first():
        with sqlite_engine.begin() as conn:
            conn.execute(text("INSERT INTO marks (who) VALUES ('first')"))
            first_holds.set()
            time.sleep(0.5)
            times["first_commit"] = time.monotonic()

    def second():
        first_holds.wait(5)
        with other.begin() as conn:
            times["second_begun"] = time.monotonic()
            seen = conn.execute(text("SELECT who FROM marks ORDER BY id")).scalars().all()
            conn.execute(text("INSERT INTO marks (who) VALUES ('second')"))
            times["second_saw"] = seen

    try:
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert times["second_begun"] >= times["first_commit"]
        assert times["second_saw"] == ["first"], "the second writer sees the first's committed row"
    finally:
        other.dispose()
