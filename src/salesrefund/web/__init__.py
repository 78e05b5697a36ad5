"""The back office page (``/app``): server-rendered HTML (Jinja2) with a little vanilla JS, for the
people who process returns at a counter or a support desk.

It is built on the same commands and read queries as the native API, never a second set of rules:
a refund form becomes the very ``RefundIn`` body the API takes, converted by ``http.schemas`` and
issued, previewed, posted, edited, deleted and voided by ``RefundService``; reads come from
``Books``, ``RefundService.get`` and ``service.backoffice``. Sign-in takes a tenant token once and
then keeps a session (``service.app_sessions``) in an HttpOnly, SameSite=Strict cookie; every form
carries the session's CSRF token. Every asset is served from ``/app/static``: no CDN.
"""

from .routes import install, router

__all__ = ["install", "router"]
