"""The events and webhooks admin API (issue 13): endpoints, the event log, dead letters, replay.

Every route needs the ``admin`` permission: an endpoint receives every object of the tenant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response as StarletteResponse

from ..domain.errors import Invalid, Violation
from ..service.events import EVENT_TYPES
from ..service.tenants import Principal
from . import responses as R
from .auth import require
from .native import Cursor, Limit, NO_NUL, _cursor
from .problems import ExactJSONRoute
from .schemas import Day

router = APIRouter(prefix="/v1", route_class=ExactJSONRoute, responses=R.PROBLEM_RESPONSES, tags=["events"])
Id = Annotated[str, Path(pattern=NO_NUL, max_length=64)]
From = Annotated[Day | None, Query(alias="from", description="first day (UTC) of the events' creation")]
To = Annotated[Day | None, Query(alias="to", description="last day (UTC) of the events' creation")]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)
    events: list[str] = Field(min_length=1, max_length=len(EVENT_TYPES),
                              description="any of " + ", ".join(EVENT_TYPES))
    description: str | None = Field(default=None, max_length=200, pattern=NO_NUL)


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    endpoint: str | None = Field(default=None, max_length=64, pattern=NO_NUL,
                                 description="replay to this endpoint only (else every subscribed one)")


class RangeReplayIn(ReplayIn):
    date_from: Day = Field(alias="from")
    date_to: Day = Field(alias="to")


class WebhookOut(R.Out):
    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="the HMAC-SHA256 signing key; shown in this answer only")


class WebhookPage(R.Out):
    items: list[WebhookOut]
    next: R.Cursor


class EventOut(R.Out):
    id: str = Field(description="evt_…: the same in every delivery and replay, for de-duplication")
    type: Literal["refund.created", "refund.posted", "refund.voided", "payout.created", "invoice.created"]
    created_at: datetime
    data: dict[str, Any] = Field(description="the object as the native API renders it (a refund or an invoice)")


class EventPage(R.Out):
    items: list[EventOut]
    next: R.Cursor


class DeliveryOut(R.Out):
    event: str
    type: str
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(R.Out):
    items: list[DeliveryOut]
    next: R.Cursor


class ReplayOut(R.Out):
    events: int = Field(description="events found")
    deliveries: int = Field(description="deliveries queued")


def _hooks(request: Request):
    return request.app.state.webhooks


@router.post("/webhooks", status_code=201, responses=R.ok(WebhookCreatedOut, 201))
def create_webhook(request: Request, body: WebhookIn, principal: Principal = require("admin")):
    """Register an endpoint; the answer carries its signing `secret`, shown this once."""
    view = _hooks(request).create(principal.tenant_id, url=body.url, events=body.events,
                                  description=body.description)
    return JSONResponse(view, status_code=201)


@router.get("/webhooks", responses=R.ok(WebhookPage))
def list_webhooks(request: Request, principal: Principal = require("admin")):
    return _hooks(request).list(principal.tenant_id)


@router.get("/webhooks/{webhook_id}", responses=R.ok(WebhookOut))
def get_webhook(request: Request, webhook_id: Id, principal: Principal = require("admin")):
    return _hooks(request).get(principal.tenant_id, webhook_id)


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(request: Request, webhook_id: Id, principal: Principal = require("admin")):
    """Stop delivering to the endpoint; its pending deliveries become dead letters."""
    _hooks(request).delete(principal.tenant_id, webhook_id)
    return StarletteResponse(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", responses=R.ok(DeliveryPage))
def webhook_deliveries(request: Request, webhook_id: Id, limit: Limit = 50, cursor: Cursor = None,
                       state: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
                       principal: Principal = require("admin")):
    """An endpoint's deliveries; `state=dead` lists its dead letters."""
    return _hooks(request).deliveries(principal.tenant_id, webhook_id, state=state, cursor=_cursor(cursor),
                                      limit=limit)


@router.get("/events", responses=R.ok(EventPage))
def list_events(request: Request, limit: Limit = 50, cursor: Cursor = None, date_from: From = None,
                date_to: To = None, type: Annotated[str | None, Query(pattern=NO_NUL)] = None,
                principal: Principal = require("admin")):
    """The tenant's events, oldest first, each exactly as it is delivered."""
    return _hooks(request).events(principal.tenant_id, cursor=_cursor(cursor), limit=limit, date_from=date_from,
                                  date_to=date_to, event_type=type)


@router.post("/events/replay", responses=R.ok(ReplayOut))
def replay_range(request: Request, body: RangeReplayIn, principal: Principal = require("admin")):
    """Queue every event created from `from` to `to` (UTC days, inclusive) again."""
    if body.date_to < body.date_from:
        raise Invalid(Violation("/to", "validation_error", "to is before from"))
    return _hooks(request).replay(principal.tenant_id, date_from=body.date_from, date_to=body.date_to,
                                  endpoint=body.endpoint)


@router.get("/events/{event_id}", responses=R.ok(EventOut))
def get_event(request: Request, event_id: Id, principal: Principal = require("admin")):
    return _hooks(request).event(principal.tenant_id, event_id)


@router.post("/events/{event_id}/replay", responses=R.ok(ReplayOut))
def replay_event(request: Request, event_id: Id, body: Annotated[ReplayIn | None, Body()] = None,
                 principal: Principal = require("admin")):
    """Queue one event again (same id and body): receivers de-duplicate by the id."""
    return _hooks(request).replay(principal.tenant_id, event=event_id, endpoint=body.endpoint if body else None)


def install_dispatcher(app, engine) -> None:
    """Run the dispatcher in a thread beside the app for its lifetime (``salesrefund serve``;
    ``SALESREFUND_DISPATCH=0`` leaves it to a separate ``salesrefund dispatch``)."""
    from contextlib import asynccontextmanager

    from ..service.dispatch import start_in_thread

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app):
        thread, stop = start_in_thread(engine)
        try:
            async with inner(asgi_app) as state:
                yield state
        finally:
            stop.set()
            thread.join(timeout=15)

    app.router.lifespan_context = lifespan
