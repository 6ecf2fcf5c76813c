"""Random sequences of scans, claims, cancels, redemptions and passing days keep the books straight.

After every step: balance = sum of the ledger, stamps = sum of the ledger's stamps, balance >= 0,
stamps below the card size, and no reward code is ever redeemed twice.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from infra.local.http_api import HttpApi
from infra.local.lambda_runtime import LambdaRuntime
from tests.support.clients import HandlerClient
from tests.support.world import create_world

CARD_SIZE = 3
PROGRAM = {
    "stampCard": {"stampsRequired": CARD_SIZE, "rewardId": "free-coffee"},
    "points": {"perVisit": 10, "perCurrencyUnit": 1, "welcomeBonus": 20},
    "rewards": [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 60},
                {"id": "cake", "name": "Slice of cake", "pointsCost": 25}],
    "rewardValidityDays": 7,
    "scanCooldownMinutes": 60,
}
_client = None


def _handlers() -> HandlerClient:
    global _client
    if _client is None:
        _client = HandlerClient(HttpApi(LambdaRuntime()))
    return _client


class LoyaltyBooks(RuleBasedStateMachine):
    @initialize()
    def open_shop(self):
        from loyalty.services import clock

        self.clock = clock
        self.real_now = clock.now
        self.now = clock.now()
        clock.now = lambda: self.now
        self.shop = create_world(_handlers(), PROGRAM)
        self.members = [self.shop.enroll() for _ in range(2)]
        self.codes: dict[str, str] = {}      # reward code -> issuedRewardId
        self.redeemed: set[str] = set()
        self.receipts = 0

    def teardown(self):
        if hasattr(self, "real_now"):
            self.clock.now = self.real_now

    def _member(self, index):
        return self.members[index % len(self.members)]

    def _remember_codes(self, rewards):
        for reward in rewards:
            self.codes[reward["code"]] = reward["issuedRewardId"]

    @rule(index=st.integers(0, 1), minutes=st.integers(0, 180))
    def member_scans_the_counter(self, index, minutes):
        self.now += timedelta(minutes=minutes)
        reply = self.shop.scan(self._member(index))
        assert reply.status in (200, 429), reply.raw
        if reply.status == 200:
            self._remember_codes(reply.json["rewardsIssued"])

    @rule(index=st.integers(0, 1), amount=st.integers(0, 12_000), same_receipt=st.booleans())
    def staff_enters_a_bill(self, index, amount, same_receipt):
        if not same_receipt or not self.receipts:
            self.receipts += 1
        reply = self.shop.staff_scan(self._member(index), amount=amount, receipt_id=f"R{self.receipts}")
        assert reply.status in (200, 409, 429), reply.raw
        if reply.status == 200:
            self._remember_codes(reply.json["rewardsIssued"])

    @rule(index=st.integers(0, 1), reward=st.sampled_from(["free-coffee", "cake"]))
    def member_claims(self, index, reward):
        reply = self.shop.call("POST", "/v1/me/rewards", {"rewardId": reward}, self._member(index).headers)
        assert reply.status in (201, 409), reply.raw
        if reply.status == 201:
            self.codes[reply.json["code"]] = reply.json["issuedRewardId"]

    @precondition(lambda self: self.codes)
    @rule(index=st.integers(0, 1), pick=st.integers(0, 1000))
    def member_cancels(self, index, pick):
        issued_id = sorted(self.codes.values())[pick % len(self.codes)]
        reply = self.shop.call("DELETE", f"/v1/me/rewards/{issued_id}", headers=self._member(index).headers)
        assert reply.status in (200, 404, 409), reply.raw

    @precondition(lambda self: self.codes)
    @rule(pick=st.integers(0, 1000))
    def staff_redeems_a_code(self, pick):
        code = sorted(self.codes)[pick % len(self.codes)]
        reply = self.shop.call("POST", "/v1/redemptions", {"code": code}, self.shop.staff)
        assert reply.status in (200, 409), reply.raw
        if reply.status == 200:
            assert code not in self.redeemed, "a reward code was redeemed twice"
            self.redeemed.add(code)

    @rule(days=st.integers(1, 8))
    def days_pass(self, days):
        self.now += timedelta(days=days)

    @rule()
    def nightly_expiry_job(self):
        from loyalty.services.expiry import expire_rewards

        expire_rewards(lambda: 300_000)

    @invariant()
    def books_balance(self):
        if not hasattr(self, "members"):
            return
        from loyalty.store import members as store

        for member in self.members:
            record = store.get_member(member.member_id)
            ledger = store.full_ledger(member.member_id)
            assert record.balance == sum(entry.points for entry in ledger)
            assert record.stamps == sum(entry.stamps for entry in ledger)
            assert record.balance >= 0
            assert 0 <= record.stamps < CARD_SIZE
            assert record.lifetime_points == sum(
                line.points for entry in ledger for line in entry.lines if line.points > 0
                and line.kind in ("visit", "spend", "welcome", "referral"))


LoyaltyBooks.TestCase.settings = settings(
    max_examples=12, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_books_stay_balanced = LoyaltyBooks.TestCase
