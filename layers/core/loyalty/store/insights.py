"""Insights rollups: what the stream consumer writes (counts added once per batch, each stream record once) and
what the insights route reads (one Query per scope over a range of days, one over the months).

Stream records arrive as DynamoDB JSON; ``fact_of`` turns the images this module knows (ledger entries, member
items, feedback items) into the domain's facts, and ignores everything else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from loyalty.domain import insights as rules
from loyalty.domain.campaigns import run_id_for
from loyalty.settings import get_settings
from loyalty.store import keys
from loyalty.store.models import CampaignRunItem
from loyalty.store.transaction import TransientConflict, connection

ROLLUP_KIND = "insights_rollup"
SEEN_KIND = "insights_seen"
SEEN_KEPT = timedelta(days=3)  # longer than a stream keeps its records (24 hours), so any retry finds its marker
MAX_TRANSACTION_ITEMS = 100
# Counts one update adds: keeps its expression well under DynamoDB's 4 KB (and moto's parser, which recurses per
# action, within its depth). A batch whose counts of one item would need more is split over transactions.
MAX_UPDATE_ATTRIBUTES = 100
_KEY_ATTRIBUTES = ("PK", "SK", "kind")
_deserializer = TypeDeserializer()


def _client() -> Any:
    """The low-level client: rollup attributes are named by the data (a day, a gap, a campaign), not by a model."""
    return connection().client


# --- stream records -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StreamFact:
    """A stream record the rollups count: its id (the once-only marker) and what it says."""

    event_id: str
    fact: rules.Fact


def _plain(image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not image:
        return None
    return {name: _deserializer.deserialize(value) for name, value in image.items()}


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) or hasattr(value, "as_integer_ratio"):
        return datetime.fromtimestamp(float(value), UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _int(value: Any) -> int:
    return int(value or 0)


def fact_of(record: Mapping[str, Any]) -> StreamFact | None:
    """The fact a stream record (Lambda's event record) tells, or None when the rollups ignore it: removals, and
    items other than ledger entries, members and feedback (inserts only, except members' voucher and referral
    changes)."""
    name = record.get("eventName")
    change = record.get("dynamodb") or {}
    new, old = _plain(change.get("NewImage")), _plain(change.get("OldImage"))
    if name not in ("INSERT", "MODIFY") or new is None:
        return None
    kind = new.get("kind")
    event_id = str(record["eventID"])
    if kind == "member":
        recorded = _instant(change.get("ApproximateCreationDateTime")) or datetime.now(UTC)
        return StreamFact(event_id, rules.MemberChange(_member(old) if name == "MODIFY" else None, _member(new),
                                                       recorded))
    if name != "INSERT":
        return None
    if kind == "ledger":
        visit = new.get("visit")
        return StreamFact(event_id, rules.LedgerFacts(
            merchant_id=new["merchant_id"], kind=new["entry_kind"], at=_instant(new["at"]), points=_int(new["points"]),
            location_id=new.get("location_id"), spend=_int(new["spend"]) if new.get("spend") is not None else None,
            visit=json.loads(visit) if isinstance(visit, str) else visit))
    if kind == "feedback":
        nps = new.get("nps")
        return StreamFact(event_id, rules.FeedbackFacts(
            merchant_id=new["merchant_id"], at=_instant(new["created_at"]), location_id=new.get("location_id"),
            rating=_int(new["rating"]), nps=int(nps) if nps is not None else None))
    return None


def _member(image: dict[str, Any] | None) -> rules.MemberImage | None:
    if image is None:
        return None
    vouchers = {
        voucher_id: rules.VoucherState(status=str(data.get("status")), points_locked=_int(data.get("pointsLocked")),
                                       issued_at=_instant(data.get("issuedAt")),
                                       closed_at=_instant(data.get("closedAt")))
        for voucher_id, data in (image.get("vouchers") or {}).items()
    }
    return rules.MemberImage(merchant_id=image["merchant_id"], created_at=_instant(image.get("created_at")),
                             referred=bool(image.get("referred_by")), referral_status=image.get("referral_status"),
                             vouchers=vouchers)


# --- writing counts -----------------------------------------------------------------------------------

def _rollup_key(key: rules.RollupKey) -> tuple[str, str]:
    merchant_id, location_id, period = key
    kind, _, value = period.partition("#")
    return keys.insights_day(merchant_id, location_id, value) if kind == "DAY" else keys.insights_month(merchant_id,
                                                                                                        value)


def _update(table: str, key: rules.RollupKey, counts: Mapping[str, int]) -> dict[str, Any]:
    pk, sk = _rollup_key(key)
    names = {"#kind": "kind"}
    values: dict[str, Any] = {":kind": {"S": ROLLUP_KIND}}
    adds = []
    for n, (name, value) in enumerate(sorted(counts.items())):
        names[f"#a{n}"] = name
        values[f":a{n}"] = {"N": str(value)}
        adds.append(f"#a{n} :a{n}")
    return {"Update": {"TableName": table, "Key": {"PK": {"S": pk}, "SK": {"S": sk}},
                       "UpdateExpression": f"SET #kind = :kind ADD {', '.join(adds)}",
                       "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}


def _marker(table: str, event_id: str, now: datetime) -> dict[str, Any]:
    pk, sk = keys.insights_record_seen(event_id)
    return {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(PK)", "Item": {
        "PK": {"S": pk}, "SK": {"S": sk}, "kind": {"S": SEEN_KIND},
        "ttl": {"N": str(int((now + SEEN_KEPT).timestamp()))}}}}


class AlreadyCounted(Exception):
    """Some records of a transaction were counted before (a retried batch): ``event_ids`` names them."""

    def __init__(self, event_ids: set[str]) -> None:
        super().__init__(f"{len(event_ids)} records counted before")
        self.event_ids = event_ids


def add_counts(event_ids: list[str], counts: Mapping[rules.RollupKey, Mapping[str, int]], now: datetime) -> None:
    """One transaction: each record's marker (written only if absent) and every rollup item's counts added.

    AlreadyCounted when a marker existed: nothing was written, and the caller counts again without those
    records. At most ``MAX_TRANSACTION_ITEMS`` markers and items together, and ``MAX_UPDATE_ATTRIBUTES`` counts
    per item."""
    table = get_settings().table_name
    items = [_marker(table, event_id, now) for event_id in event_ids]
    items += [_update(table, key, values) for key, values in counts.items() if values]
    if len(items) > MAX_TRANSACTION_ITEMS or any(len(values) > MAX_UPDATE_ATTRIBUTES for values in counts.values()):
        raise ValueError("too much for one transaction")
    try:
        _client().transact_write_items(TransactItems=items)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
        seen = {event_id for event_id, code in zip(event_ids, reasons, strict=False)
                if code == "ConditionalCheckFailed"}
        if seen:
            raise AlreadyCounted(seen) from exc
        if "TransactionConflict" in reasons:
            raise TransientConflict() from exc
        raise


# --- reading ------------------------------------------------------------------------------------------

def _query(pk: str, first_sk: str, last_sk: str) -> Iterable[dict[str, Any]]:
    client = _client()
    request: dict[str, Any] = {
        "TableName": get_settings().table_name,
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":first": {"S": first_sk}, ":last": {"S": last_sk}},
    }
    while True:
        page = client.query(**request)
        yield from page.get("Items") or []
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _counts(item: Mapping[str, Any]) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items() if name not in _KEY_ATTRIBUTES and "N" in value}


def days(merchant_id: str, location_id: str | None, first: date, last: date) -> dict[date, dict[str, int]]:
    """The day rollups of one scope from ``first`` to ``last``: one Query, a page per about 1 MB."""
    pk, first_sk = keys.insights_day(merchant_id, location_id, first.isoformat())
    _, last_sk = keys.insights_day(merchant_id, location_id, last.isoformat())
    return {date.fromisoformat(item["SK"]["S"].split("#", 1)[1]): _counts(item)
            for item in _query(pk, first_sk, last_sk)}


def months(merchant_id: str, last_month: str) -> dict[str, dict[str, int]]:
    """Every month rollup of the business up to ``last_month``: one item per month of its history."""
    pk, first_sk = keys.insights_month(merchant_id, "0000-00")
    _, last_sk = keys.insights_month(merchant_id, last_month)
    return {item["SK"]["S"].split("#", 1)[1]: _counts(item) for item in _query(pk, first_sk, last_sk)}


@dataclass(frozen=True)
class RunTotals:
    sent: int
    redeemed: int


def campaign_runs_between(merchant_id: str, campaign_id: str, start: datetime, end: datetime) -> RunTotals:
    """Messages sent and offers redeemed by the runs of a campaign scheduled in ``[start, end)`` (run ids sort by
    their scheduled time)."""
    pk, prefix = keys.campaign_runs_prefix(merchant_id, campaign_id)
    last = end - timedelta(minutes=1)
    items = CampaignRunItem.query(pk, CampaignRunItem.sk.between(f"{prefix}{run_id_for(start)}",
                                                                 f"{prefix}{run_id_for(last)}"))
    sent = redeemed = 0
    for item in items:
        if isinstance(item, CampaignRunItem):
            sent += int(item.sent_email or 0) + int(item.sent_sms or 0)
            redeemed += int(item.redeemed or 0)
    return RunTotals(sent, redeemed)
