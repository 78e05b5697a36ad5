"""Demo tenant for the beansbooks door (issue 3): the data its seed document's example refers to."""

from __future__ import annotations

from sqlalchemy import Engine

from ..service.uow import Clock


def load(engine: Engine, clock: Clock) -> bool:
    return False  # not built yet
