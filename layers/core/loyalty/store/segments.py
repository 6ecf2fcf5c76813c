"""A merchant's custom segments: one item each under the merchant's partition."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from loyalty.domain.segments import Condition, Segment, custom_segment
from loyalty.store import keys
from loyalty.store.models import SegmentItem
from loyalty.store.transaction import Transaction


def _to_segment(item: SegmentItem) -> Segment:
    conditions = []
    for data in item.conditions or ():
        data = data.as_dict() if hasattr(data, "as_dict") else dict(data)
        value = data["value"]
        value = tuple(_plain(v) for v in value) if isinstance(value, list) else _plain(value)
        conditions.append(Condition(data["field"], data["op"], value))
    return custom_segment(item.name, item.match, conditions)


def _plain(value: object) -> object:
    # Numbers come back from the untyped list as floats or Decimals; conditions compare whole numbers.
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def add_segment(merchant_id: str, segment: Segment, now: datetime) -> None:
    """Raises ConditionFailed({"segment"}) when the merchant already has a segment of that name."""
    item = SegmentItem(
        *keys.segment(merchant_id, segment.name), merchant_id=merchant_id, name=segment.name, match=segment.match,
        conditions=[{"field": c.field, "op": c.op, "value": list(c.value) if isinstance(c.value, tuple) else c.value}
                    for c in segment.conditions], created_at=now)
    Transaction().put(item, "segment", condition=SegmentItem.pk.does_not_exist()).commit()


def get_segment(merchant_id: str, name: str) -> Segment | None:
    try:
        return _to_segment(SegmentItem.get(*keys.segment(merchant_id, name)))
    except DoesNotExist:
        return None


def segments_of(merchant_id: str) -> list[Segment]:
    pk, prefix = keys.segment_prefix(merchant_id)
    return [_to_segment(item) for item in SegmentItem.query(pk, SegmentItem.sk.startswith(prefix))]
