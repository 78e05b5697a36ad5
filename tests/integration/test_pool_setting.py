"""``SALESREFUND_DB_POOL`` sets the PostgreSQL connection pool of every process (issue 5: fewer
connections per worker served more refunds on 2 cores). Creating an engine connects nothing."""

from __future__ import annotations

from salesrefund.bootstrap import ENV_POOL, engine_for

URL = "postgresql://nobody@127.0.0.1:1/none"


def test_the_pool_size_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(ENV_POOL, "3")
    engine = engine_for(URL, run_migrations=False)
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 3)


def test_the_default_pool_is_ten_and_ten_more_on_demand(monkeypatch):
    monkeypatch.delenv(ENV_POOL, raising=False)
    engine = engine_for(URL, run_migrations=False)
    assert (engine.pool.size(), engine.pool._max_overflow) == (10, 10)
