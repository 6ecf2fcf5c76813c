"""Each function is granted exactly the DynamoDB actions its handler sends: none missing, none unused.

While the suite runs, `dynamodb_usage` records the DynamoDB calls each function's handler makes (every
route and schedule goes through the handlers). These checks run after every other test and compare
that record with template.yaml, so a new route or store call that needs another grant, or a grant
nothing uses any more, fails here. A partial run can only prove that nothing it ran lacked a grant.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.template import (
    SERVERLESS_FUNCTION,
    as_list,
    dynamodb_actions,
    function_properties,
    http_routes,
    load_template,
    policy_statements,
    resources_of_type,
    service_actions,
)
from tests.support.dynamodb_usage import invocation_key, uses_of

pytestmark = pytest.mark.after_suite

TESTS = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def _whole_suite_ran(session: pytest.Session) -> bool:
    collected = {Path(str(item.path)).resolve() for item in session.items}
    return all(path.resolve() in collected for path in (TESTS / "integration").glob("test_*.py"))


def _require_whole_suite(request: pytest.FixtureRequest) -> None:
    if not _whole_suite_ran(request.session):
        pytest.skip("unused grants show only when every integration test module runs")


def _required_invocations(template: dict) -> dict[str, set[str]]:
    """Per function, what the suite must have invoked: each HTTP route and each scheduled payload."""
    required: dict[str, set[str]] = {name: set() for name in resources_of_type(template, SERVERLESS_FUNCTION)}
    for route in http_routes(template):
        required[route.function_logical_id].add(route.route_key)
    for logical_id in required:
        for event in (function_properties(template, logical_id).get("Events") or {}).values():
            payload = (event.get("Properties") or {}).get("Input")
            if event.get("Type") != "HttpApi" and payload:
                required[logical_id].add(invocation_key(json.loads(payload)))
    return required


def _nonempty(by_function: dict[str, set[str]]) -> dict[str, list[str]]:
    return {logical_id: sorted(values) for logical_id, values in by_function.items() if values}


def _grants_index(template: dict, logical_id: str) -> bool:
    return any(
        "/index/" in json.dumps(resource)
        for statement in policy_statements(template, logical_id)
        if any(str(action).startswith("dynamodb:") for action in as_list(statement.get("Action")))
        for resource in as_list(statement.get("Resource"))
    )


def test_no_function_sends_a_dynamodb_action_it_is_not_granted(template, dynamodb_usage):
    missing = _nonempty({
        logical_id: dynamodb_usage.actions(logical_id) - dynamodb_actions(template, logical_id)
        for logical_id in resources_of_type(template, SERVERLESS_FUNCTION)
    })
    assert not missing, f"grant these in template.yaml: {missing}"
    for logical_id in resources_of_type(template, SERVERLESS_FUNCTION):
        if dynamodb_usage.indexes(logical_id):
            assert _grants_index(template, logical_id), f"{logical_id} queries an index it may not read"


def test_every_route_and_schedule_ran_through_its_handler(request, template, dynamodb_usage):
    _require_whole_suite(request)
    not_run = _nonempty({
        logical_id: keys - dynamodb_usage.invoked.get(logical_id, set())
        for logical_id, keys in _required_invocations(template).items()
    })
    assert not not_run, f"no integration test invokes these: {not_run}"


def test_each_function_is_granted_only_the_dynamodb_actions_it_sends(request, template, dynamodb_usage):
    _require_whole_suite(request)
    unused = _nonempty({
        logical_id: dynamodb_actions(template, logical_id) - dynamodb_usage.actions(logical_id)
        for logical_id in resources_of_type(template, SERVERLESS_FUNCTION)
    })
    assert not unused, f"remove these grants from template.yaml: {unused}"


def test_index_arns_are_granted_only_where_an_index_is_queried(request, template, dynamodb_usage):
    _require_whole_suite(request)
    for logical_id in resources_of_type(template, SERVERLESS_FUNCTION):
        assert _grants_index(template, logical_id) == bool(dynamodb_usage.indexes(logical_id)), logical_id


# Queues, email and SMS. A function may also hold the shared MessageDispatchPolicy (sqs:SendMessage to the
# message queue) as one of the functions that write outbox messages; its own statements must all be used.

MESSAGING_IAM_SERVICES = ("sqs", "ses", "sns")


def _messaging_grants(template: dict, logical_id: str, *, managed: bool) -> set[str]:
    return {action for service in MESSAGING_IAM_SERVICES
            for action in service_actions(template, logical_id, service, managed=managed)}


def test_no_function_sends_a_queue_email_or_sms_action_it_is_not_granted(template, dynamodb_usage):
    missing = _nonempty({
        logical_id: dynamodb_usage.messaging.get(logical_id, set()) - _messaging_grants(template, logical_id,
                                                                                       managed=True)
        for logical_id in resources_of_type(template, SERVERLESS_FUNCTION)
    })
    assert not missing, f"grant these in template.yaml: {missing}"


def test_each_function_states_only_the_queue_email_and_sms_actions_it_sends(request, template, dynamodb_usage):
    _require_whole_suite(request)
    unused = _nonempty({
        logical_id: _messaging_grants(template, logical_id, managed=False) - dynamodb_usage.messaging.get(logical_id,
                                                                                                          set())
        for logical_id in resources_of_type(template, SERVERLESS_FUNCTION)
    })
    assert not unused, f"remove these grants from template.yaml: {unused}"


# How calls become IAM actions


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("GetItem", {"Key": {}}, {("dynamodb:GetItem", None)}),
        ("Query", {"KeyConditionExpression": "PK = :pk"}, {("dynamodb:Query", None)}),
        ("Query", {"IndexName": "GSI1"}, {("dynamodb:Query", "GSI1")}),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Put": {}}, {"Update": {}}, {"Put": {}}, {"ConditionCheck": {}}]},
            {("dynamodb:PutItem", None), ("dynamodb:UpdateItem", None), ("dynamodb:ConditionCheckItem", None)},
        ),
        ("TransactGetItems", {"TransactItems": [{"Get": {}}]}, {("dynamodb:GetItem", None)}),
    ],
)
def test_calls_translate_into_the_actions_iam_checks(operation, params, expected):
    assert {(use.action, use.index) for use in uses_of(operation, params)} == expected
