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


def _stored_counts(name: str) -> dict:
    return {"name": name, "group": "segment counts", "failures": 0, "requests": 3, "failure_examples": [],
            "requests_by_api_per_request": {"GetItem": 1.0, "Query": 1.0}, "per_request": {"rcu": 1.5},
            "handler_ms": {"p50": 12.0}}


def _recount(members: int, finished: bool = True, requests: dict | None = None) -> dict:
    return {"members": members, "request_seconds": 2.0, "ticks": 1, "tick_seconds": 8.0, "roster_pages": members // 250,
            "items_read": members + 3, "finished": finished, "failed_calls": [],
            "requests": requests or {"GetItem": 3, "PutItem": 2, "Query": members // 250 + 13}}


def test_a_finished_recount_passes_and_is_projected_to_a_million_members_in_ticks():
    verdicts = report.segment_count_verdicts([_stored_counts("segment counts, stored (20,000 members)")],
                                             [_recount(1_000), _recount(20_000)])
    assert [v["verdict"] for v in verdicts] == [report.INFO, report.PASS, report.PASS, report.INFO]
    assert "per request: 2.0 DynamoDB requests" in verdicts[0]["detail"]
    assert "80 roster Query pages, 20,003 items read" in verdicts[2]["detail"]
    # 10 s for 20,000 members: 500 s for a million, two ticks of 280 s
    assert "about 4,000 roster Query pages and 500 s" in verdicts[3]["detail"]
    assert "in about 2 ticks" in verdicts[3]["detail"]
    assert report.exit_status(verdicts) == 0


def test_a_recount_that_did_not_finish_or_scanned_fails():
    for recount in (_recount(20_000, finished=False), _recount(20_000, requests={"Scan": 1})):
        verdicts = report.segment_count_verdicts([], [recount])
        assert report.exit_status(verdicts) == 1


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


def _rules_scan(members: int, wcu_max: float, wcu_mean: float, round_trips: list[int] | None = None) -> dict:
    return {"members": members, "warm_requests": 20, "round_trips": round_trips or [2], "wcu_median": wcu_mean * 2,
            "wcu_mean": wcu_mean, "wcu_max": wcu_max * 2, "item_wcu_median": wcu_mean, "item_wcu_max": wcu_max,
            "index_wcu_median": 3, "index_wcu_max": 4,
            "items_written_mean": 5.0, "wcu_by_item": {"MEMBER#*/MEMBER": 4.0, "MEMBER#*/LEDGER#*#*": 2.0},
            "member_item_bytes_median": 1900, "failures": []}


def _upkeep_run(members: int, items_read: int, requests: dict | None = None, updated: int = 100) -> dict:
    requests = requests or {"GetItem": 1, "Query": 16, "TransactWriteItems": 100}
    return {"members": members, "due": 100, "due_expiring": 50, "due_grace": 50, "items_read": items_read,
            "requests": requests, "request_count": sum(requests.values()), "failed_calls": [], "seconds": 9.0,
            "result": {"membersUpdated": updated, "pointsExpired": 4000, "tiersChanged": 50, "complete": True}}


def _year(sizes: list[int], failures: list[str] | None = None) -> dict:
    return {"weeks": len(sizes), "sizes": sizes, "size_half": sizes[len(sizes) // 2 - 1], "size_end": sizes[-1],
            "counts": {"claims": 13, "surprises": 5}, "tier_changes": ["week 5: bronze -> silver"],
            "failures": failures or [], "limit_bytes": 40 * 1024, "growth_limit": 0.10, "expiry_months": 6}


def _rules(scans: list[dict], year: dict | None, runs: list[dict]) -> dict:
    return {"scans": scans, "wcu_limit": 8, "same_within": 0.10, "year": year,
            "upkeep": {"runs": runs, "reads_per_change_limit": 1.1, "constant_reads": 16}}


def test_rules_within_every_limit_pass_and_name_the_units():
    rules = _rules([_rules_scan(1_000, 8, 7.5), _rules_scan(20_000, 8, 7.8)],
                   _year([3_000] * 13 + [4_400] * 13 + [4_500] * 26),
                   [_upkeep_run(1_000, 101), _upkeep_run(20_000, 101)])

    verdicts = report.rules_verdicts(rules)

    assert [v["verdict"] for v in verdicts] == [report.PASS] * 7
    assert "items written per warm scan: median 7.5, max 8" in verdicts[0]["detail"]
    assert "billed as a transaction (x2): median 15, max 16" in verdicts[0]["detail"]
    assert "index writes apart: median 3, max 4 WCU" in verdicts[0]["detail"]
    assert "week 52: 4,500 B" in verdicts[3]["detail"] and "+100 B (+2.2% of the item)" in verdicts[3]["detail"]
    assert "101 items read for 100 members changed" in verdicts[4]["detail"]


def test_a_scan_over_the_write_units_or_differing_between_populations_fails():
    verdicts = report.rules_verdicts(_rules([_rules_scan(1_000, 8, 7.0), _rules_scan(20_000, 12, 9.0)], None,
                                            [_upkeep_run(1_000, 101)]))

    failed = {v["figure"] for v in verdicts if v["verdict"] == report.FAIL}
    assert failed == {"member scan with every rule at 20,000 members: items written cost at most 8 write units warm",
                      "member scan with every rule: same round trips and write units (within 10%) at 1,000 and "
                      "20,000 members"}
    assert report.exit_status(verdicts) == 1


def test_a_member_item_that_keeps_growing_or_is_too_large_fails():
    growing = _year([2_000 + 100 * week for week in range(52)])  # 5,100 B at week 26, 7,100 B at week 52
    too_large = _year([41 * 1024] * 52)
    for year in (growing, too_large, _year([3_000] * 52, failures=["week 3: scan -> 500"])):
        assert report.year_verdict(year)["verdict"] == report.FAIL
    assert report.year_verdict(None)["verdict"] == report.NOT_MEASURED


def test_an_upkeep_run_reading_beyond_its_members_or_asking_more_at_the_larger_population_fails():
    more_requests = {"GetItem": 1, "Query": 40, "TransactWriteItems": 100}
    verdicts = report.upkeep_verdicts(_rules([], None, [_upkeep_run(1_000, 101),
                                                        _upkeep_run(20_000, 1_300, more_requests)])["upkeep"])

    assert [v["verdict"] for v in verdicts] == [report.PASS, report.FAIL, report.FAIL]
    missed = report.upkeep_verdicts({"runs": [_upkeep_run(1_000, 60, updated=60)], "reads_per_change_limit": 1.1,
                                     "constant_reads": 16})
    assert missed[0]["verdict"] == report.FAIL  # 40 of the members due were left


def test_the_rules_figures_are_not_measured_when_skipped():
    verdicts = report.rules_verdicts(None)
    assert [v["verdict"] for v in verdicts] == [report.NOT_MEASURED]
    assert report.exit_status(verdicts) == 0


def _dashboard_figures(kilobytes: float, drawn_ms: float) -> dict:
    return {"loads": 3, "bytes_median": kilobytes * 1024, "bytes_max": kilobytes * 1024, "page_bytes_median": 40_000,
            "requests": 7, "drawn_ms_median": drawn_ms, "drawn_ms_max": drawn_ms, "drawn_ms_cold": 3_000}


def test_a_heavy_or_slow_dashboard_fails_its_verdicts_and_a_skipped_one_is_not_measured():
    from infra.bench import dashboard

    light_and_quick = dashboard.verdicts(_dashboard_figures(60, 600))
    heavy_and_slow = dashboard.verdicts(_dashboard_figures(120, 2_500))

    assert [v["verdict"] for v in light_and_quick] == ["PASS", "PASS"]
    assert [v["verdict"] for v in heavy_and_slow] == ["FAIL", "FAIL"]
    assert report.exit_status(heavy_and_slow) == 1
    assert [v["verdict"] for v in dashboard.verdicts(None)] == ["n/a"]

