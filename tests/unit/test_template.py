"""template.yaml is the contract for routes, permissions, logs and the table: check it as data."""

from __future__ import annotations

import json
import re

import pytest

from infra.template import (
    ROOT,
    Route,
    as_list,
    dynamodb_actions,
    function_properties,
    functions,
    http_routes,
    load_template,
    match_route,
    policy_statements,
    resources_of_type,
    table_definition,
    ttl_attribute,
)

EXPECTED_ROUTES = {
    ("POST", "/v1/merchants", "MerchantsFunction"),
    ("POST", "/v1/merchants/{merchantId}/locations", "MerchantsFunction"),
    ("GET", "/v1/merchants/{merchantId}/locations", "MerchantsFunction"),
    ("POST", "/v1/merchants/{merchantId}/api-keys", "MerchantsFunction"),
    ("GET", "/v1/merchants/{merchantId}/api-keys", "MerchantsFunction"),
    ("DELETE", "/v1/merchants/{merchantId}/api-keys/{apiKeyId}", "MerchantsFunction"),
    ("POST", "/v1/merchants/{merchantId}/owner-key", "MerchantsFunction"),
    ("GET", "/v1/merchants/{merchantId}/program", "MerchantsFunction"),
    ("PUT", "/v1/merchants/{merchantId}/program", "MerchantsFunction"),
    ("GET", "/v1/merchants/{merchantId}/locations/{locationId}/counter-code", "MerchantsFunction"),
    ("GET", "/v1/merchants/{merchantId}/messaging", "MerchantsFunction"),
    ("PUT", "/v1/merchants/{merchantId}/messaging", "MerchantsFunction"),
    ("POST", "/v1/merchants/{merchantId}/members", "EnrollFunction"),
    ("POST", "/v1/merchants/{merchantId}/members/search", "EnrollFunction"),
    ("GET", "/v1/merchants/{merchantId}/members/{memberId}", "EnrollFunction"),
    ("POST", "/v1/merchants/{merchantId}/members/{memberId}/card", "EnrollFunction"),
    ("GET", "/v1/merchants/{merchantId}/members/{memberId}/export", "EnrollFunction"),
    ("DELETE", "/v1/merchants/{merchantId}/members/{memberId}", "EnrollFunction"),
    ("GET", "/v1/merchants/{merchantId}/segments", "EnrollFunction"),
    ("POST", "/v1/merchants/{merchantId}/segments", "EnrollFunction"),
    ("GET", "/v1/merchants/{merchantId}/segments/{name}/members", "EnrollFunction"),
    ("POST", "/v1/scans", "ScanFunction"),
    ("POST", "/v1/merchants/{merchantId}/pos/events", "PosFunction"),
    ("POST", "/v1/me/rewards", "RedeemFunction"),
    ("DELETE", "/v1/me/rewards/{issuedRewardId}", "RedeemFunction"),
    ("POST", "/v1/redemptions", "RedeemFunction"),
    ("GET", "/v1/me/referral", "ReferralFunction"),
    ("GET", "/v1/merchants/{merchantId}/referrals", "ReferralFunction"),
    ("POST", "/v1/merchants/{merchantId}/referrals/{referralId}/approve", "ReferralFunction"),
    ("POST", "/v1/merchants/{merchantId}/referrals/{referralId}/reject", "ReferralFunction"),
    ("GET", "/v1/me", "CardFunction"),
    ("GET", "/v1/me/export", "CardFunction"),
    ("DELETE", "/v1/me", "CardFunction"),
    ("GET", "/v1/me/preferences", "CardFunction"),
    ("PATCH", "/v1/me/preferences", "CardFunction"),
    ("POST", "/v1/me/feedback", "CardFunction"),
    ("GET", "/v1/merchants/{merchantId}/feedback", "CardFunction"),
    ("GET", "/v1/u/{token}", "CardFunction"),
    ("POST", "/v1/u/{token}", "CardFunction"),
    ("POST", "/v1/merchants/{merchantId}/card-link", "CardFunction"),
    ("POST", "/v1/merchants/{merchantId}/card-link/open", "CardFunction"),
    ("GET", "/v1/m/{merchantId}", "CardFunction"),
    ("GET", "/v1/merchants/{merchantId}/dashboard", "CardFunction"),
    ("GET", "/v1/health", "CardFunction"),
    ("POST", "/v1/merchants/{merchantId}/campaigns", "CampaignsFunction"),
    ("GET", "/v1/merchants/{merchantId}/campaigns", "CampaignsFunction"),
    ("GET", "/v1/merchants/{merchantId}/campaigns/{campaignId}", "CampaignsFunction"),
    ("PATCH", "/v1/merchants/{merchantId}/campaigns/{campaignId}", "CampaignsFunction"),
    ("POST", "/v1/merchants/{merchantId}/campaigns/{campaignId}/preview", "CampaignsFunction"),
    ("GET", "/v1/merchants/{merchantId}/campaigns/{campaignId}/runs", "CampaignsFunction"),
    ("GET", "/v1/merchants/{merchantId}/insights", "InsightsFunction"),
    ("POST", "/v1/merchants/{merchantId}/imports", "ImportsFunction"),
    ("GET", "/v1/merchants/{merchantId}/imports/{importId}", "ImportsFunction"),
}

