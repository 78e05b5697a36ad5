"""The webhook dispatcher's rows (``service.dispatch``): due deliveries across tenants (or of one
tenant), claimed with a lease and finished under it. A claim reads every tenant's due deliveries
(the one store part that is not one tenant's); each update names the delivery's tenant, its id
and the lease token it was claimed with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, and_, exists, func, select, update
from sqlalchemy.orm import aliased

from . import tables as t

_d, _e, _w = t.webhook_deliveries.c, t.events.c, t.webhook_endpoints.c


class Deliveries:
    def __init__(self, conn: Connection, tenant_id: int | None = None):
        self.conn = conn
        self.tenant_id = tenant_id  # one tenant's deliveries only (tests, a tenant's own dispatcher)

    def _tenant(self) -> list:
        return [_d.tenant_id == self.tenant_id] if self.tenant_id is not None else []

    def anything_due(self, now: datetime) -> bool:
        return self.conn.execute(select(_d.id).where(_d.state == "pending", _d.next_attempt_at <= now,
                                                     *self._tenant()).limit(1)).first() is not None

    def claim(self, now: datetime, lease_until: datetime, batch: int, tokens) -> list:
        """Up to ``batch`` due deliveries whose earlier deliveries of the same subject to the same
        endpoint are done, leased until ``lease_until`` with a token each (``tokens()`` makes one);
        PostgreSQL skips rows another dispatcher holds. Each claimed row: id, tenant_id, attempt
        (this one), created_at, token, and its endpoint's url and secret, its event's public id,
        type and body."""
        earlier = aliased(t.webhook_deliveries)
        due = and_(_d.state == "pending", _d.next_attempt_at <= now, *self._tenant(),
                   (_d.lease_until.is_(None)) | (_d.lease_until <= now),
                   ~exists().where(earlier.c.endpoint_id == _d.endpoint_id, earlier.c.subject == _d.subject,
                                   earlier.c.state == "pending", earlier.c.id < _d.id))
        stmt = (select(_d.id, _d.tenant_id, _d.attempts, _d.created_at).where(due).order_by(_d.id).limit(batch))
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=t.webhook_deliveries)
        rows = self.conn.execute(stmt).all()
        if not rows:
            return []
        claimed = {}
        for row in rows:
            token = tokens()
            self.conn.execute(update(t.webhook_deliveries).where(_d.tenant_id == row.tenant_id, _d.id == row.id)
                              .values(attempts=row.attempts + 1, lease_token=token, lease_until=lease_until))
            claimed[row.id] = {"id": row.id, "tenant_id": row.tenant_id, "attempt": row.attempts + 1,
                               "created_at": row.created_at, "token": token}
        for d in self.conn.execute(
                select(_d.id, _w.url, _w.secret, _e.public_id, _e.type, _e.payload_json)
                .join(t.events, _e.id == _d.event_id).join(t.webhook_endpoints, _w.id == _d.endpoint_id)
                .where(_d.id.in_(list(claimed)))).all():
            claimed[d.id].update(url=d.url, secret=d.secret, event=d.public_id, type=d.type, body=d.payload_json)
        return [claimed[row.id] for row in rows]

    def finish(self, tenant_id: int | None, delivery_id: int, token: str, **values) -> bool:
        """Record an attempt's result if the lease (``token``) is still held; False when it was lost."""
        tenant = [_d.tenant_id == tenant_id] if tenant_id is not None else []
        done = self.conn.execute(update(t.webhook_deliveries).where(
            *tenant, _d.id == delivery_id, _d.lease_token == token, _d.state == "pending").values(
            lease_token=None, lease_until=None, **values))
        return bool(done.rowcount)


def outbox_figures(engine: Engine) -> tuple[dict[str, int], datetime | None]:
    """The outbox at a metrics scrape, across every tenant (operations figures, no tenant's data):
    the deliveries counted by state, and when the oldest pending one was created."""
    d = t.webhook_deliveries.c
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        counts = dict(conn.execute(select(d.state, func.count()).group_by(d.state)).all())
        oldest = conn.execute(select(func.min(d.created_at)).where(d.state == "pending")).scalar()
    return counts, oldest
