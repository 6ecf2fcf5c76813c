"""A member's personal data through the handlers: her export, and an erase after which nothing stored anywhere in
the table or its indexes holds her phone, email, name or birthday, while the ledger and its figures stay."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.personal_data import join, new_person, stored_item, traces_of, write_feedback
from tests.support.world import new_address

BIRTHDAY_CAMPAIGN = {
    "name": "Birthday treat", "type": "birthday", "trigger": {"daysBefore": 7},
    "offer": {"rewardId": "cake", "validityDays": 14}, "channels": ["email", "sms"],
    "message": {"email": {"subject": "Happy birthday, {name}!", "body": "A {reward} at {merchant}, {name}."},
                "sms": {"body": "{merchant}: a {reward} on us, {name}. {cardLink}"}},
    "sendAt": "10:00", "status": "active",
}


def _ledger(member_id: str) -> list:
    from loyalty.store import members

    return members.full_ledger(member_id)


def _owner_note(member_id: str, scan_id: str):
    from loyalty.domain.feedback import owner_note_id
    from loyalty.store import outbox

    return outbox.get(owner_note_id(member_id, scan_id))


def _stored_member(member_id: str):
    from loyalty.store import members

    return members.get_member(member_id)


@pytest.fixture
def zofia(world, runtime, at):
    """Zofia with data everywhere: join (with an Idempotency-Key), visits, a spend, a claimed reward, a consent
    change, a friend she invited, a birthday campaign's message, a card link sent, two feedback comments."""
    at(datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    person = new_person()
    inviter = world.enroll()
    invite = world.call("GET", "/v1/me/referral", headers=inviter.headers).json["code"]
    member, _ = join(world, person, referralCode=invite)
    visit = world.scan(member, idempotency_key=str(uuid.uuid4()))  # pays her inviter, naming her
    assert visit.status == 200
    assert world.staff_scan(member, amount=4_500, receipt_id="r-zofia").status == 200
    claimed = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member.headers)
    assert claimed.status == 201, claimed.raw
    at(datetime(2026, 10, 1, 7, 30, tzinfo=UTC))
    assert world.call("PATCH", "/v1/me/preferences", {"consent": {"sms": False}}, member.headers).status == 200
    code = world.call("GET", "/v1/me/referral", headers=member.headers).json["code"]
    world.enroll(referralCode=code)
    campaign = world.call("POST", f"/v1/merchants/{world.merchant_id}/campaigns", BIRTHDAY_CAMPAIGN, world.owner)
    assert campaign.status == 201, campaign.raw
    at(datetime.fromisoformat(campaign.json["nextRunAt"].replace("Z", "+00:00")) + timedelta(minutes=5))
    assert runtime.invoke("CampaignsFunction", {})["complete"] is True
    link = world.call("POST", f"/v1/merchants/{world.merchant_id}/card-link", {"phone": person.phone},
                      source_ip=new_address())
    assert link.status == 202
    owner = world.call("PUT", f"/v1/merchants/{world.merchant_id}/messaging",
                       {"notifyEmail": "owner@cafe.example"}, world.owner)
    assert owner.status == 200, owner.raw
    rated = world.call("POST", "/v1/me/feedback", {"scanId": visit.json["scanId"], "rating": 2,
                                                   "comment": person.comment}, member.headers)
    assert rated.status == 201, rated.raw  # the owner's note on it holds her first name and what she wrote
    member.rated_scan = visit.json["scanId"]
    write_feedback(member.member_id, world.merchant_id, "scn_two", 5, None)
    assert traces_of(person.strings), "the world holds her data before the erase (or the search finds nothing)"
    member.person, member.inviter = person, inviter
    return member


def _export(world, member):
    return world.call("GET", "/v1/me/export", headers=member.headers)


# --- export -----------------------------------------------------------------------------------------------------

