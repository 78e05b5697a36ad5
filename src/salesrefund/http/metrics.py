"""Metrics (``GET /metrics``, Prometheus) and the facts of each request for its log line (issue 13).

With several worker processes (``serve --workers N``) the counts live in files shared by the
workers (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``, which ``serve``
sets up), so any worker answers ``/metrics`` with the sum over all of them. The outbox figures are
read from the database when scraped, so every worker reports the same.

One ``Observer`` middleware (the outermost) times each request and, once it is answered, counts
it and writes its log line (``http.logs``). What only the inner layers know (the tenant, the
outcome code of a refund, whether it was an idempotent replay) they ``note()`` into a dict the
middleware put in a context variable; the thread pool that runs the routes shares that dict.
"""

from __future__ import annotations

import contextvars
import functools
import os
import time
from datetime import datetime, timezone

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.responses import Response as StarletteResponse

from ..domain.errors import RefundError
from ..service.dispatch import ATTEMPT_OBSERVERS
from ..service.uow import RETRY_OBSERVERS
from ..store.dispatch import outbox_figures
from . import logs

ENV_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
MULTIPROCESS = values.ValueClass is not values.MutexValue  # decided when prometheus_client was imported
CAP_CODES = frozenset({"quantity_exceeds_refundable", "amount_exceeds_refundable", "amount_exceeds_balance"})
DOORS = {"native": "native", "webhooks": "native", "internom": "internom", "vodo": "vodo", "crmcom": "crmcom",
         "beansbooks": "beansbooks", "snr2u": "snr2u", "snr2u_read": "snr2u"}

