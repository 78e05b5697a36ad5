"""Credentials of the seed doors (R19): each door's own way of proving who calls, mapped onto a
tenant credential (for permissions and revocation) plus the door's configuration.

Door secrets can be short (CRM.COM's password ``1234``), so they are stored as salted scrypt
hashes. CRM.COM's login issues a session token that expires after an hour unused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..store.engine import Engine

from ..domain import money
from ..store import credentials as store
from . import limits
from .tenants import Principal, create_token, tenant_id_by_name
from .uow import Clock, UnitOfWork

SESSION_IDLE = timedelta(hours=1)
_SCRYPT = {"n": 2**12, "r": 8, "p": 1}


@dataclass(frozen=True)
class DoorPrincipal:
    principal: Principal
    door_credential_id: int
    settings: dict = field(default_factory=dict, compare=False)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


# What an unknown login's secret is checked against (the same scrypt work as a known login's).
_DUMMY_HASH = hash_secret(secrets.token_hex(16))


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), dklen=32, **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


def create_door_credential(engine: Engine, tenant: str, door: str, *, login: str, secret: str,
                           permissions: tuple[str, ...] = ("refund:create", "refund:read"),
                           settings: dict | None = None, clock: Clock | None = None) -> int:
    """A door credential for ``tenant``: ``login`` + ``secret`` as the door sends them."""
    credential = create_token(engine, tenant, permissions=permissions, name=f"{door}:{login}"[:100], clock=clock)
    tenant_id, secret_hash = tenant_id_by_name(engine, tenant), hash_secret(secret)  # before the write lock
    with UnitOfWork(engine, tenant_id) as uow:
        door_credential_id = store.insert_door_credential(
            uow.conn, tenant_id=tenant_id, door=door, login=login, secret_hash=secret_hash,
            credential_id=credential["id"], settings_json=json.dumps(settings or {}))
        uow.commit()
    return door_credential_id


def authenticate_door(engine: Engine, door: str, login: str | None, secret: str | None,
                      clock: Clock | None = None) -> DoorPrincipal | None:
    """The caller, when ``login`` and ``secret`` match an active door credential; else None.

    Throttled (``limits.sign_in``: ``rate_limited`` after too many failures of this login or from
    this address). A known and an unknown login cost the same: an unknown one is checked against
    a dummy hash, so the time taken does not tell which logins exist."""
    if not login or not secret or len(login) > 200 or len(secret) > 512:
        return None
    attempt = limits.sign_in(engine, door, login, clock)
    row = store.door_credential(engine, door, login=login)
    matches = verify_secret(secret, row["secret_hash"] if row is not None else _DUMMY_HASH)
    if row is None or not matches:
        limits.failed(engine, attempt)
        return None
    return _door_principal(row, clock, engine)


def open_session(engine: Engine, door: DoorPrincipal, clock: Clock | None = None) -> str:
    """A session token (CRM.COM's ``authentication/token``), shown once, stored hashed."""
    token = secrets.token_hex(32)
    now = (clock or Clock()).now()
    with UnitOfWork(engine, door.principal.tenant_id) as uow:
        store.insert_session(uow.conn, token_hash=hashlib.sha256(token.encode()).hexdigest(),
                             tenant_id=door.principal.tenant_id, door_credential_id=door.door_credential_id, now=now)
        uow.commit()
    return token


def authenticate_session(engine: Engine, door: str, token: str | None, clock: Clock | None = None,
                         idle: timedelta = SESSION_IDLE) -> DoorPrincipal | None:
    """The caller of a session token used within ``idle`` of its last use (sliding expiry)."""
    if not token or len(token) > 200:
        return None
    now = (clock or Clock()).now()
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    state, session = store.use_session(engine, token_hash, now, lambda last_used: _aware(last_used, now) + idle > now)
    if state == "unknown":  # a guessed token counts against the caller's address (limits.sign_in)
        limits.failed(engine, limits.sign_in(engine, None, None, clock))
        return None
    if state == "expired":
        return None
    row = store.door_credential(engine, door, door_credential_id=session["door_credential_id"])
    return _door_principal(row, clock, engine) if row is not None else None


def _door_principal(row, clock: Clock | None, engine: Engine | None = None) -> DoorPrincipal | None:
    now = (clock or Clock()).now()
    if row["revoked_at"] is not None or (row["expires_at"] is not None and _aware(row["expires_at"], now) <= now):
        return None
    if engine is not None:
        limits.hit(engine, row["credential_id"], clock)
    principal = Principal(row["tenant_id"], row["credential_id"], frozenset(row["permissions"].split()),
                          money.Currency(row["currency"], row["currency_exponent"]))
    return DoorPrincipal(principal, row["id"], json.loads(row["settings_json"] or "{}"))


def _aware(value: datetime, now: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=now.tzinfo)
