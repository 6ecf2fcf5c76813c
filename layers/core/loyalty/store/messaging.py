"""A merchant's messaging settings, kept in their own item under the merchant's partition."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist

from loyalty.domain.sending import MessagingSettings
from loyalty.settings import get_settings
from loyalty.store import keys
from loyalty.store.cache import TTLCache
from loyalty.store.models import MessagingSettingsItem

# The sender reads them for every message; a change reaches warm senders within the cache's TTL.
_cached: TTLCache[MessagingSettings] = TTLCache(get_settings().cache_ttl_seconds)


def get(merchant_id: str, *, fresh: bool = False) -> MessagingSettings:
    """The saved settings, or the defaults when the owner never saved any."""
    if fresh:
        _cached.invalidate(merchant_id)
    return _cached.get_or_load(merchant_id, lambda: _load(merchant_id))


def _load(merchant_id: str) -> MessagingSettings:
    try:
        item = MessagingSettingsItem.get(*keys.messaging_settings(merchant_id), consistent_read=True)
    except DoesNotExist:
        return MessagingSettings()
    return MessagingSettings(
        sender_name=item.sender_name, reply_to=item.reply_to, notify_email=item.notify_email,
        max_per_member_per_7_days=int(item.max_per_member_per_7_days), quiet_hours_from=item.quiet_hours_from,
        quiet_hours_to=item.quiet_hours_to,
    )


def put(merchant_id: str, settings: MessagingSettings) -> None:
    MessagingSettingsItem(
        *keys.messaging_settings(merchant_id), merchant_id=merchant_id, sender_name=settings.sender_name,
        reply_to=settings.reply_to, notify_email=settings.notify_email,
        max_per_member_per_7_days=settings.max_per_member_per_7_days, quiet_hours_from=settings.quiet_hours_from,
        quiet_hours_to=settings.quiet_hours_to, updated_at=datetime.now(UTC),
    ).save()
    _cached.put(merchant_id, settings)
