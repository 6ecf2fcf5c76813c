"""The local SQS event source mapping: what Lambda deletes and keeps of a batch, and the template's queues."""

from __future__ import annotations

import pytest

from infra.local.queues import failed_message_ids, lambda_event
from infra.template import QueueEventSource, load_template, queue_event_sources

RECEIVED = [{"MessageId": f"m{n}", "ReceiptHandle": f"h{n}", "Body": f'{{"n": {n}}}',
             "Attributes": {"ApproximateReceiveCount": "2"}} for n in range(3)]
ARN = "arn:aws:sqs:eu-central-1:123456789012:q"


def test_a_batch_becomes_the_event_lambda_delivers():
    event = lambda_event(RECEIVED, ARN, "eu-central-1")
    first = event["Records"][0]
    assert (first["messageId"], first["receiptHandle"], first["body"]) == ("m0", "h0", '{"n": 0}')
    assert first["attributes"]["ApproximateReceiveCount"] == "2"
    assert (first["eventSource"], first["eventSourceARN"], first["awsRegion"]) == ("aws:sqs", ARN, "eu-central-1")
    assert len(first["md5OfBody"]) == 32


@pytest.mark.parametrize(("result", "reports", "failed"), [
    ({"batchItemFailures": []}, True, set()),
    ({"batchItemFailures": [{"itemIdentifier": "m1"}]}, True, {"m1"}),
    ({"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}, True, {"m0", "m1", "m2"}),
    ({"batchItemFailures": [{"itemIdentifier": "m1"}]}, False, set()),  # not reported: success deletes all
    (None, True, set()),
])
def test_which_messages_stay_in_the_queue(result, reports, failed):
    assert failed_message_ids(result, lambda_event(RECEIVED, ARN, "eu-central-1"), reports) == failed


def test_the_template_feeds_the_message_queue_to_the_sender_and_the_import_queue_to_its_worker():
    assert queue_event_sources(load_template()) == [
        QueueEventSource(function_logical_id="SenderFunction", event_name="Messages", queue_logical_id="MessageQueue",
                         batch_size=10, reports_batch_item_failures=True),
        QueueEventSource(function_logical_id="ImportWorkerFunction", event_name="ImportWork",
                         queue_logical_id="ImportQueue", batch_size=2, reports_batch_item_failures=True)]
