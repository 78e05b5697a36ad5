"""The back office page's sessions (``app_sessions``, ``service.app_sessions``). A session is
found by the SHA-256 of its id (a secret only its browser holds); once found, its updates name
its tenant too. Opening one tidies up every expired session, whatever its tenant.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from . import tables as t

_s, _c, _t = t.app_sessions.c, t.credentials.c, t.tenants.c


class Sessions:
    def __init__(self, conn: Connection):
        self.conn = conn

    def open(self, *, now: datetime, **values) -> None:
        """A new session row (expired ones are deleted first)."""
        self.conn.execute(delete(t.app_sessions).where(_s.expires_at <= now))
        self.conn.execute(insert(t.app_sessions).values(**values))

    def find(self, key: str):
        """The session with its credential's permissions and lifetime and its tenant's name and
        currency, or None."""
        return self.conn.execute(
            select(_s.tenant_id, _s.credential_id, _s.csrf_token, _s.language, _s.last_used_at, _s.expires_at,
                   _c.permissions, _c.revoked_at, _c.expires_at.label("token_expires_at"), _t.name, _t.currency,
                   _t.currency_exponent)
            .join(t.credentials, _c.id == _s.credential_id).join(t.tenants, _t.id == _s.tenant_id)
            .where(_s.token_hash == key)).mappings().first()

    def touch(self, tenant_id: int, key: str, now: datetime) -> None:
        self.conn.execute(update(t.app_sessions).where(_s.tenant_id == tenant_id, _s.token_hash == key)
                          .values(last_used_at=now))

    def set_language(self, key: str, language: str) -> None:
        self.conn.execute(update(t.app_sessions).where(_s.token_hash == key).values(language=language))

    def end(self, key: str, tenant_id: int | None = None) -> None:
        tenant = [_s.tenant_id == tenant_id] if tenant_id is not None else []
        self.conn.execute(delete(t.app_sessions).where(*tenant, _s.token_hash == key))
