"""A browser-less client of the back office page for tests: sign in, read the CSRF token from a
page, send forms, and find the error shown next to a field."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient


def nonce_of(page: str) -> str:
    return re.search(r'name="nonce" value="([^"]+)"', page).group(1)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def field_error(page: str, name: str) -> str | None:
    """The text of the error shown next to field ``name`` (its ``<name>-error`` slot), if any."""
    found = re.search(rf'<span class="field-error" id="{re.escape(name)}-error"( role="alert")?>([^<]*)</span>', page)
    return html.unescape(found.group(2)) if found and found.group(1) else None


class Page:
    """One signed-in browser session (its own cookie jar)."""

    def __init__(self, app, token: str | None = None, language: str = "en", base: str = "http://testserver"):
        self.client = TestClient(app, base_url=base, raise_server_exceptions=True, follow_redirects=False)
        self.csrf = None
        if token is not None:
            response = self.sign_in(token, language)
            assert response.status_code == 303, response.text

    def sign_in(self, token: str, language: str = "en"):
        nonce = nonce_of(self.client.get("/app/login").text)
        response = self.client.post("/app/login", data={"token": token, "nonce": nonce, "language": language,
                                                         "next": "/app/dashboard"})
        if response.status_code == 303:
            self.csrf = csrf_of(self.client.get("/app/dashboard").text)
        return response

    def get(self, path: str, **params):
        return self.client.get(path, params=params or None)

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, headers: dict | None = None):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf", self.csrf)
        return self.client.post(path, data=data, headers=headers)

    def preview(self, invoice: str, data: dict):
        return self.client.post(f"/app/invoices/{invoice}/preview", data=data, headers={"X-CSRF-Token": self.csrf})