REQUESTS = Counter("salesrefund_http_requests", "HTTP requests answered", ["route", "door", "method", "status"])
LATENCY = Histogram("salesrefund_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["route", "door"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
REFUNDS = Counter("salesrefund_refunds", "Refund and payout requests by door, operation and outcome code",
                  ["door", "operation", "outcome"])
IDEMPOTENCY = Counter("salesrefund_idempotency", "Idempotency keys: replays and conflicts", ["door", "result"])
CAP_REFUSALS = Counter("salesrefund_cap_refusals", "Refusals by a cap (R7, store credit)", ["door", "code"])
DB_RETRIES = Counter("salesrefund_db_retries", "Transactions run again after a transient database failure",
                     ["reason"])
WEBHOOK_ATTEMPTS = Counter("salesrefund_webhook_attempts", "Webhook delivery attempts", ["type", "result"])
WEBHOOK_LATENCY = Histogram("salesrefund_webhook_attempt_seconds", "Time a webhook delivery attempt took",
                            buckets=(.05, .1, .25, .5, 1, 2.5, 5, 10, 30))

_request: contextvars.ContextVar[dict | None] = contextvars.ContextVar("salesrefund_request", default=None)



_children: dict = {}


def labelled(metric, *values: str):
    """``metric.labels(*values)``, looked up once per label set (prometheus_client validates and
    locks on every ``labels`` call; the hot path asks for the same few children every request)."""
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = metric.labels(*values)
        if len(_children) < 10_000:
            _children[key] = child
    return child

def note(**facts) -> None:
    """Add facts (tenant, outcome, replayed) to the current request's record, if there is one."""
    current = _request.get()
    if current is not None:
        current.update(facts)


# -- what the services report ---------------------------------------------------------------------

def db_retry(error: BaseException) -> None:
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    DB_RETRIES.labels(reason={"40001": "serialization", "40P01": "deadlock", "55P03": "lock"}.get(sqlstate, "other")).inc()


def webhook_attempt(event_type: str, ok: bool, seconds: float) -> None:
    WEBHOOK_ATTEMPTS.labels(type=event_type, result="delivered" if ok else "failed").inc()
    WEBHOOK_LATENCY.observe(seconds)


def _outcome(door: str, operation: str, code: str) -> None:
    labelled(REFUNDS, door, operation, code).inc()
    if code in CAP_CODES:
        CAP_REFUSALS.labels(door=door, code=code).inc()
    if code in ("idempotency_key_reused", "idempotency_key_in_use"):
        IDEMPOTENCY.labels(door=door, result="conflict" if code.endswith("in_use") else "reused").inc()
    note(outcome=code)


class _CountingResponder:
    """A door's responder, passed through, that also records the rejection it renders."""

    def __init__(self, inner, door: str, operation: str):
        self._inner, self._door, self._operation = inner, door, operation

    def failure(self, error: RefundError):
        _outcome(self._door, self._operation, error.code)
        return self._inner.failure(error)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def instrument(refunds) -> None:
    """Count the outcomes of every write a door makes through ``RefundService.once`` (refunds,
    posts, voids, edits, payouts) by door: ``ok``, ``replayed`` or the rejection's code."""
    original = refunds.once

    @functools.wraps(original)
    def counted(ctx, operation, payload, responder, work):
        door = DOORS.get(ctx.channel, ctx.channel)
        operation_name = operation.split(":", 1)[0]
        note(tenant=ctx.tenant_id)
        try:
            response = original(ctx, operation, payload, _CountingResponder(responder, door, operation_name), work)
        except RefundError as error:
            _outcome(door, operation_name, error.code)
            raise
        if getattr(response, "replayed", False):
            labelled(IDEMPOTENCY, door, "replayed").inc()
            labelled(REFUNDS, door, operation_name, "replayed").inc()
            note(replayed=True)
        elif "outcome" not in (_request.get() or {}):
            _outcome(door, operation_name, "ok")
        return response

    refunds.once = counted


# -- the middleware -------------------------------------------------------------------------------------

class Observer:
    """Times, counts and logs every HTTP request (the outermost middleware)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        facts: dict = {}
        token = _request.set(facts)
        status = 500

        async def recording_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            _request.reset(token)
            self._record(scope, status, time.perf_counter() - started, facts)

    @staticmethod
    def _record(scope, status: int, seconds: float, facts: dict) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        endpoint = getattr(route, "endpoint", None)
        door = DOORS.get((getattr(endpoint, "__module__", "") or "").rsplit(".", 1)[-1], "-")
        if template == "/metrics":
            return
        labelled(REQUESTS, template, door, scope["method"], str(status)).inc()
        labelled(LATENCY, template, door).observe(seconds)
        state = scope.get("state", {})
        principal = state.get("principal")
        tenant = facts.get("tenant", getattr(principal, "tenant_id", None))
        outcome = facts.get("outcome") or ("ok" if status < 400 else f"http_{status}")
        logs.request(request_id=state.get("request_id"), tenant=tenant, door=door, method=scope["method"],
                     route=template, status=status, duration_ms=round(seconds * 1000, 2), outcome=outcome,
                     replayed=facts.get("replayed", False))


# -- /metrics ---------------------------------------------------------------------------------------------

class OutboxCollector:
    """Outbox figures read from the database at scrape time: the same from every worker."""

    def __init__(self, engine):
        self.engine = engine

    def collect(self):
        now = datetime.now(timezone.utc)
        counts, oldest = outbox_figures(self.engine)
        pending = GaugeMetricFamily("salesrefund_outbox_pending", "Webhook deliveries not yet delivered")
        pending.add_metric([], counts.get("pending", 0))
        dead = GaugeMetricFamily("salesrefund_outbox_dead_letters", "Webhook deliveries given up after 24 h")
        dead.add_metric([], counts.get("dead", 0))
        lag = GaugeMetricFamily("salesrefund_outbox_lag_seconds", "Age of the oldest pending webhook delivery")
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)
        lag.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
        return [pending, dead, lag]


def install(app, engine) -> None:
    """``GET /metrics``, the observing middleware and the services' outcome counts."""
    outbox = OutboxCollector(engine)
    if MULTIPROCESS:
        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)
        scrape.register(outbox)
    else:
        scrape = _Both(outbox)

    @app.get("/metrics", include_in_schema=False)
    def metrics():
        return StarletteResponse(generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)

    instrument(app.state.refunds)
    if db_retry not in RETRY_OBSERVERS:
        RETRY_OBSERVERS.append(db_retry)
    if webhook_attempt not in ATTEMPT_OBSERVERS:
        ATTEMPT_OBSERVERS.append(webhook_attempt)
    app.add_middleware(Observer)


class _Both:
    """The process's default registry (the metrics above) plus this app's outbox collector."""

    def __init__(self, outbox: OutboxCollector):
        self.outbox = outbox

    def collect(self):
        from prometheus_client import REGISTRY
        yield from REGISTRY.collect()
        yield from self.outbox.collect()


def prepare_multiprocess_dir(workers: int) -> None:
    """For ``serve --workers N``: a fresh directory the workers share their counts through (set
    before any worker imports prometheus_client). One worker keeps its counts in memory."""
    if workers <= 1 or os.environ.get(ENV_MULTIPROC):
        return
    import tempfile
    os.environ[ENV_MULTIPROC] = tempfile.mkdtemp(prefix="salesrefund-metrics-")
