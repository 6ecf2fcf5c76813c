"""The import worker: splits an uploaded file into chunks of rows and applies each chunk (SQS, partial batch
failures: a chunk that failed is received again, and rows it already applied are not applied twice)."""

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from loyalty.services import import_worker
from loyalty.telemetry import flush_metrics

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def work(record: SQSRecord) -> dict:
    return import_worker.handle(json.loads(record.body),
                                receive_count=int(record.attributes.approximate_receive_count or 1))


@logger.inject_lambda_context
@flush_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    return process_partial_response(event=event, record_handler=work, processor=processor, context=context)
