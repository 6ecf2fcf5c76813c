"""Staff give a member who lost the phone a new card QR; the old one stops working at once."""

from __future__ import annotations

import threading

import pytest


def _reissue(world, member, headers=None):
    return world.call("POST", f"/v1/merchants/{world.merchant_id}/members/{member.member_id}/card",
                      headers=headers or world.staff)


def test_staff_reissue_a_card_and_the_old_token_is_401(world):
    member = world.enroll()
    assert world.scan(member).status == 200

    reply = _reissue(world, member)

    assert reply.status == 201, reply.raw
    new_token = reply.json["memberToken"]
    assert new_token != member.token and new_token.startswith(member.member_id + ".")
    for method, path, body in (("GET", "/v1/me", None), ("GET", "/v1/me/referral", None),
                               ("POST", "/v1/me/rewards", {"rewardId": "cake"}),
                               ("POST", "/v1/scans", {"counterCode": world.counter_code(1)})):
        old = world.call(method, path, body, {"X-Member-Token": member.token})
        assert (old.status, old.error_code) == (401, "invalid_member_token"), (method, path)
    staff_scan = world.staff_scan(member)  # staff scanning the old QR
    assert (staff_scan.status, staff_scan.error_code) == (401, "invalid_member_token")

    card = world.call("GET", "/v1/me", headers={"X-Member-Token": new_token}).json
    assert card["memberId"] == member.member_id
    assert card["points"]["balance"] == 30  # nothing is lost: welcome bonus and the visit


def test_only_the_merchants_owner_and_staff_may_reissue(world, other_world):
    member = world.enroll()
    assert _reissue(world, member, world.owner).status == 201
    assert _reissue(world, member, other_world.owner).status == 404
    assert world.call("POST", f"/v1/merchants/{world.merchant_id}/members/mem_nosuchmember/card",
                      headers=world.owner).status == 404
    assert _reissue(world, member, {"X-Member-Token": member.token}).status in (401, 403)
    anonymous = world.call("POST", f"/v1/merchants/{world.merchant_id}/members/{member.member_id}/card")
    assert anonymous.status == 401


def test_a_scan_racing_the_reissue_with_the_old_token_never_lands_after_it(world, monkeypatch):
    """The old token's scan read the member before the reissue and commits after it: the revision condition
    fails, the re-read sees the new token hash, and the scan is refused instead of counted."""
    from loyalty.domain.access import MEMBER, Caller
    from loyalty.domain.errors import InvalidMemberToken
    from loyalty.services import scan
    from loyalty.store import members as store

    member = world.enroll()
    code = world.counter_code()
    real_commit = store.commit
    reissued = threading.Event()

    def commit_after_the_reissue(*args, **kwargs):
        if not reissued.is_set():  # the scan's first commit: the reissue lands just before it
            reissued.set()
            assert _reissue(world, member).status == 201
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(store, "commit", commit_after_the_reissue)

    with pytest.raises(InvalidMemberToken):
        scan.member_scan(Caller(MEMBER, member_token=member.token), code)

    monkeypatch.undo()
    assert store.get_member(member.member_id).visit_count == 0
