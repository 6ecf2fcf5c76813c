"""DynamoDB Streams: the table's stream in moto, and the event source mappings that feed it to functions.

Each `DynamoDB` event of a function in template.yaml is read the way Lambda's event source mapping reads a
stream: from `StartingPosition`, in order, in batches of up to `BatchSize` records, only the records that
match the event's `FilterCriteria`. With `ReportBatchItemFailures` the batch is retried from the first record
the function names in `batchItemFailures`; a failed invocation retries the whole batch. After
`MaximumRetryAttempts` retries the batch is given up: its description goes to the `OnFailure` queue (as
Lambda sends it) and reading goes on after it. A background thread polls every `poll_interval`; `drain()`
(used by `POST /_local/schedules/run`) reads until the stream has nothing new.

moto keeps a stream per table in the same process and records a stream record for every write, including
each write of a TransactWriteItems (a cancelled transaction takes its records back: see dynamodb.py).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infra.local.lambda_runtime import FunctionError
from infra.local.scheduler import Invoker
from infra.template import StreamEventSource, stream_event_sources

log = logging.getLogger("infra.local.streams")


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering for the patterns the template uses: nested objects, each leaf a list of the
    values it accepts."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(matches(p, value.get(name)) for name, p in pattern.items())
    if isinstance(pattern, list):
        return value in pattern
    return pattern == value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A record as Lambda delivers it: the stream's own fields, times in epoch seconds, the source ARN."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": change, "awsRegion": region, "eventSourceARN": stream_arn}


def failed_position(result: Any, batch: list[dict[str, Any]], reports_batch_item_failures: bool) -> int | None:
    """Where a batch must be retried from (an index into it), or None when it succeeded."""
    if not reports_batch_item_failures or not isinstance(result, dict):
        return None
    failures = result.get("batchItemFailures") or []
    named = {str(failure.get("itemIdentifier")) for failure in failures if isinstance(failure, dict)}
    if not named:
        return None
    positions = [n for n, record in enumerate(batch) if record["dynamodb"]["SequenceNumber"] in named]
    return min(positions) if positions else 0  # an identifier not in the batch fails all of it


@dataclass
class _Mapping:
    source: StreamEventSource
    stream_arn: str
    iterators: dict[str, str]  # shard id -> where reading continues
    pending: list[dict[str, Any]]  # records read, not yet delivered (a failed batch waits here)
    attempts: int = 0
    lock: threading.Lock = None  # type: ignore[assignment]


class LocalStreams:
    def __init__(self, template: dict[str, Any], runtime: Invoker, region: str, table_names: dict[str, str], *,
                 endpoint_url: str | None = None, queue_urls: dict[str, str] | None = None,
                 queue_endpoint_url: str | None = None, poll_interval: float = 0.5,
                 starting_position: str | None = None) -> None:
        """`table_names`: logical id -> the table's name; `queue_urls`: logical id -> URL of the local queues
        (the `OnFailure` destinations), served at `queue_endpoint_url`; `starting_position` overrides the
        template's (tests read from "LATEST": only what they write)."""
        self.template, self.runtime, self.region = template, runtime, region
        self.table_names = table_names
        self.endpoint_url = endpoint_url
        self.queue_urls = queue_urls or {}
        self.queue_endpoint_url = queue_endpoint_url or endpoint_url
        self.poll_interval = poll_interval
        self.starting_position = starting_position
        self.delivered: list[dict[str, Any]] = []  # every record handed to a function, in order (tests replay them)
        self._mappings: list[_Mapping] = []
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._streams: Any = None
        self._sqs: Any = None

    def create(self) -> None:
        """Finds each mapped table's stream and opens its shards at the event's starting position."""
        import boto3

        dynamodb = boto3.client("dynamodb", region_name=self.region, endpoint_url=self.endpoint_url)
        self._streams = boto3.client("dynamodbstreams", region_name=self.region, endpoint_url=self.endpoint_url)
        self._sqs = boto3.client("sqs", region_name=self.region, endpoint_url=self.queue_endpoint_url)
        for source in stream_event_sources(self.template):
            if not source.enabled:
                continue
            table = dynamodb.describe_table(TableName=self.table_names[source.table_logical_id])["Table"]
            stream_arn = table.get("LatestStreamArn")
            if not stream_arn:
                raise RuntimeError(f"{source.table_logical_id} has no stream: {source.function_logical_id} needs one")
            mapping = _Mapping(source, stream_arn, {}, [], lock=threading.Lock())
            for shard in self._streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
                mapping.iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=stream_arn, ShardId=shard["ShardId"],
                    ShardIteratorType=self.starting_position or source.starting_position)["ShardIterator"]
            self._mappings.append(mapping)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._poll_forever, name="dynamodb-streams", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def drain(self, max_batches: int = 10_000) -> list[dict[str, Any]]:
        """Delivers every record written so far to the mapped functions (retries included)."""
        report = []
        for mapping in self._mappings:
            delivered = 0
            for _ in range(max_batches):
                count = self.poll(mapping)
                if count == 0:
                    break
                delivered += count
            report.append({"function": mapping.source.function_logical_id, "stream": mapping.source.table_logical_id,
                           "processed": delivered})
        return report

    def poll(self, mapping: _Mapping) -> int:
        """Reads what is new and delivers one batch; returns how many records it delivered (0: nothing new)."""
        with mapping.lock:
            if len(mapping.pending) < mapping.source.batch_size:
                self._read(mapping)
            if not mapping.pending:
                return 0
            batch = mapping.pending[:mapping.source.batch_size]
            done = self._deliver(mapping, batch)
            del mapping.pending[:done]
            return done

    def _read(self, mapping: _Mapping) -> None:
        for shard_id, iterator in list(mapping.iterators.items()):
            reply = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            mapping.iterators[shard_id] = reply.get("NextShardIterator") or iterator
            for record in reply.get("Records") or []:
                event = lambda_record(record, mapping.stream_arn, self.region)
                patterns = mapping.source.filter_patterns
                if not patterns or any(matches(pattern, event) for pattern in patterns):
                    mapping.pending.append(event)

    def _deliver(self, mapping: _Mapping, batch: list[dict[str, Any]]) -> int:
        """Invokes the function; returns how many records of the batch are done with (succeeded or given up)."""
        function = mapping.source.function_logical_id
        try:
            result = self.runtime.invoke(function, {"Records": batch})
            position = failed_position(result, batch, mapping.source.reports_batch_item_failures)
        except (FunctionError, RuntimeError) as error:
            log.error("%s failed on a batch of %d stream records: %s", function, len(batch),
                      getattr(error, "error_message", str(error)))
            position = 0
        self.delivered.extend(batch[:len(batch) if position is None else position])
        if position is None:
            mapping.attempts = 0
            return len(batch)
        mapping.attempts += 1
        retries = mapping.source.maximum_retry_attempts
        if retries < 0 or mapping.attempts <= retries:
            return position  # the records before the failure are done; the rest is read again next time
        self._give_up(mapping, batch[position:])
        mapping.attempts = 0
        return len(batch)

    def _give_up(self, mapping: _Mapping, records: list[dict[str, Any]]) -> None:
        log.error("%s: giving up on %d stream records after %d attempts", mapping.source.function_logical_id,
                  len(records), mapping.attempts)
        queue = mapping.source.on_failure_queue_logical_id
        if queue and queue in self.queue_urls:
            sequence = [record["dynamodb"]["SequenceNumber"] for record in records]
            self._sqs.send_message(QueueUrl=self.queue_urls[queue], MessageBody=json.dumps({
                "requestContext": {"condition": "RetryAttemptsExhausted",
                                   "functionArn": mapping.source.function_logical_id},
                "DDBStreamBatchInfo": {"streamArn": mapping.stream_arn, "batchSize": len(records),
                                       "startSequenceNumber": sequence[0], "endSequenceNumber": sequence[-1]}}))

    def _poll_forever(self) -> None:
        while not self._stopped.is_set():
            delivered = 0
            for mapping in self._mappings:
                try:
                    delivered += self.poll(mapping)
                except Exception:
                    if self._stopped.is_set():
                        return
                    log.exception("reading the stream of %s failed", mapping.source.table_logical_id)
            if not delivered:
                self._stopped.wait(self.poll_interval)
