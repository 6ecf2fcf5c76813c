"""The outbox: messages written with the change that caused them, delivered later by the sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from loyalty.domain.messages import DONE, HELD, PENDING, SENDING, Content, Delivery, Message
from loyalty.domain.sending import Recipient
from loyalty.settings import get_settings
from loyalty.store import keys
from loyalty.store.models import CampaignRunItem, MemberItem, OutboxItem
from loyalty.store.transaction import ConditionFailed, Transaction

# A settled message (and the personal words in its body) is kept this long, then DynamoDB's TTL deletes it.
SETTLED_RETENTION = timedelta(days=90)
_RECIPIENT_FIELDS = ("member_id", "merchant_id", "name", "phone", "email", "consent_sms", "consent_email",
                     "marketing_sends")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _first_due(message: Message) -> datetime:
    """The sweep looks at a message this long after it was written, unless it was delivered by then."""
    return message.created_at + timedelta(seconds=get_settings().outbox_sweep_after_seconds)


def _to_item(message: Message) -> OutboxItem:
    item = OutboxItem(
        *keys.outbox(message.message_id), message_id=message.message_id, merchant_id=message.merchant_id,
        member_id=message.member_id, purpose=message.purpose, created_at=message.created_at,
        campaign_id=message.campaign_id, run_id=message.run_id, status=PENDING, to_address=message.to,
        contents=[{"channel": channel, "subject": content.subject, "body": content.body}
                  for channel, content in message.contents.items()],
    )
    item.gsi1pk, item.gsi1sk = keys.outbox_due_index(message.message_id, _iso(_first_due(message)))
    return item


def _to_delivery(item: OutboxItem) -> Delivery:
    message = Message(
        message_id=item.message_id, merchant_id=item.merchant_id, member_id=item.member_id, purpose=item.purpose,
        created_at=item.created_at, campaign_id=item.campaign_id, run_id=item.run_id, to=item.to_address,
        contents={entry["channel"]: Content(subject=entry.get("subject"), body=entry["body"])
                  for entry in item.contents},
    )
    return Delivery(message=message, status=item.status, outcome=item.outcome, channel=item.channel,
                    release_at=item.release_at, claim_id=item.claim_id, claimed_until=item.claimed_until,
                    attempts=int(item.attempts or 0), finished_at=item.finished_at)


def add_to(txn: Transaction, message: Message, tag: str = "outbox") -> Transaction:
    """Writes the message in ``txn``; the transaction fails (``tag``) if a message with its id exists."""
    return txn.put(_to_item(message), tag, condition=OutboxItem.pk.does_not_exist())


def put(message: Message) -> bool:
    """Writes the message on its own; False when one with its id was already written (nothing changes)."""
    try:
        _to_item(message).save(condition=OutboxItem.pk.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get(message_id: str) -> Delivery | None:
    try:
        return _to_delivery(OutboxItem.get(*keys.outbox(message_id), consistent_read=True))
    except DoesNotExist:
        return None


def count_outcome(message: Message, outcome: str, *, instead_of: str | None = None) -> None:
    """Adds one to the campaign run's counter ``outcome`` (and takes one from ``instead_of``), if the message
    belongs to a run."""
    if not (message.campaign_id and message.run_id):
        return
    item = CampaignRunItem(*keys.campaign_run(message.merchant_id, message.campaign_id, message.run_id))
    actions = [getattr(CampaignRunItem, outcome).add(1),
               CampaignRunItem.kind.set(CampaignRunItem.kind | CampaignRunItem)]  # if the run item is not there yet
    if instead_of:
        actions.append(getattr(CampaignRunItem, instead_of).add(-1))
    item.update(actions=actions)


# --- the sweep's index --------------------------------------------------------------------------------

@dataclass(frozen=True)
class DuePage:
    message_ids: list[str]
    next_start: dict | None


def due(shard: int, now: datetime, *, limit: int, start: dict | None = None) -> DuePage:
    """Undelivered messages whose time to be looked at again has come, oldest first."""
    found = OutboxItem.gsi1.query(keys.outbox_due_partition(shard), OutboxItem.gsi1sk < f"{_iso(now)}#~",
                                  limit=limit, last_evaluated_key=start)
    ids = [keys.message_id_of_due_index(item.gsi1sk) for item in found]
    return DuePage(ids, found.last_evaluated_key)


def postpone(message_id: str, until: datetime) -> bool:
    """Moves an undelivered message's place in the sweep's index to ``until``; False if it was settled."""
    gsi_pk, gsi_sk = keys.outbox_due_index(message_id, _iso(until))
    try:
        OutboxItem(*keys.outbox(message_id)).update(
            actions=[OutboxItem.gsi1pk.set(gsi_pk), OutboxItem.gsi1sk.set(gsi_sk)],
            condition=OutboxItem.pk.exists() & (OutboxItem.status != DONE),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


# --- the sender's reads and state transitions -------------------------------------------------------------

def recipient(member_id: str) -> Recipient | None:
    """The member as the sender needs it, read when it sends (a consent withdrawn after queueing applies)."""
    try:
        item = MemberItem.get(*keys.member(member_id), consistent_read=True,
                              attributes_to_get=[getattr(MemberItem, name).attr_name for name in _RECIPIENT_FIELDS])
    except DoesNotExist:
        return None
    return Recipient(member_id=item.member_id, merchant_id=item.merchant_id, name=item.name, phone=item.phone,
                     email=item.email, consent_sms=bool(item.consent_sms), consent_email=bool(item.consent_email),
                     marketing_sends=tuple(item.marketing_sends or ()))


def _claimable(now: datetime):
    """Not settled, and no live delivery attempt holds it."""
    return (OutboxItem.status != DONE) & (OutboxItem.claimed_until.does_not_exist() | (OutboxItem.claimed_until <= now))


def claim(delivery: Delivery, *, channel: str, claim_id: str, now: datetime, until: datetime,
          recipient: Recipient | None, cap_record: tuple[str, ...] | None) -> None:
    """Takes the message for one delivery attempt until ``until``; with ``cap_record`` it also writes the
    member's frequency-cap record, on condition that the record is still the one read (``recipient``).

    Raises ConditionFailed: "outbox" when another attempt holds or settled the message, "member" when the
    member's record changed (another message took a place under the cap meanwhile)."""
    item = OutboxItem(*keys.outbox(delivery.message.message_id))
    actions = [OutboxItem.status.set(SENDING), OutboxItem.channel.set(channel), OutboxItem.claim_id.set(claim_id),
               OutboxItem.claimed_until.set(until), OutboxItem.attempts.add(1)]
    if cap_record is None:  # nothing else to write: a plain conditional update costs half a transaction
        if not _conditional(item, actions, _claimable(now)):
            raise ConditionFailed({"outbox"})
        return
    read = list(recipient.marketing_sends)
    same_record = (MemberItem.marketing_sends == read) if read else MemberItem.marketing_sends.does_not_exist()
    Transaction().update(item, actions, "outbox", condition=_claimable(now)).update(
        MemberItem(*keys.member(recipient.member_id)), [MemberItem.marketing_sends.set(list(cap_record))],
        "member", condition=MemberItem.pk.exists() & same_record).commit()


