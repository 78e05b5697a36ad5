"""Tenants and their credentials: the rows above any one tenant's books (R19).

``Tenants`` wraps the connection of a unit of work (``service.uow.UnitOfWork.tenants``). A
statement that changes a tenant's rows names the tenant (updates of a credential by id carry the
tenant too); creating a tenant is the one write that has no tenant yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import Connection, Engine, bindparam, insert, select, text, update

from . import prepared
from . import tables as t

_c = t.credentials.c
_CREDENTIAL = (select(_c.id, _c.tenant_id, _c.permissions, _c.expires_at, _c.revoked_at,
                      t.tenants.c.currency, t.tenants.c.currency_exponent, t.tenants.c.status)
               .join(t.tenants, t.tenants.c.id == _c.tenant_id)
               .where(_c.token_hash == bindparam("token_hash")))  # built once: it runs on every request


class Tenants:
    def __init__(self, conn: Connection):
        self.conn = conn

    # -- tenants ------------------------------------------------------------------------------
    def named(self, name: str):
        """The tenant row called ``name``, or None."""
        return self.conn.execute(select(t.tenants).where(t.tenants.c.name == name)).mappings().first()

    def id_named(self, name: str) -> int | None:
        row = self.conn.execute(select(t.tenants.c.id).where(t.tenants.c.name == name)).first()
        return row[0] if row else None

    def ids_named_like(self, pattern: str) -> list[int]:
        return list(self.conn.execute(select(t.tenants.c.id).where(t.tenants.c.name.like(pattern))).scalars())

    def all(self):
        return self.conn.execute(select(t.tenants).order_by(t.tenants.c.id)).mappings().all()

    def create(self, *, accounts: Iterable[tuple[str, str, str]], methods: Iterable[dict], **values) -> int:
        """A new tenant with its chart of accounts (code, name, role), payment methods and a
        ``main`` location; its id."""
        tenant_id = self.conn.execute(insert(t.tenants).values(**values)).inserted_primary_key[0]
        self.conn.execute(insert(t.accounts), [{"tenant_id": tenant_id, "code": code, "name": label, "role": role}
                                               for code, label, role in accounts])
        self.conn.execute(insert(t.payment_methods), [{"tenant_id": tenant_id, **method} for method in methods])
        self.conn.execute(insert(t.locations).values(tenant_id=tenant_id, code="main", name="Main location"))
        return tenant_id

    def update(self, tenant_id: int, **values) -> None:
        if values:
            self.conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id).values(**values))

    def purge(self, tenant_id: int) -> None:
        """Delete every row of a tenant, children first, the tenant last."""
        for table in reversed(t.metadata.sorted_tables):
            if table is t.tenants:
                self.conn.execute(t.tenants.delete().where(t.tenants.c.id == tenant_id))
            elif "tenant_id" in table.c:
                self.conn.execute(table.delete().where(table.c.tenant_id == tenant_id))

    # -- credentials ----------------------------------------------------------------------------
    def insert_credential(self, tenant_id: int, *, name: str, token_hash: str, permissions: str,
                          created_at: datetime, expires_at: datetime | None = None) -> int:
        return self.conn.execute(insert(t.credentials).values(
            tenant_id=tenant_id, name=name, token_hash=token_hash, permissions=permissions,
            created_at=created_at, expires_at=expires_at)).inserted_primary_key[0]

    def credentials_of(self, tenant_id: int):
        return self.conn.execute(select(t.credentials).where(_c.tenant_id == tenant_id)
                                 .order_by(_c.id)).mappings().all()

    def credential_lifetimes(self):
        """(tenant_id, revoked_at, expires_at) of every credential."""
        return self.conn.execute(select(_c.tenant_id, _c.revoked_at, _c.expires_at)).mappings().all()

    def tenant_of_credential(self, credential_id: int) -> int | None:
        row = self.conn.execute(select(_c.tenant_id).where(_c.id == credential_id)).first()
        return row[0] if row else None

    def revoke_credential(self, tenant_id: int, credential_id: int, now: datetime) -> bool:
        """Revoke the tenant's credential unless it is revoked already; True if it was revoked now."""
        result = self.conn.execute(update(t.credentials).where(
            _c.tenant_id == tenant_id, _c.id == credential_id, _c.revoked_at.is_(None)).values(revoked_at=now))
        return result.rowcount == 1



def credential_by_token_hash(engine: Engine, token_hash: str) -> dict | None:
    """The credential of a bearer token with its tenant's currency and status: authentication, on
    every request (issue 14). One statement, prepared once (``prepared``), on a pooled connection
    and outside any transaction of ours: a single SELECT reads one consistent snapshot, so the
    BEGIN and COMMIT around it (a unit of work) bought nothing but their cost."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:  # a fallback never takes the write lock
        row = prepared.run(conn, _CREDENTIAL, {"token_hash": token_hash}, begin=False).mappings().first()
        return dict(row) if row is not None else None


# -- the write fence of a tenant being moved (service.uow.writable, service.moves) --------------------
FENCE_LOCK_CLASS = 15  # pg_advisory_xact_lock(15, tenant id): its own key space (two-int form)
_FENCE_SHARED = text("SELECT pg_advisory_xact_lock_shared(15, CAST(:t AS integer))")
FENCE_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(15, CAST(:t AS integer))")
_STATUS = select(t.tenants.c.status).where(t.tenants.c.id == bindparam("t"))


def write_status(conn: Connection, tenant_id: int) -> str | None:
    """The tenant's status as a write sees it: on PostgreSQL under the tenant's fence lock, taken
    shared (a move takes it exclusively to fence the tenant), read in a statement of its own begun
    after the lock is granted; None when there is no such tenant."""
    if conn.dialect.name == "postgresql":
        prepared.run(conn, _FENCE_SHARED, {"t": tenant_id})
    return prepared.run(conn, _STATUS, {"t": tenant_id}).scalar()  # every write asks: prepared once


class DoorCredentials:
    """The doors' credentials of the tenants (``service.door_admin``; ``service.doors`` writes them)."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def login_taken(self, door: str, login: str) -> bool:
        """A door's logins are unique across tenants (the door finds the tenant by its login)."""
        d = t.door_credentials.c
        return self.conn.execute(select(d.id).where(d.door == door, d.login == login)).first() is not None

    def credential_of(self, tenant_id: int, door_id: int) -> int:
        """The tenant credential behind a door credential."""
        d = t.door_credentials.c
        return self.conn.execute(select(d.credential_id).where(d.tenant_id == tenant_id, d.id == door_id)).scalar_one()

    def of_tenant(self, tenant_id: int):
        """The tenant's door credentials with their tenant credential's id, creation and revocation."""
        d = t.door_credentials.c
        return self.conn.execute(select(d.id, d.door, d.login, d.settings_json, _c.id.label("credential_id"),
                                        _c.created_at, _c.revoked_at)
                                 .join(t.credentials, _c.id == d.credential_id)
                                 .where(d.tenant_id == tenant_id).order_by(d.id)).mappings().all()

    def tokens_named_like(self, tenant_id: int, pattern: str):
        """(id, name, created_at, revoked_at) of the tenant's tokens whose name is like ``pattern``."""
        return self.conn.execute(select(_c.id, _c.name, _c.created_at, _c.revoked_at)
                                 .where(_c.tenant_id == tenant_id, _c.name.like(pattern))
                                 .order_by(_c.id)).mappings().all()

    def token_named(self, tenant_id: int, name: str) -> bool:
        return self.conn.execute(select(_c.id).where(_c.tenant_id == tenant_id, _c.name == name)).first() is not None
