"""RFC 9457 problem+json for the native API, and exact-decimal JSON decoding (R1)."""

from __future__ import annotations

import json
from decimal import Decimal

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response as StarletteResponse

from ..domain.errors import TITLES, RefundError, Violation
from ..service.idempotency import Response

PROBLEM = "application/problem+json"


def _refuse_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not a number JSON allows", name, 0)


def loads_exact(body: bytes | str):
    """JSON with every non-integer number as an exact ``Decimal`` (never a float);
    NaN and Infinity are refused."""
    return json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)


class ExactJSONRequest(Request):
    async def json(self):
        if not hasattr(self, "_json"):
            self._json = loads_exact(await self.body())
        return self._json


class ExactJSONRoute(APIRoute):
    """A route whose JSON body is decoded with ``loads_exact``."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def exact_handler(request: Request):
            return await handler(ExactJSONRequest(request.scope, request.receive))

        return exact_handler


def problem_body(code: str, status: int, detail: str, violations: list[Violation],
                 request_id: str | None = None) -> dict:
    body = {
        "type": f"/problems/{code}",
        "title": TITLES.get(code, code.replace("_", " ").capitalize()),
        "status": status,
        "detail": detail,
        "code": code,
        "errors": [{"field": v.field, "code": v.code, "message": v.text()} for v in violations],
    }
    if request_id:
        body["request_id"] = request_id
    return body


def problem_of(error: RefundError) -> dict:
    return problem_body(error.code, error.status, error.first.text(), error.violations)


def json_text(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class NativeResponder:
    """Renders native results (JSON) and errors (problem+json); stored for replays (R17)."""

    def success(self, view: dict, status: int) -> Response:
        return Response(status, "application/json", json_text(view))

    def failure(self, error: RefundError) -> Response:
        return Response(error.status, PROBLEM, json_text(problem_of(error)))


def to_http(response: Response) -> StarletteResponse:
    headers = {"Idempotent-Replayed": "true"} if response.replayed else {}
    return StarletteResponse(response.body, status_code=response.status, media_type=response.content_type,
                             headers=headers)
