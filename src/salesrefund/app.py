"""The whole server as one ASGI app: the HTTP API (``http``) with the back office page (``web``).

``http`` does not import ``web`` (the page is built on the API's pieces, so it sits above them):
this module, above both, puts them together. ``bootstrap`` and the tests create the app here.
"""

from __future__ import annotations

from fastapi import FastAPI

from . import web
from .http import app as http_app


def create_app(engine, **options) -> FastAPI:
    """``http.app.create_app`` (same options) with the back office page at ``/app``."""
    return http_app.create_app(engine, pages=web.install, **options)
