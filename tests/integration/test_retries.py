"""Serialization failures and deadlocks are retried a bounded number of times with the same
idempotency key, then answered 503 with Retry-After, never 500 (issue 4). The failures are
injected by a test-only engine hook, raising what psycopg raises (an error with its SQLSTATE)."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from salesrefund.service.uow import RETRY_ATTEMPTS


class PgError(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(f"injected {sqlstate}")
        self.sqlstate = sqlstate


class FailFirst:
    """Fails the first INSERT INTO refunds of the next ``times`` transactions with ``sqlstate``."""

    def __init__(self, engine, sqlstate: str, times: int):
        self.engine, self.sqlstate, self.left = engine, sqlstate, times
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.left > 0 and statement.lstrip().upper().startswith("INSERT INTO REFUNDS"):
            self.left -= 1
            raise OperationalError(statement, parameters, PgError(self.sqlstate))

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self)


BODY = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_a_transient_failure_is_retried_and_the_refund_is_made_once(books, engine, sqlstate):
    api = books["api"]
    hook = FailFirst(engine, sqlstate, times=RETRY_ATTEMPTS - 1)
    try:
        response = api.post("/v1/refunds", BODY, key=f"retry-{sqlstate}")
    finally:
        hook.close()
    assert response.status_code == 201, response.text
    assert len(api.get("/v1/refunds", invoice="INV-1").json()["items"]) == 1


def test_a_failure_that_persists_answers_503_with_retry_after_and_writes_nothing(books, engine):
    api = books["api"]
    hook = FailFirst(engine, "40001", times=RETRY_ATTEMPTS)
    try:
        response = api.post("/v1/refunds", BODY, key="retry-exhausted")
    finally:
        hook.close()
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["code"] == "service_unavailable"
    assert api.get("/v1/refunds", invoice="INV-1").json()["items"] == []
    retry = api.post("/v1/refunds", BODY, key="retry-exhausted")  # nothing was stored under the key
    assert retry.status_code == 201


def test_other_database_errors_are_not_retried(books, engine):
    api = books["api"]
    hook = FailFirst(engine, "23505", times=1)  # unique violation: not transient
    try:
        response = api.post("/v1/refunds", BODY)
    finally:
        hook.close()
    assert response.status_code == 500
    assert hook.left == 0
    assert api.get("/v1/refunds", invoice="INV-1").json()["items"] == []
