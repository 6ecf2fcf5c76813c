"""What the sender decides for one message, at send time (pure: the member, settings and ``now`` are passed in).

- The channel: the first of the message's channels with a contact and, for marketing, the member's consent.
- The frequency cap: at most ``max_per_member_per_7_days`` marketing messages per member in any 7 days.
- SMS quiet hours: a marketing SMS due inside them waits until they end, in the merchant's local time.
Transactional messages (the card link) need no consent, go at once and count toward no cap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from loyalty.domain.messages import (
    EMAIL,
    MARKETING,
    SKIPPED_FREQUENCY_CAP,
    SKIPPED_NO_CONSENT,
    SKIPPED_NO_CONTACT,
    SMS,
    UNSUBSCRIBE_PLACEHOLDER,
    Content,
    Message,
)

DEFAULT_MAX_PER_MEMBER_PER_7_DAYS = 2
MAX_PER_MEMBER_PER_7_DAYS_LIMIT = 50
DEFAULT_QUIET_HOURS = ("20:00", "09:00")
CAP_WINDOW = timedelta(days=7)
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True, kw_only=True)
class MessagingSettings:
    """A merchant's messaging settings; these defaults apply until the owner saves any."""

    sender_name: str | None = None
    reply_to: str | None = None
    notify_email: str | None = None
    max_per_member_per_7_days: int = DEFAULT_MAX_PER_MEMBER_PER_7_DAYS
    quiet_hours_from: str = DEFAULT_QUIET_HOURS[0]
    quiet_hours_to: str = DEFAULT_QUIET_HOURS[1]


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """What the sender reads of a member when it sends: contacts, consent and the frequency cap's record."""

    member_id: str
    merchant_id: str
    name: str | None
    phone: str | None
    email: str | None
    consent_sms: bool
    consent_email: bool
    marketing_sends: tuple[str, ...] = ()  # "{sentAtIso}#{messageId}", oldest first

    def contact(self, channel: str) -> str | None:
        return self.email if channel == EMAIL else self.phone

    def consents_to(self, channel: str) -> bool:
        return self.consent_email if channel == EMAIL else self.consent_sms


def choose_channel(message: Message, recipient: Recipient) -> tuple[str | None, str | None]:
    """(channel, None) for the first usable channel, or (None, the skip outcome): no consent where a contact
    exists but no consent was given, else no contact."""
    had_contact = False
    for channel in message.contents:
        if not recipient.contact(channel):
            continue
        had_contact = True
        if message.purpose != MARKETING or recipient.consents_to(channel):
            return channel, None
    return None, SKIPPED_NO_CONSENT if had_contact else SKIPPED_NO_CONTACT


def _sent_at(entry: str) -> datetime:
    return datetime.fromisoformat(entry.split("#", 1)[0].replace("Z", "+00:00"))


def _message_of(entry: str) -> str:
    return entry.split("#", 1)[1]


def cap_record(message: Message, recipient: Recipient, settings: MessagingSettings,
               now: datetime) -> tuple[str | None, tuple[str, ...] | None]:
    """(None, the record to write) when the message may go, (SKIPPED_FREQUENCY_CAP, None) when the cap is
    reached, (None, None) when the cap does not apply or this message already holds its place (a retry)."""
    if message.purpose != MARKETING:
        return None, None
    recent = tuple(entry for entry in recipient.marketing_sends if now - _sent_at(entry) < CAP_WINDOW)
    if any(_message_of(entry) == message.message_id for entry in recent):
        return None, None
    if len(recent) >= settings.max_per_member_per_7_days:
        return SKIPPED_FREQUENCY_CAP, None
    stamp = now.astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds").replace("+00:00", "Z")
    return None, (*recent, f"{stamp}#{message.message_id}")[-MAX_PER_MEMBER_PER_7_DAYS_LIMIT:]


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _at(day: date, clock_time: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=zone)


def quiet_hours_end(now: datetime, timezone: str, settings: MessagingSettings) -> datetime | None:
    """When the quiet hours that ``now`` falls in end, or None outside them. Equal bounds mean none at all."""
    start, end = _clock(settings.quiet_hours_from), _clock(settings.quiet_hours_to)
    if start == end:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    today, clock_now = local.date(), local.time().replace(tzinfo=None)
    if start < end:  # inside one day, e.g. 13:00-15:00
        return _at(today, end, zone) if start <= clock_now < end else None
    if clock_now >= start:  # across midnight, e.g. 20:00-09:00: the evening part ends tomorrow morning
        return _at(today + timedelta(days=1), end, zone)
    if clock_now < end:
        return _at(today, end, zone)
    return None


def held_for_quiet_hours(message: Message, channel: str, now: datetime, timezone: str,
                         settings: MessagingSettings) -> datetime | None:
    """Until when a message must wait: marketing SMS only."""
    if message.purpose != MARKETING or channel != SMS:
        return None
    return quiet_hours_end(now, timezone, settings)


def fill_unsubscribe(content: Content, link: str) -> Content:
    return Content(subject=content.subject, body=content.body.replace(UNSUBSCRIBE_PLACEHOLDER, link))


def email_mime(*, content: Content, to: str, sender_name: str, sender_address: str, reply_to: str | None,
               unsubscribe_link: str | None) -> bytes:
    """A plain-text email with one-click unsubscribe (RFC 8058): mail clients show their own button. Without
    ``unsubscribe_link`` (a note to the owner, not a message to a member) it has no unsubscribe headers."""
    from email.headerregistry import Address  # only the sender builds emails
    from email.message import EmailMessage

    mime = EmailMessage()
    mime["From"] = Address(display_name=sender_name, addr_spec=sender_address)
    mime["To"] = to
    if reply_to:
        mime["Reply-To"] = reply_to
    mime["Subject"] = content.subject or sender_name
    if unsubscribe_link:
        mime["List-Unsubscribe"] = f"<{unsubscribe_link}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(content.body)
    return mime.as_bytes()
