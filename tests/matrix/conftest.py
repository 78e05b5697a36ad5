"""Module-scoped clock, app and client: each matrix module builds its two-sided world once and
sends hundreds of requests against it (the session's ``engine`` is shared, as everywhere)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from matrix_kit import FIXED_NOW, FixedClock
from salesrefund.app import create_app
from salesrefund.service.refunds import Settings


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    clock = FixedClock()
    yield clock
    clock.current = FIXED_NOW


@pytest.fixture(scope="module")
def app(engine, clock):
    return create_app(engine, clock=clock, settings=Settings())


@pytest.fixture(scope="module")
def client(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)
