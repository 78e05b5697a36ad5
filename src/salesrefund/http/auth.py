"""Bearer-token authentication and permission checks (R19)."""

from __future__ import annotations

from fastapi import Depends, Request

from ..domain.errors import reject
from ..service.tenants import Principal, authenticate


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def principal_for(request: Request) -> Principal:
    token = bearer_token(request)
    principal = authenticate(request.app.state.engine, token) if token else None
    if principal is None:
        raise reject("unauthorized", "/headers/Authorization",
                     "a valid bearer token is required" if token else "the Authorization header is missing")
    return principal


def require(permission: str):
    """A dependency: the caller's principal, which must hold ``permission`` (or admin)."""

    def dependency(request: Request) -> Principal:
        principal = principal_for(request)
        if not principal.may(permission):
            raise reject("forbidden", "/headers/Authorization",
                         "this credential lacks the {permission} permission", permission=permission)
        return principal

    return Depends(dependency)
