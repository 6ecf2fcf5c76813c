"""Feedback on visits, through the handlers: a member rates her own counted visit once within 48 hours, answers
the NPS question at most every 90 days, a low rating reaches the owner once by email, and the owner lists her
merchant's feedback newest first, by rating, page by page."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import messages
from tests.support.world import member_headers

FEEDBACK = "/v1/me/feedback"
SENDER = "SenderFunction"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Warsaw


def listing(world) -> str:
    return f"/v1/merchants/{world.merchant_id}/feedback"


def visit(world, member, location_index: int = 0) -> str:
    reply = world.scan(member, location_index=location_index)
    assert reply.status == 200, reply.raw
    return reply.json["scanId"]


def give(world, member, body: dict, idempotency_key: str | None = None):
    return world.call("POST", FEEDBACK, body, member_headers(member.token, idempotency_key))


def notify(world, address: str | None) -> None:
    reply = world.call("PUT", f"/v1/merchants/{world.merchant_id}/messaging", {"notifyEmail": address}, world.owner)
    assert reply.status == 200, reply.raw


def note_of(member, scan_id):
    """The owner's note on this visit, as the outbox holds it (None when none was written)."""
    from loyalty.domain.feedback import owner_note_id
    from loyalty.store import outbox

    return outbox.get(owner_note_id(member.member_id, scan_id))


def deliver(runtime, *message_ids) -> list[str]:
    event, outbox_ids = messages.delivery_event(*message_ids)
    reply = runtime.invoke(SENDER, event)
    return [outbox_ids[failure["itemIdentifier"]] for failure in reply["batchItemFailures"]]


def sent_to(mail, address) -> list[dict]:
    return [view for view in mail.messages() if view["to"] == address]


def stored_feedback(member, scan_id) -> dict:
    """The feedback item as the table holds it."""
    from loyalty.store import keys
    from loyalty.store.models import FeedbackItem

    item = FeedbackItem.get(*keys.feedback(member.member_id, scan_id), consistent_read=True)
    return {"PK": item.pk, "SK": item.sk, "kind": "feedback", **{
        name: getattr(item, name) for name in ("merchant_id", "member_id", "scan_id", "location_id", "rating",
                                               "nps", "comment", "created_at")}}


# --- giving feedback ---------------------------------------------------------------------------------------


def test_a_member_rates_her_visit_and_the_feedback_is_kept_under_her_partition(world, at):
    at(MONDAY)
    member = world.enroll(name="Anna Nowak")
    scan_id = visit(world, member, location_index=1)
    at(MONDAY + timedelta(minutes=20))

    reply = give(world, member, {"scanId": scan_id, "rating": 4, "comment": "  Lovely flat white  ", "nps": 9})

    assert reply.status == 201, reply.raw
    assert reply.json == {"scanId": scan_id, "memberId": member.member_id, "locationId": world.locations[1],
                          "rating": 4, "nps": 9, "comment": "Lovely flat white", "createdAt": "2026-11-23T10:20:00Z"}
    assert stored_feedback(member, scan_id) == {
        "PK": f"MEMBER#{member.member_id}", "SK": f"FEEDBACK#{scan_id}", "kind": "feedback",
        "merchant_id": world.merchant_id, "member_id": member.member_id, "scan_id": scan_id,
        "location_id": world.locations[1], "rating": 4, "nps": 9, "comment": "Lovely flat white",
        "created_at": MONDAY + timedelta(minutes=20)}


def test_a_visit_can_be_rated_for_48_hours_and_not_after(world, at):
    at(MONDAY)
    member = world.enroll()
    first = visit(world, member)
    at(MONDAY + timedelta(hours=5))
    second = visit(world, member)

    at(MONDAY + timedelta(hours=48))  # the first visit's last moment
    assert give(world, member, {"scanId": first, "rating": 5}).status == 201

    at(MONDAY + timedelta(hours=53, seconds=1))  # the second visit, a second too late
    late = give(world, member, {"scanId": second, "rating": 5})
    assert (late.status, late.error_code) == (422, "feedback_window_closed")
    assert world.call("GET", listing(world), headers=world.owner).json["feedback"][0]["scanId"] == first
    assert len(world.call("GET", listing(world), headers=world.owner).json["feedback"]) == 1


