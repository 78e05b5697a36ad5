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

from ..domain import money
from ..store.engine import Engine
from .tenants import Principal, authenticate
from .uow import Clock, UnitOfWork

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
    with UnitOfWork(engine, None) as uow:  # sessions are not the tenant's books: no write fence
        uow.sessions.open(
            now=now, token_hash=_hash(session_id), tenant_id=principal.tenant_id,
            credential_id=principal.credential_id, csrf_token=csrf, language=language, created_at=now,
            last_used_at=now, expires_at=now + LIFETIME)
        uow.commit()
    found = resume(engine, session_id, clock)
    assert found is not None
    return session_id, found


def resume(engine: Engine, session_id: str | None, clock: Clock | None = None) -> PageSession | None:
    """The live session of a cookie value (its idle expiry slides forward), or None."""
    if not session_id or len(session_id) > 200:
        return None
    clock = clock or Clock()
    now = clock.now()
    key = _hash(session_id)
    with UnitOfWork(engine, None) as uow:
        sessions = uow.sessions
        row = sessions.find(key)
        if row is None:
            return None
        dead = (_aware(row["expires_at"], now) <= now or _aware(row["last_used_at"], now) + IDLE <= now
                or row["revoked_at"] is not None
                or (row["token_expires_at"] is not None and _aware(row["token_expires_at"], now) <= now))
        if dead:
            sessions.end(key, row["tenant_id"])
            uow.commit()
            return None
        sessions.touch(row["tenant_id"], key, now)
        uow.commit()
    principal = Principal(row["tenant_id"], row["credential_id"], frozenset(row["permissions"].split()),
                          money.Currency(row["currency"], row["currency_exponent"]))
    return PageSession(principal, row["name"], row["csrf_token"], row["language"],
                       min(_aware(row["expires_at"], now), now + IDLE))


def set_language(engine: Engine, session_id: str, language: str) -> None:
    with UnitOfWork(engine, None) as uow:
        uow.sessions.set_language(_hash(session_id), language)
        uow.commit()


def sign_out(engine: Engine, session_id: str | None) -> None:
    if session_id:
        with UnitOfWork(engine, None) as uow:
            uow.sessions.end(_hash(session_id))
            uow.commit()
