"""Bearer-token authentication and permission checks (R19)."""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

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
    principal = authenticate(request.app.state.engine, token, request.app.state.clock) if token else None
    if principal is None:
        raise reject("unauthorized", "/headers/Authorization", _why_unauthorized(request, token))
    return principal


def _why_unauthorized(request: Request, token: str | None) -> str:
    """What is wrong with the credentials sent: only an absent header is "missing"."""
    if token:
        return "a valid bearer token is required"
    if "authorization" not in request.headers:
        return "the Authorization header is missing"
    if not request.headers["authorization"].strip():
        return "the Authorization header is empty; send 'Authorization: Bearer <token>'"
    return "the Authorization header must be 'Bearer <token>'"


def authorize(request: Request, permission: str) -> Principal:
    """The caller's principal, which must hold ``permission`` (or admin); kept on the request."""
    principal = getattr(request.state, "principal", None) or principal_for(request)
    if not principal.may(permission):
        raise reject("forbidden", "/headers/Authorization",
                     "this credential lacks the {permission} permission", permission=permission)
    request.state.principal = principal
    return principal


def require(permission: str):
    """A dependency: the caller's principal, which must hold ``permission`` (or admin).

    Routes of ``ExactJSONRoute`` run it before reading the body, so 401 and 403 come before any
    validation error (R18's precedence). It is async so that a principal already authorized costs
    no second trip through the thread pool."""

    async def dependency(request: Request) -> Principal:
        if getattr(request.state, "principal", None) is not None:  # authorized by the route: no I/O left
            return authorize(request, permission)
        return await run_in_threadpool(authorize, request, permission)

    dependency.permission = permission
    return Depends(dependency)
