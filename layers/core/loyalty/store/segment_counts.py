"""A merchant's stored segment counts, and the resumable state of a recount under way: one item per merchant.

While a recount is under way the item is in the sparse GSI1 (``keys.recount_index``), so the scheduled tick
reads only the merchants with a recount to continue. Every save is conditional on the version read, so of two
walkers advancing the same recount (an owner's request and the tick) only one saves its progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, PutError

from loyalty.domain.segments import Tally
from loyalty.store import keys
from loyalty.store.member_index import RosterPosition
from loyalty.store.models import LoyaltyItem, SegmentCountsItem
from loyalty.store.transaction import ConditionFailed


@dataclass
class Recount:
    """A walk through the roster that may span several requests and ticks: where it stands and what it found."""

    started_at: datetime
    segments: tuple[str, ...]  # the segments it counts: those that existed when it started
    tally: Tally
    position: RosterPosition | None = None  # None until the first member is counted


@dataclass
class SegmentCounts:
    merchant_id: str
    counts: dict[str, int] = field(default_factory=dict)  # the last complete recount's
    counted_at: datetime | None = None
    recount: Recount | None = None
    version: int = 0  # the stored version this was read at (0: nothing stored yet)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _recount_data(recount: Recount) -> dict:
    position = recount.position
    return {
        "startedAt": _iso(recount.started_at), "segments": list(recount.segments),
        "position": None if position is None else {"shard": position.shard, "after": position.after},
        "members": recount.tally.members, "counts": recount.tally.counts,
        # JSON object keys are text: the buckets are turned back into numbers when read
        "spendHistogram": {str(bucket): n for bucket, n in recount.tally.spend_histogram.items()},
    }


def _recount_of(data: dict) -> Recount:
    position = data.get("position")
    tally = Tally(counts={name: int(n) for name, n in data["counts"].items()}, members=int(data["members"]),
                  spend_histogram={int(bucket): int(n) for bucket, n in data["spendHistogram"].items()})
    return Recount(started_at=datetime.fromisoformat(data["startedAt"].replace("Z", "+00:00")),
                   segments=tuple(data["segments"]), tally=tally,
                   position=None if position is None else RosterPosition(int(position["shard"]), position["after"]))


def get(merchant_id: str) -> SegmentCounts:
    """The merchant's stored counts (empty, version 0, when none were ever stored)."""
    try:
        item = SegmentCountsItem.get(*keys.segment_counts(merchant_id), consistent_read=True)
    except DoesNotExist:
        return SegmentCounts(merchant_id)
    return SegmentCounts(merchant_id=merchant_id, counts={name: int(n) for name, n in (item.counts or {}).items()},
                         counted_at=item.counted_at, recount=_recount_of(item.recount) if item.recount else None,
                         version=int(item.version))


def save(counts: SegmentCounts) -> SegmentCounts:
    """Stores ``counts`` over the version it was read at and returns it at its new version; raises
    ConditionFailed({"segment_counts"}) when another walker saved meanwhile."""
    item = SegmentCountsItem(*keys.segment_counts(counts.merchant_id), merchant_id=counts.merchant_id,
                             counts=counts.counts, counted_at=counts.counted_at,
                             recount=_recount_data(counts.recount) if counts.recount else None,
                             version=counts.version + 1)
    if counts.recount is not None:  # sparse: only a recount under way is in the index
        item.gsi1pk, item.gsi1sk = keys.recount_index(counts.merchant_id, _iso(counts.recount.started_at))
    condition = (SegmentCountsItem.pk.does_not_exist() if counts.version == 0
                 else SegmentCountsItem.version == counts.version)
    try:
        item.save(condition=condition, add_version_condition=False)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise ConditionFailed({"segment_counts"}) from exc
        raise
    counts.version += 1
    return counts


def recounts_under_way(shard: int) -> list[str]:
    """The merchants with a recount under way in this shard of the index, the longest waiting first."""
    return [keys.merchant_of_recount_entry(item.gsi1sk)
            for item in LoyaltyItem.gsi1.query(keys.recounts_partition(shard))]
