"""Read template.yaml, the single source of truth for routes, functions and the table schema.

The local server, the tests and the deploy all derive from the same template, so a route or an
index cannot exist in one place and be missing in another.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_LAYER = "AWS::Serverless::LayerVersion"
TABLE_LOGICAL_ID = "LoyaltyTable"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags (!Ref, !Sub, ...) into their long form."""


def _construct_short_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        # !GetAtt Resource.Attribute is shorthand for the two-element list form.
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=_CfnLoader)  # a SafeLoader subclass: no arbitrary objects
    if not isinstance(template, dict) or "Resources" not in template:
        raise ValueError(f"{path} is not a CloudFormation template")
    return template


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }


def function_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with Globals.Function applied, the way SAM merges them (shallowly,
    except Environment.Variables, which SAM merges key by key)."""
    globals_ = dict(template.get("Globals", {}).get("Function", {}))
    own = dict(template["Resources"][logical_id].get("Properties", {}))
    merged = {**globals_, **own}
    global_vars = globals_.get("Environment", {}).get("Variables", {})
    own_vars = own.get("Environment", {}).get("Variables", {})
    if global_vars or own_vars:
        merged["Environment"] = {"Variables": {**global_vars, **own_vars}}
    return merged


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    memory_mb: int = 128
    timeout_seconds: int = 3
    environment: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def functions(template: dict[str, Any]) -> dict[str, FunctionSpec]:
    specs = {}
    for logical_id in resources_of_type(template, SERVERLESS_FUNCTION):
        props = function_properties(template, logical_id)
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=str(props.get("CodeUri", "")),
            handler=str(props.get("Handler", "")),
            memory_mb=int(props.get("MemorySize", 128)),
            timeout_seconds=int(props.get("Timeout", 3)),
            environment=dict(props.get("Environment", {}).get("Variables", {})),
        )
    return specs


@dataclass(frozen=True)
class Route:
    method: str  # upper case; "ANY" matches every method
    path: str  # template path such as /v1/merchants/{merchantId}; "$default" is the catch-all
    function_logical_id: str
    code_uri: str
    handler: str

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


def http_routes(template: dict[str, Any]) -> list[Route]:
    routes = []
    for logical_id in resources_of_type(template, SERVERLESS_FUNCTION):
        props = function_properties(template, logical_id)
        for event in (props.get("Events") or {}).values():
            if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                continue
            event_props = event.get("Properties") or {}
            # An HttpApi event without Path and Method is the API's $default route.
            path = event_props.get("Path", "$default")
            method = str(event_props.get("Method", "ANY")).upper()
            if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
                method = "ANY"
            routes.append(
                Route(
                    method=method,
                    path=path,
                    function_logical_id=logical_id,
                    code_uri=str(props.get("CodeUri", "")),
                    handler=str(props.get("Handler", "")),
                )
            )
    return routes


SCHEDULE_EVENT_TYPES = ("ScheduleV2", "Schedule")  # EventBridge Scheduler, EventBridge rule


@dataclass(frozen=True)
class ScheduleEvent:
    """A function's ScheduleV2 (EventBridge Scheduler) or Schedule (EventBridge rule) event."""

    function_logical_id: str
    event_name: str  # the event's key under Events, e.g. ExpireRewards
    kind: str  # "ScheduleV2" or "Schedule"
    expression: str  # rate(...), cron(...) or at(...)
    input: str | None = None  # JSON text delivered as the event, as in the template
    name: Any = field(default=None, compare=False, hash=False)  # Name, possibly an intrinsic such as !Sub
    enabled: bool = True


