"""A tagged TransactWriteItems builder: tells which tagged operation's condition failed.

PynamoDB sends a transaction's items grouped as ConditionCheck, Delete, Put, Update, whatever
order they were added in, so cancellation reasons are mapped back through that same order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from loyalty.settings import get_settings

_THROTTLING = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "ThrottlingError", "InternalServerError", "ServiceUnavailable",
}
_THROTTLED_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
_ORDER = ("check", "delete", "put", "update")


class ConditionFailed(Exception):
    """A conditional write lost: ``failed`` names the tags whose condition did not hold."""

    def __init__(self, failed: set[str], items: dict[str, dict] | None = None) -> None:
        super().__init__(f"condition failed: {sorted(failed)}")
        self.failed = failed
        self.items = items or {}


class TransientConflict(Exception):
    """Another transaction touched the same items at the same moment; safe to retry."""


@dataclass
class ConditionalUpdate:
    """One more item a change updates in its own transaction, under its own condition, named by ``tag``."""

    item: Any
    actions: list
    tag: str
    condition: Any = None


@cache
def connection() -> Connection:
    """The low-level connection, with the same retries and read timeout as the models (store/models.py)."""
    settings = get_settings()
    return Connection(region=settings.region, host=settings.dynamodb_endpoint, max_retry_attempts=3,
                      read_timeout_seconds=settings.dynamodb_read_timeout_seconds)


@dataclass
class Transaction:
    _ops: dict[str, list[tuple[str, Callable[[TransactWrite], Any]]]] = field(
        default_factory=lambda: {kind: [] for kind in _ORDER})

    def put(self, item: Any, tag: str, condition: Any = None) -> Transaction:
        self._ops["put"].append((tag, lambda tw: tw.save(item, condition=condition)))
        return self

    def update(self, item: Any, actions: list, tag: str, condition: Any = None) -> Transaction:
        self._ops["update"].append(
            (tag, lambda tw: tw.update(item, actions=actions, condition=condition, add_version_condition=False)))
        return self

    def add(self, update: ConditionalUpdate) -> Transaction:
        return self.update(update.item, update.actions, update.tag, update.condition)

    def delete(self, item: Any, tag: str, condition: Any = None) -> Transaction:
        self._ops["delete"].append((tag, lambda tw: tw.delete(item, condition=condition)))
        return self

    def check(self, model_cls: type, key: tuple[str, str], condition: Any, tag: str) -> Transaction:
        self._ops["check"].append(
            (tag, lambda tw: tw.condition_check(model_cls, key[0], key[1], condition=condition)))
        return self

    def extend(self, other: Transaction) -> Transaction:
        """Another transaction's operations join this one (one commit, all or nothing)."""
        for kind in _ORDER:
            self._ops[kind] += other._ops[kind]
        return self

    def __len__(self) -> int:
        return sum(len(ops) for ops in self._ops.values())

    def commit(self) -> None:
        ordered = [op for kind in _ORDER for op in self._ops[kind]]
        try:
            with TransactWrite(connection=connection()) as tw:
                for _, add in ordered:
                    add(tw)
        except TransactWriteError as exc:
            codes = [reason.code if reason else None for reason in getattr(exc, "cancellation_reasons", None) or []]
            failed = {tag for (tag, _), code in zip(ordered, codes, strict=False) if code == "ConditionalCheckFailed"}
            if failed:
                raise ConditionFailed(failed) from exc
            if "TransactionConflict" in codes:
                raise TransientConflict() from exc
            raise


def is_unavailable(exc: BaseException | None) -> bool:
    """DynamoDB throttled, timed out or was unreachable: nothing was written and a retry may work.

    The API answers such errors with 503 and Retry-After in one place (api/resolver.py), whichever store
    call met them, so the store lets them propagate unchanged."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError)):
            return True
        if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _THROTTLING:
            return True
        reasons = getattr(exc, "cancellation_reasons", None) or []  # a transaction cancelled by throttling
        if any(reason is not None and reason.code in _THROTTLED_REASONS for reason in reasons):
            return True
        # PynamoDB wraps botocore errors in .cause; an error raised while handling one keeps it in __context__.
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return False

