"""Replies of the campaign routes: campaigns, a preview, runs and their figures."""

from __future__ import annotations

from typing import Any, Literal

from loyalty.domain.campaigns import Campaign, Run
from loyalty.replies.base import Instant, Reply


class OfferReply(Reply):
    reward_id: str | None = None
    validity_days: int | None = None
    bonus_points: int | None = None


class MessageReply(Reply):
    subject: str | None = None
    body: str


class CampaignReply(Reply):
    """A campaign and when it runs next (null when paused or a broadcast is done)."""

    campaign_id: str
    name: str
    type: str
    trigger: dict[str, Any]
    offer: OfferReply | None
    channels: list[Literal["email", "sms"]]
    message: dict[str, MessageReply]
    send_at: str | None
    status: Literal["active", "paused", "finished"]
    next_run_at: Instant | None
    created_at: Instant
    updated_at: Instant

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignReply:
        offer = campaign.offer
        return cls(
            campaign_id=campaign.campaign_id, name=campaign.name, type=campaign.type, trigger=campaign.trigger,
            offer=None if offer is None else OfferReply(reward_id=offer.reward_id, validity_days=offer.validity_days,
                                                        bonus_points=offer.bonus_points),
            channels=list(campaign.channels),
            message={channel: MessageReply(subject=w.subject, body=w.body) for channel, w in campaign.message.items()},
            send_at=campaign.send_at, status=campaign.status, next_run_at=campaign.next_run_at,
            created_at=campaign.created_at, updated_at=campaign.updated_at)


class CampaignList(Reply):
    campaigns: list[CampaignReply]


class Sample(Reply):
    channel: Literal["email", "sms"]
    to: str
    subject: str | None
    body: str


class Preview(Reply):
    """The members the next run would target and one rendered message; nothing is sent or written."""

    audience: int
    sample: Sample | None


class Sent(Reply):
    email: int
    sms: int


class Skipped(Reply):
    no_consent: int
    no_contact: int
    frequency_cap: int
    quiet_hours: int


class RunReply(Reply):
    run_id: str
    occasion: str
    started_at: Instant
    finished_at: Instant | None
    targeted: int
    sent: Sent
    skipped: Skipped
    failed: int
    offers_issued: int
    redeemed: int

    @classmethod
    def of(cls, run: Run) -> RunReply:
        c = run.counters
        return cls(run_id=run.run_id, occasion=run.occasion, started_at=run.started_at, finished_at=run.finished_at,
                   targeted=c["targeted"], sent=Sent(email=c["sent_email"], sms=c["sent_sms"]),
                   skipped=Skipped(no_consent=c["skipped_no_consent"], no_contact=c["skipped_no_contact"],
                                   frequency_cap=c["skipped_frequency_cap"], quiet_hours=c["skipped_quiet_hours"]),
                   failed=c["failed"], offers_issued=c["offers_issued"], redeemed=c["redeemed"])


class RunList(Reply):
    runs: list[RunReply]
