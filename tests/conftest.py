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
    "SENDER_EMAIL": "loyalty@bywalec.example",
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
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or not os.environ.get("AWS_ENDPOINT_URL_SQS"):
        from infra.local.dynamodb import EmbeddedDynamoDB

        _embedded = EmbeddedDynamoDB()
        endpoint = _embedded.start()
        # The same moto server answers for the queue, email and SMS clients.
        for service in ("DYNAMODB", "SQS", "SESV2", "SNS"):
            os.environ.setdefault(f"AWS_ENDPOINT_URL_{service}", endpoint)
    import boto3

    from infra.template import ensure_table, load_template

    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    ensure_table(client, os.environ["TABLE_NAME"], load_template())


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    # Checks of what the whole suite recorded run after every other test.
    last = [item for item in items if item.get_closest_marker("after_suite")]
    items[:] = [item for item in items if not item.get_closest_marker("after_suite")] + last


def pytest_unconfigure(config: pytest.Config) -> None:
    if _embedded is not None:
        _embedded.stop()


@pytest.fixture(scope="session")
def dynamodb_usage():
    """DynamoDB actions each function sends while the tests invoke it (checked against template.yaml last)."""
    from tests.support.dynamodb_usage import DynamoDBUsage

    usage = DynamoDBUsage()
    usage.install()
    return usage


_running_servers: list = []


@pytest.fixture(scope="session")
def server():
    """The local server, started once for the end-to-end and browser tests: real HTTP, handlers in worker
    processes. One per run: a process holds one local stack at a time."""
    from infra.local.stack import start_local_stack

    # Several execution environments per function: concurrent requests really run concurrently.
    stack = start_local_stack(port=0, concurrency=6)
    _running_servers.append(stack)
    try:
        yield stack
    finally:
        _stop_servers()


def _stop_servers() -> None:
    while _running_servers:
        _running_servers.pop().stop()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # The server shares the embedded DynamoDB and queues with the in-process tests: once no later test needs it,
    # it stops, so its schedules, queue pollers and stream consumer never act on what those tests write.
    if _running_servers and not any("server" in getattr(later, "fixturenames", ())
                                    for later in item.session.items[item.session.items.index(item) + 1:]):
        _stop_servers()


@pytest.fixture(scope="session")
def runtime(dynamodb_usage):
    """The template's functions, run in this process one invocation at a time."""
    from infra.local.lambda_runtime import LambdaRuntime

    functions = LambdaRuntime()
    dynamodb_usage.observe(functions)
    return functions


@pytest.fixture(scope="session")
def handlers(runtime):
    """A client that invokes the handlers in-process with API Gateway v2 events."""
    from infra.local.http_api import HttpApi
    from tests.support.clients import HandlerClient

    return HandlerClient(HttpApi(runtime))


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


@pytest.fixture(scope="session")
def mail():
    """moto's SES v2 and SNS in this process, with the sender address verified: what they accepted, as the
    local outbox view shows it."""
    from datetime import UTC, datetime

    from infra.local.mail import LocalMail

    local_mail = LocalMail(os.environ["AWS_REGION"], os.environ["SENDER_EMAIL"], lambda: datetime.now(UTC))
    local_mail.start()
    return local_mail


@pytest.fixture(scope="module")
def meter():
    """Counts the DynamoDB requests the handlers send (per API, item and index) while a test module runs."""
    import boto3

    from infra.dynamodb_meter import Meter

    meter = Meter(lambda: boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"]))
    meter.install()
    yield meter
    meter.uninstall()
