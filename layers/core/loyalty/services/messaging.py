"""The owner's messaging settings: sender name, reply address, frequency cap and SMS quiet hours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyalty.domain.access import OWNER, Caller, require_merchant
from loyalty.domain.sending import MessagingSettings
from loyalty.replies.merchants import MessagingSettings as MessagingSettingsReply
from loyalty.services.merchants import load_merchant
from loyalty.store import messaging as store

if TYPE_CHECKING:
    from loyalty.requests.merchants import UpdateMessagingSettings


def get_settings(caller: Caller, merchant_id: str) -> MessagingSettingsReply:
    require_merchant(caller, merchant_id, OWNER)
    load_merchant(merchant_id)
    return MessagingSettingsReply.of(store.get(merchant_id, fresh=True))


def put_settings(caller: Caller, merchant_id: str, body: UpdateMessagingSettings) -> MessagingSettingsReply:
    require_merchant(caller, merchant_id, OWNER)
    load_merchant(merchant_id)
    settings = MessagingSettings(
        sender_name=body.sender_name, reply_to=body.reply_to, notify_email=body.notify_email,
        max_per_member_per_7_days=body.max_per_member_per_7_days, quiet_hours_from=body.quiet_hours.from_,
        quiet_hours_to=body.quiet_hours.to,
    )
    store.put(merchant_id, settings)
    return MessagingSettingsReply.of(settings)
