"""Databases for the benchmarks: fresh ones per scenario, and cached growth databases.

SQLite files live under ``bench/data/`` (git-ignored; the same disk the project is on, never a
tmpfs, so ``synchronous=FULL`` really waits for the disk). PostgreSQL databases are created on the
server of ``--pg-url`` and dropped afterwards, except the cached growth databases, which are kept
and copied with ``CREATE DATABASE ... TEMPLATE`` so a measurement never changes the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from salesrefund.store.engine import make_engine, normalize_url
from salesrefund.store.migrate import migrate

from .common import DATA, ROOT

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1/test"


def pg_base_url() -> str:
    return os.environ.get("SALESREFUND_BENCH_PG_URL") or DEFAULT_PG_URL


@dataclass
class Database:
    kind: str  # "sqlite" | "postgres"
    url: str
    path: Path | None = None  # SQLite file
    name: str | None = None  # PostgreSQL database name
    admin_url: str | None = None
    keep: bool = False
    _dropped: bool = field(default=False, repr=False)

    def engine(self, *, durable: bool = True) -> Engine:
        """The product's own engine for this database (``make_engine``: WAL, synchronous=FULL,
        BEGIN IMMEDIATE on SQLite). ``durable=False`` is for building fixtures only: the same
        engine with the fsync switched off (SQLite ``synchronous=OFF``, PostgreSQL
        ``synchronous_commit=off``); no figure is ever measured on it."""
        engine = make_engine(self.url)
        if not durable:
            _no_fsync(engine)
        return engine

    def drop(self) -> None:
        if self.keep or self._dropped:
            return
        self._dropped = True
        if self.kind == "sqlite" and self.path is not None:
            for suffix in ("", "-wal", "-shm", "-writer", "-counters", "-counters-wal", "-counters-shm",
                           "-counters-writer"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
        elif self.kind == "postgres" and self.name:
            admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            finally:
                admin.dispose()


def _no_fsync(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _off(dbapi_connection, _record):  # runs after the product's own connect hook
            dbapi_connection.execute("PRAGMA synchronous=OFF")
    else:
        @event.listens_for(engine, "connect")
        def _off(dbapi_connection, _record):
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            dbapi_connection.execute("SET synchronous_commit TO off")
            dbapi_connection.autocommit = autocommit


def workdir(run_id: str) -> Path:
    path = DATA / f"run-{run_id}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def fresh(kind: str, where: Path, label: str, *, migrate_now: bool = True) -> Database:
    """A new, empty, migrated database."""
    if kind == "sqlite":
        path = where / f"{label}-{uuid.uuid4().hex[:8]}.db"
        db = Database("sqlite", f"sqlite:///{path}", path=path)
    else:
        admin_url = make_url(normalize_url(pg_base_url()))
        name = f"bench_{label}_{uuid.uuid4().hex[:8]}".lower().replace("-", "_")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        db = Database("postgres", admin_url.set(database=name).render_as_string(hide_password=False),
                      name=name, admin_url=admin_url.render_as_string(hide_password=False))
    if migrate_now:
        engine = make_engine(db.url)
        try:
            migrate(engine)
        finally:
            engine.dispose()
    return db


# -- cached growth databases ---------------------------------------------------------------------------

_KEY_FILES = ["src/salesrefund/store/tables.py", "src/salesrefund/store/repository.py",
              "src/salesrefund/service/refunds.py", "src/salesrefund/service/idempotency.py"]


def schema_key(builder_version: str) -> str:
    """A short hash of what decides the rows a stored refund has (schema, migrations, the write
    path): a cached database built by another version of these is rebuilt, never reused."""
    digest = hashlib.sha256(builder_version.encode())
    files = [ROOT / f for f in _KEY_FILES]
    files += sorted((ROOT / "src/salesrefund/store/migrations/versions").glob("*.py"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:10]


def cached_name(kind: str, size: int, key: str) -> str:
    return f"bench_growth_{size}_{key}"


def cached_exists(kind: str, size: int, key: str) -> bool:
    name = cached_name(kind, size, key)
    if kind == "sqlite":
        return (DATA / f"{name}.db").exists()
    admin = create_engine(make_url(normalize_url(pg_base_url())), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    finally:
        admin.dispose()


def cached_path(size: int, key: str) -> Path:
    return DATA / f"{cached_name('sqlite', size, key)}.db"


def promote_to_cache(db: Database, size: int, key: str) -> None:
    """Make a freshly built database the cached one (atomically for SQLite: checkpoint, rename)."""
    name = cached_name(db.kind, size, key)
    if db.kind == "sqlite":
        conn = sqlite3.connect(db.path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        for suffix in ("-wal", "-shm"):
            Path(str(db.path) + suffix).unlink(missing_ok=True)
        target = cached_path(size, key)
        os.replace(db.path, target)
        db.path, db.url = target, f"sqlite:///{target}"
    else:
        admin = create_engine(db.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'ALTER DATABASE "{db.name}" RENAME TO "{name}"'))
        finally:
            admin.dispose()
        db.name = name
        db.url = make_url(db.url).set(database=name).render_as_string(hide_password=False)
    db.keep = True


def copy_of_cached(kind: str, size: int, key: str, where: Path) -> Database:
    """A scratch copy of a cached growth database (measurements add refunds to the copy only)."""
    name = cached_name(kind, size, key)
    if kind == "sqlite":
        path = where / f"{name}-{uuid.uuid4().hex[:6]}.db"
        shutil.copyfile(cached_path(size, key), path)
        return Database("sqlite", f"sqlite:///{path}", path=path)
    admin_url = make_url(normalize_url(pg_base_url()))
    copy = f"{name}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))
    finally:
        admin.dispose()
    return Database("postgres", admin_url.set(database=copy).render_as_string(hide_password=False), name=copy,
                    admin_url=admin_url.render_as_string(hide_password=False))


def transfer(source: Path, db: Database) -> None:
    """Copy every row of a migrated SQLite database into a freshly migrated, empty PostgreSQL one
    (``COPY``, with triggers and foreign-key checks off while it runs, so the caller must run
    ``salesrefund check`` on the result), then move each id sequence past its rows. Used for the
    1 M-refund growth database: its builder writes the engine's rows at about 6 k refunds a second
    on SQLite but 370 on PostgreSQL, one round trip per statement."""
    import psycopg

    from salesrefund.store import tables as t

    src = sqlite3.connect(source)
    url = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(url) as pg:
            pg.execute("SET session_replication_role = replica")
            pg.execute("SET TIME ZONE 'UTC'")  # SQLite keeps UTC times without an offset
            for table in t.metadata.sorted_tables:
                columns = ", ".join(f'"{c.name}"' for c in table.columns)
                with pg.cursor().copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
                    for row in src.execute(f'SELECT {columns} FROM "{table.name}"'):
                        copy.write_row(row)
            for table in t.metadata.sorted_tables:
                if "id" in table.c and table.c.id.primary_key:
                    pg.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                               f'coalesce(max(id), 0) + 1, false) FROM "{table.name}"')
    finally:
        src.close()


def pg_available() -> tuple[bool, str]:
    try:
        engine = create_engine(make_url(normalize_url(pg_base_url())), pool_pre_ping=True)
        try:
            with engine.connect() as conn:
                version = conn.execute(text("SHOW server_version")).scalar()
                sync = conn.execute(text("SHOW synchronous_commit")).scalar()
                fsync = conn.execute(text("SHOW fsync")).scalar()
        finally:
            engine.dispose()
        return True, f"PostgreSQL {version} (synchronous_commit={sync}, fsync={fsync})"
    except Exception as error:  # noqa: BLE001 - any failure means "not available", reported as such
        return False, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
