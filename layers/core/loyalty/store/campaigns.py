"""Campaigns, their runs, and the per-member step of a run: guard, offer, message and counters in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from loyalty.domain.campaigns import Campaign, Offer, Run, Wording
from loyalty.domain.messages import Message
from loyalty.domain.model import LedgerEntry, Voucher
from loyalty.store import keys, outbox
from loyalty.store import members as member_store
from loyalty.store.models import CampaignItem, CampaignRunItem, GuardItem, LoyaltyItem
from loyalty.store.transaction import ConditionFailed

GUARD_TAG = "campaign_guard"
RUN_TAG = "campaign_run"
RUNS_LISTED = 50


# --- campaigns -------------------------------------------------------------------------------------

def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _to_item(campaign: Campaign) -> CampaignItem:
    offer = campaign.offer
    item = CampaignItem(
        *keys.campaign(campaign.merchant_id, campaign.campaign_id), campaign_id=campaign.campaign_id,
        merchant_id=campaign.merchant_id, name=campaign.name, campaign_type=campaign.type, trigger=campaign.trigger,
        offer=None if offer is None else {"rewardId": offer.reward_id, "validityDays": offer.validity_days,
                                          "bonusPoints": offer.bonus_points},
        channels=list(campaign.channels),
        message={channel: {"subject": w.subject, "body": w.body} for channel, w in campaign.message.items()},
        send_at=campaign.send_at, status=campaign.status, created_at=campaign.created_at,
        updated_at=campaign.updated_at, next_run_at=campaign.next_run_at,
        last_run_day=campaign.last_run_day.isoformat() if campaign.last_run_day else None)
    if campaign.next_run_at is not None:  # sparse: only campaigns with a next run are in the due index
        item.gsi1pk, item.gsi1sk = keys.campaign_due_index(campaign.merchant_id, campaign.campaign_id,
                                                           _iso(campaign.next_run_at))
    return item


def _to_campaign(item: CampaignItem) -> Campaign:
    offer = item.offer
    return Campaign(
        campaign_id=item.campaign_id, merchant_id=item.merchant_id, name=item.name, type=item.campaign_type,
        trigger=dict(item.trigger or {}),
        offer=None if offer is None else Offer(reward_id=offer.get("rewardId"), validity_days=offer.get("validityDays"),
                                               bonus_points=offer.get("bonusPoints")),
        channels=tuple(item.channels or ()),
        message={channel: Wording(subject=data.get("subject"), body=data["body"])
                 for channel, data in (item.message or {}).items()},
        send_at=item.send_at, status=item.status, created_at=item.created_at, updated_at=item.updated_at,
        next_run_at=item.next_run_at,
        last_run_day=date.fromisoformat(item.last_run_day) if item.last_run_day else None)


def save(campaign: Campaign, *, previous: Campaign | None = None) -> None:
    """A new campaign (``previous`` None), or an edit that applies only to the version it was made from."""
    if previous is None:
        condition = CampaignItem.pk.does_not_exist()
    else:  # a run finishing meanwhile moves the last run day without touching updated_at
        last_run = previous.last_run_day.isoformat() if previous.last_run_day else None
        condition = (CampaignItem.updated_at == previous.updated_at) & (
            CampaignItem.last_run_day == last_run if last_run else CampaignItem.last_run_day.does_not_exist())
    try:
        _to_item(campaign).save(condition=condition, add_version_condition=False)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise ConditionFailed({"campaign"}) from exc
        raise


def get(merchant_id: str, campaign_id: str) -> Campaign | None:
    try:
        return _to_campaign(CampaignItem.get(*keys.campaign(merchant_id, campaign_id), consistent_read=True))
    except DoesNotExist:
        return None


def list_for(merchant_id: str) -> list[Campaign]:
    pk, prefix = keys.campaign_prefix(merchant_id)
    return [_to_campaign(item) for item in CampaignItem.query(pk, CampaignItem.sk.startswith(prefix))
            if isinstance(item, CampaignItem)]


@dataclass(frozen=True)
class DueCampaign:
    merchant_id: str
    campaign_id: str


def due(shard: int, now: datetime) -> list[DueCampaign]:
    """Campaigns whose next run is at or before ``now``: only those are read, however many campaigns exist."""
    partition = keys.campaigns_due_partition(shard)
    found = []
    for item in LoyaltyItem.gsi1.query(partition, LoyaltyItem.gsi1sk <= f"{_iso(now)}#~"):
        merchant_id, campaign_id = keys.campaign_of_due_entry(item.gsi1sk)
        found.append(DueCampaign(merchant_id, campaign_id))
    return found


def advance(campaign: Campaign, scheduled_at: datetime, next_run_at: datetime | None, last_run_day: date,
            status: str) -> None:
    """After a complete run: the next run (or none), once, whichever overlapping tick gets here first."""
    item = CampaignItem(*keys.campaign(campaign.merchant_id, campaign.campaign_id))
    actions = [CampaignItem.last_run_day.set(last_run_day.isoformat()), CampaignItem.status.set(status)]
    if next_run_at is None:
        actions += [CampaignItem.next_run_at.remove(), CampaignItem.gsi1pk.remove(), CampaignItem.gsi1sk.remove()]
    else:
        gsi_pk, gsi_sk = keys.campaign_due_index(campaign.merchant_id, campaign.campaign_id, _iso(next_run_at))
        actions += [CampaignItem.next_run_at.set(next_run_at), CampaignItem.gsi1pk.set(gsi_pk),
                    CampaignItem.gsi1sk.set(gsi_sk)]
    try:
        item.update(actions=actions, condition=CampaignItem.next_run_at == scheduled_at, add_version_condition=False)
    except UpdateError as exc:  # a lost condition: an overlapping tick advanced it already
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


# --- runs ------------------------------------------------------------------------------------------

_COUNTERS = ("targeted", "offers_issued", "redeemed", "sent_email", "sent_sms", "skipped_no_consent",
             "skipped_no_contact", "skipped_frequency_cap", "skipped_quiet_hours", "failed")


def start_run(merchant_id: str, campaign_id: str, run_id: str, occasion: str, scheduled_at: datetime,
              now: datetime) -> None:
    """The run's item, once: a repeated tick continues the run it finds."""
    item = CampaignRunItem(*keys.campaign_run(merchant_id, campaign_id, run_id), run_id=run_id,
                           campaign_id=campaign_id, merchant_id=merchant_id, occasion=occasion,
                           scheduled_at=scheduled_at, started_at=now)
    try:
        item.save(condition=CampaignRunItem.pk.does_not_exist(), add_version_condition=False)
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def finish_run(merchant_id: str, campaign_id: str, run_id: str, now: datetime) -> None:
    item = CampaignRunItem(*keys.campaign_run(merchant_id, campaign_id, run_id))
    item.update(actions=[CampaignRunItem.finished_at.set(now)], add_version_condition=False)


