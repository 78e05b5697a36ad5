"""Issue 9, item 14: a SQLite database that cannot be written.

At start the server says what is wrong in one line (it used to die with a traceback); while it
runs, requests that write answer 503 (in each door's shape) and ``/healthz`` reports it, while
reads keep working (every authenticated request used to be a generic 500, as the rate-limit side
file could not be written, while ``/healthz`` said ok).

The start-up cases run the real command as an unprivileged user (root may write anywhere), so
they need root and ``setpriv``; the running cases make the real SQLite driver's error appear at
the write (a file cannot be made read-only under a process that holds it open)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from salesrefund.service import uow
from salesrefund.store.engine import sqlite_write_problem

NOBODY = 65534
SALESREFUND = str(Path(sys.executable).with_name("salesrefund"))


def as_nobody(*args: str, cwd: Path):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the command as an unprivileged user")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "SALESREFUND_RATE_LIMIT": "0"}
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                           SALESREFUND, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


@pytest.fixture
def shared_dir():
    """A directory the unprivileged user can reach (pytest's own are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="salesrefund-ro-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_read_only_data_directory_is_one_line_at_start(shared_dir):
    tmp_path = shared_dir
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o555)  # owned by root: read-only for the unprivileged user
    for command in (["migrate"], ["serve", "--port", "8799"]):
        result = as_nobody(*command, "--db", f"sqlite:///{data / 'books.db'}", cwd=tmp_path)
        assert result.returncode == 2, (result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert lines[0].startswith("salesrefund: the data directory") and "read-only" in lines[0], lines


def test_a_read_only_database_file_is_one_line_at_start(shared_dir):
    tmp_path = shared_dir
    database = tmp_path / "books.db"
    sqlite3.connect(database).close()
    os.chmod(tmp_path, 0o777)
    os.chmod(database, 0o444)
    result = as_nobody("migrate", "--db", f"sqlite:///{database}", cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and "read-only" in result.stderr, result.stderr


def test_the_write_problem_names_the_directory(tmp_path, monkeypatch):
    database = tmp_path / "books.db"
    assert sqlite_write_problem(f"sqlite:///{database}") is None
    assert sqlite_write_problem("postgresql://x@y/z") is None
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    assert str(tmp_path) in sqlite_write_problem(f"sqlite:///{database}")


class ReadOnly:
    """Every write statement fails as SQLite fails on a read-only database or directory."""

    def __init__(self, engine):
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise OperationalError(statement, parameters,
                                   sqlite3.OperationalError("attempt to write a readonly database"))

    def close(self):
        if event.contains(self.engine, "before_cursor_execute", self):
            event.remove(self.engine, "before_cursor_execute", self)
        uow._write_failures.clear()


@pytest.fixture
def read_only(engine):
    hook = ReadOnly(engine)
    yield hook
    hook.close()


def test_while_running_writes_answer_503_reads_work_and_healthz_says_so(books, engine, client, read_only):
    api = books["api"]
    assert client.get("/healthz").status_code == 200  # nothing has failed to write yet
    before = api.get("/v1/invoices/INV-1")
    assert before.status_code == 200  # reads keep working (the rate-limit count cannot be written)
    for response in (api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}),
                     api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}, key="ro-1"),
                     api.post("/v1/customers", {"code": "C-RO", "name": "x"}),
                     api.post("/v1/invoices", {"number": "INV-RO", "customer": "C1", "date": "2026-06-01", "lines": [
                         {"product": "WRAP", "quantity": "1", "unit_price": "2.00", "tax_rate": "0"}]})):
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable" and "read-only" in response.json()["detail"]
        assert response.headers["Retry-After"]
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "read_only", health.text
    assert api.get("/v1/refunds").json()["items"] == []
    assert api.get("/v1/invoices/INV-1").json() == before.json()
    read_only.close()
    assert client.get("/healthz").status_code == 200
    ok = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}, key="ro-1")
    assert ok.status_code == 201, ok.text  # the key was not spent on the failure


def test_a_door_answers_an_unwritable_database_503_in_its_own_shape(engine, clock, api_for):
    """Internom's envelope, 503 with Retry-After, and nothing written."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "doors"))
    import test_internom as internom

    shop = internom.make_shop(engine, clock, api_for)
    hook = ReadOnly(engine)
    try:
        response = shop["post"](internom.example())
    finally:
        hook.close()
    body = internom.error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "30" and "read-only" in body["message"]
    assert internom.refunds(shop) == []


@pytest.mark.parametrize("make", ["lost", "unwritable"])
def test_common_call_turns_an_unavailable_database_into_503(make):
    import asyncio

    from salesrefund.domain.errors import RefundError
    from salesrefund.http.dialects import common

    def failing():
        if make == "lost":
            raise OperationalError("SELECT 1", {}, ConnectionError("gone"), connection_invalidated=True)
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("attempt to write a readonly database"))

    with pytest.raises(RefundError) as raised:
        asyncio.run(common.call(failing))
    error = raised.value
    assert (error.code, error.status) == ("service_unavailable", 503)
    assert error.retry_after == (1 if make == "lost" else 30)
