"""The bench's verdicts decide its exit status, and its deploy artefacts keep their bytecode usable."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

from infra.bench import coldstart, report
from infra.bench.driver import Operation, Sample
from infra.bench.hotkeys import hot_key_figures
from infra.bench.stats import median_ratio, percentile, summarize
from infra.dynamodb_meter import Call


def measured(name: str, limit: int, round_trips: list[int]) -> dict:
    """A summarized operation whose requests made the given numbers of DynamoDB calls."""
    op = Operation(name, "redeem", limit=limit)
    for count in round_trips:
        calls = [Call("GetItem", "GetItem MEMBER#*/MEMBER")] * (count - 1) + [Call("UpdateItem", "UpdateItem")]
        op.samples.append(Sample(200, 5.0, calls, Counter()))
    return summarize(op)


def test_a_path_over_its_round_trip_limit_fails_and_the_bench_exits_non_zero():
    verdicts = report.round_trip_verdicts([measured("redeem", 2, [2, 2, 3])])

    assert [v["verdict"] for v in verdicts] == ["FAIL"]
    assert "max 3" in verdicts[0]["detail"]
    assert report.exit_status(verdicts) == 1


def test_paths_within_their_limits_pass_and_the_bench_exits_zero():
    verdicts = report.round_trip_verdicts([measured("redeem", 2, [2, 2]), measured("staff scan", 3, [3, 2])])

    assert [v["verdict"] for v in verdicts] == ["PASS", "PASS"]
    assert report.exit_status([*verdicts, report.verdict("skipped figure", None, "not measured")]) == 0


def test_failed_requests_fail_the_verdict_even_within_the_limit():
    op = Operation("claim with an Idempotency-Key", "claim", limit=2)
    op.samples.append(Sample(409, 5.0, [Call("GetItem", "GetItem MEMBER#*/MEMBER")], Counter()))
    op.failures.append("POST /v1/me/rewards -> 409")

    verdicts = report.round_trip_verdicts([summarize(op)])

    assert verdicts[0]["verdict"] == "FAIL"
    assert report.exit_status(verdicts) == 1


def test_an_item_every_scan_writes_is_a_hot_key_and_fails():
    scans = 400
    writes = Counter({f"member-{n}": 1 for n in range(scans)})
    writes["merchant-counter"] = scans
    kinds = {item: "MEMBER#*/MEMBER" for item in writes}
    kinds["merchant-counter"] = "MERCHANT#*/COUNTER"

    figures = hot_key_figures(writes, kinds, scans, 500, 100, [])

    assert figures["hottest_kind"] == "MERCHANT#*/COUNTER"
    assert figures["hottest_writes_per_second"] == 100.0
    verdicts = report.hot_key_verdicts(figures)
    assert verdicts[0]["verdict"] == "FAIL"
    assert report.exit_status(verdicts) == 1


def test_writes_spread_over_members_and_locations_pass_the_hot_key_verdict():
    scans = 1000
    writes = Counter({f"member-{n}": 1 for n in range(scans)})
    writes.update({f"location-{n}": 2 for n in range(500)})
    kinds = {item: item.split("-")[0].upper() + "#*" for item in writes}

    figures = hot_key_figures(writes, kinds, scans, 500, 100, [])

    assert figures["hottest_kind"] == "LOCATION#*"
    assert figures["hottest_writes_per_second"] == 0.2
    assert report.hot_key_verdicts(figures)[0]["verdict"] == "PASS"


def test_a_cold_start_that_could_not_be_measured_fails():
    verdicts = report.cold_start_verdicts({"error": "no python3.12 interpreter found", "runs": 5})

    assert verdicts[0]["verdict"] == "FAIL"
    assert report.exit_status(verdicts) == 1


def test_a_handler_over_the_cold_start_ratio_fails():
    handler = {"ratio": 1.6, "median_ms": 480.0, "project_modules": 40, "project_recompiled": [],
               "dependency_recompiled": 0}
    cold = {"ratio_limit": 1.3, "baseline_ms": 300.0, "runs": 5, "handlers": {"ScanFunction": handler}}

    verdicts = report.cold_start_verdicts(cold)

    assert [v["verdict"] for v in verdicts] == ["FAIL", "PASS"]
    assert "0 of 40 project modules recompiled" in verdicts[1]["detail"]


def test_percentiles_and_paired_ratios():
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert median_ratio([(200.0, 100.0), (300.0, 100.0), (90.0, 100.0)]) == 2.0


def _deploy(tmp_path: Path, *compile_options: str) -> coldstart.Target:
    """A one-module package compiled, zipped as `sam deploy` zips and unzipped: what Lambda would import."""
    source = tmp_path / "source"
    (source / "shop").mkdir(parents=True)
    (source / "shop" / "__init__.py").write_text("PRICE = 12\n")
    subprocess.run([sys.executable, "-m", "compileall", "-q", *compile_options, str(source)], check=True)
    with zipfile.ZipFile(tmp_path / "artefact.zip", "w") as archive:
        coldstart.add_tree(archive, source)
    deployed = tmp_path / "deployed"
    coldstart.unzip(tmp_path / "artefact.zip", deployed)
    coldstart.set_read_only(deployed)
    return coldstart.Target("shop", "import shop", [deployed], [deployed])


def test_unchecked_hash_bytecode_is_used_after_the_zip_round_trip(tmp_path):
    target = _deploy(tmp_path, "--invalidation-mode", "unchecked-hash")
    try:
        run = coldstart.run_import(sys.executable, target)
    finally:
        coldstart.set_read_only(target.paths[0], False)

    assert (run.project_modules, run.project_recompiled) == (1, [])


def test_timestamp_bytecode_goes_stale_in_the_zip_and_is_recompiled(tmp_path):
    target = _deploy(tmp_path, "--invalidation-mode", "timestamp")
    try:
        run = coldstart.run_import(sys.executable, target)
    finally:
        coldstart.set_read_only(target.paths[0], False)

    assert run.project_recompiled == ["shop/__init__.py"]


def _segment_counts(name: str, failures: int) -> dict:
    return {"name": name, "group": "segment counts", "failures": failures, "requests": 3,
            "failure_examples": ["GET /segments -> 503"] if failures else [],
            "call_shapes_per_request": {"Query t.GSI3 MERCHANT#*#ROSTER#*": 4.0, "Query t MERCHANT#*": 1.0},
            "requests_by_api_per_request": {"Query": 5.0}, "per_request": {"rcu": 47.0}, "handler_ms": {"p50": 900.0}}


def test_segment_counts_are_information_projected_from_the_largest_population_that_worked():
    rows = [_segment_counts("segment counts (1,000 members)", 0), _segment_counts("segment counts (20,000 members)", 3)]
    verdicts = report.segment_count_verdicts(rows, {"small": 1_000, "large": 20_000})
    assert [v["verdict"] for v in verdicts] == ["info", "info", "info"]
    assert "3 of 3 counts failed" in verdicts[1]["detail"]
    assert "from 1,000: about 4,000 roster Query pages and 47,000 RCU per count" in verdicts[2]["detail"]
    assert report.exit_status(verdicts) == 0


def _campaign_tick(items_read: int, requests: dict, reached: int = 50) -> dict:
    return {"result": {"reached": reached, "complete": True}, "seconds": 10.0, "requests": requests,
            "request_count": sum(requests.values()), "items_read": items_read, "failed_calls": []}


def _campaign_runs(small_read: int, large_read: int, large_requests: dict | None = None) -> dict:
    requests = {"Query": 16, "TransactWriteItems": 50}
    return {"matches": 50, "reads_per_match_limit": 1.1, "constant_reads": 10, "million_birthday_matches": 2740,
            "runs": [{"members": size, "matches": 50, "birthday": _campaign_tick(read, reqs),
                      "winback": _campaign_tick(53, requests)}
                     for size, read, reqs in ((1_000, small_read, requests),
                                              (20_000, large_read, large_requests or requests))]}


def test_a_campaign_run_reading_what_matches_passes_and_one_reading_more_fails():
    passing = report.campaign_run_verdicts(_campaign_runs(53, 53))
    assert report.exit_status(passing) == 0
    assert any("5.0/s at 1,000 members" in v["detail"] for v in passing)
    failing = report.campaign_run_verdicts(_campaign_runs(53, 400, {"Query": 40, "TransactWriteItems": 50}))
    assert report.exit_status(failing) == 1
    assert {v["figure"] for v in failing if v["verdict"] == report.FAIL} == {
        "birthday run at 20,000 members reads at most 1.1 items per match + 10",
        "birthday run: same DynamoDB requests at 1,000 and 20,000 members"}
