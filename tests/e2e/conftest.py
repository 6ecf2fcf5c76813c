"""The local server, started once for the end-to-end tests: real HTTP, handlers in worker processes."""

from __future__ import annotations

import pytest

from tests.support.clients import HttpClient
from tests.support.world import create_world


@pytest.fixture(scope="session")
def server():
    from infra.local.stack import start_local_stack

    # Several execution environments per function: concurrent requests really run concurrently.
    with start_local_stack(port=0, concurrency=6) as stack:
        yield stack


@pytest.fixture(scope="session")
def http(server):
    # The client checks every reply against docs/openapi.json (status, media type, schema, error codes).
    return HttpClient(server.base_url)


@pytest.fixture
def shop(http):
    return create_world(http)