def _conditional(item: OutboxItem, actions: list, condition) -> bool:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def settle(delivery: Delivery, outcome: str, *, now: datetime, channel: str | None = None,
           claim_id: str | None = None) -> bool:
    """Records the message's outcome and takes it out of the sweep's index. With ``claim_id`` only the attempt
    holding the claim may; without, only while no attempt holds it. False when that did not hold."""
    condition = ((OutboxItem.status == SENDING) & (OutboxItem.claim_id == claim_id)) if claim_id else _claimable(now)
    actions = [OutboxItem.status.set(DONE), OutboxItem.outcome.set(outcome), OutboxItem.finished_at.set(now),
               OutboxItem.claimed_until.remove(), OutboxItem.gsi1pk.remove(), OutboxItem.gsi1sk.remove(),
               OutboxItem.ttl.set(now + SETTLED_RETENTION)]
    if channel:
        actions.append(OutboxItem.channel.set(channel))
    return _conditional(OutboxItem(*keys.outbox(delivery.message.message_id)), actions, condition)


def hold(delivery: Delivery, *, release_at: datetime, now: datetime) -> bool:
    """Keeps the message until ``release_at``; the sweep dispatches it again then."""
    gsi_pk, gsi_sk = keys.outbox_due_index(delivery.message.message_id, _iso(release_at))
    return _conditional(
        OutboxItem(*keys.outbox(delivery.message.message_id)),
        [OutboxItem.status.set(HELD), OutboxItem.release_at.set(release_at), OutboxItem.claimed_until.remove(),
         OutboxItem.gsi1pk.set(gsi_pk), OutboxItem.gsi1sk.set(gsi_sk)],
        _claimable(now))


def release_claim(delivery: Delivery, *, claim_id: str, now: datetime) -> bool:
    """A failed attempt lets go at once, so the queue's next delivery may try again."""
    return _conditional(OutboxItem(*keys.outbox(delivery.message.message_id)), [OutboxItem.claimed_until.set(now)],
                        (OutboxItem.status == SENDING) & (OutboxItem.claim_id == claim_id))

