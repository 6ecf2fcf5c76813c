"""Replies to POS events (a sale answers with the staff scan's reply, replies/scans.py) and to new POS keys."""

from __future__ import annotations

from typing import Literal

from loyalty.replies.base import Reply


class RefundResult(Reply):
    """The refund as recorded: the points it reversed and the member's balance right after it."""

    refund_id: str
    points_reversed: int
    balance: int


class PosKey(Reply):
    """A new POS key and its signing secret, both shown this once."""

    api_key_id: str
    api_key: str
    signing_secret: str
    role: Literal["pos"]
    location_ids: list[str]
