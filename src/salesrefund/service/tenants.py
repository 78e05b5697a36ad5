"""Tenants and credentials (R19). Tokens are shown once and stored only as SHA-256 hashes
(they are 256-bit random, so a fast hash is enough: there is nothing to brute-force)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from ..domain import money
from ..domain.errors import Invalid, Violation, reject
from ..domain.journal import DEFAULT_CHART, ROLE_ACCOUNT
from ..store.engine import Engine
from ..store.tenants import credential_by_token_hash
from . import limits
from .uow import Clock, UnitOfWork

PERMISSIONS = ("refund:create", "refund:post", "refund:void", "refund:read", "masterdata:write",
               "period:close", "admin")
DEFAULT_TOKEN_PERMISSIONS = ("refund:create", "refund:read")
DEFAULT_METHODS = (("cash", "Cash", "cash"), ("card", "Card", "card"), ("bank", "Bank transfer", "bank"),
                   ("store_credit", "Store credit", "store_credit"))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, the credential and what it may do."""

    tenant_id: int
    credential_id: int
    permissions: frozenset[str]
    currency: money.Currency  # the tenant's book currency: doors parse amounts with its exponent

    def may(self, permission: str) -> bool:
        return "admin" in self.permissions or permission in self.permissions


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "sr_" + secrets.token_urlsafe(32)


def create_tenant(engine: Engine, name: str, *, currency: str, country: str | None = None,
                  timezone: str = "UTC", prices_include_tax: bool = False, cash_rounding: str | None = None,
                  cash_rounding_all_methods: bool = False, allow_unlinked_refunds: bool = False,
                  currency_exponent: int | None = None, token: str | None = None,
                  tax_rates: Iterable[str] = (), refund_to_other_methods: bool = False,
                  clock: Clock | None = None) -> dict:
    """A tenant with the default chart of accounts, payment methods, a ``main`` location, open
    periods, and a first admin credential. Returns ``{tenant, id, token, ...}``."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100 or name != name.strip():
        raise Invalid(Violation("/name", "validation_error",
                                "a tenant name has 1 to 100 characters, without surrounding spaces"))
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise Invalid(Violation("/country", "validation_error", "country must be an ISO 3166 code like DE"))
    if currency_exponent is not None and not 0 <= currency_exponent <= 4:
        raise Invalid(Violation("/currency_exponent", "validation_error", "the currency exponent is 0 to 4"))
    if not money.is_currency_code(currency):
        raise Invalid(Violation("/currency", "validation_error", "currency must be an ISO 4217 code like EUR"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(Violation("/timezone", "validation_error", "unknown time zone {tz}", {"tz": timezone}))
    cur = money.currency(currency, currency_exponent)
    increment = money.parse_amount(cash_rounding, "/cash_rounding", cur) if cash_rounding else 0
    rates = parse_tax_rates(tax_rates)
    if increment < 0:
        raise Invalid(Violation("/cash_rounding", "validation_error", "cash rounding must be positive"))
    now = (clock or Clock()).now()
    token = token or new_token()
    with UnitOfWork(engine, None) as uow:  # no tenant yet: the one write above every tenant
        if uow.tenants.id_named(name) is not None:
            raise reject("duplicate", "/name", "tenant {name} already exists", name=name)
        tenant_id = uow.tenants.create(
            name=name, currency=cur.code, currency_exponent=cur.exponent, country=country, timezone=timezone,
            prices_include_tax=prices_include_tax, cash_increment_minor=increment,
            cash_rounding_all_methods=cash_rounding_all_methods,
            allow_unlinked_refunds=allow_unlinked_refunds, closed_through=None, created_at=now,
            tax_rates=rates, refund_to_other_methods=refund_to_other_methods, accounts=DEFAULT_CHART,
            methods=[{"code": code, "name": label, "kind": kind, "account_code": ROLE_ACCOUNT[kind],
                      "active": True} for code, label, kind in DEFAULT_METHODS])
        credential_id = _insert_credential(uow, tenant_id, "admin", token, ("admin",), now)
        uow.commit()
    return {"tenant": name, "id": tenant_id, "currency": cur.code, "token": token,
            "credential_id": credential_id}


def parse_tax_rates(rates: Iterable[str]) -> str:
    """The tenant's tax rates (percent strings, "15", "7.5") as stored: distinct scaled integers,
    ascending, space-separated. 0 % needs no entry: it reclaims no tax, so it is always allowed."""
    parsed = {money.parse_rate(rate, f"/tax_rates/{i}") for i, rate in enumerate(rates)}
    return " ".join(str(rate) for rate in sorted(parsed - {0}))


def set_tenant_settings(engine: Engine, name: str, *, tax_rates: Iterable[str] | None = None,
                        refund_to_other_methods: bool | None = None) -> dict:
    """Change a tenant's refund settings (the admin's `tenant settings` command)."""
    values = {}
    if tax_rates is not None:
        values["tax_rates"] = parse_tax_rates(tax_rates)
    if refund_to_other_methods is not None:
        values["refund_to_other_methods"] = refund_to_other_methods
    with UnitOfWork(engine, tenant_id_by_name(engine, name)) as uow:
        tenant = uow.store.tenant()
        uow.store.update_tenant(**values)
        tenant = {**tenant, **values}
        uow.commit()
    return {"tenant": name,
            "tax_rates": [money.format_rate(int(rate)) for rate in tenant["tax_rates"].split()],
            "refund_to_other_methods": bool(tenant["refund_to_other_methods"])}


def publish_tenant(engine: Engine, tenant_id: int, name: str, token: str, clock: Clock | None = None) -> None:
    """Give a fully loaded tenant its public name and an admin token, in one transaction."""
    with UnitOfWork(engine, tenant_id) as uow:
        uow.store.update_tenant(name=name)
        _insert_credential(uow, tenant_id, "admin", token, ("admin",), (clock or Clock()).now())
        uow.commit()


def purge_tenant(engine: Engine, tenant_id: int) -> None:
    """Delete every row of a tenant (used only for an interrupted demo load, never for real books)."""
    with UnitOfWork(engine, tenant_id) as uow:
        uow.tenants.purge(tenant_id)
        uow.commit()


def tenant_ids_named_like(engine: Engine, pattern: str) -> list[int]:
    with UnitOfWork(engine, None, write=False) as uow:
        return uow.tenants.ids_named_like(pattern)


def tenant_id_by_name(engine: Engine, name: str) -> int:
    with UnitOfWork(engine, None, write=False) as uow:
        tenant_id = uow.tenants.id_named(name)
    if tenant_id is None:
        raise reject("not_found", "/tenant", "tenant {name} does not exist", name=name)
    return tenant_id


def create_token(engine: Engine, tenant: str, *, permissions: tuple[str, ...] = (), name: str = "token",
                 token: str | None = None, expires_at: datetime | None = None, clock: Clock | None = None) -> dict:
    permissions = tuple(permissions) or DEFAULT_TOKEN_PERMISSIONS
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown:
        raise Invalid(Violation("/permission", "validation_error", "unknown permission {p}; known: {known}",
                                {"p": unknown[0], "known": ", ".join(PERMISSIONS)}))
    tenant_id = tenant_id_by_name(engine, tenant)
    token = token or new_token()
    with UnitOfWork(engine, tenant_id) as uow:
        credential_id = _insert_credential(uow, tenant_id, name, token, permissions,
                                           (clock or Clock()).now(), expires_at)
        uow.commit()
    return {"id": credential_id, "token": token, "tenant": tenant, "permissions": list(permissions)}


def list_tokens(engine: Engine, tenant: str, clock: Clock | None = None) -> list[dict]:
    tenant_id = tenant_id_by_name(engine, tenant)
    now = (clock or Clock()).now()
    with UnitOfWork(engine, tenant_id, write=False) as uow:
        rows = uow.tenants.credentials_of(tenant_id)
    return [{"id": r["id"], "name": r["name"], "permissions": r["permissions"].split(),
             "created_at": r["created_at"].isoformat(),
             "expires_at": r["expires_at"].isoformat() if r["expires_at"] else None,
             "revoked": r["revoked_at"] is not None, "state": _token_state(r, now)} for r in rows]


def _token_state(row, now: datetime) -> str:
    """revoked, expired or active (a revoked token stays revoked whatever its expiry)."""
    if row["revoked_at"] is not None:
        return "revoked"
    expires = row["expires_at"]
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=now.tzinfo)) <= now:
        return "expired"
    return "active"


def list_tenants(engine: Engine) -> list[dict]:
    """Every tenant with its settings and how many of its tokens are active now."""
    now = Clock().now()
    with UnitOfWork(engine, None, write=False) as uow:
        tenants = uow.tenants.all()
        creds = uow.tenants.credential_lifetimes()
    active: dict[int, int] = {}
    for c in creds:
        if _token_state(c, now) == "active":
            active[c["tenant_id"]] = active.get(c["tenant_id"], 0) + 1
    return [{"id": r["id"], "name": r["name"], "currency": r["currency"], "country": r["country"],
             "timezone": r["timezone"], "active_tokens": active.get(r["id"], 0)} for r in tenants]


def revoke_token(engine: Engine, credential_id: int, clock: Clock | None = None) -> bool:
    """Revoke a credential (by its id, as ``token list`` shows it); False if there is none or it
    was revoked already. The update names the credential's tenant too."""
    with UnitOfWork(engine, None, write=False) as uow:
        tenant_id = uow.tenants.tenant_of_credential(credential_id)
    if tenant_id is None:
        return False
    with UnitOfWork(engine, tenant_id) as uow:
        revoked = uow.tenants.revoke_credential(tenant_id, credential_id, (clock or Clock()).now())
        uow.commit()
    return revoked