def runs(merchant_id: str, campaign_id: str) -> list[Run]:
    pk, prefix = keys.campaign_runs_prefix(merchant_id, campaign_id)
    items = CampaignRunItem.query(pk, CampaignRunItem.sk.startswith(prefix), scan_index_forward=False,
                                  limit=RUNS_LISTED)
    return [Run(run_id=item.run_id, occasion=item.occasion or "", started_at=item.started_at,
                finished_at=item.finished_at,
                counters={name: int(getattr(item, name, 0) or 0) for name in _COUNTERS})
            for item in items if isinstance(item, CampaignRunItem)]


# --- one member ------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Reach:
    """What a run does for one member and occasion, all or nothing."""

    merchant_id: str
    campaign_id: str
    run_id: str
    member_id: str
    occasion: str
    voucher: Voucher | None
    bonus: LedgerEntry | None
    message: Message


def reach(step: Reach) -> None:
    """Guard, offer (voucher or points with its ledger entry), outbox message and the run's counters.

    Raises ConditionFailed: ``campaign_guard`` when this member was reached for this occasion before (nothing
    was written), ``reward_code`` when the voucher's code collided (try again with a new code), ``member``
    when the member is gone."""
    updates: list[member_store.MemberUpdate] = []
    guards = [member_store.Guard(keys.campaign_guard(step.merchant_id, step.campaign_id, step.member_id,
                                                     step.occasion),
                                 step.member_id, step.merchant_id, tag=GUARD_TAG, ref=step.run_id)]
    ledger = [step.bonus] if step.bonus else []
    if step.voucher is not None or step.bonus is not None:
        update = member_store.MemberUpdate(step.member_id)
        if step.voucher is not None:
            # The voucher locks no points, so a late expiry only changes its status: the expiry index is left
            # as it is instead of reading the member's other vouchers to find the earliest.
            update.put_vouchers.append(step.voucher)
            guards.append(member_store.reward_code_guard(step.voucher, step.member_id, step.merchant_id))
        if step.bonus is not None:
            update.add["balance"] = step.bonus.points
        updates.append(update)
    txn = member_store.member_transaction(updates, ledger, guards=guards)
    outbox.add_to(txn, step.message)
    counters = [CampaignRunItem.targeted.add(1)]
    if updates:
        counters.append(CampaignRunItem.offers_issued.add(1))
    txn.update(CampaignRunItem(*keys.campaign_run(step.merchant_id, step.campaign_id, step.run_id)), counters,
               RUN_TAG)
    txn.commit()


def count_redeemed(voucher: Voucher, merchant_id: str) -> None:
    """A campaign's voucher was redeemed: its run counts it."""
    if voucher.campaign_id and voucher.run_id:
        item = CampaignRunItem(*keys.campaign_run(merchant_id, voucher.campaign_id, voucher.run_id))
        item.update(actions=[CampaignRunItem.redeemed.add(1)], add_version_condition=False)


def guard_exists(merchant_id: str, campaign_id: str, member_id: str, occasion: str) -> bool:
    try:
        GuardItem.get(*keys.campaign_guard(merchant_id, campaign_id, member_id, occasion), consistent_read=True)
    except DoesNotExist:
        return False
    return True
