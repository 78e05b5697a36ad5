"""Events (a transactional outbox) and the webhook endpoints they are delivered to (issue 13).

``emit`` is called by a use case inside its own transaction, with the object as the native API
renders it: the event row and one pending delivery per subscribed endpoint commit with the change
or not at all, so there is no event without its change and no change without its event. The
dispatcher (``service.dispatch``) delivers them; ``Webhooks`` manages endpoints, lists events and
dead letters, and replays.

Event ids (``evt_…``) are the receivers' de-duplication key: delivery is at least once, and a
replay sends the same event (same id, same body) again.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import date, datetime, time, timedelta, timezone

from ..domain.errors import Invalid, Violation, reject
from ..store.engine import Engine
from ..store.repository import TenantStore
from . import views
from .uow import Clock, UnitOfWork

EVENT_TYPES = ("refund.created", "refund.posted", "refund.voided", "payout.created", "invoice.created")
MAX_REPLAY = 10_000  # events one replay request may queue

def emit(store: TenantStore, event_type: str, subject: str, obj: dict, now: datetime) -> str:
    """Record an event and queue it for every endpoint subscribed to its type, in the caller's
    transaction. ``subject`` (``refund:<id>``, ``invoice:<number>``) orders deliveries: the events
    of one subject reach each endpoint in the order they were written. Returns the event id."""
    return emit_all(store, (event_type,), subject, obj, now)[0]


def emit_all(store: TenantStore, event_types: tuple[str, ...], subject: str, obj: dict, now: datetime) -> list[str]:
    """``emit`` for several events of one object (a posted refund is ``refund.created`` and
    ``refund.posted``): the endpoints are read and the object encoded once (issue 14). Each body
    is byte for byte what ``json.dumps`` writes for ``{"id", "type", "created_at", "data"}``."""
    assert all(event_type in EVENT_TYPES for event_type in event_types), event_types
    data = json.dumps(obj, default=str)
    endpoints = store.live_endpoints()
    ids = []
    for event_type in event_types:
        public_id = "evt_" + uuid.uuid4().hex
        body = (f'{{"id": {json.dumps(public_id)}, "type": {json.dumps(event_type)}, '
                f'"created_at": {json.dumps(views._iso(now))}, "data": {data}}}')
        event_id = store.insert_event(public_id=public_id, type=event_type, subject=subject,
                                      payload_json=body, created_at=now)
        store.queue_deliveries([_pending(event_id, endpoint["id"], subject, now) for endpoint in endpoints
                                if event_type in endpoint["events"].split()])
        ids.append(public_id)
    return ids


def _pending(event_id: int, endpoint_id: int, subject: str, now: datetime) -> dict:
    return {"event_id": event_id, "endpoint_id": endpoint_id, "subject": subject, "state": "pending",
            "attempts": 0, "next_attempt_at": now, "created_at": now}


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Webhooks:
    """Endpoints (admin API and CLI), the event log, dead letters and replays of one tenant."""

    def __init__(self, engine: Engine, clock: Clock | None = None, *, allow_private: bool = False):
        self.engine = engine
        self.clock = clock or Clock()
        self.allow_private = allow_private

    def uow(self, tenant_id: int, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self.engine, tenant_id, write=write)

    # -- endpoints ----------------------------------------------------------------------------
    def create(self, tenant_id: int, *, url: str, events: list[str], description: str | None = None) -> dict:
        """A new endpoint; its signing secret is in this answer only."""
        from .dispatch import UnsafeUrl, check_url

        problems = [Violation(f"/events/{i}", "validation_error", "unknown event type {type}; known: {known}",
                              {"type": e, "known": ", ".join(EVENT_TYPES)})
                    for i, e in enumerate(events) if e not in EVENT_TYPES]
        if not events:
            problems.append(Violation("/events", "validation_error", "name at least one event type"))
        try:
            check_url(url, allow_private=self.allow_private)
        except UnsafeUrl as unsafe:
            problems.insert(0, Violation("/url", "validation_error", "the URL is not allowed: {reason}",
                                         {"reason": str(unsafe)}))
        if problems:
            raise Invalid(problems)
        secret = new_secret()
        with self.uow(tenant_id) as uow:
            row = uow.store.insert_endpoint(public_id=str(uuid.uuid4()), url=url,
                                            events=" ".join(dict.fromkeys(events)), secret=secret,
                                            description=description, created_at=self.clock.now())
            uow.commit()
        return {**_endpoint_view(row), "secret": secret}

    def list(self, tenant_id: int) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            rows = uow.store.live_endpoints()
            return {"items": [_endpoint_view(r) for r in rows], "next": None}

    def get(self, tenant_id: int, endpoint_id: str) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            return _endpoint_view(self._endpoint(uow.store, endpoint_id))

    def delete(self, tenant_id: int, endpoint_id: str) -> None:
        """Stop delivering to an endpoint; what it still had pending becomes a dead letter."""
        with self.uow(tenant_id) as uow:
            row = self._endpoint(uow.store, endpoint_id)
            uow.store.delete_endpoint(row["id"], self.clock.now())
            uow.commit()

    def _endpoint(self, store: TenantStore, endpoint_id: str):
        row = store.live_endpoint(endpoint_id)
        if row is None:
            raise reject("not_found", "/id", "webhook endpoint {id} does not exist", id=endpoint_id)
        return row

    # -- the event log and dead letters -------------------------------------------------------------
    def events(self, tenant_id: int, *, cursor: str | None, limit: int, date_from: date | None = None,
               date_to: date | None = None, event_type: str | None = None) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            rows = uow.store.events_page(views.decode_cursor(cursor), limit, **_window(date_from, date_to),
                                         event_type=event_type)
            return views.page([json.loads(r["payload_json"]) for r in rows], [r["id"] for r in rows], limit)

    def event(self, tenant_id: int, public_id: str) -> dict:
        with self.uow(tenant_id, write=False) as uow:
            row = uow.store.event(public_id)
            if row is None:
                raise reject("not_found", "/id", "event {id} does not exist", id=public_id)
            return json.loads(row["payload_json"])

    def deliveries(self, tenant_id: int, endpoint_id: str, *, state: str | None = None, cursor: str | None = None,
                   limit: int = 50) -> dict:
        """An endpoint's deliveries, newest last; ``state="dead"`` is its dead-letter list."""
        with self.uow(tenant_id, write=False) as uow:
            endpoint = self._endpoint(uow.store, endpoint_id)
            rows = uow.store.deliveries_page(endpoint["id"], views.decode_cursor(cursor), limit, state)
            return views.page([_delivery_view(r) for r in rows], [r["id"] for r in rows], limit)

    # -- replay ---------------------------------------------------------------------------------------
    def replay(self, tenant_id: int, *, event: str | None = None, date_from: date | None = None,
               date_to: date | None = None, endpoint: str | None = None) -> dict:
        """Queue one event, or every event of a time range, again: a new delivery to each endpoint
        subscribed to it (or to ``endpoint`` alone), due now. Returns how many were queued."""
        with self.uow(tenant_id) as uow:
            store = uow.store
            window = _window(date_from, date_to) if event is None else {}
            rows = store.events_to_replay(public_id=event, **window, limit=MAX_REPLAY + 1)
            if event is not None and not rows:
                raise reject("not_found", "/id", "event {id} does not exist", id=event)
            if len(rows) > MAX_REPLAY:
                raise Invalid(Violation("/", "validation_error", "more than {n} events in that range; narrow it",
                                        {"n": MAX_REPLAY}))
            if endpoint is not None:
                targets = [self._endpoint(store, endpoint)]
            else:
                targets = store.live_endpoints()
            now = self.clock.now()
            queued = [_pending(event_id, target["id"], subject, now) for event_id, event_type, subject in rows
                      for target in targets if endpoint is not None or event_type in target["events"].split()]
            store.queue_deliveries(queued)
            uow.commit()
        return {"events": len(rows), "deliveries": len(queued)}


def _window(date_from: date | None, date_to: date | None) -> dict:
    """Events created from the start of ``date_from`` to the end of ``date_to`` (UTC days)."""
    return {"created_from": datetime.combine(date_from, time.min, timezone.utc) if date_from is not None else None,
            "created_before": (datetime.combine(date_to + timedelta(days=1), time.min, timezone.utc)
                               if date_to is not None else None)}


def _endpoint_view(row) -> dict:
    return {"id": row["public_id"], "url": row["url"], "events": row["events"].split(),
            "description": row["description"], "created_at": views._iso(row["created_at"])}


def _delivery_view(row) -> dict:
    return {"event": row["event"], "type": row["type"], "state": row["state"], "attempts": row["attempts"],
            "last_status": row["last_status"], "last_error": row["last_error"],
            "next_attempt_at": views._iso(row["next_attempt_at"]) if row["state"] == "pending" else None,
            "created_at": views._iso(row["created_at"]), "delivered_at": views._iso(row["delivered_at"])}
