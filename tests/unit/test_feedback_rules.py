"""Feedback as pure rules: which scan is a visit to rate, the 48-hour window, when the NPS question is due, the
owner's note on a low rating, and scan ids that carry their instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from loyalty.domain import feedback as rules
from loyalty.domain.ids import new_id, new_timed_id, time_of
from loyalty.domain.messages import Content, Message
from loyalty.domain.model import LedgerEntry, LedgerLine, Location, Member, Merchant
from loyalty.domain.program import Program
from loyalty.domain.sending import email_mime

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def member(**changes) -> Member:
    return Member(member_id="mem_1", merchant_id="mch_1", token_hash="h", **changes)


def merchant() -> Merchant:
    return Merchant(merchant_id="mch_1", name="Café Aroma", timezone="Europe/Warsaw", currency="PLN",
                    program=Program.model_validate({"points": {"perVisit": 10}}),
                    locations={"loc_1": Location(location_id="loc_1", name="Old Town", timezone="Europe/Warsaw"),
                               "loc_ny": Location(location_id="loc_ny", name="Brooklyn",
                                                  timezone="America/New_York")})


def given(rating: int, *, comment: str | None = "Cold coffee", location_id: str | None = "loc_1") -> rules.Feedback:
    return rules.Feedback(merchant_id="mch_1", member_id="mem_1", scan_id="scn_1", location_id=location_id,
                          rating=rating, nps=None, comment=comment, created_at=NOW)


def scan(*kinds: str, kind: str = "scan") -> LedgerEntry:
    return LedgerEntry("led_1", "mem_1", "mch_1", NOW, kind, 10, 0,
                       tuple(LedgerLine(line, 10, 0, line) for line in kinds), "scn_1", "loc_1")


# Scan ids


def test_a_timed_id_tells_its_instant_to_the_millisecond():
    at = datetime(2026, 11, 23, 10, 0, 0, 123_000, tzinfo=UTC)
    identifier = new_timed_id("scn", at)
    assert identifier.startswith("scn_") and len(identifier) == 30
    assert time_of(identifier) == at
    assert new_timed_id("scn", at) != identifier  # random after the instant


@pytest.mark.parametrize("identifier", [new_id("scn"), "scn_", "garbage", "scn_" + "1" * 26, "scn_" + "!" * 26])
def test_other_ids_tell_no_instant(identifier):
    assert time_of(identifier) is None


# Which scan, and when


def test_a_counted_visit_has_a_visit_line_and_a_purchase_inside_the_cooldown_does_not():
    assert rules.is_counted_visit(scan("visit", "spend"))
    assert not rules.is_counted_visit(scan("spend"))
    assert not rules.is_counted_visit(scan("visit", kind="import"))


def test_a_visit_can_be_rated_for_48_hours():
    assert rules.window_open(NOW, NOW + timedelta(hours=48))
    assert not rules.window_open(NOW, NOW + timedelta(hours=48, milliseconds=1))


def test_the_nps_question_is_due_with_a_recent_visit_and_no_answer_in_90_days():
    visited = member(last_visit_at=NOW - timedelta(hours=1))
    assert rules.nps_due(visited, NOW)
    assert not rules.nps_due(member(), NOW)  # never visited: nothing to rate it with
    assert not rules.nps_due(member(last_visit_at=NOW - timedelta(hours=49)), NOW)
    answered = member(last_visit_at=NOW, nps_answered_at=NOW - timedelta(days=89, hours=23))
    assert not rules.nps_due(answered, NOW)
    assert rules.nps_due(member(last_visit_at=NOW, nps_answered_at=NOW - timedelta(days=90)), NOW)
    assert rules.next_nps_at(answered) == answered.nps_answered_at + timedelta(days=90)
    assert rules.nps_cutoff(NOW) == NOW - timedelta(days=90)


# The owner's note


@pytest.mark.parametrize(("rating", "noted"), [(1, True), (2, True), (3, False), (5, False)])
def test_only_ratings_of_1_and_2_reach_the_owner(rating, noted):
    assert rules.needs_owner_note(given(rating)) is noted


def test_the_note_says_who_where_when_and_what_in_the_locations_time():
    note = rules.owner_note(given(2, location_id="loc_ny"), member(name="zofia Kowalska"), merchant(),
                            "owner@aroma.example")
    (content,) = note.contents.values()
    assert note.to == "owner@aroma.example" and list(note.contents) == ["email"]
    assert note.purpose == "transactional"  # not marketing: no consent, no frequency cap
    assert content.subject == "Café Aroma: a 2/5 rating from zofia at Brooklyn"
    assert content.body.startswith("Zofia rated a visit to Brooklyn 2 out of 5 (★★☆☆☆).")
    for line in ("Rating: 2/5", "Comment: Cold coffee", "Member: zofia (mem_1)", "Location: Brooklyn",
                 "Time: 2026-11-23 05:00 (America/New_York)"):
        assert line in content.body.splitlines()
    assert "Kowalska" not in content.body


def test_a_member_without_a_name_or_a_location_still_makes_a_note():
    note = rules.owner_note(given(1, comment=None, location_id=None), member(), merchant(), "owner@aroma.example")
    body = note.contents["email"].body
    assert "A member rated a visit to Café Aroma 1 out of 5" in body
    assert "Comment: (none)" in body and "Time: 2026-11-23 11:00 (Europe/Warsaw)" in body


def test_one_note_per_visit_whatever_the_retries():
    assert rules.owner_note_id("mem_1", "scn_1") == rules.owner_note_id("mem_1", "scn_1")
    assert rules.owner_note_id("mem_1", "scn_1") != rules.owner_note_id("mem_1", "scn_2")


def test_a_message_to_a_fixed_address_is_a_non_marketing_email():
    content = {"email": Content(subject="S", body="B")}
    fields = dict(message_id="msg_1", merchant_id="mch_1", member_id="mem_1", created_at=NOW, to="o@example.com")
    with pytest.raises(ValueError, match="fixed address"):
        Message(purpose="marketing", contents=content, **fields)
    with pytest.raises(ValueError, match="fixed address"):
        Message(purpose="transactional", contents={"sms": Content(subject=None, body="B")}, **fields)


def test_an_email_without_an_unsubscribe_link_has_no_unsubscribe_headers():
    raw = email_mime(content=Content(subject="S", body="B"), to="o@example.com", sender_name="Aroma",
                     sender_address="loyalty@example.com", reply_to=None, unsubscribe_link=None).decode()
    assert "List-Unsubscribe" not in raw and "To: o@example.com" in raw
