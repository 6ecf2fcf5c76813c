"""Staff scans with sale items build the member's favourites, shown on the profile and in the member indexes."""

from __future__ import annotations


def sale(world, member, receipt_id, items):
    reply = world.call("POST", "/v1/scans", {"memberId": member.member_id, "locationId": world.locations[0],
                                             "receiptId": receipt_id, "items": items}, world.staff)
    assert reply.status == 200, reply.raw
    return reply


def test_bought_items_and_categories_become_the_members_favourites(world):
    from loyalty.store import member_index

    member = world.enroll()
    assert world.profile(member)["favourites"] == []
    sale(world, member, "fav-1", [{"sku": "latte", "category": "coffee", "quantity": 2, "amount": 2400},
                                  {"sku": "croissant", "category": "pastry", "amount": 1150}])
    assert world.profile(member)["favourites"] == [
        {"sku": "latte", "count": 2}, {"category": "coffee", "count": 2}, {"sku": "croissant", "count": 1}]

    sale(world, member, "fav-2", [{"sku": "espresso", "category": "coffee", "quantity": 3, "amount": 2700}])
    assert world.profile(member)["favourites"] == [
        {"category": "coffee", "count": 5}, {"sku": "espresso", "count": 3}, {"sku": "latte", "count": 2}]

    (snapshot,) = [s for s in member_index.roster(world.merchant_id) if s.member_id == member.member_id]
    assert snapshot.favourite == "coffee"
    assert snapshot.favourite_categories == ("coffee", "pastry")


def test_the_indexed_top_is_rewritten_only_when_the_ranking_changes(world):
    from loyalty.store.models import MemberItem

    member = world.enroll()
    sale(world, member, "top-1", [{"sku": "latte", "quantity": 2, "amount": 2400},
                                  {"sku": "cake", "amount": 1000}])
    sale(world, member, "top-2", [{"sku": "latte", "amount": 1200}, {"sku": "cake", "amount": 1000}])
    item = MemberItem.get(f"MEMBER#{member.member_id}", "MEMBER", consistent_read=True)
    # Same ranking (latte, cake): the indexed list keeps the counts it was written with.
    assert item.favourites == [{"sku": "latte", "count": 2}, {"sku": "cake", "count": 1}]
    assert world.profile(member)["favourites"] == [{"sku": "latte", "count": 3}, {"sku": "cake", "count": 2}]

    sale(world, member, "top-3", [{"sku": "cake", "quantity": 3, "amount": 3000}])
    item = MemberItem.get(f"MEMBER#{member.member_id}", "MEMBER", consistent_read=True)
    assert item.favourites == [{"sku": "cake", "count": 5}, {"sku": "latte", "count": 3}]


def test_a_scan_without_items_leaves_the_favourites_alone(world):
    member = world.enroll()
    sale(world, member, "plain-1", [{"sku": "tea", "amount": 900}])
    assert world.staff_scan(member, amount=5000, receipt_id="plain-2").status == 200
    assert world.profile(member)["favourites"] == [{"sku": "tea", "count": 1}]
