"""Messages to members: what the outbox holds and the sender delivers (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MARKETING = "marketing"
TRANSACTIONAL = "transactional"
PURPOSES = (MARKETING, TRANSACTIONAL)

EMAIL = "email"
SMS = "sms"
CHANNELS = (EMAIL, SMS)

UNSUBSCRIBE_PLACEHOLDER = "{unsubscribeLink}"

# Outcomes, named as the campaign run's counters.
SENT_EMAIL = "sent_email"
SENT_SMS = "sent_sms"
SKIPPED_NO_CONSENT = "skipped_no_consent"
SKIPPED_NO_CONTACT = "skipped_no_contact"
SKIPPED_FREQUENCY_CAP = "skipped_frequency_cap"
# Held until the merchant's SMS quiet hours end; the counter holds the messages waiting right now (a release
# moves the count from here to what happened next), so a run's counters always add up to what it targeted.
SKIPPED_QUIET_HOURS = "skipped_quiet_hours"
FAILED = "failed"
OUTCOMES = (SENT_EMAIL, SENT_SMS, SKIPPED_NO_CONSENT, SKIPPED_NO_CONTACT, SKIPPED_FREQUENCY_CAP,
            SKIPPED_QUIET_HOURS, FAILED)


@dataclass(frozen=True, kw_only=True)
class Content:
    subject: str | None  # email only
    body: str  # may still hold {unsubscribeLink}: the sender fills it for the channel it uses


@dataclass(frozen=True, kw_only=True)
class Message:
    message_id: str  # deterministic where exactly-once matters (a campaign: hash of campaign, member, occasion)
    merchant_id: str
    member_id: str
    purpose: str  # MARKETING | TRANSACTIONAL
    contents: dict[str, Content]  # channel -> content, in the order the channels are tried
    created_at: datetime
    campaign_id: str | None = None
    run_id: str | None = None
    # A fixed email address (the owner's, for a low rating) instead of the member's own contact: the member's
    # consent, frequency cap and unsubscribe link do not apply to it.
    to: str | None = None

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {self.purpose!r}")
        if self.to is not None and (self.purpose == MARKETING or set(self.contents) != {EMAIL}):
            raise ValueError("a message to a fixed address is a non-marketing email")
        unknown = set(self.contents) - set(CHANNELS)
        if unknown or not self.contents:
            raise ValueError(f"a message needs contents for known channels, got {sorted(self.contents)}")


# Delivery states of an outbox item.
PENDING = "pending"  # written, not yet delivered
HELD = "held"  # waiting for the SMS quiet hours to end (release_at)
SENDING = "sending"  # one delivery attempt holds it until claimed_until
DONE = "done"  # settled: see outcome


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """A message and where its delivery stands."""

    message: Message
    status: str
    outcome: str | None = None
    channel: str | None = None
    release_at: datetime | None = None
    claim_id: str | None = None
    claimed_until: datetime | None = None
    attempts: int = 0
    finished_at: datetime | None = None

    def claimable(self, now: datetime) -> bool:
        """Pending, held, or held by an attempt that has given up or died (its claim ran out)."""
        if self.status in (PENDING, HELD):
            return True
        return self.status == SENDING and (self.claimed_until is None or self.claimed_until <= now)
