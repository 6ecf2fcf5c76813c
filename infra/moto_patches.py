"""Make moto's TransactWriteItems cost proportional to the transaction, not to the table.

moto 5 backs up a transaction by deep-copying every table it touches, once per item in the
transaction, so on a table of 60,000 items one scan's transaction takes seconds. That is an artefact
of the emulator (DynamoDB's own latency does not grow with the table), and it would swamp every
handler time the benchmark reports. This patch keeps moto's behaviour, including the all-or-nothing
rollback, but backs up only the items the transaction names.

It patches the moto running in this process; EmbeddedDynamoDB installs it unless asked not to, so the
local server, the tests and the benchmark all see transactions cost what they touch.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

_installed = False


def _backup_touched_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    backups = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto rejects it before writing anything
        op = next(iter(entry.values()))
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        key = (op.get("Item") if "Item" in op else op.get("Key")) if table is not None else None
        if not key or table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_value = DynamoType(key[table.range_key_attr])
        current = table.get_item(hash_value, range_value)
        backups.append((table, hash_value, range_value, copy.deepcopy(current)))
    return backups


def _restore(backups: list[tuple[Any, Any, Any, Any]]) -> None:
    # Newest first, so an item named twice ends up as it was before the transaction.
    for table, hash_value, range_value, item in reversed(backups):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        elif item is None:
            table.items[hash_value].pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item


def install() -> None:
    """Idempotent. Afterwards TransactWriteItems backs up only the items it names."""
    global _installed
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    def deepcopy_except_tables(value: Any, memo: Any = None) -> Any:
        # transact_write_items is the only place in this module that deep-copies a Table; with the
        # table itself as its "backup", moto's own rollback assignment changes nothing.
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = SimpleNamespace(deepcopy=deepcopy_except_tables, copy=copy.copy)
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = _backup_touched_items(self, transact_items)
        try:
            original(self, transact_items)
        except BaseException:
            _restore(backups)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items
    _installed = True
