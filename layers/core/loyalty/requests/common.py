"""The base of every request body: camelCase, and unknown fields refused so typos do not pass silently."""

from __future__ import annotations

from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Body(BaseModel):
    # defer_build: built when a route first validates a body, not at every cold import.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              str_strip_whitespace=True, defer_build=True)


def timezone_name(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in _timezones():
        raise ValueError("Use an IANA timezone such as Europe/Warsaw.")
    ZoneInfo(value)
    return value


_TZ_CACHE: set[str] = set()


def _timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(available_timezones())
    return _TZ_CACHE
