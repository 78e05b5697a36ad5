"""The prepared-statement cache is bounded: statements built per call fall back to SQLAlchemy once
it is full, and still run correctly."""

from __future__ import annotations

from sqlalchemy import bindparam, column, create_engine, select, table

from salesrefund.store import prepared


def test_the_cache_stops_growing_at_its_limit_and_statements_still_run(monkeypatch):
    monkeypatch.setattr(prepared, "_cache", {})
    monkeypatch.setattr(prepared, "MAX_PREPARED", 5)
    engine = create_engine("sqlite://")
    numbers = table("numbers", column("n"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE numbers (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO numbers VALUES (1), (2), (3)")
        kept = select(numbers.c.n).where(numbers.c.n == bindparam("n"))
        assert prepared.prepare(conn, kept, ("n",)) is not None
        for i in range(20):  # a new statement object every time, as a statement built per call is
            stmt = select(numbers.c.n).where(numbers.c.n >= bindparam("n"))
            ready = prepared.prepare(conn, stmt, ("n",))
            rows = (conn.execute(stmt, {"n": 2}).all() if ready is None
                    else prepared.execute(conn, ready, prepared.parameters(ready, {"n": 2})).all())
            assert sorted(r[0] for r in rows) == [2, 3]
        assert len(prepared._cache) == 5
        assert prepared.prepare(conn, kept, ("n",)) is not None  # what is cached stays prepared
