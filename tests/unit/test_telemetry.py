"""Metrics never break a request, however many pile up between flushes."""

from __future__ import annotations

import pytest


@pytest.fixture
def metrics_on(monkeypatch):
    from loyalty import settings, telemetry

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    settings.get_settings.cache_clear()
    yield telemetry
    telemetry.metrics.clear_metrics()
    monkeypatch.undo()
    settings.get_settings.cache_clear()


def test_counting_far_past_the_emf_batch_size_never_raises(metrics_on, capsys):
    for _ in range(250):  # EMF flushes itself every 100 metrics
        metrics_on.count("Visits")
    metrics_on.count("PointsIssued", 0)  # nothing to count is not an error either
    assert '"Namespace": "Bywalec"' in capsys.readouterr().out


def test_disabled_metrics_do_not_pile_up(monkeypatch):
    from loyalty import settings, telemetry

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    settings.get_settings.cache_clear()
    try:
        telemetry.count("Visits")
        assert not telemetry.metrics.provider.metric_set
    finally:
        settings.get_settings.cache_clear()
