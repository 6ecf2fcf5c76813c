"""The local stack: the embedded DynamoDB (schema from the template, conditions hold under
concurrency), the API Gateway emulation (routing, payload 2.0 events, responses, a private access
log), the schedules and the local-only clock."""

from __future__ import annotations

import base64
import calendar
import http.client
import json
import logging
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from infra.local.dynamodb import EmbeddedDynamoDB
from infra.local.stack import LocalStack, start_local_stack
from infra.template import ensure_table, load_template

TABLE = "routing-test"


@pytest.fixture(scope="module")
def dynamodb():
    with EmbeddedDynamoDB() as endpoint:
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="eu-central-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(max_pool_connections=40, retries={"max_attempts": 1}),
        )
        ensure_table(client, TABLE, load_template())
        yield client


# Embedded DynamoDB


def test_table_is_created_from_the_template(dynamodb):
    table = dynamodb.describe_table(TableName=TABLE)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    # vouchers expiring; birthdays, roster, joined; upkeep (points expiring, tier grace ending)
    assert set(indexes) == {"GSI1", "GSI2", "GSI3", "GSI4", "GSI5"}
    assert indexes["GSI3"]["KeySchema"] == [
        {"AttributeName": "GSI3PK", "KeyType": "HASH"},
        {"AttributeName": "GSI3SK", "KeyType": "RANGE"},
    ]
    gsi = indexes["GSI1"]
    assert gsi["KeySchema"] == [
        {"AttributeName": "GSI1PK", "KeyType": "HASH"},
        {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
    ]
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["kind", "member_id"]}
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_ensure_table_is_idempotent(dynamodb):
    ensure_table(dynamodb, TABLE, load_template())
    assert dynamodb.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "ACTIVE"


def test_gsi_is_queryable(dynamodb):
    dynamodb.put_item(
        TableName=TABLE,
        Item={"PK": {"S": "A#1"}, "SK": {"S": "A"}, "GSI1PK": {"S": "DUE"}, "GSI1SK": {"S": "2026-01-01"}},
    )
    items = dynamodb.query(
        TableName=TABLE,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "DUE"}},
    )["Items"]
    assert [item["PK"]["S"] for item in items] == ["A#1"]


@pytest.mark.parametrize("trial", range(3))
def test_concurrent_conditional_transactions_have_exactly_one_winner(dynamodb, trial):
    key = {"PK": {"S": f"COUNTER#{trial}"}, "SK": {"S": "COUNTER"}}
    dynamodb.put_item(TableName=TABLE, Item={**key, "counter": {"N": "1"}})
    contenders = 30
    barrier = threading.Barrier(contenders)
    outcomes: list[str] = []
    lock = threading.Lock()

    def decrement() -> None:
        barrier.wait()
        try:
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": key,
                            "UpdateExpression": "SET #c = #c - :one",
                            "ConditionExpression": "#c >= :one",
                            "ExpressionAttributeNames": {"#c": "counter"},
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    }
                ]
            )
            outcome = "won"
        except dynamodb.exceptions.TransactionCanceledException:
            outcome = "cancelled"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=decrement) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == contenders
    assert outcomes.count("won") == 1
    item = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
    assert item["counter"] == {"N": "0"}


# API Gateway emulation, with stand-in functions so routing is tested on its own.

FAKE_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Handler: app.lambda_handler
    MemorySize: 256
    Timeout: 10