def test_the_export_holds_all_her_personal_data_as_a_file_to_save(world, zofia):
    reply = _export(world, zofia)

    assert reply.status == 200, reply.raw
    assert reply.headers["content-disposition"] == f'attachment; filename="bywalec-my-data-{zofia.member_id}.json"'
    data = reply.json
    profile = data["profile"]
    assert (profile["name"], profile["phone"], profile["email"], profile["birthday"], profile["language"]) == (
        zofia.person.name, zofia.phone, zofia.person.email, zofia.person.birthday, "pl")
    assert profile["consent"] == {"sms": False, "email": True}
    stored = _stored_member(zofia.member_id)
    assert (profile["visitCount"], profile["totalSpend"]) == (stored.visit_count, 4_500)
    assert data["merchant"]["merchantId"] == world.merchant_id
    log = [(entry["channel"], entry["granted"], entry["source"]) for entry in data["consentLog"]]
    assert log[0] == ("sms", False, "member")  # newest first
    assert sorted(log[1:]) == [("email", True, "join_form"), ("sms", True, "join_form")]
    ledger = _ledger(zofia.member_id)
    assert [entry["entryId"] for entry in data["ledger"]] == [entry.entry_id for entry in ledger]
    assert sum(entry["points"] for entry in data["ledger"]) == profile["points"]["balance"]
    assert {(r["rewardId"], r["source"]) for r in data["rewards"]} == {("cake", "points"), ("cake", "campaign")}
    assert {(f["scanId"], f["rating"], f["comment"]) for f in data["feedback"]} == {
        (zofia.rated_scan, 2, zofia.person.comment), ("scn_two", 5, None)}
    assert [f["createdAt"] for f in data["feedback"] if f["scanId"] == "scn_two"] == ["2026-10-01T07:30:00Z"]
    assert data["referral"]["pending"] == 1 and data["referral"]["code"]


def test_the_owner_exports_the_same_data_staff_may_not(world, zofia):
    mine = _export(world, zofia).json
    path = f"/v1/merchants/{world.merchant_id}/members/{zofia.member_id}/export"

    owners = world.call("GET", path, headers=world.owner)

    assert owners.status == 200
    assert "attachment" in owners.headers["content-disposition"]
    assert {**owners.json, "exportedAt": None} == {**mine, "exportedAt": None}
    assert world.call("GET", path, headers=world.staff).status == 403
    assert world.call("GET", f"/v1/merchants/{world.merchant_id}/members/mem_nobody/export",
                      headers=world.owner).status == 404


def test_the_export_of_a_ledger_longer_than_a_page_is_whole(world, at):
    from loyalty.store import privacy

    person = new_person()
    member, _ = join(world, person)
    for day in range(12):
        at(datetime(2026, 11, 1, 9, 0, tzinfo=UTC) + timedelta(days=day))
        assert world.scan(member).status == 200
    pages = privacy.PAGE_ITEMS
    privacy.PAGE_ITEMS = 5
    try:
        data = _export(world, member).json
    finally:
        privacy.PAGE_ITEMS = pages
    assert len(data["ledger"]) == len(_ledger(member.member_id)) == 12  # a visit a day
    assert data["profile"]["name"] == person.name


# --- erase ------------------------------------------------------------------------------------------------------

def test_after_her_erase_nothing_stored_holds_her_phone_email_name_or_birthday(world, zofia):
    ledger_before = _ledger(zofia.member_id)
    member_before = _stored_member(zofia.member_id)
    inviters_ledger = _ledger(zofia.inviter.member_id)
    [paid] = [entry for entry in inviters_ledger if entry.ref == zofia.member_id]
    assert paid.lines[0].label == f"{zofia.person.name} made their first visit"

    reply = world.call("DELETE", "/v1/me", headers=zofia.headers)

    assert reply.status == 204 and reply.raw in ("", b"", None)
    assert traces_of(zofia.person.strings) == []
    after = _stored_member(zofia.member_id)
    assert after.erased_at is not None
    assert (after.balance, after.lifetime_points, after.visit_count, after.total_spend, after.stamps) == (
        member_before.balance, member_before.lifetime_points, member_before.visit_count, member_before.total_spend,
        member_before.stamps)
    assert _ledger(zofia.member_id) == ledger_before
    assert sum(entry.points for entry in ledger_before) == after.balance
    relabelled = _ledger(zofia.inviter.member_id)
    assert [(e.entry_id, e.points, e.lines[0].points) for e in relabelled] == [
        (e.entry_id, e.points, e.lines[0].points) for e in inviters_ledger]
    [paid] = [entry for entry in relabelled if entry.ref == zofia.member_id]
    assert paid.lines[0].label == "Your friend made their first visit"
    assert sum(entry.points for entry in relabelled) == _stored_member(zofia.inviter.member_id).balance
    feedback = stored_item((f"MEMBER#{zofia.member_id}", f"FEEDBACK#{zofia.rated_scan}"))
    assert "comment" not in feedback and feedback["rating"] == {"N": "2"}  # the rating still counts
    assert _owner_note(zofia.member_id, zofia.rated_scan) is None