FUNCTIONS = {
    "MerchantsFunction", "EnrollFunction", "ScanFunction", "PosFunction", "RedeemFunction", "ReferralFunction",
    "CardFunction", "RewardExpiryFunction", "MemberUpkeepFunction", "SenderFunction", "CampaignsFunction",
    "InsightsFunction", "InsightsRollupFunction",
    "ImportsFunction", "ImportWorkerFunction",
}
TABLE_ARN = {"Fn::GetAtt": ["LoyaltyTable", "Arn"]}
INDEX_ARN = {"Fn::Sub": "${LoyaltyTable.Arn}/index/*"}
# Item and query actions only; which of them each function gets is checked against what its
# handler sends (tests/integration/test_least_privilege.py).
DYNAMODB_DATA_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:TransactGetItems",
    "dynamodb:BatchWriteItem",  # an import's file, kept in slices
}


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


# Loading


def test_short_tags_become_long_form_intrinsics(template):
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["TABLE_NAME"] == {"Ref": "LoyaltyTable"}
    assert template["Outputs"]["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
    }
    expiry = template["Resources"]["RewardExpiryFunction"]["Properties"]
    assert TABLE_ARN in expiry["Policies"][1]["Statement"][0]["Resource"]


def test_globals(template):
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.12"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["MemorySize"] == 512
    assert globals_["Timeout"] == 10
    assert globals_["Layers"] == [{"Ref": "CoreLayer"}]
    assert globals_["Environment"]["Variables"] == {
        "TABLE_NAME": {"Ref": "LoyaltyTable"},
        "SIGNING_KEY_PARAMETER": {"Ref": "SigningKeyParameterName"},
        "ADMIN_TOKEN_PARAMETER": {"Ref": "AdminTokenParameterName"},
        "PUBLIC_BASE_URL": {"Ref": "PublicBaseUrl"},
        "MESSAGE_QUEUE_URL": {"Ref": "MessageQueue"},
        "POWERTOOLS_SERVICE_NAME": "bywalec",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_METRICS_NAMESPACE": "Bywalec",
        "POWERTOOLS_PARAMETERS_MAX_AGE": "300",
    }


def test_parameters(template):
    params = template["Parameters"]
    assert params["SigningKeyParameterName"]["Default"] == "/bywalec/signing-key"
    assert params["AdminTokenParameterName"]["Default"] == "/bywalec/admin-token"
    assert params["PublicBaseUrl"]["Default"] == ""
    retention = params["LogRetentionDays"]
    assert retention["Default"] in retention["AllowedValues"]
    assert {1, 30, 365, 3653} <= set(retention["AllowedValues"])


