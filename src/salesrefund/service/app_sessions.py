"""Sessions of the back office page: a tenant token signs in once, the browser then holds an
opaque session id in an HttpOnly cookie. Sessions live in the database (``app_sessions``) so any
number of processes share them; only the SHA-256 of the id is stored. A session ends after
``IDLE`` without use or ``LIFETIME`` after sign-in, whichever comes first, on sign-out, and as soon
as its token is revoked or expires (the credential is checked on every request)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from ..domain import money
from ..store import tables as t
from .tenants import Principal, authenticate
from .uow import Clock

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class PageSession:
    principal: Principal
    tenant: str
    csrf: str
    language: str
    expires_at: datetime


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _aware(value: datetime, now: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=now.tzinfo)


def sign_in(engine: Engine, token: str, language: str, clock: Clock | None = None) -> tuple[str, PageSession] | None:
    """A new session for a valid tenant token: (the cookie value, the session); None otherwise."""
    clock = clock or Clock()
    principal = authenticate(engine, token.strip(), clock) if token and token.strip() else None
    if principal is None:
        return None
    now = clock.now()
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(delete(t.app_sessions).where(t.app_sessions.c.expires_at <= now))  # tidy up
        conn.execute(insert(t.app_sessions).values(
            token_hash=_hash(session_id), tenant_id=principal.tenant_id, credential_id=principal.credential_id,
            csrf_token=csrf, language=language, created_at=now, last_used_at=now, expires_at=now + LIFETIME))
    found = resume(engine, session_id, clock)
    assert found is not None
    return session_id, found


def resume(engine: Engine, session_id: str | None, clock: Clock | None = None) -> PageSession | None:
    """The live session of a cookie value (its idle expiry slides forward), or None."""
    if not session_id or len(session_id) > 200:
        return None
    clock = clock or Clock()
    now = clock.now()
    s, c, tn = t.app_sessions.c, t.credentials.c, t.tenants.c
    key = _hash(session_id)
    with engine.begin() as conn:
        row = conn.execute(
            select(s.tenant_id, s.credential_id, s.csrf_token, s.language, s.last_used_at, s.expires_at,
                   c.permissions, c.revoked_at, c.expires_at.label("token_expires_at"), tn.name, tn.currency,
                   tn.currency_exponent)
            .join(t.credentials, c.id == s.credential_id).join(t.tenants, tn.id == s.tenant_id)
            .where(s.token_hash == key)).mappings().first()
        if row is None:
            return None
        dead = (_aware(row["expires_at"], now) <= now or _aware(row["last_used_at"], now) + IDLE <= now
                or row["revoked_at"] is not None
                or (row["token_expires_at"] is not None and _aware(row["token_expires_at"], now) <= now))
        if dead:
            conn.execute(delete(t.app_sessions).where(s.token_hash == key))
            return None
        conn.execute(update(t.app_sessions).where(s.token_hash == key).values(last_used_at=now))
    principal = Principal(row["tenant_id"], row["credential_id"], frozenset(row["permissions"].split()),
                          money.Currency(row["currency"], row["currency_exponent"]))
    return PageSession(principal, row["name"], row["csrf_token"], row["language"],
                       min(_aware(row["expires_at"], now), now + IDLE))


def set_language(engine: Engine, session_id: str, language: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(t.app_sessions).where(t.app_sessions.c.token_hash == _hash(session_id))
                     .values(language=language))


def sign_out(engine: Engine, session_id: str | None) -> None:
    if session_id:
        with engine.begin() as conn:
            conn.execute(delete(t.app_sessions).where(t.app_sessions.c.token_hash == _hash(session_id)))
