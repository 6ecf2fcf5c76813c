"""Fixtures shared by the integration tests of segments and campaigns."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.segments import open_cafe


@pytest.fixture
def at(monkeypatch):
    """Moves the services' clock to an instant."""
    from loyalty.services import clock

    def move(instant: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: instant)

    return move


@pytest.fixture
def cafe(world, other_world, at):
    """A café whose members fall into known segments, and another business with members of its own."""
    return open_cafe(world, other_world, at)
