"""Count DynamoDB requests and compute their capacity from item sizes.

`Meter` wraps botocore's `BaseClient._make_api_call`, the one method every botocore client calls for
every operation, so PynamoDB's connections, the Powertools idempotency client and any client created
later are all seen without knowing where they live. Per request it records the API name, the items
written and the capacity units, computed the way DynamoDB bills them (moto's ConsumedCapacity
figures are placeholders):

- item size = sum over attributes of (name length in UTF-8 + value size); strings and binaries by
  length, numbers (significant digits / 2) + 1, booleans and nulls 1, lists and maps 3 plus
  1 per element plus the elements (and, for maps, the element names);
- writes: 1 WCU per started KB of the larger of the item before and after the write (deletes: the
  item before); a ConditionCheck is billed like a write of the item it checks; 2x in transactions;
- index writes, reported apart: each GSI entry put, changed or removed costs 1 WCU per KB of the
  projected item (2 writes when the index key changes); index propagation is not transactional;
- reads: 1 RCU per started 4 KB strongly consistent, 0.5 eventually consistent, 2x in transactions,
  at least one unit per request or item; a Query is billed on the summed size of what it returns.

Sizes of written items come from a strongly consistent BatchGetItem of every written key right
before and right after the request, with a separate client that the meter does not count; the time
those reads take is reported as overhead so callers can subtract it from their timings. Sizes of
read items come from the responses. Each call also lists the items it wrote (table and key, and the
key's kind with its values masked), so a caller can count writes per item (hot keys).

`ServerCounter` is WSGI middleware for the embedded DynamoDB: it counts the requests that really
arrive, by API name, as a cross-check of the client-side hook (internal reads are marked and skipped).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

INTERNAL_HEADER = "X-Bench-Internal"
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_KEY_LABEL = re.compile(r"[A-Z][A-Z_]*")


# --- item sizes and capacity units ------------------------------------------------------------------

def number_size(text: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return len(text)
    digits = value.as_tuple().digits
    significant = "".join(map(str, digits)).strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode("utf-8"))
    if kind == "N":
        return number_size(data)
    if kind == "B":
        return len(data) if isinstance(data, bytes | bytearray) else len(str(data).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(item.encode("utf-8")) for item in data)
    if kind == "NS":
        return sum(number_size(item) for item in data)
    if kind == "BS":
        return sum(len(item) for item in data)
    if kind == "L":
        return 3 + sum(1 + value_size(item) for item in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode("utf-8")) + value_size(item) for name, item in data.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def key_label(key: dict[str, Any], names: Iterable[str]) -> str:
    """`MEMBER#mem_x/LEDGER#2026-...#led_y` -> `MEMBER#*/LEDGER#*#*`: labels kept, values masked."""
    parts = []
    for name in names:
        value = key.get(name)
        raw = next(iter(value.values())) if isinstance(value, dict) and value else ""
        segments = str(raw).split("#")
        parts.append("#".join(seg if i % 2 == 0 and _KEY_LABEL.fullmatch(seg) else "*"
                              for i, seg in enumerate(segments)))
    return "/".join(parts)


# --- table schemas ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    non_key: tuple[str, ...] = ()

    def entry(self, item: dict[str, Any] | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The item as this index stores it, or None when the item is not in the (sparse) index."""
        if not item or self.hash_key not in item or (self.range_key and self.range_key not in item):
            return None
        if self.projection == "ALL":
            return item
        names = {*table_keys, self.hash_key, *([self.range_key] if self.range_key else []), *self.non_key}
        return {name: value for name, value in item.items() if name in names}

    def key_of(self, entry: dict[str, Any]) -> tuple:
        return (json.dumps(entry[self.hash_key], sort_keys=True),
                json.dumps(entry.get(self.range_key) if self.range_key else None, sort_keys=True))


