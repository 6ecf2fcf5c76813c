"""Reply models put on the wire exactly what clients already read: camelCase, UTC times, nulls kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from loyalty.api.http import json_reply
from loyalty.domain.model import LedgerEntry, LedgerLine, Member, Merchant, Voucher
from loyalty.domain.program import default_program
from loyalty.replies.cards import Card, IssuedReward, MyCard
from loyalty.replies.members import Joined, ReferralNote

WARSAW = timezone(timedelta(hours=1))
ISSUED = datetime(2026, 11, 22, 11, 15, 30, 999, tzinfo=WARSAW)
MERCHANT = Merchant(merchant_id="mch_1", name="Kawiarnia", timezone="Europe/Warsaw", currency="PLN",
                    program=default_program())


def _voucher() -> Voucher:
    return Voucher("rwd_1", "free-coffee", "Free coffee", "K7Q2M9", "issued", 100, ISSUED, ISSUED + timedelta(days=30),
                   "points")


def _member() -> Member:
    voucher = _voucher()
    return Member("mem_1", "mch_1", "hash", balance=30, lifetime_points=130, stamps=2, referral_code="ALA12345",
                  vouchers={voucher.issued_reward_id: voucher})


def test_an_issued_reward_has_utc_times_to_the_second_and_keeps_its_nulls():
    wire = IssuedReward.of(_voucher()).model_dump(mode="json")
    assert wire == {
        "issuedRewardId": "rwd_1", "rewardId": "free-coffee", "name": "Free coffee", "code": "K7Q2M9",
        "status": "issued", "pointsLocked": 100, "source": "points", "issuedAt": "2026-11-22T10:15:30Z",
        "expiresAt": "2026-12-22T10:15:30Z", "closedAt": None,
    }


def test_the_card_lists_its_fields_in_the_order_clients_have_always_seen():
    entry = LedgerEntry("led_1", "mem_1", "mch_1", ISSUED, "scan", 30, 1, (LedgerLine("visit", 10, 1, "Visit"),
                                                                         LedgerLine("welcome", 20, 0, "Welcome")))
    card = MyCard(**Card.fields(MERCHANT, _member(), [entry]), qr_svg="<svg/>")
    wire = card.model_dump(mode="json")
    assert list(wire) == ["memberId", "merchant", "points", "stamps", "nextReward", "message", "rewards", "catalog",
                          "referralCode", "history", "qrSvg"]
    assert wire["history"] == [{"at": "2026-11-22T10:15:30Z", "kind": "scan", "points": 30, "stamps": 1,
                                "label": "Visit; Welcome"}]
    assert wire["stamps"] == {"count": 2, "required": 5, "rewardName": "Free coffee", "full": False}
    assert wire["catalog"] == [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 100, "affordable": False}]


def test_a_join_reply_mentions_the_referral_only_when_there_was_one():
    card = Card.of(MERCHANT, _member(), [])
    plain = Joined(member_id="mem_1", member_token="mem_1.secret", card=card)
    referred = Joined(member_id="mem_1", member_token="mem_1.secret", card=card,
                      referral=ReferralNote(status="pending", message="Noted."))
    assert "referral" not in json.loads(json_reply(201, plain).body)
    assert json.loads(json_reply(201, referred).body)["referral"] == {"status": "pending", "message": "Noted."}


def test_replies_of_posts_are_sorted_so_a_replay_from_the_stored_dict_is_byte_identical():
    reply = Joined(member_id="mem_1", member_token="mem_1.secret", card=Card.of(MERCHANT, _member(), []))
    first = json_reply(201, reply).body
    replay = json_reply(201, json.loads(first)).body  # what the idempotency record gives back
    assert first == replay
    assert list(json.loads(first)) == ["card", "memberId", "memberToken"]
