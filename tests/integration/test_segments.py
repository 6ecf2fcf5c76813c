"""Segments through the HTTP handlers: built-in counts, custom segments, pages of members, and tenancy."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def time_to_count(settings_env):
    """These merchants are small: their counts are made within the request, however busy the machine (a test
    that wants the budget spent says so with its own setting)."""
    settings_env(SEGMENT_COUNT_BUDGET_SECONDS=60)


def segments_of(world, headers=None):
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/segments", headers=headers or world.owner)
    assert reply.status == 200, reply.raw
    return {s["name"]: s for s in reply.json["segments"]}


def test_built_in_segments_count_the_merchants_own_members(world, cafe):
    counts = {name: s["count"] for name, s in segments_of(world).items()}
    assert counts == {"new": 2, "regulars": 2, "vip": 1, "at_risk": 1, "lapsed": 1, "birthday_this_month": 1}
    assert all(s["description"] for s in segments_of(world).values())


def test_the_members_of_a_built_in_segment_for_a_broadcast(world, cafe):
    from loyalty.services import clock, segments
    from loyalty.services.merchants import load_merchant

    merchant = load_merchant(world.merchant_id)
    found = {m.member_id: m for m in segments.segment_members(merchant, "regulars", clock.now())}
    assert set(found) == {cafe["weekly_then_gone"], cafe["regular"]}
    assert found[cafe["regular"]].visit_count == 3
    assert {m.member_id for m in segments.segment_members(merchant, "vip", clock.now())} == {cafe["newcomer"]}


def test_a_custom_segment_is_saved_counted_and_listed(world, cafe):
    body = {"name": "frequent", "match": "all", "conditions": [{"field": "visitCount", "op": "gte", "value": 3}]}
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/segments", body, world.owner)
    assert reply.status == 201, reply.raw
    assert reply.json["count"] == 2
    assert reply.json["conditions"] == body["conditions"]
    assert segments_of(world)["frequent"]["count"] == 2

    again = world.call("POST", f"/v1/merchants/{world.merchant_id}/segments", body, world.owner)
    assert again.status == 409
    assert again.json["error"]["code"] == "segment_exists"


def test_an_unknown_field_or_op_is_refused_with_the_field_at_fault_and_nothing_is_saved(world):
    path = f"/v1/merchants/{world.merchant_id}/segments"
    reply = world.call("POST", path, {"name": "shoes", "conditions": [
        {"field": "visitCount", "op": "gte", "value": 1}, {"field": "shoeSize", "op": "eq", "value": 42}]},
        world.owner)
    assert reply.status == 422
    assert [d["field"] for d in reply.json["error"]["details"]] == ["conditions[1].field"]
    reply = world.call("POST", path, {"name": "shoes", "conditions": [{"field": "visitCount", "op": "gt", "value": 1}]},
                       world.owner)
    assert reply.status == 422
    assert [d["field"] for d in reply.json["error"]["details"]] == ["conditions[0].op"]
    assert "shoes" not in segments_of(world)


def test_members_come_page_by_page_each_once(world, cafe):
    world.call("POST", f"/v1/merchants/{world.merchant_id}/segments",
               {"name": "visited", "conditions": [{"field": "visitCount", "op": "gte", "value": 1}]}, world.owner)
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/segments/visited/members", headers=world.owner,
                           query=query)
        assert reply.status == 200, reply.raw
        assert len(reply.json["members"]) <= 2
        seen += [m["memberId"] for m in reply.json["members"]]
        pages += 1
        cursor = reply.json["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([cafe["lapsed"], cafe["weekly_then_gone"], cafe["regular"], cafe["newcomer"]])
    assert pages in (2, 3)  # 4 members by 2; a full last page may be followed by an empty one

    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/segments/lapsed/members", headers=world.owner)
    (lapsed,) = reply.json["members"]
    assert lapsed == {"memberId": cafe["lapsed"], "name": None, "visitCount": 1,
                      "lastVisitAt": "2026-07-23T11:00:00Z", "totalSpend": 0}


def test_a_forged_cursor_or_unknown_segment_is_refused(world, cafe):
    path = f"/v1/merchants/{world.merchant_id}/segments"
    reply = world.call("GET", f"{path}/new/members", headers=world.owner, query={"cursor": "bm90LWEtY3Vyc29y"})
    assert reply.status == 422
    assert reply.json["error"]["details"][0]["field"] == "cursor"
    assert world.call("GET", f"{path}/no-such/members", headers=world.owner).status == 404


def test_only_the_merchants_owner_sees_its_segments(world, other_world, cafe):
    path = f"/v1/merchants/{world.merchant_id}/segments"
    assert world.call("GET", path, headers=other_world.owner).status == 404
    assert world.call("GET", f"{path}/new/members", headers=other_world.owner).status == 404
    assert world.call("GET", path, headers=world.staff).status == 403
    world.call("POST", path, {"name": "mine", "conditions": [{"field": "points", "op": "gte", "value": 0}]},
               world.owner)
    theirs = segments_of(other_world)
    assert "mine" not in theirs
    assert theirs["lapsed"]["count"] == 2 and theirs["birthday_this_month"]["count"] == 2
    assert other_world.call("GET", f"/v1/merchants/{other_world.merchant_id}/segments/mine/members",
                            headers=other_world.owner).status == 404