def test_core_layer(template):
    layer = template["Resources"]["CoreLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/core"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert (ROOT / "layers" / "core" / "loyalty").is_dir()


# Routes and functions


def test_http_routes_match_the_api_contract(template):
    routes = http_routes(template)
    assert {(r.method, r.path, r.function_logical_id) for r in routes} == EXPECTED_ROUTES
    assert len(routes) == len(EXPECTED_ROUTES)
    for route in routes:
        assert route.handler == "app.lambda_handler"
        assert route.code_uri.startswith("functions/")
        assert route.route_key == f"{route.method} {route.path}"


def test_http_events_use_the_one_http_api(template):
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        for event in template["Resources"][logical_id]["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}


def test_function_specs_merge_globals(template):
    specs = functions(template)
    assert set(specs) == FUNCTIONS
    for logical_id, spec in specs.items():
        directory = re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id.removesuffix("Function")).lower()
        assert spec.code_uri == f"functions/{directory}/"
        assert spec.handler == "app.lambda_handler"
        assert spec.memory_mb == 512
        assert spec.environment["POWERTOOLS_SERVICE_NAME"] == "bywalec"
    assert specs["CardFunction"].timeout_seconds == 10


def test_reward_expiry_runs_on_an_hourly_schedule_with_time_to_page(template):
    props = template["Resources"]["RewardExpiryFunction"]["Properties"]
    assert [e["Type"] for e in props["Events"].values()] == ["ScheduleV2"]
    (schedule,) = props["Events"].values()
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 hour)"
    assert props["Timeout"] == 300


def test_campaigns_tick_every_15_minutes_with_time_to_page(template):
    props = template["Resources"]["CampaignsFunction"]["Properties"]
    [tick] = [e["Properties"] for e in props["Events"].values() if e["Type"] == "ScheduleV2"]
    assert tick["ScheduleExpression"] == "rate(15 minutes)"
    assert props["Timeout"] == 300


def test_cors_allows_the_api_headers(template):
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == ["*"]
    assert {"authorization", "bywalec-signature", "content-type", "idempotency-key",
            "x-member-token"} <= set(cors["AllowHeaders"])


# Logs


def test_every_function_logs_json_to_its_own_group_with_retention(template):
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    used = []
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        logging_config = function_properties(template, logical_id)["LoggingConfig"]
        assert logging_config["LogFormat"] == "JSON"
        group_id = logging_config["LogGroup"]["Ref"]
        assert group_id in log_groups
        assert log_groups[group_id]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        used.append(group_id)
    assert len(set(used)) == len(used), "functions must not share a log group"


# Permissions


def test_no_dynamodb_crud_policy_anywhere():
    assert "DynamoDBCrudPolicy" not in (ROOT / "template.yaml").read_text(encoding="utf-8")


def test_function_policies_name_only_dynamodb_data_actions_on_the_table_and_its_indexes(template):
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        statements = policy_statements(template, logical_id)
        assert dynamodb_actions(template, logical_id) <= DYNAMODB_DATA_ACTIONS, logical_id
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in as_list(statement["Action"])), logical_id
            if any(str(action).startswith("dynamodb:") for action in as_list(statement["Action"])):
                assert all(str(action).startswith("dynamodb:") for action in as_list(statement["Action"]))
                resources = as_list(statement["Resource"])
                assert resources in ([TABLE_ARN], [TABLE_ARN, INDEX_ARN]), logical_id


MESSAGE_QUEUE_ARN = {"Fn::GetAtt": ["MessageQueue", "Arn"]}
IMPORT_QUEUE_ARN = {"Fn::GetAtt": ["ImportQueue", "Arn"]}
SES_IDENTITY_ARN = {"Fn::If": [
    "HasSenderIdentity",
    {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderIdentity}"},
    {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderEmailAddress}"},
]}


def test_messaging_grants_name_their_resource(template):
    """Email only from the configured SES identity, queueing only to the message or the import queue; an SMS to a phone
    number has no resource ARN, so sns:Publish is the one grant on "*", and only the sender has it."""
    allowed = {("ses:SendEmail", json.dumps(SES_IDENTITY_ARN)),
               ("sqs:SendMessage", json.dumps(MESSAGE_QUEUE_ARN)), ("sns:Publish", json.dumps("*")),
               ("sqs:SendMessage", json.dumps(IMPORT_QUEUE_ARN))}
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        for statement in policy_statements(template, logical_id):
            for action in as_list(statement["Action"]):
                if str(action).split(":")[0] in ("ses", "sns", "sqs"):
                    assert (action, json.dumps(statement["Resource"])) in allowed, (logical_id, action)
                    if action == "sns:Publish":
                        assert logical_id == "SenderFunction"
    dispatch = template["Resources"]["MessageDispatchPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert dispatch == [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": MESSAGE_QUEUE_ARN}]