@dataclass(frozen=True)
class Schema:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    @classmethod
    def from_description(cls, table: dict[str, Any]) -> Schema:
        def key_names(schema: list[dict[str, str]]) -> tuple[str, str | None]:
            hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
            range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
            return hash_key, range_key

        hash_key, range_key = key_names(table["KeySchema"])
        indexes = []
        for index in table.get("GlobalSecondaryIndexes") or []:
            index_hash, index_range = key_names(index["KeySchema"])
            projection = index.get("Projection") or {}
            indexes.append(Index(index["IndexName"], index_hash, index_range, projection.get("ProjectionType", "ALL"),
                                 tuple(projection.get("NonKeyAttributes") or ())))
        return cls((hash_key, range_key) if range_key else (hash_key,), tuple(indexes))

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.keys if name in item}


def index_write_units(index: Index, before: dict | None, after: dict | None, table_keys: tuple[str, ...]) -> int:
    old, new = index.entry(before, table_keys), index.entry(after, table_keys)
    if old is not None and new is not None:
        if index.key_of(old) != index.key_of(new):
            return write_units(item_size(old)) + write_units(item_size(new))
        return 0 if old == new else write_units(item_size(new))
    if old is not None:
        return write_units(item_size(old))
    if new is not None:
        return write_units(item_size(new))
    return 0


# --- what one request did ---------------------------------------------------------------------------

@dataclass
class Call:
    operation: str
    shape: str                 # e.g. "GetItem MEMBER#*/MEMBER (consistent)"
    items_written: int = 0
    wcu: float = 0.0
    index_wcu: float = 0.0
    rcu: float = 0.0
    items_read: int = 0  # items a read returned (GetItem: 1 when found)
    error: str | None = None
    size_note: str | None = None  # how the sizes were obtained, when not the usual way
    # Every item the call wrote: (table and raw key as one string, the key's kind with values masked).
    written: list[tuple[str, str]] = field(default_factory=list)
    # The table's write units by item written or checked: (the key's kind with values masked, units).
    units_by_item: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Capture:
    calls: list[Call] = field(default_factory=list)
    overhead_seconds: float = 0.0  # the meter's own reads during the capture


@dataclass
class _Target:
    kind: str  # put | update | delete | check
    table: str
    key: dict[str, Any]


