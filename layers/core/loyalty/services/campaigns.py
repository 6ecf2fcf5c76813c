"""Campaigns: the owner's routes (create, list, edit, preview, runs) and the scheduled run of due campaigns.

A run reaches each member it targets in one transaction (guard, offer, outbox message, counters), so a
repeated, overlapping or crashed-and-retried run reaches nobody twice for the same occasion.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from loyalty import telemetry
from loyalty.domain import campaigns as rules
from loyalty.domain import ids
from loyalty.domain.access import OWNER, Caller, require_merchant
from loyalty.domain.errors import ConcurrentUpdate, NotFound, ValidationFailed
from loyalty.domain.messages import UNSUBSCRIBE_PLACEHOLDER, Content, Message
from loyalty.domain.model import LedgerEntry, LedgerLine, MemberSnapshot, Merchant, Voucher
from loyalty.replies.campaigns import CampaignList, CampaignReply, Preview, RunList, RunReply, Sample
from loyalty.services import clock, segments
from loyalty.services import outbox as outbox_service
from loyalty.services.merchants import load_merchant
from loyalty.settings import get_settings
from loyalty.store import campaigns as store
from loyalty.store import keys, member_index
from loyalty.store.transaction import ConditionFailed, TransientConflict

if TYPE_CHECKING:  # the request models are built by the function that parses them, not at every import
    from loyalty.requests.campaigns import CampaignOffer, CreateCampaign, EditCampaign, MessageText

_log = logging.getLogger(__name__)
DISPATCH_BATCH = 50  # messages handed to the queue at a time while a run goes on
REACH_ATTEMPTS = 6


# --- the owner's routes ----------------------------------------------------------------------------

def create(caller: Caller, merchant_id: str, request: CreateCampaign) -> CampaignReply:
    require_merchant(caller, merchant_id, OWNER)
    merchant = load_merchant(merchant_id, fresh=True)
    now = clock.now()
    campaign = rules.Campaign(
        campaign_id=ids.new_id("cmp"), merchant_id=merchant_id, name=request.name, type=request.type,
        trigger=dict(request.trigger), offer=_offer(request.offer), channels=tuple(request.channels),
        message=_wording(request.message), send_at=request.send_at, status=request.status, created_at=now,
        updated_at=now)
    campaign = _checked(campaign, merchant, now)
    store.save(campaign)
    return CampaignReply.of(campaign)


def list_campaigns(caller: Caller, merchant_id: str) -> CampaignList:
    require_merchant(caller, merchant_id, OWNER)
    found = sorted(store.list_for(merchant_id), key=lambda c: c.created_at)
    return CampaignList(campaigns=[CampaignReply.of(c) for c in found])


def get_campaign(caller: Caller, merchant_id: str, campaign_id: str) -> CampaignReply:
    return CampaignReply.of(_own_campaign(caller, merchant_id, campaign_id))


def edit(caller: Caller, merchant_id: str, campaign_id: str, request: EditCampaign) -> CampaignReply:
    """Pause, resume or change a campaign; the next run is computed again from what it now says."""
    current = _own_campaign(caller, merchant_id, campaign_id)
    merchant = load_merchant(merchant_id, fresh=True)
    given = request.model_fields_set
    changes: dict = {}
    if "name" in given and request.name is not None:
        changes["name"] = request.name
    if "trigger" in given and request.trigger is not None:
        changes["trigger"] = dict(request.trigger)
    if "offer" in given:
        changes["offer"] = _offer(request.offer)
    if "channels" in given and request.channels is not None:
        changes["channels"] = tuple(request.channels)
    if "message" in given and request.message is not None:
        changes["message"] = _wording(request.message)
    if "send_at" in given:
        changes["send_at"] = request.send_at
    if "status" in given and request.status is not None:
        if current.status == rules.FINISHED:
            raise ValidationFailed.field("status", "This broadcast has run; create a new one to send again.")
        changes["status"] = request.status
    now = clock.now()
    campaign = _checked(dataclasses.replace(current, **changes, updated_at=now), merchant, now)
    due = current.next_run_at
    if (due is not None and due <= now and campaign.status == rules.ACTIVE and campaign.send_at == current.send_at
            and campaign.trigger == current.trigger):
        campaign = dataclasses.replace(campaign, next_run_at=due)  # a run under way (or due) keeps its time
    try:
        store.save(campaign, previous=current)
    except ConditionFailed:
        raise ConcurrentUpdate("The campaign changed meanwhile (a run or another edit); read it and try again.") \
            from None
    return CampaignReply.of(campaign)


def preview(caller: Caller, merchant_id: str, campaign_id: str) -> Preview:
    """How many members the next run would target and one message as it would read; nothing is written."""
    campaign = _own_campaign(caller, merchant_id, campaign_id)
    merchant = load_merchant(merchant_id)
    now = clock.now()
    scheduled = campaign.next_run_at or rules.next_run_at(
        dataclasses.replace(campaign, status=rules.ACTIVE), merchant.timezone, now) or now
    days = rules.days_to_cover(campaign.last_run_day, rules.local_day(scheduled, merchant.timezone))
    audience = 0
    sample: Sample | None = None
    for _query, snapshot, _occasion in _targets(campaign, merchant, days, now):
        audience += 1
        if sample is None:
            sample = _sample(campaign, merchant, snapshot, now)
    return Preview(audience=audience, sample=sample)


def list_runs(caller: Caller, merchant_id: str, campaign_id: str) -> RunList:
    _own_campaign(caller, merchant_id, campaign_id)
    return RunList(runs=[RunReply.of(run) for run in store.runs(merchant_id, campaign_id)])


def _own_campaign(caller: Caller, merchant_id: str, campaign_id: str) -> rules.Campaign:
    require_merchant(caller, merchant_id, OWNER)
    campaign = store.get(merchant_id, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


def _checked(campaign: rules.Campaign, merchant: Merchant, now: datetime) -> rules.Campaign:
    found = rules.problems(campaign, merchant.program)
    segment = campaign.trigger.get("segment") if campaign.type == rules.BROADCAST else None
    if isinstance(segment, str) and segment and not segments.segment_exists(merchant.merchant_id, segment):
        found.append({"field": "trigger.segment", "message": f"No segment is named {segment!r}."})
    if found:
        raise ValidationFailed("Some fields of the campaign are not valid.", details=found)
    campaign = dataclasses.replace(campaign, trigger=rules.normalized_trigger(campaign.type, campaign.trigger))
    return dataclasses.replace(campaign, next_run_at=rules.next_run_at(campaign, merchant.timezone, now))


def _offer(offer: CampaignOffer | None) -> rules.Offer | None:
    if offer is None:
        return None
    return rules.Offer(reward_id=offer.reward_id, validity_days=offer.validity_days, bonus_points=offer.bonus_points)


def _wording(message: dict[str, MessageText]) -> dict[str, rules.Wording]:
    return {channel: rules.Wording(subject=text.subject, body=text.body) for channel, text in message.items()}


# --- audiences -------------------------------------------------------------------------------------

def _targets(campaign: rules.Campaign, merchant: Merchant, days: list,
             now: datetime) -> Iterator[tuple[rules.AudienceQuery, MemberSnapshot, str]]:
    """Each member a run covering ``days`` targets, with its occasion, read from the member indexes only."""
    for query in rules.audience(campaign, days):
        for snapshot in _read(merchant, query, now):
            if query.needs_first_visit and snapshot.first_visit_at is None:
                continue
            if query.min_visits and (snapshot.visit_count or 0) < query.min_visits:
                continue
            last_visit = (rules.local_day(snapshot.last_visit_at, merchant.timezone)
                          if snapshot.last_visit_at else None)
            yield query, snapshot, rules.occasion_of(query, last_visit)


def _read(merchant: Merchant, query: rules.AudienceQuery, now: datetime) -> Iterator[MemberSnapshot]:
    merchant_id = merchant.merchant_id
    if query.index == "birthdays":
        return member_index.birthdays_on(merchant_id, query.key)
    if query.index == "joined":
        return member_index.joined_on(merchant_id, query.key)
    if query.index == "last_visit_between":
        return member_index.last_visit_between(merchant_id, query.key, query.until)
    if query.index == "segment":
        return segments.segment_members(merchant, query.key, now)
    # expiring_points: points cannot expire yet, so no index of expiring points exists and nobody is found.
    # When points expire, an index keyed by expiry day is read here, like the birthday index.
    return iter(())


# --- messages --------------------------------------------------------------------------------------

def _rendering(campaign: rules.Campaign, merchant: Merchant, voucher: Voucher | None) -> rules.Rendering:
    reward = merchant.program.reward(campaign.offer.reward_id) if campaign.offer and campaign.offer.reward_id else None
    return rules.Rendering(merchant_name=merchant.name, reward_name=reward.name if reward else None,
                           points=campaign.offer.bonus_points if campaign.offer else None,
                           expires_at=voucher.expires_at if voucher else None, timezone=merchant.timezone,
                           card_link=outbox_service.card_link(merchant.merchant_id))


def _contents(campaign: rules.Campaign, rendering: rules.Rendering, snapshot: MemberSnapshot) -> dict[str, Content]:
    recipient = rules.Recipient(name=snapshot.name, favourite=snapshot.favourite)
    return {channel: Content(subject=rules.render(campaign.message[channel].subject, recipient, rendering)
                             if campaign.message[channel].subject else None,
                             body=rules.render(campaign.message[channel].body, recipient, rendering))
            for channel in campaign.channels}


def _sample(campaign: rules.Campaign, merchant: Merchant, snapshot: MemberSnapshot, now: datetime) -> Sample:
    offer = campaign.offer
    voucher = None
    if offer and offer.reward_id:
        voucher = _voucher(campaign, merchant, now, run_id="preview")
    contents = _contents(campaign, _rendering(campaign, merchant, voucher), snapshot)
    contact = {"email": snapshot.email, "sms": snapshot.phone}
    consent = {"email": snapshot.consent_email, "sms": snapshot.consent_sms}
    usable = [c for c in campaign.channels if contact[c] and consent[c]] or [c for c in campaign.channels
                                                                            if contact[c]] or list(campaign.channels)
    channel = usable[0]
    # The sender fills the link for the channel it uses; the preview shows the one this member would get.
    link = outbox_service.unsubscribe_link(merchant.merchant_id, snapshot.member_id, channel)
    return Sample(channel=channel, to=contact[channel] or "", subject=contents[channel].subject,
                  body=contents[channel].body.replace(UNSUBSCRIBE_PLACEHOLDER, link))


def _voucher(campaign: rules.Campaign, merchant: Merchant, now: datetime, run_id: str) -> Voucher | None:
    offer = campaign.offer
    reward = merchant.program.reward(offer.reward_id) if offer and offer.reward_id else None
    if reward is None:
        return None
    return Voucher.issue(reward, now=now, validity_days=offer.validity_days or merchant.program.reward_validity_days,
                         source="campaign", points_locked=0, campaign_id=campaign.campaign_id, run_id=run_id)


# --- the scheduled run -----------------------------------------------------------------------------

def run_due(remaining_ms: Callable[[], int]) -> dict:
    """Runs every campaign that is due, then continues the segment recounts under way. (Messages a lost dispatch
    left in the outbox are the sender's own 5-minute sweep's to queue again.)

    Stops starting new work when less than the margin of Lambda time is left; a run that did not finish keeps
    its next run time, so the next tick continues it (the guards skip whom it already reached)."""
    margin_ms = get_settings().expiry_time_margin_seconds * 1000
    now = clock.now()
    result = {"campaigns": 0, "runsFinished": 0, "reached": 0, "failed": 0, "complete": True}
    for shard in range(keys.CAMPAIGN_SHARDS):
        for due in store.due(shard, now):
            if remaining_ms() < margin_ms:
                result["complete"] = False
                break
            result["campaigns"] += 1
            try:
                reached, finished = _run(due, now, lambda: remaining_ms() >= margin_ms)
            except Exception:  # one campaign's failure must not hold back every other merchant's
                _log.exception("campaign run failed", extra={"campaignId": due.campaign_id})
                result["failed"] += 1
                result["complete"] = False
                continue
            result["reached"] += reached
            result["runsFinished"] += int(finished)
            result["complete"] &= finished
    result["segments"] = segments.continue_recounts(lambda: remaining_ms() >= margin_ms)
    telemetry.count("CampaignMessagesQueued", result["reached"])
    telemetry.count("CampaignRunsFailed", result["failed"])
    return result


def _run(due: store.DueCampaign, now: datetime, time_left: Callable[[], bool]) -> tuple[int, bool]:
    campaign = store.get(due.merchant_id, due.campaign_id)
    if campaign is None or campaign.status != rules.ACTIVE or campaign.next_run_at is None \
            or campaign.next_run_at > now:
        return 0, True  # paused or edited since the index was read
    merchant = load_merchant(due.merchant_id)
    scheduled = campaign.next_run_at
    run_id = rules.run_id_for(scheduled)
    day = rules.local_day(scheduled, merchant.timezone)
    days = rules.days_to_cover(campaign.last_run_day, day)
    label = "broadcast" if campaign.type == rules.BROADCAST else (
        days[0].isoformat() if len(days) == 1 else f"{days[0].isoformat()}..{days[-1].isoformat()}")
    store.start_run(merchant.merchant_id, campaign.campaign_id, run_id, label, scheduled, now)
    reached = 0
    pending: list[str] = []
    for _query, snapshot, occasion in _targets(campaign, merchant, days, now):
        if not time_left():
            outbox_service.dispatch(pending)
            return reached, False
        message_id = reach_member(campaign, merchant, run_id, snapshot, occasion, now)
        if message_id is not None:
            reached += 1
            pending.append(message_id)
        if len(pending) >= DISPATCH_BATCH:
            outbox_service.dispatch(pending)
            pending = []
    outbox_service.dispatch(pending)
    store.finish_run(merchant.merchant_id, campaign.campaign_id, run_id, clock.now())
    ran = dataclasses.replace(campaign, last_run_day=day)
    store.advance(campaign, scheduled, rules.next_run_at(ran, merchant.timezone, max(scheduled, now)), day,
                  rules.FINISHED if campaign.type == rules.BROADCAST else campaign.status)
    return reached, True


def reach_member(campaign: rules.Campaign, merchant: Merchant, run_id: str, snapshot: MemberSnapshot,
                 occasion: str, now: datetime) -> str | None:
    """The offer and the message for one member and occasion, once; the message id when this call did it,
    None when an earlier run (or an overlapping one) already had."""
    member_id = snapshot.member_id
    message_id = rules.message_id_for(campaign.campaign_id, member_id, occasion)
    for attempt in range(REACH_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, 0.005 * 2**attempt))  # overlapping runs stop colliding in step
        voucher = _voucher(campaign, merchant, now, run_id)
        bonus = None
        if campaign.offer and campaign.offer.bonus_points:
            points = campaign.offer.bonus_points
            bonus = LedgerEntry(ids.new_id("led"), member_id, merchant.merchant_id, now, "campaign_bonus", points, 0,
                                (LedgerLine("campaign", points, 0, campaign.name),), ref=campaign.campaign_id)
        message = Message(message_id=message_id, merchant_id=merchant.merchant_id, member_id=member_id,
                          purpose="marketing", contents=_contents(campaign, _rendering(campaign, merchant, voucher),
                                                                  snapshot),
                          created_at=now, campaign_id=campaign.campaign_id, run_id=run_id)
        try:
            store.reach(store.Reach(merchant_id=merchant.merchant_id, campaign_id=campaign.campaign_id,
                                    run_id=run_id, member_id=member_id, occasion=occasion, voucher=voucher,
                                    bonus=bonus, message=message))
            return message_id
        except TransientConflict:
            continue  # another run's transaction touched the same run counters at the same moment
        except ConditionFailed as lost:
            if store.GUARD_TAG in lost.failed:
                return None  # reached before for this occasion: nothing was written now
            if "reward_code" in lost.failed:
                continue  # the voucher's code collided: a new code
            if "member" in lost.failed:
                return None  # the member left meanwhile
            raise
    raise ConcurrentUpdate()
