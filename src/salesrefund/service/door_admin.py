"""Managing the doors' credentials without Python (issue 12): create, list and revoke the Vodo,
CRM.COM, BeansBooks and SnR2U credentials of a tenant, for the CLI and the admin API alike.

A door credential is a tenant credential (its permissions, its revocation) plus the door's own
login, a salted hash of its secret and its settings (``service.doors``). SnR2U authenticates with a
plain bearer API key, so its "credential" is a tenant token named ``snr2u:<login>``. The secret is
generated when not given and returned once, like a token. Revoking revokes the tenant credential,
which the door's authentication already refuses from the next request on.
"""

from __future__ import annotations

import json
import secrets
from copy import deepcopy

from ..domain.errors import Invalid, Violation, reject
from ..store.engine import Engine
from . import door_defaults, doors, views
from .tenants import create_token, revoke_token, tenant_id_by_name
from .uow import Clock, UnitOfWork

DOORS = ("vodo", "crmcom", "beansbooks", "snr2u")
PERMISSIONS = ("refund:create", "refund:read")


def default_settings(door: str) -> dict:
    """What a new credential of ``door`` is configured with unless told otherwise: the same
    configuration the demo's door tenant has (CRM.COM's refund types and methods, BeansBooks'
    taxes); the settings given on creation are merged over it, key by key."""
    if door == "crmcom":
        return door_defaults.crmcom_settings()
    if door == "beansbooks":
        return door_defaults.beansbooks_settings()
    if door == "vodo":
        return {"apikey": secrets.token_hex(6), "platform_key": secrets.token_hex(4),
                "vat_rate": door_defaults.VODO_VAT_RATE}
    return {}


def create(engine: Engine, tenant: str, door: str, *, login: str, secret: str | None = None,
           settings: dict | None = None, clock: Clock | None = None) -> dict:
    """A new credential; the answer carries the secret (shown once) and the settings in force."""
    if door not in DOORS:
        raise Invalid(Violation("/door", "validation_error", "door must be one of {doors}", {"doors": ", ".join(DOORS)}))
    if not isinstance(login, str) or not 1 <= len(login) <= 200 or login != login.strip():
        raise Invalid(Violation("/login", "validation_error",
                                "a login has 1 to 200 characters, without surrounding spaces"))
    if secret is not None and not 8 <= len(secret) <= 512 and door != "crmcom":
        raise Invalid(Violation("/secret", "validation_error", "a secret has 8 to 512 characters"))
    if settings is not None and not isinstance(settings, dict):
        raise Invalid(Violation("/settings", "validation_error", "settings must be an object"))
    if door == "beansbooks" and not login.isdigit():
        raise Invalid(Violation("/login", "validation_error", "a BeansBooks auth_uid is a whole number"))
    tenant_id = tenant_id_by_name(engine, tenant)  # 404 before anything is written
    merged = {**deepcopy(default_settings(door)), **(settings or {})}
    if door == "snr2u":
        if _token_named(engine, tenant, f"snr2u:{login}"):
            raise reject("duplicate", "/login", "{login} already exists", login=login)
        token = create_token(engine, tenant, permissions=PERMISSIONS, name=f"snr2u:{login}"[:100], token=secret,
                             clock=clock)
        return {"id": f"token-{_shown('credential', tenant_id, token['id'])}", "door": door, "login": login,
                "secret": token["token"], "settings": {}, "credential_id": _shown("credential", tenant_id, token["id"]),
                "revoked": False}
    with UnitOfWork(engine, None, write=False) as uow:
        taken = uow.door_credentials.login_taken(door, login)
    if taken:
        raise reject("duplicate", "/login", "{login} already exists", login=login)
    secret = secret or secrets.token_urlsafe(24)
    door_id = doors.create_door_credential(engine, tenant, door, login=login, secret=secret,
                                           permissions=PERMISSIONS, settings=merged, clock=clock)
    with UnitOfWork(engine, tenant_id, write=False) as uow:
        credential_id = uow.door_credentials.credential_of(tenant_id, door_id)
    return {"id": str(_shown("door", tenant_id, door_id)), "door": door, "login": login, "secret": secret,
            "settings": merged, "credential_id": _shown("credential", tenant_id, credential_id), "revoked": False}


def list_credentials(engine: Engine, tenant: str) -> list[dict]:
    """The tenant's door credentials (never their secrets), oldest first; SnR2U's API keys too.
    Ids as the tenant sees them (``views.public_number``): they count nothing across tenants."""
    return [item for item, _ in _credentials(engine, tenant)]


def _credentials(engine: Engine, tenant: str) -> list[tuple[dict, int]]:
    """Each credential as shown, with the id of its tenant credential (to revoke it)."""
    tenant_id = tenant_id_by_name(engine, tenant)
    with UnitOfWork(engine, tenant_id, write=False) as uow:
        rows = uow.door_credentials.of_tenant(tenant_id)
        keys = uow.door_credentials.tokens_named_like(tenant_id, "snr2u%")
    items = [({"id": str(_shown("door", tenant_id, r["id"])), "door": r["door"], "login": r["login"],
               "settings": json.loads(r["settings_json"] or "{}"),
               "credential_id": _shown("credential", tenant_id, r["credential_id"]),
               "created_at": r["created_at"].isoformat(), "revoked": r["revoked_at"] is not None}, r["credential_id"])
             for r in rows]
    items += [({"id": f"token-{_shown('credential', tenant_id, k['id'])}", "door": "snr2u",
                "login": k["name"].partition(":")[2] or k["name"], "settings": {},
                "credential_id": _shown("credential", tenant_id, k["id"]), "created_at": k["created_at"].isoformat(),
                "revoked": k["revoked_at"] is not None}, k["id"]) for k in keys]
    return items


def revoke(engine: Engine, tenant: str, credential: str, clock: Clock | None = None) -> dict:
    """Revoke one of the tenant's door credentials (by the ``id`` ``list_credentials`` shows)."""
    found, credential_id = next(((item, raw) for item, raw in _credentials(engine, tenant) if item["id"] == credential),
                                (None, None))
    if found is None:
        raise reject("not_found", "/id", "door credential {id} does not exist", id=credential)
    if not found["revoked"]:
        revoke_token(engine, credential_id, clock)
    return {**found, "revoked": True}


def _shown(kind: str, tenant_id: int, row_id: int) -> int:
    return views.public_number(kind, tenant_id, row_id)


def _token_named(engine: Engine, tenant: str, name: str) -> bool:
    tenant_id = tenant_id_by_name(engine, tenant)
    with UnitOfWork(engine, tenant_id, write=False) as uow:
        return uow.door_credentials.token_named(tenant_id, name)