Resources:
  CoreLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/core
  LoyaltyTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: PK, AttributeType: S}
        - {AttributeName: SK, AttributeType: S}
      KeySchema:
        - {AttributeName: PK, KeyType: HASH}
        - {AttributeName: SK, KeyType: RANGE}
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: ["*"]
        AllowHeaders: [authorization, content-type, x-member-token]
        AllowMethods: [GET, POST, DELETE]
        MaxAge: 600
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/echo/
      Events:
        Item: {Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Method: GET, Path: "/v1/items/{itemId}"}}
        Special: {Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Method: GET, Path: "/v1/items/special"}}
        Files: {Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Method: GET, Path: "/v1/files/{proxy+}"}}
        Create: {Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Method: POST, Path: "/v1/items"}}
        Modes: {Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Method: GET, Path: "/v1/modes/{mode}"}}
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/other/
      Events:
        List: {Type: HttpApi, Properties: {ApiId: !Ref HttpApi, Method: GET, Path: "/v1/items"}}
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/tick/
      Events:
        Hourly:
          Type: ScheduleV2
          Properties:
            Name: !Sub ${AWS::StackName}-hourly
            ScheduleExpression: rate(1 hour)
            Input: '{"task": "tidy", "at": "<aws.scheduler.scheduled-time>", "arn": "<aws.scheduler.schedule-arn>"}'
        Bare: {Type: ScheduleV2, Properties: {ScheduleExpression: "cron(0 9 * * ? *)"}}
        Rule: {Type: Schedule, Properties: {Schedule: rate(1 day), Name: nightly}}
        Broken: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(5 minutes), Input: '{"task": "fail"}'}}
        Paused: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(1 hour), State: DISABLED}}
"""

ECHO_APP = """\
import base64
import json
import os

from loyalty.services import clock


def lambda_handler(event, context):
    mode = (event.get("pathParameters") or {}).get("mode")
    if mode == "boom":
        raise RuntimeError("deliberate failure")
    if mode == "plain":
        return {"plain": True}
    if mode == "cookies":
        return {
            "statusCode": 201,
            "headers": {"X-One": "1"},
            "multiValueHeaders": {"X-Many": ["a", "b"]},
            "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
            "body": "",
        }
    if mode == "binary":
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "body": base64.b64encode(bytes(range(256))).decode(),
            "isBase64Encoded": True,
        }
    if mode == "cors":
        return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "https://evil.example"}}
    reply = {
        "event": event,
        "function": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "requestId": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
        "publicBaseUrl": os.environ.get("PUBLIC_BASE_URL"),
        "tableName": os.environ.get("TABLE_NAME"),
        "module": __name__,
        "clockNow": clock.now().timestamp(),
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(reply)}
"""

TICK_APP = """\
def lambda_handler(event, context):
    if isinstance(event, dict) and event.get("task") == "fail":
        raise ValueError("nothing to tidy")
    return {"event": event, "function": context.function_name}
"""

OTHER_APP = """\
def lambda_handler(event, context):
    return {"statusCode": 200, "body": '{"function": "%s"}' % context.function_name}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> LocalStack:
    root: Path = tmp_path_factory.mktemp("project")
    (root / "template.yaml").write_text(FAKE_TEMPLATE)
    (root / "layers" / "core").mkdir(parents=True)
    for name, source in (("echo", ECHO_APP), ("other", OTHER_APP), ("tick", TICK_APP)):
        (root / "functions" / name).mkdir(parents=True)
        (root / "functions" / name / "app.py").write_text(textwrap.dedent(source))
    # Links must point at this server and the stand-in schema must not touch the suite's table.
    overrides = {"PUBLIC_BASE_URL": None, "TABLE_NAME": "routing-api-test"}
    with start_local_stack(root=root, env_overrides=overrides) as local:
        yield local


@pytest.fixture
def shifted_clock(stack):
    """The stack's clock offset for one test, then real time again."""
    yield stack.clock
    stack.clock.set_offset(0)


