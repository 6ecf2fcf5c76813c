"""The benchmark's bulk-loaded members under the program rules are what the services would have stored: the upkeep
job finds exactly the members loaded as due through their index entries, and settles them as it settles real ones."""

from __future__ import annotations

from datetime import UTC, datetime

from infra.bench.loader import Member, bulk_load
from infra.bench.rules import RuleShape, rules_program
from tests.support.world import create_world, member_headers


def test_members_loaded_as_due_are_the_ones_the_upkeep_job_settles(handlers, runtime, meter):
    from loyalty.store import members as store
    from loyalty.store.merchants import get_merchant

    now = datetime.now(UTC)
    world = create_world(handlers, program=rules_program(now))
    shape = RuleShape(get_merchant(world.merchant_id, fresh=True), now, due_from=30, due_expiring=4, due_grace=4)
    sample = bulk_load(meter, world.merchant_id, 40, 5, shape=shape)
    expiring, grace = shape.due_ids[:4], shape.due_ids[4:]
    assert len(shape.due_ids) == 8 and {m.member_id for m in sample}.isdisjoint(shape.due_ids)
    before = {m.member_id: store.get_member(m.member_id) for m in sample}
    assert all(member.point_batches and sum(member.point_batches.values()) == max(0, member.balance)
               for member in before.values() if member.balance > 0)

    result = runtime.invoke("MemberUpkeepFunction", {})

    assert result["complete"] is True and result["membersUpdated"] >= 8
    for member_id in expiring:  # 80 points earned 14 months ago, no tier
        member = store.get_member(member_id)
        assert (member.balance, member.point_batches, member.tier_id) == (0, {}, None)
    for member_id in grace:  # silver on points that left the window, grace over
        member = store.get_member(member_id)
        assert (member.tier_id, member.balance) == (None, 40)
    assert all(store.get_member(member_id).rev == member.rev for member_id, member in before.items())

    loaded: Member = sample[0]  # a member that is not due scans as any member does
    reply = world.call("POST", "/v1/scans", {"counterCode": world.counter_code()}, member_headers(loaded.token))
    assert reply.status == 200, reply.raw
    assert reply.json["balance"] == before[loaded.member_id].balance + reply.json["awarded"]["points"]
