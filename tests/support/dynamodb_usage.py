"""Which DynamoDB (and SQS, SES, SNS) actions each function's handler sends, recorded while the tests invoke it.

Every botocore client calls `BaseClient._make_api_call`; while a handler runs (the local API's
`invoke`, keyed by the function's logical id), each DynamoDB call is translated into the IAM actions
that authorise it. IAM has no action for a transaction as a whole: TransactWriteItems is authorised
per item (PutItem, UpdateItem, DeleteItem, ConditionCheckItem) and TransactGetItems per GetItem.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


@dataclass(frozen=True)
class Use:
    action: str  # the IAM action, e.g. "dynamodb:Query"
    index: str | None = None  # the index a Query or Scan read, when it read one


def uses_of(operation: str, params: dict[str, Any]) -> set[Use]:
    """The IAM actions (and indexes) one DynamoDB API call needs."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return {Use(_TRANSACT_ITEM_ACTIONS[kind]) for entry in params.get("TransactItems") or [] for kind in entry}
    return {Use(f"dynamodb:{operation}", params.get("IndexName"))}


# Messaging calls and the IAM action each needs (SES v2's SendEmail, raw MIME included, is ses:SendEmail).
_MESSAGING_ACTIONS = {("sqs", "SendMessageBatch"): "sqs:SendMessage", ("sesv2", "SendEmail"): "ses:SendEmail"}
_IAM_PREFIX = {"sesv2": "ses"}
MESSAGING_SERVICES = ("sqs", "sesv2", "sns")


def messaging_action(service: str, operation: str) -> str:
    return _MESSAGING_ACTIONS.get((service, operation), f"{_IAM_PREFIX.get(service, service)}:{operation}")


def invocation_key(event: Any) -> str:
    """What a test exercised: the HTTP route key, or the payload of a direct (scheduled) invocation."""
    if isinstance(event, dict) and "routeKey" in event:
        return str(event["routeKey"])
    return f"event {json.dumps(event, sort_keys=True)}"


class DynamoDBUsage:
    def __init__(self) -> None:
        self._current = threading.local()
        self._lock = threading.Lock()
        self.uses: dict[str, set[Use]] = defaultdict(set)
        self.messaging: dict[str, set[str]] = defaultdict(set)  # SQS, SES and SNS actions per function
        self.invoked: dict[str, set[str]] = defaultdict(set)
        self._installed = False

    def install(self) -> None:
        from botocore.client import BaseClient

        if self._installed:
            return
        original = BaseClient._make_api_call
        usage = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict) -> Any:
            function = getattr(usage._current, "function", None)
            # The benchmark meter's own client reads item sizes and schemas: instrumentation, not the function.
            service = client.meta.service_model.service_name
            if (function is not None and service == "dynamodb"
                    and not getattr(client, "is_meter_client", False)):
                with usage._lock:
                    usage.uses[function] |= uses_of(operation_name, api_params)
            elif function is not None and service in MESSAGING_SERVICES:
                with usage._lock:
                    usage.messaging[function].add(messaging_action(service, operation_name))
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call
        self._installed = True

    @contextmanager
    def running(self, logical_id: str, event: Any) -> Iterator[None]:
        previous = getattr(self._current, "function", None)
        self._current.function = logical_id
        with self._lock:
            self.invoked[logical_id].add(invocation_key(event))
        try:
            yield
        finally:
            self._current.function = previous

    def observe(self, api: Any) -> None:
        """Record every invocation made through this local API (HTTP requests and direct invokes)."""
        invoke = api.invoke

        def recorded_invoke(logical_id: str, event: Any) -> Any:
            with self.running(logical_id, event):
                return invoke(logical_id, event)

        api.invoke = recorded_invoke

    def actions(self, logical_id: str) -> set[str]:
        return {use.action for use in self.uses.get(logical_id, ())}

    def indexes(self, logical_id: str) -> set[str]:
        return {use.index for use in self.uses.get(logical_id, ()) if use.index}
