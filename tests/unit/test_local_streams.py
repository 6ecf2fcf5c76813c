"""The local stream's event source mapping: filtering as Lambda filters, and where a failed batch resumes."""

from __future__ import annotations

from datetime import UTC, datetime

from infra.local.streams import failed_position, lambda_record, matches
from infra.template import load_template, stream_event_sources

PATTERN = {"dynamodb": {"NewImage": {"kind": {"S": ["ledger", "member", "feedback"]}}}}


def _record(kind: str, sequence: str = "1") -> dict:
    return {"eventID": sequence, "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": sequence, "NewImage": {"kind": {"S": kind}},
                         "ApproximateCreationDateTime": datetime(2026, 11, 23, 8, tzinfo=UTC)}}


def test_only_the_kinds_the_filter_names_reach_the_function():
    assert matches(PATTERN, _record("ledger"))
    assert matches(PATTERN, _record("feedback"))
    assert not matches(PATTERN, _record("insights_rollup"))
    assert not matches(PATTERN, {"dynamodb": {"Keys": {}}})  # a removal has no new image


def test_the_template_maps_the_table_stream_to_the_rollup_consumer():
    (source,) = stream_event_sources(load_template())
    assert (source.function_logical_id, source.table_logical_id) == ("InsightsRollupFunction", "LoyaltyTable")
    assert source.reports_batch_item_failures and source.filter_patterns == (PATTERN,)
    assert source.on_failure_queue_logical_id == "InsightsDeadLetterQueue"


def test_a_batch_resumes_at_the_first_record_the_function_names():
    batch = [_record("ledger", str(n)) for n in range(5)]
    assert failed_position({"batchItemFailures": []}, batch, True) is None
    assert failed_position({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}, batch, True) == 2
    assert failed_position({"batchItemFailures": [{"itemIdentifier": "nope"}]}, batch, True) == 0
    assert failed_position({"batchItemFailures": [{"itemIdentifier": "3"}]}, batch, False) is None


def test_records_carry_times_in_epoch_seconds_and_their_source():
    record = lambda_record(_record("ledger"), "arn:stream", "eu-central-1")
    assert record["dynamodb"]["ApproximateCreationDateTime"] == int(datetime(2026, 11, 23, 8, tzinfo=UTC).timestamp())
    assert (record["eventSourceARN"], record["awsRegion"]) == ("arn:stream", "eu-central-1")
