"""The outbox and the webhook endpoints of one tenant (issue 13): events, their deliveries and
the endpoints they go to. A part of ``TenantStore``: every statement is scoped to the store's
tenant, updates by id included. The dispatcher's claims across tenants are in ``store/dispatch.py``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, select

from . import tables as t

_e, _w, _d = t.events.c, t.webhook_endpoints.c, t.webhook_deliveries.c
_LIVE_ENDPOINTS = (select(t.webhook_endpoints)
                   .where(and_(_w.tenant_id == bindparam("tenant"), _w.deleted_at.is_(None))).order_by(_w.id))


class EventQueries:
    """Events, deliveries and webhook endpoints of one tenant (mixed into TenantStore)."""

    def insert_event(self, **values) -> int:
        return self._insert(t.events, **values)

    def queue_deliveries(self, rows: list[dict]) -> None:
        self._insert_many(t.webhook_deliveries, rows)

    def live_endpoints(self):
        """The tenant's endpoints that are not deleted, in order (every refund asks: built once)."""
        return self._run(_LIVE_ENDPOINTS).mappings().all()

    def insert_endpoint(self, **values):
        """A new endpoint; its row."""
        row_id = self._insert(t.webhook_endpoints, **values)
        return self._one(t.webhook_endpoints, _w.id == row_id)

    def live_endpoint(self, public_id: str):
        return self._one(t.webhook_endpoints, _w.public_id == public_id, _w.deleted_at.is_(None))

    def delete_endpoint(self, endpoint_id: int, now: datetime) -> None:
        """Mark the endpoint deleted; what it still had pending becomes a dead letter."""
        self.conn.execute(t.webhook_endpoints.update().where(self._where(t.webhook_endpoints, _w.id == endpoint_id))
                          .values(deleted_at=now))
        self.conn.execute(t.webhook_deliveries.update().where(self._where(
            t.webhook_deliveries, _d.endpoint_id == endpoint_id, _d.state == "pending")).values(
            state="dead", last_error="endpoint deleted", lease_token=None, lease_until=None))

    def events_page(self, after: int, limit: int, *, created_from: datetime | None = None,
                    created_before: datetime | None = None, event_type: str | None = None):
        conditions = [_e.id > after, *_created(created_from, created_before)]
        if event_type is not None:
            conditions.append(_e.type == event_type)
        return self.conn.execute(select(t.events).where(self._where(t.events, *conditions))
                                 .order_by(_e.id).limit(limit + 1)).mappings().all()

    def event(self, public_id: str):
        return self._one(t.events, _e.public_id == public_id)

    def events_to_replay(self, *, public_id: str | None = None, created_from: datetime | None = None,
                         created_before: datetime | None = None, limit: int):
        """(id, type, subject) of one event or of the events created in a time range, in order."""
        conditions = [_e.public_id == public_id] if public_id is not None else list(
            _created(created_from, created_before))
        return self.conn.execute(select(_e.id, _e.type, _e.subject).where(self._where(t.events, *conditions))
                                 .order_by(_e.id).limit(limit)).all()

    def deliveries_page(self, endpoint_id: int, after: int, limit: int, state: str | None = None):
        """An endpoint's deliveries with their event's public id and type."""
        conditions = [_d.endpoint_id == endpoint_id, _d.id > after]
        if state is not None:
            conditions.append(_d.state == state)
        return self.conn.execute(
            select(t.webhook_deliveries, _e.public_id.label("event"), _e.type.label("type"))
            .join(t.events, _e.id == _d.event_id)
            .where(self._where(t.webhook_deliveries, *conditions)).order_by(_d.id).limit(limit + 1)
        ).mappings().all()


def _created(created_from: datetime | None, created_before: datetime | None):
    if created_from is not None:
        yield _e.created_at >= created_from
    if created_before is not None:
        yield _e.created_at < created_before
