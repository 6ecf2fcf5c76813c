"""SQS: the queues of template.yaml in moto, and the event source mappings that feed them to functions.

Each `AWS::SQS::Queue` is created in moto (its dead-letter queue first, so the redrive policy can name
it), and every function environment variable that is `!Ref <queue>` gets the queue's URL, as
CloudFormation would resolve it. Each `SQS` event of a function is polled in a background thread, as
Lambda's event source mapping polls: a batch of up to `BatchSize` messages becomes one invocation; with
`ReportBatchItemFailures` the messages the function names in `batchItemFailures` stay in the queue and the
others are deleted; a failed invocation leaves the whole batch. A message left in the queue comes back
after its visibility timeout, and moto moves it to the dead-letter queue once it has been received
`maxReceiveCount` times. `drain()` (used by `POST /_local/schedules/run`) feeds the functions until no
message is left to receive; messages waiting out a visibility timeout after a failure are not waited for.

moto's queues live in this process, behind the same serialized endpoint as DynamoDB, so polling is short
(no long polls that would hold that endpoint) and paced by `poll_interval`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from infra.local import LOCAL_ACCOUNT_ID
from infra.local.lambda_runtime import FunctionError
from infra.local.scheduler import LOCAL_STACK_NAME, Invoker
from infra.template import SQS_QUEUE, QueueEventSource, functions, queue_event_sources, resources_of_type

log = logging.getLogger("infra.local.queues")

_QUEUE_ATTRIBUTES = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
                     "VisibilityTimeout")


def lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda delivers for a batch of received SQS messages."""
    return {"Records": [{
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": message.get("MessageAttributes") or {},
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for message in messages]}


def failed_message_ids(result: Any, event: dict[str, Any], reports_batch_item_failures: bool) -> set[str]:
    """The messages of a batch that stay in the queue, from what the function returned."""
    every = {record["messageId"] for record in event["Records"]}
    if not reports_batch_item_failures:
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if failures is None:
        return set()
    named = {str(failure.get("itemIdentifier")) for failure in failures if isinstance(failure, dict)}
    # Lambda treats an identifier that is not in the batch (or empty) as a failure of the whole batch.
    return every if not named <= every else named


@dataclass
class _Mapping:
    source: QueueEventSource
    queue_url: str
    queue_arn: str
    busy: int = 0


class LocalQueues:
    def __init__(self, template: dict[str, Any], runtime: Invoker, region: str, *, endpoint_url: str | None = None,
                 poll_interval: float = 0.1, visibility_timeout_seconds: int | None = None,
                 name_prefix: str = LOCAL_STACK_NAME) -> None:
        """`visibility_timeout_seconds` overrides the template's (tests retry a failure at once with 0);
        `name_prefix` stands in for the stack name in queue names."""
        self.name_prefix = name_prefix
        self.template, self.runtime, self.region = template, runtime, region
        self.endpoint_url = endpoint_url
        self.poll_interval = poll_interval
        self.visibility_timeout_seconds = visibility_timeout_seconds
        self.urls: dict[str, str] = {}
        self.arns: dict[str, str] = {}
        self._mappings: list[_Mapping] = []
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition()
        self._client: Any = None

    # Queues

    def create(self) -> dict[str, str]:
        """Creates every queue of the template; returns the environment variables that name them."""
        import boto3

        self._client = boto3.client("sqs", region_name=self.region, endpoint_url=self.endpoint_url)
        queues = resources_of_type(self.template, SQS_QUEUE)
        for logical_id in sorted(queues, key=lambda name: _redrive_target(queues[name]) is not None):
            self._create_queue(logical_id, queues[logical_id].get("Properties") or {})
        self._mappings = [
            _Mapping(source, self.urls[source.queue_logical_id], self.arns[source.queue_logical_id])
            for source in queue_event_sources(self.template) if source.enabled
        ]
        return self.environment()

    def _create_queue(self, logical_id: str, props: dict[str, Any]) -> None:
        attributes = {name: str(props[name]) for name in _QUEUE_ATTRIBUTES if name in props}
        if self.visibility_timeout_seconds is not None:
            attributes["VisibilityTimeout"] = str(self.visibility_timeout_seconds)
        target = _redrive_target({"Properties": props})
        if target is not None:
            redrive = props["RedrivePolicy"]
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": self.arns[target],
                                                      "maxReceiveCount": int(redrive["maxReceiveCount"])})
        name = f"{self.name_prefix}-{logical_id}"
        self.urls[logical_id] = self._client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.arns[logical_id] = f"arn:aws:sqs:{self.region}:{LOCAL_ACCOUNT_ID}:{name}"

    def environment(self) -> dict[str, str]:
        """Function variables that are `!Ref <queue>`, resolved to the local queue URLs."""
        env = {}
        for spec in functions(self.template).values():
            for name, value in spec.environment.items():
                if isinstance(value, dict) and value.get("Ref") in self.urls:
                    env[name] = self.urls[value["Ref"]]
        return env

    def depth(self, logical_id: str) -> dict[str, int]:
        attributes = self._client.get_queue_attributes(QueueUrl=self.urls[logical_id], AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return {"visible": int(attributes["ApproximateNumberOfMessages"]),
                "inFlight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
                "delayed": int(attributes["ApproximateNumberOfMessagesDelayed"])}

    # Event source mappings

    def start(self) -> None:
        for mapping in self._mappings:
            thread = threading.Thread(target=self._poll_forever, args=(mapping,), daemon=True,
                                      name=f"sqs-{mapping.source.function_logical_id}-{mapping.source.event_name}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    def drain(self, timeout_seconds: float = 120.0) -> list[dict[str, Any]]:
        """Feeds every mapped queue to its function until nothing is left to receive and no batch is running."""
        deadline = time.monotonic() + timeout_seconds
        processed = {id(mapping): 0 for mapping in self._mappings}
        while time.monotonic() < deadline:
            received = 0
            for mapping in self._mappings:
                count = self.poll(mapping)
                processed[id(mapping)] += count
                received += count
            if received == 0 and not self._busy() and not any(
                    self.depth(m.source.queue_logical_id)["visible"] for m in self._mappings):
                break
            if received == 0:
                with self._idle:
                    self._idle.wait(self.poll_interval)
        return [{"function": m.source.function_logical_id, "queue": m.source.queue_logical_id,
                 "processed": processed[id(m)], **self.depth(m.source.queue_logical_id)} for m in self._mappings]

    def poll(self, mapping: _Mapping) -> int:
        """One receive and, if it got messages, one invocation; returns how many messages it received."""
        with self._idle:
            mapping.busy += 1
        try:
            reply = self._client.receive_message(
                QueueUrl=mapping.queue_url, MaxNumberOfMessages=min(mapping.source.batch_size, 10),
                AttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=0)
            messages = reply.get("Messages") or []
            if messages:
                self._invoke(mapping, messages)
            return len(messages)
        finally:
            with self._idle:
                mapping.busy -= 1
                self._idle.notify_all()

    def _invoke(self, mapping: _Mapping, messages: list[dict[str, Any]]) -> None:
        event = lambda_event(messages, mapping.queue_arn, self.region)
        function = mapping.source.function_logical_id
        try:
            result = self.runtime.invoke(function, event)
            failed = failed_message_ids(result, event, mapping.source.reports_batch_item_failures)
        except (FunctionError, RuntimeError) as error:
            log.error("%s failed on a batch of %d messages: %s", function, len(messages),
                      getattr(error, "error_message", str(error)))
            failed = {record["messageId"] for record in event["Records"]}
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self._client.delete_message_batch(QueueUrl=mapping.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]} for n, message in enumerate(done)])
        if failed:
            log.warning("%s: %d of %d messages failed and stay in the queue", function, len(failed), len(messages))

    def _busy(self) -> bool:
        with self._idle:
            return any(mapping.busy for mapping in self._mappings)

    def _poll_forever(self, mapping: _Mapping) -> None:
        while not self._stopped.is_set():
            try:
                received = self.poll(mapping)
            except Exception:
                if self._stopped.is_set():
                    return
                log.exception("polling %s failed", mapping.source.queue_logical_id)
                received = 0
            if not received:
                self._stopped.wait(self.poll_interval)


def _redrive_target(queue: dict[str, Any]) -> str | None:
    redrive = (queue.get("Properties") or {}).get("RedrivePolicy")
    target = redrive.get("deadLetterTargetArn") if isinstance(redrive, dict) else None
    return target["Fn::GetAtt"][0] if isinstance(target, dict) and "Fn::GetAtt" in target else None

