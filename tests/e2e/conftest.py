"""Real HTTP to the local server (the session's ``server``, see tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.clients import HttpClient
from tests.support.world import create_world


@pytest.fixture(scope="session")
def http(server):
    # The client checks every reply against docs/openapi.json (status, media type, schema, error codes).
    return HttpClient(server.base_url)


@pytest.fixture
def shop(http):
    return create_world(http)