class Meter:
    """Install once; then `with meter.capture() as captured:` records the DynamoDB calls of a block."""

    def __init__(self, size_client_factory: Callable[[], Any]) -> None:
        self._size_client_factory = size_client_factory
        self._size_client: Any = None
        self._schemas: dict[str, Schema] = {}
        self._local = threading.local()
        self._original: Any = None
        self.totals: Counter[str] = Counter()  # every counted call, captured or not
        self._captures: list[Capture] = []

    # -- installation -----------------------------------------------------------------------------
    def install(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            return
        original = BaseClient._make_api_call
        meter = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict) -> Any:
            if (getattr(meter._local, "internal", False) or client is meter._size_client
                    or client.meta.service_model.service_name != "dynamodb"):
                return original(client, operation_name, api_params)
            return meter._measure(original, client, operation_name, api_params)

        self._original = original
        BaseClient._make_api_call = _make_api_call

    def uninstall(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            BaseClient._make_api_call = self._original
            self._original = None

    @contextmanager
    def capture(self) -> Iterator[Capture]:
        captured = Capture()
        self._captures.append(captured)
        try:
            yield captured
        finally:
            self._captures.remove(captured)

    @contextmanager
    def internal(self) -> Iterator[Any]:
        """Calls made inside are neither counted nor seen by the ServerCounter; yields the meter's client."""
        previous = getattr(self._local, "internal", False)
        self._local.internal = True
        try:
            yield self.client()
        finally:
            self._local.internal = previous

    def client(self) -> Any:
        if self._size_client is None:
            client = self._size_client_factory()

            def mark(request: Any, **_: Any) -> None:
                request.headers[INTERNAL_HEADER] = "1"

            client.meta.events.register("before-sign.dynamodb", mark)
            client.is_meter_client = True  # lets other instrumentation tell the meter's reads from the code's
            self._size_client = client
        return self._size_client

    # -- measuring ----------------------------------------------------------------------------------
    def _measure(self, original: Any, client: Any, operation: str, params: dict) -> Any:
        started = time.perf_counter()
        targets = self._write_targets(operation, params) if operation in WRITE_OPERATIONS else []
        before = self._read_items(targets)
        overhead = time.perf_counter() - started
        response: Any = None
        error: str | None = None
        try:
            response = original(client, operation, params)
            return response
        except Exception as exc:
            reply = getattr(exc, "response", None)
            error = (reply.get("Error", {}).get("Code") if isinstance(reply, dict) else None) or type(exc).__name__
            raise
        finally:
            after_started = time.perf_counter()
            after = self._read_items(targets)
            call = self._account(operation, params, response, targets, before, after, error)
            self.totals[operation] += 1
            overhead += time.perf_counter() - after_started
            for captured in self._captures:
                captured.calls.append(call)
                captured.overhead_seconds += overhead

    def _schema(self, table: str) -> Schema:
        if table not in self._schemas:
            with self.internal() as client:
                self._schemas[table] = Schema.from_description(client.describe_table(TableName=table)["Table"])
        return self._schemas[table]

    def _write_targets(self, operation: str, params: dict) -> list[_Target]:
        targets: list[_Target] = []
        if operation == "TransactWriteItems":
            kinds = {"Put": "put", "Update": "update", "Delete": "delete", "ConditionCheck": "check"}
            for entry in params.get("TransactItems") or []:
                for name, op in entry.items():
                    table = op["TableName"]
                    key = self._schema(table).key_of(op["Item"]) if name == "Put" else op["Key"]
                    targets.append(_Target(kinds[name], table, key))
        elif operation == "BatchWriteItem":
            for table, requests in (params.get("RequestItems") or {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        targets.append(_Target("put", table, self._schema(table).key_of(request["PutRequest"]["Item"])))
                    else:
                        targets.append(_Target("delete", table, request["DeleteRequest"]["Key"]))
        else:
            table = params["TableName"]
            key = self._schema(table).key_of(params["Item"]) if operation == "PutItem" else params["Key"]
            kind = {"PutItem": "put", "UpdateItem": "update", "DeleteItem": "delete"}[operation]
            targets.append(_Target(kind, table, key))
        return targets

    @staticmethod
    def _ident(table: str, key: dict[str, Any]) -> tuple:
        return table, json.dumps(key, sort_keys=True, default=str)

    def _read_items(self, targets: list[_Target]) -> dict[tuple, dict | None]:
        found: dict[tuple, dict | None] = {self._ident(t.table, t.key): None for t in targets}
        if not targets:
            return found
        by_table: dict[str, list[dict]] = {}
        for ident, target in {self._ident(t.table, t.key): t for t in targets}.items():
            by_table.setdefault(ident[0], []).append(target.key)
        with self.internal() as client:
            for table, table_keys in by_table.items():
                schema = self._schema(table)
                for start in range(0, len(table_keys), 100):
                    pending = {table: {"Keys": table_keys[start:start + 100], "ConsistentRead": True}}
                    while pending:
                        reply = client.batch_get_item(RequestItems=pending)
                        for name, items in reply.get("Responses", {}).items():
                            for item in items:
                                found[self._ident(name, schema.key_of(item))] = item
                        pending = reply.get("UnprocessedKeys") or {}
        return found

    def _account(self, operation: str, params: dict, response: Any, targets: list[_Target],
                 before: dict[tuple, dict | None], after: dict[tuple, dict | None], error: str | None) -> Call:
        if operation in WRITE_OPERATIONS:
            return self._account_write(operation, params, response, targets, before, after, error)
        return self._account_read(operation, params, response or {}, error)

    def _account_write(self, operation: str, params: dict, response: Any, targets: list[_Target],
                       before: dict, after: dict, error: str | None) -> Call:
        factor = 2 if operation == "TransactWriteItems" else 1
        unprocessed = 0
        if operation == "BatchWriteItem" and response:
            unprocessed = sum(len(v) for v in (response.get("UnprocessedItems") or {}).values())
        call = Call(operation, self._write_shape(operation, params, targets), error=error)
        for target in targets:
            schema = self._schema(target.table)
            ident = self._ident(target.table, target.key)
            old, new = before.get(ident), after.get(ident)
            label = key_label(target.key, schema.keys)
            if target.kind == "check":
                call.wcu += factor * write_units(item_size(old))
                call.units_by_item.append((label, factor * write_units(item_size(old))))
                continue
            size = item_size(old) if target.kind == "delete" else max(item_size(old), item_size(new))
            call.wcu += factor * write_units(size)
            call.units_by_item.append((label, factor * write_units(size)))
            if error is None:
                call.items_written += 1
                call.written.append((json.dumps(ident), label))
                call.index_wcu += sum(index_write_units(index, old, new, schema.keys) for index in schema.indexes)
        call.items_written = max(0, call.items_written - unprocessed)
        return call

    def _write_shape(self, operation: str, params: dict, targets: list[_Target]) -> str:
        def label(target: _Target) -> str:
            return key_label(target.key, self._schema(target.table).keys)

        if operation == "TransactWriteItems":
            names = {"put": "Put", "update": "Update", "delete": "Delete", "check": "ConditionCheck"}
            return f"TransactWriteItems[{', '.join(f'{names[t.kind]} {label(t)}' for t in targets)}]"
        if operation == "BatchWriteItem":
            return f"BatchWriteItem[{len(targets)} items]"
        return f"{operation} {label(targets[0])}" if targets else operation

    def _account_read(self, operation: str, params: dict, response: dict, error: str | None) -> Call:
        call = Call(operation, operation, error=error)
        if operation == "GetItem":
            consistent = bool(params.get("ConsistentRead"))
            schema = self._schema(params["TableName"])
            call.shape = f"GetItem {key_label(params['Key'], schema.keys)}" + (" (consistent)" if consistent else "")
            call.rcu = read_units(item_size(response.get("Item")), consistent)
            call.items_read = int(bool(response.get("Item")))
            if params.get("ProjectionExpression"):
                call.size_note = "projection: billed on the whole item, sized here on the projected part"
        elif operation in ("Query", "Scan"):
            consistent = bool(params.get("ConsistentRead"))
            table = params["TableName"]
            where = f"{table}.{params['IndexName']}" if params.get("IndexName") else table
            call.shape = f"{operation} {where}"
            values = params.get("ExpressionAttributeValues") or {}
            first = next((v for v in values.values() if isinstance(v, dict) and "S" in v), None)
            if operation == "Query" and first:
                call.shape += f" {key_label({'k': first}, ['k'])}"
            call.rcu = read_units(sum(item_size(item) for item in response.get("Items") or []), consistent)
            call.items_read = len(response.get("Items") or [])
            if response.get("ScannedCount", 0) > response.get("Count", 0):
                call.size_note = "filtered: items read but filtered out are not in the response, so not sized"
        elif operation == "BatchGetItem":
            call.shape = f"BatchGetItem[{sum(len(v.get('Keys', [])) for v in params['RequestItems'].values())} keys]"
            for table, items in (response.get("Responses") or {}).items():
                consistent = bool(params["RequestItems"].get(table, {}).get("ConsistentRead"))
                call.rcu += sum(read_units(item_size(item), consistent) for item in items)
                call.items_read += len(items)
        elif operation == "TransactGetItems":
            gets = [item["Get"] for item in params.get("TransactItems") or [] if "Get" in item]
            call.shape = "TransactGetItems[{}]".format(
                ", ".join(key_label(get["Key"], self._schema(get["TableName"]).keys) for get in gets))
            call.rcu = sum(2 * read_units(item_size(r.get("Item")), True) for r in response.get("Responses") or [])
            call.items_read = sum(1 for r in response.get("Responses") or [] if r.get("Item"))
        return call


class ServerCounter:
    """WSGI middleware: counts the DynamoDB requests that reach the server, by API name."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_" + INTERNAL_HEADER.upper().replace("-", "_")):
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            with self._lock:
                self.counts[target.rpartition(".")[2] or "(other)"] += 1
        return self.app(environ, start_response)

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)
