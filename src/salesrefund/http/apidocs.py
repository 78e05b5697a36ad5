"""``/docs`` and ``/redoc`` that work offline, and an OpenAPI document a newcomer can try.

Swagger UI and ReDoc are served from the assets the ``fastapi-offline`` package ships (no CDN, no
Google fonts), under ``/docs-assets``. The document declares the bearer scheme the native API uses
(so Swagger UI shows "Authorize" and its "Try it out" sends the token), and every native request
body carries an example that is a valid request against ``serve --demo``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
_STATIC = Path(fastapi_offline.__file__).parent / "static"

# Requests that succeed as printed against `serve --demo` (tenant `demo`, token sr_demo_token_change_me).
EXAMPLES: dict[tuple[str, str], dict] = {
    ("post", "/v1/customers"): {"code": "C100", "name": "Carla Curious", "tax_number": "DE111222333",
                                "email": "carla@example.com"},
    ("post", "/v1/products"): {"code": "PEN-1", "name": "Fountain pen", "barcodes": ["4000000000017"],
                               "stock_tracked": True, "cost": "3.20"},
    ("post", "/v1/locations"): {"code": "SHOP2", "name": "Second shop"},
    ("post", "/v1/stock/receipts"): {"product": "BOOK-1", "quantity": "5", "location": "main"},
    ("post", "/v1/invoices"): {"number": "INV-2001", "customer": "C001", "date": "{today}",
                               "lines": [{"product": "BOOK-1", "quantity": "2", "unit_price": "12.50",
                                          "tax_rate": "19"}],
                               "payments": [{"method": "card", "amount": "29.75"}]},
    ("post", "/v1/refunds/preview"): {"invoice": "INV-1001", "reason": "Damaged",
                                      "lines": [{"line": 2, "quantity": "1"}]},
    ("post", "/v1/refunds"): {"invoice": "INV-1001", "reason": "Damaged", "lines": [{"line": 2, "quantity": "1"}]},
    ("patch", "/v1/refunds/{refund_id}"): {"reason": "Customer changed mind", "lines": [{"line": 2, "quantity": "1"}]},
    ("post", "/v1/refunds/{refund_id}/void"): {"reason": "Issued by mistake"},
    ("post", "/v1/periods/close"): {"through": "2020-12-31"},
    ("patch", "/v1/settings"): {"allow_unlinked_refunds": True},
    ("post", "/v1/doors/credentials"): {"door": "beansbooks", "login": "7", "secret": "a-long-random-secret"},
}

BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer",
                         "description": "a tenant API token, e.g. the demo's `sr_demo_token_change_me`"}}


def install(app: FastAPI) -> None:
    """Mount the assets and the two pages, and replace the OpenAPI builder (call once)."""
    app.mount(ASSETS, StaticFiles(directory=_STATIC.as_posix()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui():
        return _offline(get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title} — API docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True, "tryItOutEnabled": True}))

    @app.get("/redoc", include_in_schema=False)
    async def redoc():
        return _offline(get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} — API reference",
                                       redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                                       redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False))

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi


# Both pages only ever talk to this server: ReDoc's bundle shows a badge whose image it would fetch
# from a CDN, which this policy stops in the browser before any request leaves the machine.
OFFLINE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                  "script-src 'self' 'unsafe-inline'; connect-src 'self'; worker-src 'self' blob:; "
                  "font-src 'self' data:; frame-ancestors 'none'")


def _offline(page):
    page.headers["Content-Security-Policy"] = OFFLINE_POLICY
    return page


def document(app: FastAPI) -> dict:
    today = date.today().isoformat()
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    doc.setdefault("components", {}).setdefault("securitySchemes", {}).update(BEARER)
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            if path.startswith("/v1/"):
                operation["security"] = [{"bearerAuth": []}]
            if path == "/CustomerRefundNotes/simple" and method == "post":
                _snr2u_schema(operation)
            example = EXAMPLES.get((method, path))
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if example is not None and content is not None:
                content["example"] = {key: (today if value == "{today}" else value) for key, value in example.items()}
    return doc


def _snr2u_schema(operation: dict) -> None:
    """SnR2U's body declares every field of its tables (``dialects.snr2u``): a ``CustomerRefundNote``
    with ``DocumentHeader``, ``DocumentDetails[]`` and ``DocumentPaymentDetails[]``."""
    from .dialects import snr2u

    def fields(table) -> dict:
        properties, required = {}, []
        for name, kind, needed, extra in table:
            if kind == "readonly":
                continue
            if kind == "int":
                schema = {"type": "integer"}
            elif kind in ("price", "quantity", "amount"):
                schema = {"type": "string", "pattern": r"^[+-]?\d{1,13}(\.\d{1,4})?$", "examples": ["12.50"]}
            elif kind == "choice" and isinstance(extra, tuple):
                schema = {"type": "string", "enum": list(extra)}
            else:
                schema = {"type": "string", **({"maxLength": extra} if isinstance(extra, int) else {})}
            properties[name] = schema
            if needed:
                required.append(name)
        return {"type": "object", "properties": properties, "required": required}

    note = {"type": "object", "required": ["DocumentHeader", "DocumentDetails", "DocumentPaymentDetails"],
            "properties": {"DocumentHeader": fields(snr2u.HEADER),
                           "DocumentDetails": {"type": "array", "items": fields(snr2u.DETAIL)},
                           "DocumentPaymentDetails": {"type": "array", "items": fields(snr2u.PAYMENT)}}}
    content = operation.get("requestBody", {}).get("content", {})
    for media, body in content.items():
        if "json" in media:
            body["schema"] = {"type": "object", "required": ["CustomerRefundNote"],
                              "properties": {"CustomerRefundNote": note}}