def authenticate(engine: Engine, token: str, clock: Clock | None = None) -> Principal | None:
    """The principal for a bearer token, or None when unknown, revoked or expired."""
    if not token or len(token) > 512:
        return None
    row = credential_by_token_hash(engine, hash_token(token))
    if row is None:  # a guessed token counts against the caller's address (issue 10)
        limits.failed(engine, limits.sign_in(engine, None, None, clock))
        return None
    if row["revoked_at"] is not None:
        return None
    if row["expires_at"] is not None:
        expires = row["expires_at"] if row["expires_at"].tzinfo else row["expires_at"].replace(
            tzinfo=(clock or Clock()).now().tzinfo)
        if expires <= (clock or Clock()).now():
            return None
    if row["status"] == "moved":  # its books live in another database now (service.moves)
        moved = reject("service_unavailable", "/", "this tenant has moved to another database")
        moved.retry_after = 60
        raise moved
    limits.hit(engine, row["id"], clock)
    return Principal(row["tenant_id"], row["id"], frozenset(row["permissions"].split()),
                     money.Currency(row["currency"], row["currency_exponent"]))


def _insert_credential(uow: UnitOfWork, tenant_id: int, name: str, token: str, permissions, now,
                       expires_at=None) -> int:
    return uow.tenants.insert_credential(tenant_id, name=name, token_hash=hash_token(token),
                                         permissions=" ".join(permissions), created_at=now, expires_at=expires_at)
