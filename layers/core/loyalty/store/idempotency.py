"""Powertools Idempotency records kept in the single table.

Powertools puts every record of a function under one static partition key when the table has a sort
key; that is a hot partition for a busy merchant. Here each record gets its own partition instead, and
its id is the one derivation both exactly-once mechanisms share (keys.idempotency_record_id, computed
by services/exactly_once.py and handed over as the request's "record").
"""

from __future__ import annotations

from functools import cache

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from botocore.config import Config

from loyalty.settings import get_settings
from loyalty.store import keys


class SingleTablePersistenceLayer(DynamoDBPersistenceLayer):
    def _get_hashed_idempotency_key(self, data: dict) -> str:
        return data["record"]  # already a hash of caller, route and key

    def _get_key(self, idempotency_key: str) -> dict:
        pk, sk = keys.idempotency_record(idempotency_key)
        return {self.key_attr: {"S": pk}, self.sort_key_attr: {"S": sk}}

    def _item_to_data_record(self, item: dict):
        record = super()._item_to_data_record(item)
        record.idempotency_key = record.idempotency_key.removeprefix(keys.idempotency_record("")[0])
        return record


@cache
def persistence_layer() -> SingleTablePersistenceLayer:
    settings = get_settings()
    client = boto3.client(
        "dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint,
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}),
    )
    return SingleTablePersistenceLayer(
        table_name=settings.table_name, key_attr="PK", sort_key_attr="SK", expiry_attr="ttl",
        boto3_client=client,
    )
