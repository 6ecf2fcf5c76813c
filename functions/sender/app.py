"""The sender: delivers outbox messages from the message queue (SQS, partial batch failures), and on its
schedule sweeps up messages that a lost dispatch or the quiet hours left waiting."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from loyalty.services import clock, outbox, sending
from loyalty.telemetry import flush_metrics

logger = Logger()
# A batch that failed whole is reported like any other, so the queue retries exactly the failed messages.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def deliver(record: SQSRecord) -> str | None:
    return sending.deliver(outbox.message_id_of(record.body),
                           receive_count=int(record.attributes.approximate_receive_count or 1))


@logger.inject_lambda_context
@flush_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    if "Records" not in event:  # the schedule
        result = outbox.sweep(clock.now())
        logger.info("outbox swept", extra=result)
        return result
    return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