def test_her_card_stops_working_and_the_erase_replayed_is_401(world, zofia):
    assert world.call("DELETE", "/v1/me", headers=zofia.headers).status == 204

    for method, path in (("GET", "/v1/me"), ("GET", "/v1/me/export"), ("DELETE", "/v1/me"),
                         ("GET", "/v1/me/preferences")):
        reply = world.call(method, path, headers=zofia.headers)
        assert reply.status == 401, (method, path, reply.raw)
        assert reply.error_code == "invalid_member_token"
    assert world.scan(zofia).status == 401


def test_the_same_phone_and_email_join_again_as_a_new_member_with_a_fresh_card(world, zofia):
    assert world.call("DELETE", "/v1/me", headers=zofia.headers).status == 204

    again, joined = join(world, zofia.person)

    assert again.member_id != zofia.member_id
    newcomer = world.enroll()
    assert (joined["card"]["points"], joined["card"]["stamps"]) == (newcomer.card["points"], newcomer.card["stamps"])
    assert world.card(again)["memberId"] == again.member_id
    found = world.call("POST", f"/v1/merchants/{world.merchant_id}/members/search", {"email": zofia.person.email},
                       world.owner)
    assert found.json["memberId"] == again.member_id


def test_the_erased_member_is_gone_for_staff_and_campaigns(world, zofia):
    code = _export(world, zofia).json["referral"]["code"]
    assert world.call("DELETE", "/v1/me", headers=zofia.headers).status == 204
    m = world.merchant_id

    assert world.call("GET", f"/v1/merchants/{m}/members/{zofia.member_id}", headers=world.owner).status == 404
    assert world.call("GET", f"/v1/merchants/{m}/members/{zofia.member_id}/export",
                      headers=world.owner).status == 404
    assert world.call("POST", f"/v1/merchants/{m}/members/{zofia.member_id}/card", headers=world.owner).status == 404
    scan = world.call("POST", "/v1/scans", {"memberId": zofia.member_id, "locationId": world.locations[0]},
                      world.staff)
    assert scan.status == 404
    assert world.call("POST", f"/v1/merchants/{m}/members/search", {"phone": zofia.phone}, world.owner).status == 404
    # Her invite code no longer names anyone.
    invited = world.call("POST", f"/v1/merchants/{m}/members",
                         {"phone": "+48601000555", "consent": {"sms": False, "email": False}, "referralCode": code},
                         source_ip=new_address())
    assert invited.status == 422 and invited.error_code == "invalid_referral"


def test_the_owner_erases_a_member_and_erasing_again_is_204(world, zofia):
    path = f"/v1/merchants/{world.merchant_id}/members/{zofia.member_id}"
    assert world.call("DELETE", path, headers=world.staff).status == 403
    assert world.card(zofia)["memberId"] == zofia.member_id  # staff erased nothing

    first = world.call("DELETE", path, headers=world.owner)
    again = world.call("DELETE", path, headers=world.owner)

    assert (first.status, again.status) == (204, 204)
    assert traces_of(zofia.person.strings) == []
    assert world.call("GET", "/v1/me", headers=zofia.headers).status == 401
    assert world.call("DELETE", f"/v1/merchants/{world.merchant_id}/members/mem_nobody",
                      headers=world.owner).status == 404