def test_a_visit_is_rated_once_and_a_second_rating_is_409(world):
    member = world.enroll()
    scan_id = visit(world, member)
    assert give(world, member, {"scanId": scan_id, "rating": 5}).status == 201

    again = give(world, member, {"scanId": scan_id, "rating": 1, "comment": "changed my mind"})

    assert (again.status, again.error_code) == (409, "feedback_already_given")
    assert stored_feedback(member, scan_id)["rating"] == 5


def test_concurrent_ratings_of_one_visit_store_exactly_one(world):
    from loyalty.domain.access import MEMBER, Caller
    from loyalty.domain.errors import FeedbackAlreadyGiven
    from loyalty.requests.feedback import GiveFeedback
    from loyalty.services import feedback

    member = world.enroll()
    scan_id = visit(world, member)
    contenders = 6
    start, results = threading.Barrier(contenders), [None] * contenders

    def rate(index: int) -> None:
        caller = Caller(MEMBER, member_token=member.token, credential=member.token)
        request = GiveFeedback(scan_id=scan_id, rating=index % 5 + 1, comment=f"try {index}")
        start.wait()
        try:
            results[index] = feedback.give_feedback(caller, request).rating
        except FeedbackAlreadyGiven as refused:
            results[index] = refused

    threads = [threading.Thread(target=rate, args=(i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    winners = [result for result in results if isinstance(result, int)]
    assert len(winners) == 1, results
    assert all(isinstance(result, FeedbackAlreadyGiven) for result in results if result not in winners)
    assert stored_feedback(member, scan_id)["rating"] == winners[0]
    assert len(world.call("GET", listing(world), headers=world.owner).json["feedback"]) == 1


def test_another_members_visit_or_an_unknown_scan_is_404_and_nothing_is_written(world, other_world):
    member, neighbour = world.enroll(), world.enroll()
    theirs = visit(world, neighbour)
    elsewhere = other_world.enroll()
    their_shop = visit(other_world, elsewhere)

    for scan_id in (theirs, their_shop, "scn_nothing", "scn_" + "a" * 26):
        reply = give(world, member, {"scanId": scan_id, "rating": 2, "comment": "not mine"})
        assert (reply.status, reply.error_code) == (404, "visit_not_found"), reply.raw

    assert world.call("GET", listing(world), headers=world.owner).json == {"feedback": [], "nextCursor": None}


def test_a_purchase_inside_the_cooldown_is_not_a_visit_to_rate(world):
    member = world.enroll()
    visit(world, member)
    purchase = world.staff_scan(member, amount=2_000)  # inside the cooldown: spend points, no visit
    assert purchase.status == 200, purchase.raw
    assert "visit" not in [line["kind"] for line in purchase.json["awarded"]["lines"]]

    reply = give(world, member, {"scanId": purchase.json["scanId"], "rating": 5})

    assert (reply.status, reply.error_code) == (404, "visit_not_found")


@pytest.mark.parametrize(("body", "field"), [
    ({"rating": 6}, "rating"),
    ({"rating": 0}, "rating"),
    ({"rating": "5"}, "rating"),
    ({"rating": 4.5}, "rating"),
    ({"rating": 5, "nps": 11}, "nps"),
    ({"rating": 5, "nps": -1}, "nps"),
    ({"rating": 5, "comment": "x" * 1001}, "comment"),
    ({"rating": 5, "stars": 5}, "stars"),
    ({}, "rating"),
])
def test_bad_feedback_is_422_in_the_envelope_and_nothing_is_written(world, body, field):
    member = world.enroll()
    scan_id = visit(world, member)

    reply = give(world, member, {"scanId": scan_id, **body})

    assert (reply.status, reply.error_code) == (422, "validation_error"), reply.raw
    assert field in {detail["field"].split(".")[0] for detail in reply.json["error"]["details"]}
    assert world.call("GET", listing(world), headers=world.owner).json["feedback"] == []
    assert give(world, member, {"scanId": scan_id, "rating": 5}).status == 201  # the visit can still be rated


def test_feedback_needs_the_members_own_card(world):
    member = world.enroll()
    scan_id = visit(world, member)
    assert world.call("POST", FEEDBACK, {"scanId": scan_id, "rating": 5}).status == 401
    staff = world.call("POST", FEEDBACK, {"scanId": scan_id, "rating": 5}, world.staff)
    assert staff.status == 403


def test_an_idempotency_key_replays_the_first_reply_and_refuses_another_body(world):
    member = world.enroll()
    scan_id = visit(world, member)
    key = str(uuid.uuid4())
    body = {"scanId": scan_id, "rating": 3, "comment": "ok", "nps": 7}

    first = give(world, member, body, key)
    replay = give(world, member, body, key)
    reused = give(world, member, {**body, "rating": 4}, key)

    assert first.status == 201 and (replay.status, replay.raw) == (201, first.raw)
    assert (reused.status, reused.error_code) == (422, "idempotency_key_reused")


# --- NPS ---------------------------------------------------------------------------------------------------


def test_nps_is_answered_at_most_once_every_90_days_and_the_card_says_when_to_ask(world, at):
    at(MONDAY)
    member = world.enroll()
    assert "npsDue" not in world.card(member)  # no visit to rate yet: v1 cards read as before
    first = visit(world, member)
    assert world.card(member)["npsDue"] is True
    assert give(world, member, {"scanId": first, "rating": 5, "nps": 10}).status == 201
    assert "npsDue" not in world.card(member)

    at(MONDAY + timedelta(days=45))
    second = visit(world, member)
    assert "npsDue" not in world.card(member)
    too_soon = give(world, member, {"scanId": second, "rating": 4, "nps": 3})
    assert (too_soon.status, too_soon.error_code) == (409, "nps_not_due")
    assert "2027-02-21" in too_soon.json["error"]["message"]
    assert give(world, member, {"scanId": second, "rating": 4}).status == 201  # the rating alone is welcome

    at(MONDAY + timedelta(days=90))
    third = visit(world, member)
    assert world.card(member)["npsDue"] is True
    assert give(world, member, {"scanId": third, "rating": 4, "nps": 8}).status == 201
    assert [f["nps"] for f in world.call("GET", listing(world), headers=world.owner).json["feedback"]] == [8, None, 10]

    at(MONDAY + timedelta(days=93))
    assert "npsDue" not in world.card(member)  # the last visit is over 48 hours old: nothing to ask with


def test_two_visits_rated_with_nps_at_once_keep_one_answer(world, at):
    from loyalty.domain.access import MEMBER, Caller
    from loyalty.domain.errors import NpsNotDue
    from loyalty.requests.feedback import GiveFeedback
    from loyalty.services import feedback

    at(MONDAY)
    member = world.enroll()
    first = visit(world, member)
    at(MONDAY + timedelta(hours=5))
    second = visit(world, member)
    start, results = threading.Barrier(2), {}

    def rate(scan_id: str) -> None:
        caller = Caller(MEMBER, member_token=member.token, credential=member.token)
        start.wait()
        try:
            results[scan_id] = feedback.give_feedback(caller, GiveFeedback(scan_id=scan_id, rating=5, nps=9)).nps
        except NpsNotDue as refused:
            results[scan_id] = refused

    threads = [threading.Thread(target=rate, args=(scan_id,)) for scan_id in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(type(result).__name__ for result in results.values()) == ["NpsNotDue", "int"], results
    assert [f["nps"] for f in world.call("GET", listing(world), headers=world.owner).json["feedback"]] == [9]


# --- the owner's note on a low rating --------------------------------------------------------------------------


def test_a_low_rating_emails_the_owner_once_with_what_happened(world, runtime, mail, at):
    at(MONDAY)
    owner = f"owner-{uuid.uuid4().hex[:8]}@cafe.example"
    notify(world, owner)
    member = world.enroll(name="Zofia Kowalska", consent={"sms": False, "email": False})
    scan_id = visit(world, member, location_index=1)
    at(MONDAY + timedelta(minutes=30))
    key = str(uuid.uuid4())
    body = {"scanId": scan_id, "rating": 2, "comment": "Cold coffee, long wait"}

    assert give(world, member, body, key).status == 201
    assert give(world, member, body, key).status == 201  # a retry: replayed, nothing written again
    assert give(world, member, {**body, "rating": 1}).status == 409
    note = note_of(member, scan_id)
    assert deliver(runtime, note.message.message_id, note.message.message_id) == []

    (sent,) = sent_to(mail, owner)
    location = world.call("GET", f"/v1/merchants/{world.merchant_id}/locations", headers=world.owner).json
    location_name = next(loc["name"] for loc in location["locations"] if loc["locationId"] == world.locations[1])
    assert "2/5" in sent["subject"] and "Zofia" in sent["subject"]
    for words in ("Rating: 2/5", "Comment: Cold coffee, long wait", "Member: Zofia", f"Location: {location_name}",
                  "Time: 2026-11-23 11:30 (Europe/Warsaw)"):
        assert words in sent["body"], sent["body"]
    assert "Kowalska" not in sent["body"]  # the first name only
    assert "List-Unsubscribe" not in sent["headers"]  # a note to the owner, not a message to a member
    assert note_of(member, scan_id).outcome == "sent_email"  # no consent, no cap: the member's choices are hers


def test_a_low_rating_from_a_member_without_a_name_says_a_member(world, runtime, mail):
    owner = f"owner-{uuid.uuid4().hex[:8]}@cafe.example"
    notify(world, owner)
    member = world.enroll()
    scan_id = visit(world, member)
    assert give(world, member, {"scanId": scan_id, "rating": 1}).status == 201
    deliver(runtime, note_of(member, scan_id).message.message_id)
    (sent,) = sent_to(mail, owner)
    assert "Member: a member" in sent["body"] and "Comment: (none)" in sent["body"]


def test_good_ratings_and_merchants_without_a_notify_email_send_nothing(world, other_world):
    notify(world, f"owner-{uuid.uuid4().hex[:8]}@cafe.example")
    happy = world.enroll()
    happy_visit = visit(world, happy)
    assert give(world, happy, {"scanId": happy_visit, "rating": 3}).status == 201
    assert note_of(happy, happy_visit) is None

    unhappy = other_world.enroll()  # this merchant never set notifyEmail
    unhappy_visit = visit(other_world, unhappy)
    assert give(other_world, unhappy, {"scanId": unhappy_visit, "rating": 1, "comment": "rude"}).status == 201
    assert note_of(unhappy, unhappy_visit) is None
    assert [f["comment"] for f in other_world.call("GET", listing(other_world),
                                                    headers=other_world.owner).json["feedback"]] == ["rude"]


# --- the owner's list ------------------------------------------------------------------------------------------


def test_the_owner_lists_feedback_newest_first_filters_by_rating_and_pages(world, other_world, at):
    ratings = [5, 4, 1, 5, 2] * 12 + [3]  # 61
    given = []
    for n, rating in enumerate(ratings):
        at(MONDAY + timedelta(minutes=n))
        member = world.enroll()
        scan_id = visit(world, member)
        assert give(world, member, {"scanId": scan_id, "rating": rating, "comment": f"#{n}"}).status == 201
        given.append((scan_id, rating))
    stranger = other_world.enroll()
    assert give(other_world, stranger, {"scanId": visit(other_world, stranger), "rating": 5}).status == 201
    newest_first = [scan_id for scan_id, _ in reversed(given)]

    first = world.call("GET", listing(world), headers=world.owner)
    assert first.status == 200, first.raw
    assert [f["scanId"] for f in first.json["feedback"]] == newest_first[:50]
    second = world.call("GET", listing(world), headers=world.owner, query={"cursor": first.json["nextCursor"]})
    assert [f["scanId"] for f in second.json["feedback"]] == newest_first[50:]
    assert second.json["nextCursor"] is None

    fives = world.call("GET", listing(world), headers=world.owner, query={"rating": "5"}).json
    assert [f["scanId"] for f in fives["feedback"]] == [s for s, r in reversed(given) if r == 5]
    assert fives["nextCursor"] is None
    assert {f["rating"] for f in fives["feedback"]} == {5}


@pytest.mark.parametrize("query", [{"rating": "6"}, {"rating": "0"}, {"rating": "five"}, {"cursor": "bogus"},
                                   {"cursor": "eyJiZWZvcmUiOiAiTUVSQ0hBTlQjeCJ9"}])
def test_a_bad_rating_filter_or_cursor_is_422(world, query):
    reply = world.call("GET", listing(world), headers=world.owner, query=query)
    assert (reply.status, reply.error_code) == (422, "validation_error"), reply.raw


def test_only_the_owner_reads_her_merchants_feedback(world, other_world):
    assert world.call("GET", listing(world), headers=world.staff).status == 403
    assert world.call("GET", listing(world), headers=other_world.owner).status == 404
    assert world.call("GET", listing(world)).status == 401
