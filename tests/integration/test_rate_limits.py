"""Public joins and member scans are rate limited per client address and per merchant; refusals write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.world import new_address, new_phone


@pytest.fixture
def frozen_clock(monkeypatch):
    """The project's clock, 100 s into a 10-minute window (and a 1-minute one), movable by the test."""
    from loyalty.services import clock

    state = {"now": datetime.fromtimestamp((int(clock.now().timestamp()) // 600) * 600 + 100, UTC)}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    return state


def _join(world, address, **body):
    return world.call("POST", f"/v1/merchants/{world.merchant_id}/members",
                      {"phone": new_phone(), "consent": {"sms": False}, **body}, source_ip=address)


def _lookup(world, phone):
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/members/search", {"phone": phone},
                       headers=world.owner)
    return [] if reply.status == 404 else [reply.json]


def test_a_burst_of_joins_from_one_address_is_refused_after_the_limit_and_writes_nothing(world, frozen_clock):
    referrer = world.enroll()
    code = world.call("GET", "/v1/me/referral", headers=referrer.headers).json["code"]
    address = new_address()
    joined = [_join(world, address) for _ in range(10)]
    assert [r.status for r in joined] == [201] * 10

    phone = new_phone()
    refused = _join(world, address, phone=phone, referralCode=code)

    assert refused.status == 429
    assert refused.error_code == "rate_limited"
    assert refused.headers["retry-after"] == "500"  # 100 s into a 600 s window
    assert _lookup(world, phone) == []
    assert world.call("GET", "/v1/me/referral", headers=referrer.headers).json["pending"] == 0
    # Another address at the same merchant is unaffected.
    assert _join(world, new_address()).status == 201
    # Once the window is over, the same address may join again.
    frozen_clock["now"] += timedelta(seconds=500)
    again = _join(world, address, phone=phone)
    assert again.status == 201, again.raw
    assert _lookup(world, phone)[0]["memberId"] == again.json["memberId"]


def test_refused_joins_do_not_count_against_the_address(world, frozen_clock, settings_env):
    settings_env(JOIN_LIMIT_PER_ADDRESS=2)
    address = new_address()
    phone = new_phone()
    assert _join(world, address, phone=phone).status == 201
    assert _join(world, address, phone=phone).status == 409  # already a member: nothing was created
    assert _join(world, address).status == 201
    assert _join(world, address).status == 429


def test_staff_enrolment_at_the_till_is_not_limited(world, settings_env):
    settings_env(JOIN_LIMIT_PER_ADDRESS=1)
    address = new_address()
    for _ in range(3):
        reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/members",
                           {"phone": new_phone(), "consent": {"sms": False}}, world.staff, source_ip=address)
        assert reply.status == 201, reply.raw


def test_the_merchant_limit_holds_across_addresses_and_spares_other_merchants(world, other_world, frozen_clock,
                                                                              settings_env):
    settings_env(JOIN_LIMIT_PER_MERCHANT=3, RATE_LIMIT_SHARDS=1)
    assert [_join(world, new_address()).status for _ in range(3)] == [201] * 3
    refused = _join(world, new_address())
    assert refused.status == 429
    assert refused.headers["retry-after"] == "500"
    assert _join(other_world, new_address()).status == 201


def test_member_scans_from_one_address_are_limited_and_a_refused_scan_earns_nothing(world, frozen_clock,
                                                                                   settings_env):
    settings_env(SCAN_LIMIT_PER_ADDRESS=3)
    members = [world.enroll() for _ in range(5)]
    address = new_address()
    code = world.counter_code()

    def scan(member, source_ip):
        return world.call("POST", "/v1/scans", {"counterCode": code}, member.headers, source_ip=source_ip)

    assert [scan(m, address).status for m in members[:3]] == [200] * 3
    refused = scan(members[3], address)

    assert refused.status == 429
    assert refused.error_code == "rate_limited"
    assert refused.headers["retry-after"] == "20"  # 100 s into the window = 40 s into a 60 s one
    card = world.card(members[3])
    assert (card["points"]["balance"], card["stamps"]["count"]) == (0, 0)
    assert scan(members[4], new_address()).status == 200
    frozen_clock["now"] += timedelta(seconds=20)
    assert scan(members[3], address).status == 200


def test_a_join_that_meets_another_on_the_same_counter_shard_is_retried(world, monkeypatch):
    from loyalty.store.transaction import Transaction, TransientConflict

    commit = Transaction.commit
    conflicts = []

    def conflict_once(self):
        if not conflicts:
            conflicts.append(len(self))
            raise TransientConflict()  # DynamoDB's TransactionConflict: nothing was written
        return commit(self)

    monkeypatch.setattr(Transaction, "commit", conflict_once)
    phone = new_phone()
    reply = _join(world, new_address(), phone=phone)

    assert reply.status == 201, reply.raw
    assert conflicts
    assert _lookup(world, phone)[0]["memberId"] == reply.json["memberId"]
