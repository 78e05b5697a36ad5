"""Structured logs (structlog, issue 13): one line per request, JSON in production, readable in a
terminal.

``SALESREFUND_LOG_FORMAT`` = ``json`` (the default when stderr is not a terminal) or ``console``;
``SALESREFUND_REQUEST_LOG=0`` turns the request lines off. A request line holds the request id,
tenant id, door, method, route *template* (``/v1/refunds/{refund_id}``: never the raw path or its
query string), status, duration, outcome code and whether it was an idempotent replay. No header
and no body is logged; as a second guard, every event passes ``redact``, which masks any field
named like a secret and any value that looks like one of our tokens or secrets, and uvicorn's
access log loses its query strings (CRM.COM sends its token there).
"""

from __future__ import annotations

import logging
import os
import re
import sys

import structlog

ENV_FORMAT = "SALESREFUND_LOG_FORMAT"
ENV_REQUEST_LOG = "SALESREFUND_REQUEST_LOG"
SECRET_NAMES = re.compile(r"(?i)(token|secret|password|passwd|authorization|api[_-]?key|apikey|credential|cookie"
                          r"|signature|session)")
SECRET_VALUES = re.compile(r"(sr_[A-Za-z0-9_\-]{8,}|whsec_[A-Za-z0-9_\-]{8,}|Bearer\s+\S+)")
MASK = "[redacted]"

_logger = None


def redact(_, __, event: dict) -> dict:
    """Mask secret-looking fields and values, at any depth of the event."""
    return {key: _clean(key, value) for key, value in event.items()}


def _clean(key, value):
    if isinstance(key, str) and SECRET_NAMES.search(key) and key not in ("request_id",):
        return MASK if value not in (None, "", False) else value
    if isinstance(value, str):
        return SECRET_VALUES.sub(MASK, value)
    if isinstance(value, dict):
        return {k: _clean(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(None, v) for v in value]
    return value


def configure(fmt: str | None = None, stream=None) -> None:
    """Set up structlog for the server and the CLI; call once per process (idempotent)."""
    global _logger
    stream = stream or sys.stderr
    fmt = fmt or os.environ.get(ENV_FORMAT) or ("console" if stream.isatty() else "json")
    renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty()) if fmt == "console" else \
        structlog.processors.JSONRenderer(sort_keys=False)
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True),
                    redact, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(stream), cache_logger_on_first_use=False)
    _logger = None
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, StripQuery) for f in access.filters):
        access.addFilter(StripQuery())


class StripQuery(logging.Filter):
    """uvicorn's access log without query strings (where some clients put credentials)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            args = list(record.args)
            args[2] = args[2].split("?", 1)[0]
            record.args = tuple(args)
        return True


def request(**fields) -> None:
    """The one line of a request (``http.metrics.Observer``)."""
    global _logger
    if os.environ.get(ENV_REQUEST_LOG) == "0":
        return
    if _logger is None:  # bound once per configuration (a lazy proxy binds anew on every call)
        _logger = structlog.get_logger("salesrefund.request").bind()
    _logger.info("request", **fields)
