"""Random sequences under a program with every rule keep the books straight: scans with items, claims,
cancellations, redemptions, POS sales and refunds, months passing, points expiring and tiers changing.

After every step: balance = sum of the ledger, stamps = sum of the ledger's stamps, the points waiting to expire
add up to the balance (none when it is negative), a negative balance only ever follows a refund, and no reward
code is redeemed twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from tests.integration.test_ledger_properties import LoyaltyBooks, _handlers
from tests.support.pos import open_till
from tests.support.world import create_world

PROGRAM = {
    "stampCard": {"stampsRequired": 3, "rewardId": "free-coffee"},
    "points": {"perVisit": 10, "perCurrencyUnit": 1, "welcomeBonus": 20,
               "perItem": [{"sku": "LATTE", "points": 5}, {"category": "pastry", "points": 3}]},
    "rewards": [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 60},
                {"id": "cake", "name": "Slice of cake", "pointsCost": 25},
                {"id": "gift", "name": "A small gift"}],
    "rewardValidityDays": 20,
    "scanCooldownMinutes": 60,
    "tiers": {"windowMonths": 2, "graceDays": 7, "levels": [
        {"id": "silver", "name": "Silver", "threshold": 150, "multiplier": 1.5},
        {"id": "gold", "name": "Gold", "threshold": 400, "multiplier": 2, "upgradeRewardId": "gift"}]},
    "promotions": [
        {"id": "afternoon", "name": "Afternoon double", "multiplier": 2, "from": "14:00", "to": "17:00",
         "limitPerMemberPerDay": 1},
        {"id": "pastry", "name": "Pastry bonus", "bonusPoints": 7, "categories": ["pastry"]}],
    "expiry": {"afterMonths": 1},
    "surprise": {"rewardId": "gift", "everyNthVisit": 3, "maxPerDay": 2},
}
ITEMS = [{"sku": "LATTE", "category": "coffee", "quantity": 1, "amount": 1_400},
         {"sku": "CROISSANT", "category": "pastry", "quantity": 2, "amount": 1_800}]


class RulesBooks(LoyaltyBooks):
    """The v1 machine's steps (counter scans, staff bills, claims, cancels, redemptions, days, the voucher job)
    on a program with every rule, plus POS sales and refunds, weeks passing and the upkeep job."""

    @initialize()
    def open_shop(self):
        from loyalty.services import clock

        self.clock = clock
        self.real_now = clock.now
        self.now = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
        clock.now = lambda: self.now
        self.shop = create_world(_handlers(), PROGRAM)
        self.till = open_till(self.shop)
        self.members = [self.shop.enroll() for _ in range(2)]
        self.codes: dict[str, str] = {}
        self.redeemed: set[str] = set()
        self.receipts = 0
        self.sales: list[tuple[str, int]] = []  # (receiptId, amount) counted through the POS
        self.refunded: set[int] = set()         # members whose balance a refund lowered

    def _send(self, event):
        return self.till.send(event, at=self.now.timestamp())

    @rule(index=st.integers(0, 1), minutes=st.integers(0, 240))
    def member_scans_the_counter(self, index, minutes):
        self.now += timedelta(minutes=minutes)
        reply = self.shop.scan(self._member(index))
        assert reply.status in (200, 429), reply.raw
        if reply.status == 200:
            self._remember_codes(reply.json["rewardsIssued"])
            lines = reply.json["awarded"]["lines"]
            assert reply.json["awarded"]["points"] == sum(line["points"] for line in lines)

    @rule(index=st.integers(0, 1), amount=st.integers(0, 9_000), with_items=st.booleans())
    def till_reports_a_sale(self, index, amount, with_items):
        receipt = f"R{uuid.uuid4().hex[:8]}"
        event = {"type": "sale", "eventId": f"e-{receipt}", "locationId": self.shop.locations[0], "receiptId": receipt,
                 "member": {"memberId": self._member(index).member_id}}
        if with_items:
            event["items"] = ITEMS
            amount = sum(item["amount"] for item in ITEMS)
        else:
            event["amount"] = amount
        reply = self._send(event)
        assert reply.status == 200, reply.raw
        self._remember_codes(reply.json["rewardsIssued"])
        if amount:
            self.sales.append((receipt, amount, index % len(self.members)))

    @precondition(lambda self: self.sales)
    @rule(pick=st.integers(0, 1000), share=st.integers(1, 100))
    def till_refunds_part_of_a_sale(self, pick, share):
        receipt, amount, owner = self.sales[pick % len(self.sales)]
        reply = self._send({"type": "refund", "eventId": f"e-{uuid.uuid4().hex}", "receiptId": receipt,
                            "refundId": f"f-{uuid.uuid4().hex}", "amount": max(1, amount * share // 100)})
        assert reply.status in (200, 422), reply.raw
        if reply.status == 200 and reply.json["pointsReversed"]:
            self.refunded.add(owner)

    @rule(weeks=st.integers(1, 8))
    def weeks_pass(self, weeks):
        self.now += timedelta(weeks=weeks)

    @rule()
    def hourly_upkeep_runs(self):
        from loyalty.services.upkeep import run_upkeep

        run_upkeep(lambda: 300_000)

    @invariant()
    def books_balance(self):
        if not hasattr(self, "members"):
            return
        from loyalty.store import members as store

        for index, member in enumerate(self.members):
            record = store.get_member(member.member_id)
            ledger = store.full_ledger(member.member_id)
            assert record.balance == sum(entry.points for entry in ledger)
            assert record.stamps == sum(entry.stamps for entry in ledger)
            assert 0 <= record.stamps < 3
            assert record.balance >= 0 or index in self.refunded
            assert sum(record.point_batches.values()) == max(0, record.balance)
            assert len(record.point_batches) <= 3  # this month, and the months not yet expired
            assert len(record.tier_earned) <= 2


RulesBooks.TestCase.settings = settings(
    max_examples=5, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_books_stay_balanced_under_every_rule = RulesBooks.TestCase
