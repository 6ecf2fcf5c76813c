"""The insights rollups' stream consumer: the table's stream (Powertools Batch, partial failures reported), each
record counted once into the daily and monthly rollups."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from loyalty.services import insights
from loyalty.store import insights as stream
from loyalty.telemetry import flush_metrics

logger = Logger()
# A record that cannot be read is reported; Lambda retries from it, bisects, and finally hands it to the
# dead-letter queue. Records read are counted whatever happens to the others: each carries its own marker.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context
@flush_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    facts: list[stream.StreamFact] = []

    def read(record: DynamoDBRecord) -> None:
        fact = stream.fact_of(record.raw_event)
        if fact is not None:
            facts.append(fact)

    with processor(records=event.get("Records") or [], handler=read):
        processor.process()
    counted = insights.roll_up(facts)
    logger.info("insights rolled up", extra={"records": len(event.get("Records") or []), "counted": counted})
    return processor.response()
