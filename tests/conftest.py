"""One embedded DynamoDB (moto, requests serialized) and one table from template.yaml for the whole run.

The environment is set before any test imports the core package, which reads its settings once.
"""

from __future__ import annotations

import os

import pytest

from tests.support.world import ADMIN_TOKEN

_embedded = None

TEST_ENV = {
    "AWS_REGION": "eu-central-1",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "TABLE_NAME": "bywalec-test",
    "LOYALTY_ADMIN_TOKEN": ADMIN_TOKEN,
    "LOYALTY_SIGNING_KEY": "test-signing-key-not-secret",
    "PUBLIC_BASE_URL": "http://loyalty.test",
    "POWERTOOLS_SERVICE_NAME": "bywalec",
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def pytest_configure(config: pytest.Config) -> None:
    global _embedded
    for key, value in TEST_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["LOYALTY_ADMIN_TOKEN"] = ADMIN_TOKEN
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        from infra.embedded_dynamodb import EmbeddedDynamoDB

        _embedded = EmbeddedDynamoDB()
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = _embedded.start()
    import boto3

    from infra.template import ensure_table, load_template

    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    ensure_table(client, os.environ["TABLE_NAME"], load_template())


def pytest_unconfigure(config: pytest.Config) -> None:
    if _embedded is not None:
        _embedded.stop()


@pytest.fixture(scope="session")
def local_api():
    from infra.local_api import LocalApi

    return LocalApi()


@pytest.fixture(scope="session")
def handlers(local_api):
    """A client that invokes the handlers in-process with API Gateway v2 events."""
    from tests.support.clients import HandlerClient

    return HandlerClient(local_api)


@pytest.fixture
def world(handlers):
    """A fresh merchant: two locations, an owner key, a staff key for the first location."""
    from tests.support.world import create_world

    return create_world(handlers)


@pytest.fixture
def other_world(handlers):
    from tests.support.world import create_world

    return create_world(handlers, name="Salon Elegance")


@pytest.fixture
def settings_env(monkeypatch):
    """Run one test with some settings changed through their environment variables (read once, so re-read)."""
    from loyalty.settings import get_settings

    def apply(**env: object) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