def _request(stack, method, path, body=None, headers=None):
    url = urlsplit(stack.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def _echo(stack, path, **kwargs):
    status, _, body = _request(stack, "GET", path, **kwargs)
    assert status == 200, body
    return json.loads(body)


def test_stack_environment(stack):
    assert stack.base_url.startswith("http://127.0.0.1:")
    assert stack.env["PUBLIC_BASE_URL"] == stack.base_url
    assert stack.env["LOYALTY_ADMIN_TOKEN"] == stack.admin_token
    assert stack.env["LOYALTY_SIGNING_KEY"]
    assert stack.table_name == "routing-api-test"
    assert stack.env["AWS_ENDPOINT_URL_DYNAMODB"] == stack.dynamodb_endpoint
    reply = _echo(stack, "/v1/items/1")
    assert reply["publicBaseUrl"] == stack.base_url
    assert reply["tableName"] == stack.table_name


def test_event_is_payload_v2(stack):
    reply = _echo(
        stack,
        "/v1/items/a%20b?tag=x&tag=y&empty=&q=caf%C3%A9",
        headers={"Cookie": "session=abc; theme=dark", "X-Member-Token": "tok", "User-Agent": "tests"},
    )
    event = reply["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /v1/items/{itemId}"
    assert event["rawPath"] == "/v1/items/a b"
    assert event["rawQueryString"] == "tag=x&tag=y&empty=&q=caf%C3%A9"
    assert event["queryStringParameters"] == {"tag": "x,y", "empty": "", "q": "café"}
    assert event["pathParameters"] == {"itemId": "a b"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-member-token"] == "tok"
    assert all(name == name.lower() for name in event["headers"])
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/v1/items/a b",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tests",
    }
    assert context["routeKey"] == event["routeKey"]
    assert context["stage"] == "$default"
    assert context["domainName"] == urlsplit(stack.base_url).netloc
    assert context["requestId"]
    assert isinstance(context["timeEpoch"], int)
    assert reply["function"] == "EchoFunction"
    assert reply["memory"] == 256
    assert reply["arn"].endswith(":function:EchoFunction")
    assert 0 < reply["remaining"] <= 10_000
    assert reply["module"] == "bywalec_fn_echo"


def test_event_without_query_or_parameters_omits_them(stack):
    status, _, body = _request(stack, "GET", "/v1/items")
    assert status == 200
    assert json.loads(body) == {"function": "OtherFunction"}
    event = _echo(stack, "/v1/items/special")["event"]
    assert "queryStringParameters" not in event
    assert "pathParameters" not in event


def test_literal_segment_beats_parameter(stack):
    assert _echo(stack, "/v1/items/special")["event"]["routeKey"] == "GET /v1/items/special"
    assert _echo(stack, "/v1/items/other")["event"]["routeKey"] == "GET /v1/items/{itemId}"


def test_greedy_parameter_takes_the_rest_of_the_path(stack):
    event = _echo(stack, "/v1/files/a/b/c.txt")["event"]
    assert event["routeKey"] == "GET /v1/files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}


def test_text_body_is_passed_as_text(stack):
    body = json.dumps({"name": "Kawiarnia Żółta"}).encode()
    status, _, reply = _request(stack, "POST", "/v1/items", body=body, headers={"Content-Type": "application/json"})
    assert status == 200
    event = json.loads(reply)["event"]
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"name": "Kawiarnia Żółta"}


def test_binary_body_is_base64(stack):
    payload = bytes([0xFF, 0x00, 0x80, 0x7F])
    status, _, reply = _request(stack, "POST", "/v1/items", body=payload)
    assert status == 200
    event = json.loads(reply)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_unknown_path_is_404_envelope(stack):
    status, headers, body = _request(stack, "GET", "/v1/unknown")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "not_found"
    assert error["message"]
    assert error["details"] == []


def test_wrong_method_is_405_envelope(stack):
    status, headers, body = _request(stack, "DELETE", "/v1/items")
    assert status == 405
    assert headers["Allow"] == "GET, POST"
    assert json.loads(body)["error"]["code"] == "method_not_allowed"


def test_preflight_is_answered_from_the_cors_configuration(stack):
    status, headers, body = _request(
        stack,
        "OPTIONS",
        "/v1/items/1",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert status == 204
    assert body == b""
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "x-member-token" in headers["Access-Control-Allow-Headers"]
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Max-Age"] == "600"


def test_cors_headers_come_from_the_api_not_the_function(stack):
    _, headers, _ = _request(stack, "GET", "/v1/modes/cors", headers={"Origin": "https://shop.example"})
    assert headers.get_all("Access-Control-Allow-Origin") == ["*"]


def test_handler_exception_is_500_envelope(stack, capsys):
    status, _, body = _request(stack, "GET", "/v1/modes/boom")
    assert status == 500
    assert json.loads(body)["error"]["code"] == "internal_error"
    assert "deliberate failure" in capsys.readouterr().err


def test_plain_return_value_is_json_200(stack):
    status, headers, body = _request(stack, "GET", "/v1/modes/plain")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"plain": True}


def test_structured_response_with_cookies_and_multi_value_headers(stack):
    status, headers, body = _request(stack, "GET", "/v1/modes/cookies")
    assert status == 201
    assert body == b""
    assert headers["X-One"] == "1"
    assert headers.get_all("X-Many") == ["a", "b"]
    assert headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly"]


def test_base64_response_is_decoded(stack):
    status, headers, body = _request(stack, "GET", "/v1/modes/binary")
    assert status == 200
    assert headers["Content-Type"] == "image/png"
    assert body == bytes(range(256))


def test_body_over_six_megabytes_is_413(stack):
    status, _, body = _request(stack, "POST", "/v1/items", body=b"x" * (6 * 1024 * 1024 + 1))
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_connections_are_kept_alive(stack):
    url = urlsplit(stack.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        for _ in range(3):
            connection.request("GET", "/v1/items/special")
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            assert response.getheader("Connection") != "close"
    finally:
        connection.close()


def test_functions_can_be_invoked_directly(stack):
    reply = stack.invoke("OtherFunction", {"task": "expire-rewards"})
    assert reply == {"statusCode": 200, "body": '{"function": "OtherFunction"}'}


def test_concurrent_requests_each_get_their_own_event(stack):
    results: dict[int, str] = {}

    def call(index: int) -> None:
        results[index] = _echo(stack, f"/v1/items/{index}")["event"]["pathParameters"]["itemId"]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {i: str(i) for i in range(20)}


# Private access log


def test_access_log_holds_no_query_string_and_no_header_values(stack, caplog):
    caplog.set_level(logging.INFO, logger="infra.local.access")
    # Attached to the access logger itself: what other loggers in this process do to propagation is not tested here.
    access = logging.getLogger("infra.local.access")
    access.addHandler(caplog.handler)
    try:
        status, _, _ = _request(stack, "GET", "/v1/items/special?phone=%2B48600100200&email=ala%40example.com",
                                headers={"Authorization": "Bearer bw_owner_not-for-logs",
                                         "X-Member-Token": "tok-secret"})
    finally:
        access.removeHandler(caplog.handler)
    assert status == 200
    (line, *_) = [record.getMessage() for record in caplog.records if record.name == "infra.local.access"]
    assert line.startswith("GET /v1/items/special -> 200 (")
    assert line.endswith(" ms)")
    for secret in ("?", "phone", "48600100200", "example.com", "bw_owner", "tok-secret"):
        assert secret not in caplog.text


# Local-only routes: answered by the server itself, never by a function


def _epoch(iso: str) -> float:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def _json_call(stack, method, path, body=None):
    payload = json.dumps(body).encode() if body is not None else None
    status, _, reply = _request(stack, method, path, body=payload, headers={"Content-Type": "application/json"})
    return status, json.loads(reply)


def test_clock_starts_at_real_time(stack):
    status, reply = _json_call(stack, "GET", "/_local/clock")
    assert status == 200
    assert reply["offsetSeconds"] == 0
    assert abs(_epoch(reply["now"]) - time.time()) < 5


def test_clock_offset_reaches_the_functions_and_the_events(stack, shifted_clock):
    status, reply = _json_call(stack, "POST", "/_local/clock", {"offsetSeconds": 3 * 86400})
    assert (status, reply["offsetSeconds"]) == (200, 3 * 86400)
    shown = _json_call(stack, "GET", "/_local/clock")[1]
    assert shown["offsetSeconds"] == 3 * 86400
    assert abs(_epoch(shown["now"]) - (time.time() + 3 * 86400)) < 5

    # Every worker process gets the offset with each invocation, not just the one that saw a change.
    replies = [_echo(stack, f"/v1/items/{index}") for index in range(8)]
    for echoed in replies:
        assert abs(echoed["clockNow"] - (time.time() + 3 * 86400)) < 30
        assert abs(echoed["event"]["requestContext"]["timeEpoch"] / 1000 - (time.time() + 3 * 86400)) < 30

    _json_call(stack, "POST", "/_local/clock", {"offsetSeconds": 0})
    assert abs(_echo(stack, "/v1/items/1")["clockNow"] - time.time()) < 30


@pytest.mark.parametrize("body", [{"offsetSeconds": "86400"}, {"offsetSeconds": True}, {"offsetSeconds": 1e12},
                                  {"offset": 60}, [86400], None])
def test_invalid_clock_offset_is_400_and_changes_nothing(stack, shifted_clock, body):
    shifted_clock.set_offset(60)
    status, reply = _json_call(stack, "POST", "/_local/clock", body)
    assert status == 400
    assert reply["error"]["code"] == "validation_error"
    assert reply["error"]["details"][0]["field"] == "offsetSeconds"
    assert shifted_clock.offset_seconds == 60


def test_malformed_json_on_a_local_route_is_400(stack):
    status, _, body = _request(stack, "POST", "/_local/clock", body=b"{offset",
                               headers={"Content-Type": "application/json"})
    assert (status, json.loads(body)["error"]["code"]) == (400, "malformed_request")


def test_unknown_local_route_is_404_and_wrong_method_405(stack):
    status, _, body = _request(stack, "GET", "/_local/nothing-here")
    assert (status, json.loads(body)["error"]["code"]) == (404, "not_found")
    status, headers, body = _request(stack, "DELETE", "/_local/clock")
    assert (status, json.loads(body)["error"]["code"]) == (405, "method_not_allowed")
    assert headers["Allow"] == "GET, POST"


# Schedules


def _runs(stack):
    status, reply = _json_call(stack, "POST", "/_local/schedules/run")
    assert status == 200
    return {run["schedule"]: run for run in reply["runs"]}


def test_schedules_run_fires_every_enabled_schedule_with_the_event_eventbridge_delivers(stack):
    runs = _runs(stack)
    assert set(runs) == {"Hourly", "Bare", "Rule", "Broken"}  # Paused is disabled
    hourly = runs["Hourly"]
    assert (hourly["function"], hourly["status"]) == ("TickFunction", "succeeded")
    event = hourly["result"]["event"]
    assert event["task"] == "tidy"
    assert event["arn"] == "arn:aws:scheduler:eu-central-1:123456789012:schedule/default/bywalec-local-hourly"
    assert abs(_epoch(event["at"]) - time.time()) < 30
    assert runs["Bare"]["result"]["event"] == {}
    rule_event = runs["Rule"]["result"]["event"]
    assert rule_event["detail-type"] == "Scheduled Event"
    assert rule_event["source"] == "aws.events"
    assert rule_event["resources"] == ["arn:aws:events:eu-central-1:123456789012:rule/nightly"]
    assert rule_event["detail"] == {}


def test_a_failing_schedule_is_reported_not_raised(stack):
    broken = _runs(stack)["Broken"]
    assert broken["status"] == "failed"
    assert broken["result"] == {"errorType": "ValueError", "errorMessage": "nothing to tidy"}


def test_schedules_see_the_shifted_clock(stack, shifted_clock):
    _json_call(stack, "POST", "/_local/clock", {"offsetSeconds": 86400})
    at = _runs(stack)["Hourly"]["result"]["event"]["at"]
    assert abs(_epoch(at) - (time.time() + 86400)) < 30
