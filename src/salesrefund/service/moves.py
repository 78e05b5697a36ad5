"""Moving a tenant to another database (``salesrefund tenant move``, issue 15).

1. **Preflight**, nothing changed yet: the tenant exists and is active in the source; the target
   (migrated) holds no tenant of that name and none of the tenant's row ids (rows are copied with
   their ids, so every reference inside the tenant stays as it is; give each database its own id
   range, or move into a database that does not reuse them).
2. **Fence**: the source's tenant becomes ``fenced``; on PostgreSQL under the tenant's fence
   lock taken exclusively, so the move waits for the writes in flight and every later write is
   refused (503 ``service_unavailable``, Retry-After, nothing written). Reads go on.
3. **Copy** every row of the tenant, table by table in foreign-key order, from one read of the
   source into one transaction on the target, where the tenant is ``fenced`` too. PostgreSQL
   sequences are moved past the copied ids.
4. **Verify**: the row counts per table are equal, and ``salesrefund check`` finds nothing about
   the tenant in the target. On any failure the copy is deleted from the target and the source's
   tenant is active again: the move changed nothing.
5. **Switch**: the target's tenant becomes ``active``, then the source's ``moved`` (its writes
   and its requests are refused from then on; its rows stay, for the record, until removed).

Rate-limit windows are not copied (they are counters of the current minute).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..domain.errors import reject
from ..store import moves as rows
from ..store.engine import Engine
from ..store.moves import tenant_tables  # noqa: F401 (what a move copies)
from .check import run_checks


def _set_status(engine: Engine, tenant_id: int, status: str, *, fence: bool = False) -> None:
    with engine.begin() as conn:
        rows.set_status(conn, tenant_id, status, fence=fence)


def _fail(message: str, **params):
    return reject("move_failed", "/", message, **params)


def move_tenant(source: Engine, target: Engine, name: str, *,
                on_fenced: Callable[[], None] | None = None) -> dict:
    """Move tenant ``name`` from ``source`` to ``target`` (both migrated); a report of what was
    copied. Raises ``RefundError`` (code ``move_failed``) with nothing changed on failure."""
    with source.connect() as conn:
        tenant = rows.tenant_named(conn, name)
    if tenant is None:
        raise _fail("no tenant {name} in the source database", name=name)
    if tenant["status"] != "active":
        raise _fail("tenant {name} is {status} in the source database", name=name, status=tenant["status"])
    tenant_id = tenant["id"]
    _preflight(source, target, tenant)

    started = time.monotonic()
    _set_status(source, tenant_id, "fenced", fence=True)
    try:
        if on_fenced is not None:
            on_fenced()
        counts = _copy(source, target, tenant_id)
        _verify(source, target, tenant_id, counts)
    except BaseException:
        _remove_copy(target, tenant_id)
        _set_status(source, tenant_id, "active")
        raise
    _set_status(target, tenant_id, "active")
    _set_status(source, tenant_id, "moved")
    return {"tenant": name, "id": tenant_id, "rows": counts, "total_rows": sum(counts.values()),
            "fenced_seconds": round(time.monotonic() - started, 3), "checks": "ok"}


def _preflight(source: Engine, target: Engine, tenant) -> None:
    with target.connect() as conn:
        if rows.name_or_id_taken(conn, tenant["name"], tenant["id"]):
            raise _fail("the target database already has tenant {name} or tenant id {id}",
                        name=tenant["name"], id=tenant["id"])
    with source.connect() as src, target.connect() as dst:
        for table in rows.tenant_tables():
            if "id" in table.c and rows.ids_taken(src, dst, table, tenant["id"]):
                raise _fail("the target database already uses ids of the tenant's {table}; give each "
                                "database its own id range", table=table.name)


def _copy(source: Engine, target: Engine, tenant_id: int) -> dict[str, int]:
    with source.connect().execution_options(sqlite_begin="DEFERRED") as src, target.begin() as dst:
        return rows.copy_tenant(src, dst, tenant_id)


def _verify(source: Engine, target: Engine, tenant_id: int, counts: dict[str, int]) -> None:
    with source.connect() as src, target.connect() as dst:
        for table in rows.tenant_tables():
            there, here = rows.count(dst, table, tenant_id), rows.count(src, table, tenant_id)
            if there != here or there != counts[table.name]:
                raise _fail("row counts differ after the copy: {table} has {here} rows in the source, "
                            "{there} in the target", table=table.name, here=here, there=there)
    findings = [f for found in run_checks(target).values() for f in found if f.tenant_id == tenant_id]
    if findings:
        raise _fail("salesrefund check failed on the copy: {detail}", detail=findings[0].detail)


def _remove_copy(target: Engine, tenant_id: int) -> None:
    with target.begin() as conn:
        rows.remove_tenant(conn, tenant_id)
