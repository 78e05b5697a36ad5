"""The rows of a tenant being moved to another database (``service.moves``, issue 15): every
table holding a tenant's rows, copied with their ids; status changes under the tenant's fence
lock. These statements work on whole tenants across two databases, outside any unit of work
(see ``service/docs.md``: a documented exception).
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, delete, func, insert, select, text, update

from . import tables as t
from .tenants import FENCE_EXCLUSIVE

BATCH = 1000


def tenant_tables() -> list[Table]:
    """Every table holding a tenant's rows, parents before children."""
    return [table for table in t.metadata.sorted_tables if "tenant_id" in table.c and table is not t.tenants]


def tenant_named(conn: Connection, name: str):
    return conn.execute(select(t.tenants).where(t.tenants.c.name == name)).mappings().first()


def name_or_id_taken(conn: Connection, name: str, tenant_id: int) -> bool:
    return conn.execute(select(t.tenants.c.id).where(
        (t.tenants.c.name == name) | (t.tenants.c.id == tenant_id))).first() is not None


def ids_taken(src: Connection, dst: Connection, table: Table, tenant_id: int) -> bool:
    """Whether ``dst`` already uses an id of one of the tenant's rows of ``table`` in ``src``."""
    ids = [r[0] for r in src.execute(select(table.c.id).where(table.c.tenant_id == tenant_id))]
    for i in range(0, len(ids), BATCH):
        if dst.execute(select(table.c.id).where(table.c.id.in_(ids[i:i + BATCH])).limit(1)).first():
            return True
    return False


def set_status(conn: Connection, tenant_id: int, status: str, *, fence: bool = False) -> None:
    """Set the tenant's status; with ``fence`` on PostgreSQL first take its fence lock exclusively,
    which waits for every write of the tenant in flight (they hold it shared)."""
    if fence and conn.dialect.name == "postgresql":
        conn.execute(FENCE_EXCLUSIVE, {"t": tenant_id})
    conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id).values(status=status))


def rows_of(conn: Connection, table: Table, tenant_id: int) -> list[dict]:
    order = [c for c in table.primary_key.columns]
    return [dict(r) for r in conn.execute(select(table).where(table.c.tenant_id == tenant_id)
                                          .order_by(*order)).mappings()]


def count(conn: Connection, table: Table, tenant_id: int) -> int:
    return conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)).scalar()


def copy_tenant(src: Connection, dst: Connection, tenant_id: int) -> dict[str, int]:
    """Copy the tenant (``fenced`` in ``dst``) and all its rows, from one consistent read of
    ``src``; on PostgreSQL move ``dst``'s id sequences past the copied ids. Rows per table."""
    if src.dialect.name == "postgresql":
        src.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    row = dict(src.execute(select(t.tenants).where(t.tenants.c.id == tenant_id)).mappings().one())
    dst.execute(insert(t.tenants).values({**row, "status": "fenced"}))
    counts: dict[str, int] = {}
    for table in tenant_tables():
        rows = rows_of(src, table, tenant_id)
        for i in range(0, len(rows), BATCH):
            dst.execute(insert(table), rows[i:i + BATCH])
        counts[table.name] = len(rows)
    if dst.dialect.name == "postgresql":
        _advance_sequences(dst)
    return counts


def _advance_sequences(conn: Connection) -> None:
    """PostgreSQL: move each id sequence past the highest id now in its table (never back)."""
    for table in [t.tenants, *tenant_tables()]:
        if "id" not in table.c:
            continue
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
        top = conn.execute(select(func.max(table.c.id))).scalar()
        if sequence is None or top is None:
            continue
        last, called = conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
        if top > last or (top == last and not called):
            conn.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": top})


def remove_tenant(conn: Connection, tenant_id: int) -> None:
    """Delete a (failed) copy: every row of the tenant, children first, then the tenant."""
    for table in reversed(tenant_tables()):
        conn.execute(delete(table).where(table.c.tenant_id == tenant_id))
    conn.execute(delete(t.tenants).where(t.tenants.c.id == tenant_id))