def schedule_events(template: dict[str, Any]) -> list[ScheduleEvent]:
    events = []
    for logical_id in resources_of_type(template, SERVERLESS_FUNCTION):
        props = function_properties(template, logical_id)
        for event_name, event in (props.get("Events") or {}).items():
            if not isinstance(event, dict) or event.get("Type") not in SCHEDULE_EVENT_TYPES:
                continue
            event_props = event.get("Properties") or {}
            kind = event["Type"]
            expression = event_props.get("ScheduleExpression" if kind == "ScheduleV2" else "Schedule")
            # ScheduleV2 says State: DISABLED; Schedule says that or Enabled: false.
            enabled = event_props.get("State") != "DISABLED" and event_props.get("Enabled") is not False
            raw_input = event_props.get("Input")
            events.append(ScheduleEvent(
                function_logical_id=logical_id,
                event_name=str(event_name),
                kind=kind,
                expression=str(expression or ""),
                input=raw_input if isinstance(raw_input, str) else None,
                name=event_props.get("Name"),
                enabled=enabled,
            ))
    return events


def policy_statements(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    """The inline IAM statements of a function's Policies (managed policies and SAM policy templates aside)."""
    return [
        statement
        for policy in function_properties(template, logical_id).get("Policies") or []
        if isinstance(policy, dict)
        for statement in policy.get("Statement") or []
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def dynamodb_actions(template: dict[str, Any], logical_id: str) -> set[str]:
    """The DynamoDB actions a function's inline statements allow."""
    return {
        action
        for statement in policy_statements(template, logical_id)
        if statement.get("Effect") == "Allow"
        for action in as_list(statement.get("Action"))
        if str(action).startswith("dynamodb:")
    }


def managed_policy_statements(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    """The statements of the template's own managed policies (AWS::IAM::ManagedPolicy) a function references."""
    statements = []
    for policy in function_properties(template, logical_id).get("Policies") or []:
        referenced = template["Resources"].get(policy.get("Ref")) if isinstance(policy, dict) else None
        if isinstance(referenced, dict) and referenced.get("Type") == "AWS::IAM::ManagedPolicy":
            statements += as_list(referenced["Properties"]["PolicyDocument"]["Statement"])
    return statements


def service_actions(template: dict[str, Any], logical_id: str, service: str, *, managed: bool = False) -> set[str]:
    """The actions of one service (``sqs``, ``ses``, ``sns``) a function's inline statements allow; with
    ``managed``, also those of the template's managed policies it references."""
    statements = policy_statements(template, logical_id)
    if managed:
        statements = statements + managed_policy_statements(template, logical_id)
    return {
        action
        for statement in statements
        if statement.get("Effect") == "Allow"
        for action in as_list(statement.get("Action"))
        if str(action).startswith(f"{service}:")
    }


SQS_QUEUE = "AWS::SQS::Queue"


@dataclass(frozen=True)
class QueueEventSource:
    """A function's SQS event: Lambda polls the queue and invokes the function with batches of messages."""

    function_logical_id: str
    event_name: str
    queue_logical_id: str
    batch_size: int = 10
    reports_batch_item_failures: bool = False
    enabled: bool = True


def queue_event_sources(template: dict[str, Any]) -> list[QueueEventSource]:
    sources = []
    for logical_id in resources_of_type(template, SERVERLESS_FUNCTION):
        for event_name, event in (function_properties(template, logical_id).get("Events") or {}).items():
            if not isinstance(event, dict) or event.get("Type") != "SQS":
                continue
            props = event.get("Properties") or {}
            queue = props.get("Queue")
            if not (isinstance(queue, dict) and "Fn::GetAtt" in queue):
                raise ValueError(f"{logical_id}.{event_name}: Queue must be !GetAtt <queue in this template>.Arn")
            sources.append(QueueEventSource(
                function_logical_id=logical_id, event_name=str(event_name), queue_logical_id=queue["Fn::GetAtt"][0],
                batch_size=int(props.get("BatchSize", 10)),
                reports_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                enabled=props.get("Enabled") is not False,
            ))
    return sources


@dataclass(frozen=True)
class StreamEventSource:
    """A function's DynamoDB event: Lambda reads the table's stream and invokes the function with batches."""

    function_logical_id: str
    event_name: str
    table_logical_id: str
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    reports_batch_item_failures: bool = False
    maximum_retry_attempts: int = -1  # -1: until the record expires, as Lambda's default
    filter_patterns: tuple[dict[str, Any], ...] = ()
    on_failure_queue_logical_id: str | None = None
    enabled: bool = True


def stream_event_sources(template: dict[str, Any]) -> list[StreamEventSource]:
    sources = []
    for logical_id in resources_of_type(template, SERVERLESS_FUNCTION):
        for event_name, event in (function_properties(template, logical_id).get("Events") or {}).items():
            if not isinstance(event, dict) or event.get("Type") != "DynamoDB":
                continue
            props = event.get("Properties") or {}
            stream = props.get("Stream")
            if not (isinstance(stream, dict) and "Fn::GetAtt" in stream):
                raise ValueError(f"{logical_id}.{event_name}: Stream must be !GetAtt <table>.StreamArn")
            filters = (props.get("FilterCriteria") or {}).get("Filters") or []
            failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            sources.append(StreamEventSource(
                function_logical_id=logical_id, event_name=str(event_name), table_logical_id=stream["Fn::GetAtt"][0],
                starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
                batch_size=int(props.get("BatchSize", 100)),
                reports_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                filter_patterns=tuple(json.loads(f["Pattern"]) for f in filters if isinstance(f, dict)),
                on_failure_queue_logical_id=failure["Fn::GetAtt"][0]
                if isinstance(failure, dict) and "Fn::GetAtt" in failure else None,
                enabled=props.get("Enabled") is not False,
            ))
    return sources


def layer_content_uris(template: dict[str, Any]) -> list[str]:
    return [
        str(layer.get("Properties", {}).get("ContentUri", ""))
        for layer in resources_of_type(template, SERVERLESS_LAYER).values()
        if isinstance(layer.get("Properties", {}).get("ContentUri"), str)
    ]


def cors_configuration(template: dict[str, Any]) -> dict[str, Any] | None:
    """CorsConfiguration of the first HttpApi that has one (the template has a single API)."""
    for api in resources_of_type(template, "AWS::Serverless::HttpApi").values():
        config = api.get("Properties", {}).get("CorsConfiguration")
        if isinstance(config, dict):
            return config
        if config is True:
            return {"AllowOrigins": ["*"], "AllowHeaders": ["*"], "AllowMethods": ["*"]}
    return None


# Route matching (pure functions; API Gateway HTTP API rules).

_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2


def _segment_kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _PARAMETER
    return _LITERAL


def match_path(template_path: str, segments: list[str]) -> dict[str, str] | None:
    """Path parameters when `segments` (decoded path segments) fit `template_path`, else None."""
    parts = template_path.strip("/").split("/") if template_path.strip("/") else []
    params: dict[str, str] = {}
    for index, part in enumerate(parts):
        kind = _segment_kind(part)
        if kind == _GREEDY:
            # {proxy+} is only valid last and takes one or more remaining segments.
            rest = segments[index:]
            if index != len(parts) - 1 or not rest or not rest[0]:
                return None
            params[part[1:-2]] = "/".join(rest)
            return params
        if index >= len(segments):
            return None
        if kind == _PARAMETER:
            if not segments[index]:
                return None
            params[part[1:-1]] = segments[index]
        elif part != segments[index]:
            return None
    return params if len(parts) == len(segments) else None


def specificity(route: Route) -> tuple[Any, ...]:
    """Sort key: smaller is more specific. Segments compare left to right (literal before
    parameter before greedy), then a concrete method beats ANY, and $default comes last."""
    if route.path == "$default":
        return (1, (), 1)
    parts = route.path.strip("/").split("/") if route.path.strip("/") else []
    kinds = tuple(_segment_kind(part) for part in parts)
    return (0, kinds, 1 if route.method == "ANY" else 0)


@dataclass(frozen=True)
class RouteMatch:
    route: Route | None
    path_parameters: dict[str, str] = field(default_factory=dict)
    # Methods the path supports when `route` is None: non-empty means 405, empty means 404.
    allowed_methods: tuple[str, ...] = ()


def split_path(raw_path: str) -> list[str]:
    """Percent-decoded segments of a raw path; an encoded "/" stays inside its segment."""
    stripped = raw_path[1:] if raw_path.startswith("/") else raw_path
    return [unquote(segment) for segment in stripped.split("/")] if stripped else []


def match_route(routes: list[Route], method: str, raw_path: str) -> RouteMatch:
    """The route API Gateway would pick for `method` and `raw_path` (the path as sent)."""
    method = method.upper()
    segments = split_path(raw_path)
    path_matches: list[tuple[Route, dict[str, str]]] = []
    for route in routes:
        if route.path == "$default":
            path_matches.append((route, {}))
            continue
        params = match_path(route.path, segments)
        if params is not None:
            path_matches.append((route, params))
    candidates = [(r, p) for r, p in path_matches if r.method in (method, "ANY")]
    if candidates:
        route, params = min(candidates, key=lambda item: specificity(item[0]))
        return RouteMatch(route=route, path_parameters=params)
    allowed = tuple(sorted({route.method for route, _ in path_matches}))
    return RouteMatch(route=None, allowed_methods=allowed)


# DynamoDB table from the template.


def table_resource(template: dict[str, Any], logical_id: str = TABLE_LOGICAL_ID) -> dict[str, Any]:
    resource = template["Resources"][logical_id]
    if resource.get("Type") != "AWS::DynamoDB::Table":
        raise ValueError(f"{logical_id} is not an AWS::DynamoDB::Table")
    return resource.get("Properties", {})


def table_definition(template: dict[str, Any], logical_id: str = TABLE_LOGICAL_ID) -> dict[str, Any]:
    """Keyword arguments for boto3 `create_table` (without TableName)."""
    props = table_resource(template, logical_id)
    billing_mode = props.get("BillingMode", "PROVISIONED")
    kwargs: dict[str, Any] = {
        "AttributeDefinitions": [dict(a) for a in props["AttributeDefinitions"]],
        "KeySchema": [dict(k) for k in props["KeySchema"]],
        "BillingMode": billing_mode,
    }
    if billing_mode == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = dict(props["ProvisionedThroughput"])
    for index_key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = []
        for index in props.get(index_key) or []:
            entry = {
                "IndexName": index["IndexName"],
                "KeySchema": [dict(k) for k in index["KeySchema"]],
                "Projection": dict(index["Projection"]),
            }
            if index_key == "GlobalSecondaryIndexes" and billing_mode == "PROVISIONED":
                entry["ProvisionedThroughput"] = dict(index["ProvisionedThroughput"])
            indexes.append(entry)
        if indexes:
            kwargs[index_key] = indexes
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return kwargs


def ttl_attribute(template: dict[str, Any], logical_id: str = TABLE_LOGICAL_ID) -> str | None:
    spec = table_resource(template, logical_id).get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None


def ensure_table(
    client: Any,
    table_name: str,
    template: dict[str, Any] | None = None,
    logical_id: str = TABLE_LOGICAL_ID,
) -> None:
    """Create the table described in the template (if missing), wait for it, and enable TTL."""
    template = template if template is not None else load_template()
    try:
        client.describe_table(TableName=table_name)
    except client.exceptions.ResourceNotFoundException:
        # ResourceInUse: another process created it first.
        with contextlib.suppress(client.exceptions.ResourceInUseException):
            client.create_table(TableName=table_name, **table_definition(template, logical_id))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    _wait_for_indexes(client, table_name)

    attribute = ttl_attribute(template, logical_id)
    if attribute:
        current = client.describe_time_to_live(TableName=table_name).get("TimeToLiveDescription", {})
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True},
            )


def _wait_for_indexes(client: Any, table_name: str, timeout_seconds: float = 120.0) -> None:
    # The table_exists waiter looks at the table only; a new GSI may still be CREATING.
    deadline = time.monotonic() + timeout_seconds
    while True:
        table = client.describe_table(TableName=table_name)["Table"]
        statuses = {index.get("IndexStatus", "ACTIVE") for index in table.get("GlobalSecondaryIndexes", [])}
        if statuses <= {"ACTIVE"}:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"indexes of {table_name} not active after {timeout_seconds:.0f}s")
        time.sleep(1)