def test_another_merchants_owner_cannot_erase_or_export_her(world, other_world, zofia):
    path = f"/v1/merchants/{world.merchant_id}/members/{zofia.member_id}"
    assert world.call("DELETE", path, headers=other_world.owner).status == 404
    assert world.call("GET", f"{path}/export", headers=other_world.owner).status == 404
    own_path = f"/v1/merchants/{other_world.merchant_id}/members/{zofia.member_id}"
    assert world.call("DELETE", own_path, headers=other_world.owner).status == 404

    assert _export(world, zofia).json["profile"]["name"] == zofia.person.name


def test_an_erase_with_more_items_than_one_transaction_takes_is_whole(world, at):
    person = new_person()
    member, _ = join(world, person)
    for n in range(130):
        write_feedback(member.member_id, world.merchant_id, f"scn_{n:03d}", 3, f"{person.comment} #{n}")

    reply = world.call("DELETE", f"/v1/merchants/{world.merchant_id}/members/{member.member_id}",
                       headers=world.owner)

    assert reply.status == 204
    assert traces_of(person.strings) == []
    assert _stored_member(member.member_id).erased_at is not None


def test_an_erase_that_lost_its_member_to_a_balance_change_plans_again_and_keeps_it(world, at, monkeypatch):
    """Points committed between the erase's read and its write: the erase reads again; the points stay."""
    from loyalty.domain.model import LedgerEntry, LedgerLine
    from loyalty.store import members, privacy

    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    at(now)
    person = new_person()
    member, _ = join(world, person)
    real_erase = privacy.erase
    attempts = []

    def erase_after_a_bonus(erasure):
        if not attempts:
            bonus = LedgerEntry("led_race", member.member_id, world.merchant_id, now, "campaign_bonus", 15, 0,
                                (LedgerLine("campaign", 15, 0, "Bonus"),))
            members.commit([members.MemberUpdate(member.member_id, add={"balance": 15})], [bonus])
        attempts.append(erasure.member.rev)
        return real_erase(erasure)

    monkeypatch.setattr(privacy, "erase", erase_after_a_bonus)
    assert world.call("DELETE", "/v1/me", headers=member.headers).status == 204

    stored = _stored_member(member.member_id)
    assert len(attempts) == 2 and attempts[1] == attempts[0] + 1  # planned again from the newer state
    assert stored.balance == 15 and stored.erased_at is not None
    assert sum(entry.points for entry in _ledger(member.member_id)) == stored.balance
    assert traces_of(person.strings) == []


def test_birthday_is_gone_from_the_birthday_index(world, at):
    """No campaign reaches an erased member: her birthday entry is out of the index at once."""
    from loyalty.store import member_index

    person = new_person()
    member, _ = join(world, person)
    month_day = date.fromisoformat(person.birthday).strftime("%m-%d")
    assert member.member_id in {s.member_id for s in member_index.birthdays_on(world.merchant_id, month_day)}

    assert world.call("DELETE", "/v1/me", headers=member.headers).status == 204

    assert member.member_id not in {s.member_id for s in member_index.birthdays_on(world.merchant_id, month_day)}
    assert member.member_id not in {s.member_id for s in member_index.roster(world.merchant_id)}


def test_her_erase_is_one_transaction_of_every_item_that_held_her_data(world, zofia, meter):
    with meter.capture() as captured:
        assert world.call("DELETE", "/v1/me", headers=zofia.headers).status == 204

    writes = [call for call in captured.calls if call.items_written]
    reads = [call.shape for call in captured.calls if not call.items_written]
    assert [call.operation for call in writes] == ["TransactWriteItems"], [call.shape for call in writes]
    # The member, her phone, email and invite code guards, one comment, the owner's note on it, one campaign
    # message, her inviter's entry; the rating without a comment is left as it is.
    assert writes[0].items_written == 8, writes[0].shape
    assert len(reads) <= 5, reads  # her partition, the campaigns, their guards for her, her inviter's ledger
