"""What the sender decides, as pure rules: channel, frequency cap and SMS quiet hours in local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from loyalty.domain.messages import Content, Message
from loyalty.domain.sending import (
    MessagingSettings,
    Recipient,
    cap_record,
    choose_channel,
    email_mime,
    held_for_quiet_hours,
    quiet_hours_end,
)

WARSAW = "Europe/Warsaw"
NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def message(purpose="marketing", channels=("email", "sms"), message_id="msg_1") -> Message:
    return Message(message_id=message_id, merchant_id="mch_1", member_id="mem_1", purpose=purpose, created_at=NOW,
                   contents={channel: Content(subject="S", body="B") for channel in channels})


def recipient(**changes) -> Recipient:
    fields = dict(member_id="mem_1", merchant_id="mch_1", name="Ala", phone="+48600100200", email="ala@example.com",
                  consent_sms=True, consent_email=True)
    fields.update(changes)
    return Recipient(**fields)


@pytest.mark.parametrize(("changes", "purpose", "expected"), [
    ({}, "marketing", ("email", None)),
    ({"consent_email": False}, "marketing", ("sms", None)),
    ({"email": None}, "marketing", ("sms", None)),
    ({"consent_email": False, "consent_sms": False}, "marketing", (None, "skipped_no_consent")),
    ({"email": None, "consent_sms": False}, "marketing", (None, "skipped_no_consent")),
    ({"email": None, "phone": None}, "marketing", (None, "skipped_no_contact")),
    ({"consent_email": False, "consent_sms": False}, "transactional", ("email", None)),
    ({"email": None, "phone": None}, "transactional", (None, "skipped_no_contact")),
])
def test_the_first_channel_with_a_contact_and_for_marketing_consent_is_chosen(changes, purpose, expected):
    assert choose_channel(message(purpose), recipient(**changes)) == expected


def test_channels_are_tried_in_the_messages_order():
    assert choose_channel(message(channels=("sms", "email")), recipient()) == ("sms", None)


def test_the_cap_counts_the_last_seven_days_only():
    settings = MessagingSettings(max_per_member_per_7_days=2)
    old = (NOW - timedelta(days=7, seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = (NOW - timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    capped, record = cap_record(message(), recipient(marketing_sends=(f"{old}#a", f"{recent}#b")), settings, NOW)
    assert capped is None and record == (f"{recent}#b", "2026-11-23T11:00:00Z#msg_1")  # the old entry is dropped
    full = recipient(marketing_sends=(f"{recent}#b", f"{recent}#c"))
    assert cap_record(message(), full, settings, NOW) == ("skipped_frequency_cap", None)


def test_a_retried_message_keeps_its_place_under_the_cap_and_transactional_ones_take_none():
    settings = MessagingSettings(max_per_member_per_7_days=1)
    mine = recipient(marketing_sends=("2026-11-23T10:00:00Z#msg_1",))
    assert cap_record(message(), mine, settings, NOW) == (None, None)
    assert cap_record(message("transactional"), recipient(), settings, NOW) == (None, None)


@pytest.mark.parametrize(("utc", "expected_local_end"), [
    (datetime(2026, 11, 23, 18, 59, tzinfo=UTC), None),  # 19:59 local
    (datetime(2026, 11, 23, 19, 0, tzinfo=UTC), "2026-11-24T09:00+01:00"),  # 20:00 local
    (datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "2026-11-24T09:00+01:00"),  # 00:30 local, the next day
    (datetime(2026, 11, 24, 7, 59, tzinfo=UTC), "2026-11-24T09:00+01:00"),  # 08:59 local
    (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), None),  # 09:00 local
    # The night DST ends (2026-10-25, 03:00 CEST -> 02:00 CET): 09:00 local is 08:00 UTC.
    (datetime(2026, 10, 24, 20, 0, tzinfo=UTC), "2026-10-25T09:00+01:00"),
    # The night DST starts (2027-03-28, 02:00 CET -> 03:00 CEST): 09:00 local is 07:00 UTC.
    (datetime(2027, 3, 27, 20, 0, tzinfo=UTC), "2027-03-28T09:00+02:00"),
])
def test_quiet_hours_span_midnight_in_the_merchants_time(utc, expected_local_end):
    end = quiet_hours_end(utc, WARSAW, MessagingSettings())
    assert (end.isoformat(timespec="minutes") if end else None) == expected_local_end


def test_quiet_hours_inside_one_day_and_none_at_all():
    lunch = MessagingSettings(quiet_hours_from="13:00", quiet_hours_to="15:00")
    assert quiet_hours_end(datetime(2026, 11, 23, 12, 30, tzinfo=UTC), WARSAW, lunch).hour == 15
    assert quiet_hours_end(datetime(2026, 11, 23, 14, 0, tzinfo=UTC), WARSAW, lunch) is None
    never = MessagingSettings(quiet_hours_from="00:00", quiet_hours_to="00:00")
    assert quiet_hours_end(datetime(2026, 11, 23, 22, 0, tzinfo=UTC), WARSAW, never) is None


def test_only_marketing_sms_waits_for_quiet_hours():
    night = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert held_for_quiet_hours(message(), "sms", night, WARSAW, MessagingSettings()) is not None
    assert held_for_quiet_hours(message(), "email", night, WARSAW, MessagingSettings()) is None
    assert held_for_quiet_hours(message("transactional"), "sms", night, WARSAW, MessagingSettings()) is None


def test_an_email_carries_one_click_unsubscribe_and_a_quoted_sender_name():
    raw = email_mime(content=Content(subject="Hi", body="Zażółć"), to="ala@example.com", sender_name="Café, Aroma",
                     sender_address="loyalty@bywalec.example", reply_to="hello@cafe.example",
                     unsubscribe_link="https://x.example/v1/u/t")
    import email
    import email.policy

    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["From"].addresses[0].display_name == "Café, Aroma"
    assert parsed["From"].addresses[0].addr_spec == "loyalty@bywalec.example"
    assert parsed["Reply-To"] == "hello@cafe.example"
    assert parsed["List-Unsubscribe"] == "<https://x.example/v1/u/t>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content().strip() == "Zażółć"
