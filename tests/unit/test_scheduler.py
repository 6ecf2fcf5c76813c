"""The local scheduler: which schedules the template declares, their rates, and firing on a rate."""

from __future__ import annotations

import threading
import time

import pytest

from infra.local.clock import LocalClock
from infra.local.scheduler import Scheduler, rate_seconds
from infra.template import ScheduleEvent, load_template, schedule_events


def _schedules_of(function_logical_id: str) -> list[ScheduleEvent]:
    return [event for event in schedule_events(load_template()) if event.function_logical_id == function_logical_id]


def test_the_template_schedules_the_hourly_reward_expiry_and_the_campaign_tick():
    schedules = {(s.function_logical_id, s.event_name): s for s in schedule_events(load_template())}
    expiry = schedules[("RewardExpiryFunction", "ExpireRewards")]
    assert (expiry.kind, rate_seconds(expiry.expression)) == ("ScheduleV2", 3600)
    assert expiry.input is None  # EventBridge Scheduler then delivers {}
    assert expiry.enabled
    tick = schedules[("CampaignsFunction", "CampaignTick")]
    assert (tick.kind, rate_seconds(tick.expression), tick.input, tick.enabled) == ("ScheduleV2", 900, None, True)


def test_the_template_sweeps_the_outbox_every_five_minutes():
    (sweep,) = _schedules_of("SenderFunction")
    assert (sweep.event_name, sweep.kind, rate_seconds(sweep.expression)) == ("SweepOutbox", "ScheduleV2", 300)
    assert sweep.input == '{"job": "sweep-outbox"}'


@pytest.mark.parametrize(("expression", "seconds"), [
    ("rate(1 minute)", 60), ("rate(15 minutes)", 900), ("rate(2 hours)", 7200), ("rate(1 day)", 86400),
    ("cron(0 9 * * ? *)", None), ("at(2027-01-01T09:00:00)", None),
])
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds


def test_a_zero_rate_is_refused():
    with pytest.raises(ValueError, match="invalid schedule expression"):
        rate_seconds("rate(0 minutes)")


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.changed = threading.Condition()

    def invoke(self, logical_id, event):
        with self.changed:
            self.calls.append((logical_id, event))
            self.changed.notify_all()
        return {"ok": True}


def test_schedules_fire_in_the_background_on_their_rate_until_stopped():
    fast = ScheduleEvent("TickFunction", "Fast", "ScheduleV2", "rate(1 minute)", '{"task": "tick"}')
    slow = ScheduleEvent("TockFunction", "Slow", "ScheduleV2", "rate(1 hour)", '{"task": "tock"}')
    paused = ScheduleEvent("TickFunction", "Paused", "ScheduleV2", "rate(1 minute)", enabled=False)
    recorder = _Recorder()
    scheduler = Scheduler([fast, slow, paused], recorder, LocalClock(), "eu-central-1", periods={fast: 0.1})
    scheduler.start()
    try:
        with recorder.changed:
            assert recorder.changed.wait_for(lambda: len(recorder.calls) >= 3, timeout=10)
    finally:
        scheduler.stop()
    fired = len(recorder.calls)
    assert all(call == ("TickFunction", {"task": "tick"}) for call in recorder.calls)  # only the fast one, as sent
    time.sleep(0.3)
    assert len(recorder.calls) == fired  # stopped means stopped


def test_nothing_fires_before_the_first_period_has_passed():
    hourly = ScheduleEvent("TickFunction", "Hourly", "ScheduleV2", "rate(1 hour)", "{}")
    recorder = _Recorder()
    scheduler = Scheduler([hourly], recorder, LocalClock(), "eu-central-1")
    scheduler.start()
    time.sleep(0.3)
    scheduler.stop()
    assert recorder.calls == []
