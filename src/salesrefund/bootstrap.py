"""Wires engine, migrations and app for the CLI, the server and the tests alike."""

from __future__ import annotations

import os

from sqlalchemy import Engine

from .config import database_url, read_database_url
from .app import create_app
from .service.refunds import Settings
from .store.engine import make_engine
from .store.migrate import migrate

ENV_UNGUARDED = "SALESREFUND_TEST_UNGUARDED_CAPS"  # test-only: the control that must over-refund


ENV_DISPATCH = "SALESREFUND_DISPATCH"  # 0: serve delivers no webhooks (run `salesrefund dispatch`)
ENV_POOL = "SALESREFUND_DB_POOL"  # PostgreSQL connections per process (and as many more on demand)


def engine_for(url: str | None = None, *, run_migrations: bool = True) -> Engine:
    engine = make_engine(database_url(url), pool_size=int(os.environ.get(ENV_POOL, "10")))
    if run_migrations:
        migrate(engine)
        from .service import views
        from .store import credentials
        views.use_key(credentials.server_secret(engine, "ids"))  # ids shown to tenants, as the server shows them
    return engine


def read_engine_for(url: str | None = None) -> Engine | None:
    """The replica's engine (``SALESREFUND_READ_DATABASE_URL``), or None. Never migrated: a
    standby follows its primary's schema."""
    url = url or read_database_url()
    return make_engine(url, pool_size=int(os.environ.get(ENV_POOL, "10"))) if url else None


def app_from_environment():
    """The ASGI app for ``uvicorn --factory`` (one per worker process)."""
    from .http import logs
    logs.configure()  # JSON lines (or console in a terminal), secrets redacted (issue 13)
    engine = engine_for(None, run_migrations=False)
    settings = Settings(unguarded_caps=os.environ.get(ENV_UNGUARDED) == "1")
    app = create_app(engine, settings=settings, read_engine=read_engine_for())
    if os.environ.get(ENV_DISPATCH, "1") != "0":  # webhooks delivered from every worker (issue 13)
        from .http.webhooks import install_dispatcher
        install_dispatcher(app, engine)
    return app
