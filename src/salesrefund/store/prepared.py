"""Statements prepared once and run on the database driver itself (issue 14).

SQLAlchemy Core costs about 40 µs of Python per statement (cache key, parameter construction,
execution context, result metadata) around a 5 µs SQLite call; a refund runs some thirty of them.
The refund path's statements are built once (``repository``), so here each is compiled once per
dialect and set of parameter names, with its bind and result processors looked up once, and then
run on the DB-API cursor of the unit of work's own connection (same transaction, same locks).

What stays SQLAlchemy's: the SQL text (its compiler writes it, Citus-shaped ids included), the type
conversions (its processors: SQLite dates are text), the error handling (a driver error goes
through ``Connection._handle_dbapi_exception``, so it is the same ``DBAPIError`` and a lost
connection invalidates the pool's connection as before), and the ``before/after_cursor_execute``
events (the fault-injection tests and the profiler listen there).

A statement with Python-side defaults or callables the compiler leaves to the execution context
is not prepared: it runs through SQLAlchemy as before (``run`` falls back by itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement

_UNPREPARABLE = object()


@dataclass(frozen=True)
class Prepared:
    sql: str
    names: tuple[str, ...]                    # parameters in the order the SQL wants them
    positional: bool                          # qmark/numeric (SQLite) or named (psycopg)
    binds: tuple[Callable | None, ...]        # one per name
    keys: tuple[str, ...]                     # result columns (empty: no rows)
    results: tuple[Callable | None, ...]      # one per result column
    constants: dict                           # values the statement carries itself (``state == "posted"``)


_cache: dict[tuple, Any] = {}
MAX_PREPARED = 1_000  # statements kept; past it a new one runs through SQLAlchemy (memory stays bounded)


def prepare(conn: Connection, stmt: ClauseElement, names: tuple[str, ...]) -> Prepared | None:
    """``stmt`` compiled for ``conn``'s dialect with the parameters ``names``; None when it cannot
    be run on the driver alone. Cached by statement identity, dialect and names; the cache keeps
    its statements alive, so it holds at most ``MAX_PREPARED`` (the refund path uses some forty: a
    statement built per call must not grow it without end)."""
    dialect = conn.dialect
    key = (id(stmt), dialect.name, names)
    found = _cache.get(key)
    if found is None:
        if len(_cache) >= MAX_PREPARED:
            return None
        found = _compile(stmt, dialect, names)
        _cache[key] = (stmt, found)  # keeps ``stmt`` alive, so its id is never reused
        return None if found is _UNPREPARABLE else found
    return None if found[1] is _UNPREPARABLE else found[1]


def run(conn: Connection, stmt: ClauseElement, params: dict, *, begin: bool = True):
    """``conn.execute(stmt, params)``, on the driver when ``stmt`` can be prepared (both results
    answer ``all``, ``first``, ``scalar``, ``scalar_one``, ``mappings`` and ``rowcount``).
    ``begin=False``: see ``execute`` (the SQLAlchemy fallback begins as the connection's options say)."""
    ready = prepare(conn, stmt, tuple(params))
    if ready is None:
        return conn.execute(stmt, params)
    return execute(conn, ready, parameters(ready, params), begin=begin)


def _compile(stmt, dialect, names):
    compiled = stmt.compile(dialect=dialect, column_keys=list(names))
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.postfetch_lastrowid:
        return _UNPREPARABLE
    if getattr(compiled, "_numeric_binds", False):
        return _UNPREPARABLE
    processors = compiled._bind_processors
    positional = dialect.positional
    order = tuple(compiled.positiontup) if positional else tuple(compiled.bind_names.values())
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    constants = {}
    for name in order:
        bind = by_name[name]
        if bind.callable is not None or bind.expanding:
            return _UNPREPARABLE  # computed at execution or an IN list: leave it to SQLAlchemy
        if name not in names:
            if bind.required:
                return _UNPREPARABLE
            constants[name] = bind.value
    columns = compiled._result_columns
    results = tuple(col[3]._cached_result_processor(dialect, None) for col in columns)
    return Prepared(compiled.string, order, positional, tuple(processors.get(n) for n in order),
                    tuple(col[0] for col in columns), results, constants)


def parameters(prepared: Prepared, params: dict):
    if prepared.constants:
        params = {**prepared.constants, **params}
    values = [params[n] if bind is None else bind(params[n]) for n, bind in zip(prepared.names, prepared.binds)]
    return tuple(values) if prepared.positional else dict(zip(prepared.names, values))


def execute(conn: Connection, prepared: Prepared, params, *, many: bool = False, begin: bool = True) -> "Result":
    """Run on the driver's cursor, with SQLAlchemy's cursor events and error handling.
    ``begin=False``: a lone read outside any transaction of ours (``tenants.credential_by_token_hash``)."""
    if begin and not conn.in_transaction():
        conn.begin()  # what SQLAlchemy's autobegin does (on SQLite: BEGIN IMMEDIATE, store/engine.py)
    dispatch = conn.dispatch
    statement = prepared.sql
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        for listener in dispatch.before_cursor_execute:
            result = listener(conn, cursor, statement, params, None, many)
            if result is not None:
                statement, params = result
        if many:
            cursor.executemany(statement, params)
        else:
            cursor.execute(statement, params)
        for listener in dispatch.after_cursor_execute:
            listener(conn, cursor, statement, params, None, many)
        rows = cursor.fetchall() if prepared.keys and cursor.description is not None else []
        return Result(prepared, rows, cursor.rowcount)
    except BaseException as error:
        if isinstance(error, conn.dialect.loaded_dbapi.Error):
            conn._handle_dbapi_exception(error, statement, params, cursor, None)
        raise
    finally:
        cursor.close()


class Result:
    """What the store reads from a statement's result: rows as tuples or mappings, a scalar, the
    row count (the caps' conditional updates)."""

    def __init__(self, prepared: Prepared, rows: list, rowcount: int):
        self.keys = prepared.keys
        if any(prepared.results):
            rows = [tuple(v if p is None else p(v) for p, v in zip(prepared.results, row)) for row in rows]
        self.rows = rows
        self.rowcount = rowcount

    def all(self) -> list[tuple]:
        return self.rows

    def first(self):
        return self.rows[0] if self.rows else None

    def scalar(self):
        return self.rows[0][0] if self.rows else None

    def scalar_one(self):
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self.rows[0][0]

    def scalars(self) -> list:
        return [row[0] for row in self.rows]

    def mappings(self) -> "Mappings":
        return Mappings([dict(zip(self.keys, row)) for row in self.rows])

    def __iter__(self):
        return iter(self.rows)


class Mappings(list):
    def first(self):
        return self[0] if self else None

    def one(self):
        if len(self) != 1:
            raise LookupError(f"expected one row, got {len(self)}")
        return self[0]

    def all(self) -> list[dict]:
        return list(self)


class Savepoint:
    """A savepoint of the connection's transaction, set and released on the driver (issue 14:
    SQLAlchemy's nested transaction costs some 0.3 ms of Python per refund around two tiny
    statements). ``commit`` releases it, ``rollback`` undoes what ran since and releases it; an
    exception that leaves it open is undone with the whole transaction. ``name`` must be unique
    among the transaction's open savepoints (the unit of work numbers them)."""

    def __init__(self, conn: Connection, name: str):
        self.conn = conn
        self.name = name
        self._run(f"SAVEPOINT {name}")

    def commit(self) -> None:
        self._end(f"RELEASE SAVEPOINT {self.name}")

    def rollback(self) -> None:
        self._end(f"ROLLBACK TO SAVEPOINT {self.name}", f"RELEASE SAVEPOINT {self.name}")

    def _end(self, *statements: str) -> None:
        for sql in statements:
            self._run(sql)

    def _run(self, sql: str) -> None:
        positional = self.conn.dialect.positional
        execute(self.conn, Prepared(sql, (), positional, (), (), (), {}), () if positional else None)