def test_the_message_queue_feeds_the_sender_and_gives_up_into_a_watched_dead_letter_queue(template):
    queue = template["Resources"]["MessageQueue"]["Properties"]
    sender = function_properties(template, "SenderFunction")
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["MessageDeadLetterQueue", "Arn"]}
    # The sender counts a message failed on the receive after which the queue moves it to the DLQ.
    assert str(redrive["maxReceiveCount"]) == sender["Environment"]["Variables"]["MESSAGE_MAX_RECEIVES"]
    assert queue["VisibilityTimeout"] >= 6 * sender["Timeout"]
    assert queue["SqsManagedSseEnabled"] is True
    assert template["Resources"]["MessageDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    assert _alarms_reading(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                           QueueName={"Fn::GetAtt": ["MessageDeadLetterQueue", "QueueName"]})
    (event,) = [e["Properties"] for e in sender["Events"].values() if e["Type"] == "SQS"]
    assert event["Queue"] == MESSAGE_QUEUE_ARN
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["BatchSize"] <= 10
    assert sender["Environment"]["Variables"]["SENDER_EMAIL"] == {"Ref": "SenderEmailAddress"}
    assert template["Globals"]["Function"]["Environment"]["Variables"]["MESSAGE_QUEUE_URL"] == {"Ref": "MessageQueue"}


def test_the_import_queue_feeds_its_worker_and_gives_up_into_a_watched_dead_letter_queue(template):
    queue = template["Resources"]["ImportQueue"]["Properties"]
    worker = function_properties(template, "ImportWorkerFunction")
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ImportDeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]
    assert queue["SqsManagedSseEnabled"] is True
    assert template["Resources"]["ImportDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    assert _alarms_reading(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                           QueueName={"Fn::GetAtt": ["ImportDeadLetterQueue", "QueueName"]})
    (event,) = [e["Properties"] for e in worker["Events"].values() if e["Type"] == "SQS"]
    assert event["Queue"] == IMPORT_QUEUE_ARN
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["ScalingConfig"]["MaximumConcurrency"] >= 2
    for function in ("ImportsFunction", "ImportWorkerFunction"):
        assert function_properties(template, function)["Environment"]["Variables"]["IMPORT_QUEUE_URL"] == {
            "Ref": "ImportQueue"}


def test_secrets_are_readable_by_parameter_arn_only(template):
    policy = template["Resources"]["ParameterReadPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "ssm:GetParameter"
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
    assert statement["Resource"] == [
        {"Fn::Sub": arn + "${SigningKeyParameterName}"},
        {"Fn::Sub": arn + "${AdminTokenParameterName}"},
    ]
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        assert {"Ref": "ParameterReadPolicy"} in function_properties(template, logical_id)["Policies"]


# Table


def test_table_definition_comes_from_the_template(template):
    definition = table_definition(template)
    assert definition["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in definition
    assert definition["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]} == {
        "PK": "S",
        "SK": "S",
        "GSI1PK": "S",
        "GSI1SK": "S",
        "GSI2PK": "S",
        "GSI2SK": "S",
        "GSI3PK": "S",
        "GSI3SK": "S",
        "GSI4PK": "S",
        "GSI4SK": "S",
        "GSI5PK": "S",
        "GSI5SK": "S",
    }
    assert definition["GlobalSecondaryIndexes"][:1] == [
        {
            "IndexName": "GSI1",
            "KeySchema": [
                {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["kind", "member_id"]},
        }
    ]
    assert ttl_attribute(template) == "ttl"


def test_member_indexes_project_what_the_models_read(template):
    """The birthday, roster and joined indexes project the contact snapshot the store reads from them, and the
    upkeep index what the hourly job changes."""
    from loyalty.store.models import CONTACT_SNAPSHOT, ROSTER_SNAPSHOT, UPKEEP_SNAPSHOT, MemberItem

    indexes = {index["IndexName"]: index for index in table_definition(template)["GlobalSecondaryIndexes"]}
    for model_index, projected in ((MemberItem.birthdays, CONTACT_SNAPSHOT), (MemberItem.roster, ROSTER_SNAPSHOT),
                                   (MemberItem.joined, CONTACT_SNAPSHOT), (MemberItem.upkeep, UPKEEP_SNAPSHOT)):
        name = model_index.Meta.index_name
        number = name[-1]
        assert indexes[name]["KeySchema"] == [{"AttributeName": f"GSI{number}PK", "KeyType": "HASH"},
                                              {"AttributeName": f"GSI{number}SK", "KeyType": "RANGE"}]
        assert indexes[name]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": projected}
    assert set(indexes) == {"GSI1", "GSI2", "GSI3", "GSI4", "GSI5"}


def test_table_is_retained_and_recoverable(template):
    table = template["Resources"]["LoyaltyTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_outputs(template):
    assert set(template["Outputs"]) >= {"ApiUrl", "TableName", "CardPageUrlTemplate"}


# Operations: alarms, schedules, tracing, access logs, throttling

ALERT_TOPIC = [{"Ref": "AlertTopic"}]


def _alarms(template) -> dict[str, dict]:
    return {logical_id: alarm["Properties"] for logical_id, alarm in
            resources_of_type(template, "AWS::CloudWatch::Alarm").items()}


def _metrics(alarm: dict) -> list[tuple[str, str, dict]]:
    """(namespace, metric, dimensions) of every metric an alarm reads, plain or in metric math."""
    stats = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
    if "MetricName" in alarm:
        stats.append(alarm)
    return [(s["Namespace"], s["MetricName"], {d["Name"]: d["Value"] for d in s.get("Dimensions", [])})
            for s in stats]


def _alarms_reading(template, namespace: str, metric: str, **dimensions) -> list[str]:
    return [logical_id for logical_id, alarm in _alarms(template).items()
            if any(ns == namespace and name == metric and dims == dimensions
                   for ns, name, dims in _metrics(alarm))]


def test_every_alarm_notifies_the_alert_topic_and_ignores_quiet_periods(template):
    alarms = _alarms(template)
    assert len(alarms) >= 10
    for logical_id, alarm in alarms.items():
        assert alarm["AlarmActions"] == ALERT_TOPIC, logical_id
        assert alarm["OKActions"] == ALERT_TOPIC, logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id
        assert alarm["AlarmDescription"], logical_id
        math = [m for m in alarm.get("Metrics", []) if "Expression" in m]
        if alarm.get("Metrics"):  # metric math: exactly one returned series, built from the others
            assert len(math) == 1 and sum(m.get("ReturnData", True) for m in alarm["Metrics"]) == 1, logical_id


def test_alerts_reach_an_email_only_when_one_is_given(template):
    assert template["Parameters"]["AlertEmail"]["Default"] == ""
    assert template["Conditions"]["HasAlertEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]}
    subscriptions = resources_of_type(template, "AWS::SNS::Subscription")
    assert [s["Condition"] for s in subscriptions.values()] == ["HasAlertEmail"]
    (subscription,) = subscriptions.values()
    assert subscription["Properties"] == {"TopicArn": {"Ref": "AlertTopic"}, "Protocol": "email",
                                          "Endpoint": {"Ref": "AlertEmail"}}
    assert template["Outputs"]["AlertTopicArn"]["Value"] == {"Ref": "AlertTopic"}


def test_every_function_has_an_errors_alarm(template):
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        alarms = _alarms_reading(template, "AWS/Lambda", "Errors", FunctionName={"Ref": logical_id})
        assert len(alarms) == 1, logical_id
        alarm = _alarms(template)[alarms[0]]
        assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
            "Sum", "GreaterThanOrEqualToThreshold", 1)


def test_lambda_throttles_of_every_function_raise_an_alarm(template):
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        assert _alarms_reading(template, "AWS/Lambda", "Throttles", FunctionName={"Ref": logical_id}), logical_id


def test_api_server_errors_and_latency_raise_alarms(template):
    api = {"Ref": "HttpApi"}
    (rate,) = _alarms_reading(template, "AWS/ApiGateway", "5xx", ApiId=api)
    assert rate in _alarms_reading(template, "AWS/ApiGateway", "Count", ApiId=api), "5xx as a share of requests"
    (latency,) = _alarms_reading(template, "AWS/ApiGateway", "Latency", ApiId=api)
    assert _alarms(template)[latency]["ExtendedStatistic"] in ("p95", "p99")
    assert _alarms(template)[latency]["Threshold"] == {"Ref": "ApiLatencyAlarmMilliseconds"}


def test_table_and_index_throttling_raise_an_alarm(template):
    table = {"Ref": "LoyaltyTable"}
    indexes = [index["IndexName"] for index in table_definition(template)["GlobalSecondaryIndexes"]]
    for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
        assert _alarms_reading(template, "AWS/DynamoDB", metric, TableName=table), metric
        for index in indexes:
            assert _alarms_reading(template, "AWS/DynamoDB", metric, TableName=table,
                                   GlobalSecondaryIndexName=index), (metric, index)


def _dead_letter_queue(template, arn: dict) -> str:
    """The queue an Fn::GetAtt <queue>.Arn names; it must be encrypted and watched by a depth alarm."""
    queue_id, attribute = arn["Fn::GetAtt"]
    assert attribute == "Arn"
    queue = template["Resources"][queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    props = queue["Properties"]
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, f"{queue_id} is not encrypted"
    assert _alarms_reading(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                           QueueName={"Fn::GetAtt": [queue_id, "QueueName"]}), f"no depth alarm on {queue_id}"
    return queue_id


def test_every_schedule_retries_then_keeps_failures_in_an_encrypted_watched_queue(template):
    scheduled = 0
    for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
        props = function_properties(template, logical_id)
        schedules = [e["Properties"] for e in (props.get("Events") or {}).values() if e["Type"] == "ScheduleV2"]
        for schedule in schedules:
            scheduled += 1
            retry = schedule["RetryPolicy"]
            assert 0 < retry["MaximumRetryAttempts"] <= 185
            assert 60 <= retry["MaximumEventAgeInSeconds"] <= 86400
            _dead_letter_queue(template, schedule["DeadLetterConfig"]["Arn"])
        if schedules:  # Scheduler invokes asynchronously: a run that fails inside Lambda lands there too
            on_failure = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
            assert on_failure["Type"] == "SQS"
            _dead_letter_queue(template, on_failure["Destination"])
    assert scheduled >= 1


def test_functions_are_traced_without_the_xray_sdk(template):
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    # Lambda records the segments itself; the SDK (or Powertools Tracer) would add to every cold start.
    for path in [*ROOT.glob("functions/*/*.py"), *ROOT.glob("layers/core/loyalty/**/*.py")]:
        source = path.read_text(encoding="utf-8")
        assert "aws_xray_sdk" not in source and "import Tracer" not in source, path


def test_api_access_log_names_its_fields_and_leaves_personal_data_out(template):
    api = template["Resources"]["HttpApi"]["Properties"]
    settings = api["AccessLogSettings"]
    group = template["Resources"][settings["DestinationArn"]["Fn::GetAtt"][0]]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    fields = json.loads(settings["Format"])
    assert {"requestId", "routeKey", "status", "responseLatency", "integrationError"} <= set(fields)
    variables = set(fields.values())
    assert all(value.startswith("$context.") for value in variables)
    # The route key, never the path or query string: lookups carry phone numbers and emails there.
    for leak in ("$context.path", "$context.identity.sourceIp", "$context.identity.userAgent"):
        assert leak not in variables
    assert not any("querystring" in v.lower() or "header" in v.lower() or "authorizer" in v for v in variables)


def test_api_throttling_defaults_come_from_parameters(template):
    route_settings = template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert route_settings == {"ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                              "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}}
    params = template["Parameters"]
    rate, burst = params["ApiThrottlingRateLimit"]["Default"], params["ApiThrottlingBurstLimit"]["Default"]
    assert 0 < rate <= burst


# Route matching (API Gateway HTTP API rules)


def _route(method: str, path: str) -> Route:
    return Route(method=method, path=path, function_logical_id=f"{method} {path}", code_uri="", handler="")


SYNTHETIC = [
    _route("GET", "/v1/me"),
    _route("GET", "/v1/me/{section}"),
    _route("GET", "/v1/me/referral"),
    _route("GET", "/v1/files/{proxy+}"),
    _route("GET", "/v1/files/{folder}/readme"),
    _route("ANY", "/v1/any/{id}"),
    _route("DELETE", "/v1/any/{id}"),
    _route("POST", "/v1/a/{x}/c"),
    _route("POST", "/v1/a/b/{y}"),
]


@pytest.mark.parametrize(
    ("method", "path", "route_key", "params"),
    [
        ("GET", "/v1/me", "GET /v1/me", {}),
        ("GET", "/v1/me/referral", "GET /v1/me/referral", {}),
        ("GET", "/v1/me/history", "GET /v1/me/{section}", {"section": "history"}),
        ("GET", "/v1/files/a/readme", "GET /v1/files/{folder}/readme", {"folder": "a"}),
        ("GET", "/v1/files/a/b/c", "GET /v1/files/{proxy+}", {"proxy": "a/b/c"}),
        ("GET", "/v1/files/a", "GET /v1/files/{proxy+}", {"proxy": "a"}),
        ("DELETE", "/v1/any/7", "DELETE /v1/any/{id}", {"id": "7"}),
        ("PATCH", "/v1/any/7", "ANY /v1/any/{id}", {"id": "7"}),
        # Segments compare left to right: the earlier literal wins.
        ("POST", "/v1/a/b/c", "POST /v1/a/b/{y}", {"y": "c"}),
        # Parameters are decoded per segment; an encoded slash stays inside its segment.
        ("GET", "/v1/me/a%2Fb%20c", "GET /v1/me/{section}", {"section": "a/b c"}),
    ],
)
def test_most_specific_route_wins(method, path, route_key, params):
    match = match_route(SYNTHETIC, method, path)
    assert match.route is not None
    assert match.route.route_key == route_key
    assert match.path_parameters == params


def test_route_order_does_not_matter():
    for routes in (SYNTHETIC, list(reversed(SYNTHETIC))):
        assert match_route(routes, "GET", "/v1/me/referral").route.path == "/v1/me/referral"


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/me/", "/v1/me//x", "/v1/files", "/v1/files/", "/", ""])
def test_unknown_paths_do_not_match(path):
    match = match_route(SYNTHETIC, "GET", path)
    assert match.route is None
    assert match.allowed_methods == ()


def test_known_path_with_another_method_lists_allowed_methods():
    match = match_route(SYNTHETIC, "POST", "/v1/me/referral")
    assert match.route is None
    assert match.allowed_methods == ("GET",)


def test_default_route_catches_the_rest():
    routes = [*SYNTHETIC, Route("ANY", "$default", "Fallback", "", "")]
    assert match_route(routes, "GET", "/v1/me").route.path == "/v1/me"
    fallback = match_route(routes, "PUT", "/anything/else").route
    assert fallback.function_logical_id == "Fallback"
    assert fallback.route_key == "$default"


def test_real_routes_resolve(template):
    routes = http_routes(template)
    counter = match_route(routes, "GET", "/v1/merchants/m1/locations/l1/counter-code")
    assert counter.route.function_logical_id == "MerchantsFunction"
    assert counter.path_parameters == {"merchantId": "m1", "locationId": "l1"}
    assert match_route(routes, "GET", "/v1/me/referral").route.function_logical_id == "ReferralFunction"
    assert match_route(routes, "DELETE", "/v1/me/rewards/r1").path_parameters == {"issuedRewardId": "r1"}
    assert match_route(routes, "DELETE", "/v1/merchants").allowed_methods == ("POST",)


def test_no_alarm_reads_more_metrics_than_cloudwatch_allows(template):
    """CloudWatch refuses a metric-math alarm over more than 10 metrics, at deploy time (cfn-lint does not know)."""
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            metrics = [m for m in resource["Properties"].get("Metrics", []) if "MetricStat" in m]
            assert len(metrics) <= 10, name
