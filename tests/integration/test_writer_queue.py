"""SQLite writers queue on a file lock before BEGIN IMMEDIATE (issue 5, store/engine.py): a
waiting writer is let in the moment the one before it ends (SQLite's own busy handler sleeps up
to 100 ms between tries), across threads and processes; a writer that fails, rolls back or dies
leaves the queue; the rate-limit counts live beside the database and are shared by processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from salesrefund.bootstrap import engine_for
from salesrefund.service import limits
from salesrefund.store.engine import make_engine, writer_queue


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "queue.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE log (who TEXT, at REAL)"))
    engine.dispose()
    return path


def _writer_script(path: Path, body: str) -> str:
    return textwrap.dedent(f"""
        import sys, time
        from sqlalchemy import text
        from salesrefund.store.engine import make_engine
        engine = make_engine("sqlite:///{path}")
    """) + textwrap.dedent(body)


def test_a_writer_in_another_process_waits_for_the_queue_and_enters_at_once(db):
    engine = make_engine(f"sqlite:///{db}")
    other = subprocess.Popen([sys.executable, "-c", _writer_script(db, """
        print("ready", flush=True)
        sys.stdin.readline()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO log VALUES ('other', :t)"), {"t": time.time()})
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "ready"
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO log VALUES ('first', :t)"), {"t": time.time()})
            other.stdin.write("go\n")
            other.stdin.flush()
            assert _waits_on_the_queue(db, other.pid), "the other writer should block on the queue's file lock"
            released = time.time()
        assert other.wait(timeout=30) == 0
    finally:
        other.kill()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT who, at FROM log ORDER BY rowid")).all()
    assert [who for who, _ in rows] == ["first", "other"]
    assert rows[1][1] >= released  # it waited for the first writer's commit
    engine.dispose()


def _waits_on_the_queue(db: Path, pid: int, seconds: float = 10) -> bool:
    """/proc/locks lists a process blocked on a lock with ``->``: is ``pid`` blocked on the queue
    file (``<db>-writer``), i.e. in the kernel, not polling in SQLite's busy handler?"""
    inode = Path(f"{db}-writer").stat().st_ino
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if "->" in fields and "FLOCK" in fields and str(pid) in fields and fields[-3].endswith(f":{inode}"):
                return True
        time.sleep(0.02)
    return False


def test_the_queue_is_reentrant_for_its_thread_and_exclusive_for_others(db):
    queue = writer_queue(str(db))
    queue.acquire()
    queue.acquire()  # the same thread: no wait on itself
    entered = threading.Event()

    def other():
        queue.acquire()
        entered.set()
        queue.release()

    thread = threading.Thread(target=other)
    thread.start()
    queue.release()
    assert not entered.wait(0.2), "another thread entered while the first still held the queue"
    queue.release()
    assert entered.wait(5)
    thread.join()


def test_a_failed_or_rolled_back_writer_leaves_the_queue(db):
    engine = make_engine(f"sqlite:///{db}")
    with pytest.raises(Exception):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO no_such_table VALUES (1)"))
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(text("INSERT INTO log VALUES ('rolled back', 0)"))
        tx.rollback()
    done = threading.Event()

    def write():
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO log VALUES ('next', 0)"))
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(5), "the queue was still held after a failure and a rollback"
    engine.dispose()


def test_a_writer_killed_inside_its_transaction_leaves_the_queue(db):
    holder = subprocess.Popen([sys.executable, "-c", _writer_script(db, """
        conn = engine.connect()
        conn.begin()
        conn.execute(text("INSERT INTO log VALUES ('killed', 0)"))
        print("holding", flush=True)
        time.sleep(120)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
    finally:
        holder.kill()
        holder.wait()
    engine = make_engine(f"sqlite:///{db}")
    started = time.monotonic()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO log VALUES ('after', 0)"))
    assert time.monotonic() - started < 5
    with engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM log")).scalars().all() == ["after"]
    engine.dispose()


def test_rate_limit_counts_are_shared_by_processes_and_kept_beside_the_database(tmp_path):
    db = tmp_path / "migrated.db"
    engine = engine_for(f"sqlite:///{db}")
    window = int(time.time()) // limits.WINDOW_SECONDS
    subprocess.run([sys.executable, "-c", _writer_script(db, f"""
        from salesrefund.service import limits
        for _ in range(3):
            limits._count(limits.counts_engine(engine), 7, {window})
    """)], check=True, timeout=60)
    assert limits._count(limits.counts_engine(engine), 7, window) == 4
    assert Path(f"{db}-counters").exists()
    with engine.connect() as conn:  # nothing counted in the database itself
        assert conn.execute(text("SELECT count(*) FROM rate_windows")).scalar() == 0
    engine.dispose()
