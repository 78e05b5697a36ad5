"""Fixtures the door tests share (each door keeps its own data fixtures in its own module)."""

from __future__ import annotations

import pytest

from salesrefund.service.refunds import RefundService


@pytest.fixture
def issued(monkeypatch) -> list:
    """Every ``IssueRefund`` handed to ``RefundService.issue`` during the test, in order; the real
    call still runs. Compare a door's command with the native API's for the same refund."""
    commands: list = []
    original = RefundService.issue

    def spy(self, ctx, command, responder):
        commands.append(command)
        return original(self, ctx, command, responder)

    monkeypatch.setattr(RefundService, "issue", spy)
    return commands
