"""The figures and their verdicts, printed; the exit status follows the verdicts.

A verdict is PASS, FAIL or n/a (not measured in this run). `make bench` exits non-zero when any
verdict is FAIL, so a regression in round trips, hot keys or cold starts cannot pass unnoticed.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

PASS, FAIL, NOT_MEASURED, INFO = "PASS", "FAIL", "n/a", "info"
PROJECTED_MEMBERS = 1_000_000  # a segment recount walks the roster: its cost is projected linearly to this size


def verdict(figure: str, ok: bool | None, detail: str) -> dict[str, str]:
    return {"figure": figure, "verdict": NOT_MEASURED if ok is None else (PASS if ok else FAIL), "detail": detail}


def exit_status(verdicts: list[dict[str, str]]) -> int:
    """0 when no verdict failed, 1 otherwise."""
    return 1 if any(v["verdict"] == FAIL for v in verdicts) else 0


def round_trip_verdicts(summaries: list[dict]) -> list[dict[str, str]]:
    results = []
    for summary in summaries:
        limit = summary["limit"]
        if limit is None:
            continue
        rt = summary["round_trips"]
        ok = rt["warm_requests"] > 0 and rt["warm_max"] <= limit and not summary["failures"]
        detail = (f"warm round trips {'/'.join(map(str, rt['warm_values'])) or '-'} (max {rt['warm_max']}) over "
                  f"{rt['warm_requests']} warm requests; limit {limit}")
        if summary["group"] == "member scan":
            ok = ok and rt["warm_transact_writes"] == [1]
            detail += f"; TransactWriteItems per warm request: {'/'.join(map(str, rt['warm_transact_writes']))}"
        if summary["failures"]:
            detail += f"; {summary['failures']} requests failed, e.g. {summary['failure_examples'][0]}"
        results.append(verdict(f"{summary['name']}: at most {limit} round trips warm", ok, detail))
    return results


def figures(summaries: list[dict], totals: Counter, server_totals: Counter | None, population: dict[str, Any],
            hot_keys: dict | None, cold: dict | None, campaigns: dict | None = None,
            segment_recounts: list[dict] | None = None, rules: dict | None = None) -> list[dict[str, str]]:
    results = round_trip_verdicts(summaries)

    scans = totals.get("Scan", 0)
    server_scans = server_totals.get("Scan", 0) if server_totals is not None else None
    results.append(verdict("no Scan on any request path", scans == 0 and not server_scans,
                           f"Scan requests during the whole run: {scans} seen by the client hook"
                           + (f", {server_scans} by the server" if server_scans is not None else "")))

    scan_rows = [s for s in summaries if s["group"] == "member scan" and s["note"] == "population"]
    if len(scan_rows) == 2:
        small, large = scan_rows
        a, b = small["round_trips"], large["round_trips"]
        same = a["warm_values"] == b["warm_values"] and abs(a["mean"] - b["mean"]) < 0.05
        results.append(verdict(
            f"same round trips per member scan at {population['small']:,} and {population['large']:,} members",
            same, f"{population['small']:,}: warm {a['warm_values']} (mean of all {a['mean']:.2f}); "
                  f"{population['large']:,}: warm {b['warm_values']} (mean of all {b['mean']:.2f})"))
    else:
        results.append(verdict("same round trips per member scan at two populations", None,
                               "large population skipped (--large 0)"))

    results.extend(segment_count_verdicts(summaries, segment_recounts))
    results.extend(hot_key_verdicts(hot_keys))
    results.extend(campaign_run_verdicts(campaigns))
    results.extend(rules_verdicts(rules))
    results.extend(cold_start_verdicts(cold))
    return results


def segment_count_verdicts(summaries: list[dict], recounts: list[dict] | None) -> list[dict[str, str]]:
    """Segment counts: what the owner's request costs when the stored counts are fresh (information), whether a
    whole recount (the request's budget, then the campaign tick) finished on Query alone (a verdict), and a
    projection of the recount to a million members."""
    results = []
    for row in (s for s in summaries if s["group"] == "segment counts"):
        detail = (f"per request: {sum(row['requests_by_api_per_request'].values()):.1f} DynamoDB requests "
                  f"({', '.join(f'{api} {n:.1f}' for api, n in row['requests_by_api_per_request'].items())}), "
                  f"{row['per_request']['rcu']:.1f} RCU, handler p50 {row['handler_ms']['p50']:.0f} ms")
        if row["failures"]:
            detail += f"; {row['failures']} of {row['requests']} failed, e.g. {row['failure_examples'][0]}"
        results.append({"figure": row["name"], "verdict": INFO, "detail": detail})
    for recount in recounts or []:
        reads_only = all(api in ("Query", "GetItem", "BatchGetItem", "TransactGetItems", "UpdateItem", "PutItem")
                         for api in recount["requests"])
        ok = recount["finished"] and not recount["failed_calls"] and reads_only
        results.append(verdict(
            f"segment recount of {recount['members']:,} members finishes (the owner's request, then the ticks it "
            f"needs)", ok,
            f"{recount['roster_pages']} roster Query pages, {recount['items_read']:,} items read, "
            f"{recount['request_seconds']:.1f} s in the request (its budget) + {recount['tick_seconds']:.1f} s in "
            f"{recount['ticks']} tick(s); requests: "
            + ", ".join(f"{api} {n}" for api, n in recount["requests"].items())))
    if recounts:
        results.append({"figure": f"segment recount at {PROJECTED_MEMBERS:,} members (projected)", "verdict": INFO,
                        "detail": segment_recount_projection(recounts[-1])})
    return results


TICK_SECONDS_FOR_RECOUNTS = 280  # the campaign tick's 300 s timeout less its time margin


def segment_recount_projection(recount: dict) -> str:
    scale = PROJECTED_MEMBERS / recount["members"]
    seconds = (recount["request_seconds"] + recount["tick_seconds"]) * scale
    return (f"linear in members, from {recount['members']:,}: about {recount['roster_pages'] * scale:,.0f} roster "
            f"Query pages and {seconds:,.0f} s of walking at this run's rate, which the 15-minute tick finishes in "
            f"about {math.ceil(seconds / TICK_SECONDS_FOR_RECOUNTS)} ticks (it keeps its place between them); the "
            f"owner sees the previous counts, with counting: true, meanwhile")


def campaign_run_verdicts(campaigns: dict | None) -> list[dict[str, str]]:
    if not campaigns or not campaigns["runs"]:
        return [verdict("campaign runs read what matches", None, "skipped (--campaign-members 0)")]
    results = []
    limit, constant = campaigns["reads_per_match_limit"], campaigns["constant_reads"]
    for kind in ("birthday", "winback"):
        for run in campaigns["runs"]:
            tick, matches = run[kind], run["matches"]
            reached = tick["result"].get("reached", 0)
            ok = (tick["items_read"] <= limit * matches + constant and reached == matches
                  and not tick["failed_calls"] and tick["result"].get("complete") is True)
            results.append(verdict(
                f"{kind} run at {run['members']:,} members reads at most {limit} items per match + {constant}", ok,
                f"{tick['items_read']} items read for {matches} matches ({reached} reached) in "
                f"{tick['request_count']} requests: " + ", ".join(f"{api} {n}" for api, n in tick["requests"].items())))
        if len(campaigns["runs"]) >= 2:
            first, last = campaigns["runs"][0], campaigns["runs"][-1]
            same = first[kind]["requests"] == last[kind]["requests"]
            results.append(verdict(
                f"{kind} run: same DynamoDB requests at {first['members']:,} and {last['members']:,} members", same,
                f"{first[kind]['requests']} vs {last[kind]['requests']} ({first['matches']} matches each)"))
    rates = []
    for run in campaigns["runs"]:
        tick = run["birthday"]
        rate = tick["result"].get("reached", 0) / tick["seconds"] if tick["seconds"] else 0.0
        projected = campaigns["million_birthday_matches"] / rate if rate else float("inf")
        rates.append(f"{rate:.1f}/s at {run['members']:,} members (1,000,000 members, "
                     f"~{campaigns['million_birthday_matches']:,} birthdays: ~{projected:.0f} s)")
    results.append(verdict(
        "birthday run: messages queued per second on this machine (informational)", None,
        "; ".join(rates) + ". One transaction per member; moto's transactions slow down as its table grows, "
        "DynamoDB's do not; a run longer than one invocation continues at the next tick"))
    return results


def rules_verdicts(rules: dict | None) -> list[dict[str, str]]:
    """Program rules (infra/bench/rules.py): write units of a member scan under every rule at each population
    and the same at both, the member item after a year of visits, and the upkeep job's reads and requests. (The
    round trips of the scans and of POS sales and refunds are rows of the main table, with their verdicts.)"""
    if not rules:
        return [verdict("program rules", None, "skipped (--rules-members 0)")]
    results = []
    limit = rules["wcu_limit"]
    for scan in rules["scans"]:
        ok = scan["warm_requests"] > 0 and scan["item_wcu_max"] <= limit and not scan["failures"]
        detail = (f"write units of the items written per warm scan: median {scan['item_wcu_median']:g}, max "
                  f"{scan['item_wcu_max']:g} (1 per started KB of each item); billed as a transaction (x2): median "
                  f"{scan['wcu_median']:g}, max {scan['wcu_max']:g}; index writes apart: median "
                  f"{scan['index_wcu_median']:g}, max "
                  f"{scan['index_wcu_max']:g} WCU; {scan['items_written_mean']:.1f} items written per scan, "
                  f"{scan['warm_requests']} warm scans; table WCU by item (mean per scan): "
                  + ", ".join(f"{label} {units:.1f}" for label, units in scan["wcu_by_item"].items()))
        if scan.get("member_item_bytes_median"):
            detail += f"; member item after the scan: median {scan['member_item_bytes_median']:,.0f} B"
        if scan["failures"]:
            detail += f"; failed, e.g. {scan['failures'][0]}"
        results.append(verdict(f"member scan with every rule at {scan['members']:,} members: items written cost at "
                               f"most {limit} write units warm", ok, detail))
    if len(rules["scans"]) >= 2:
        first, last = rules["scans"][0], rules["scans"][-1]
        within = rules["same_within"]
        same_trips = first["round_trips"] == last["round_trips"]
        same_units = abs(first["wcu_mean"] - last["wcu_mean"]) <= within * max(first["wcu_mean"], last["wcu_mean"])
        results.append(verdict(
            f"member scan with every rule: same round trips and write units (within {within:.0%}) at "
            f"{first['members']:,} and {last['members']:,} members", same_trips and same_units,
            f"warm round trips {first['round_trips']} vs {last['round_trips']}; table WCU mean "
            f"{first['wcu_mean']:.2f} vs {last['wcu_mean']:.2f}, index WCU median {first['index_wcu_median']:g} vs "
            f"{last['index_wcu_median']:g}"))
    results.append(year_verdict(rules.get("year")))
    results.extend(upkeep_verdicts(rules["upkeep"]))
    return results


def year_verdict(year: dict | None) -> dict[str, str]:
    figure = "member item after a year of weekly visits"
    if not year:
        return verdict(figure, None, "skipped (--rules-weeks 0)")
    limit, growth_limit = year["limit_bytes"], year["growth_limit"]
    half, end = year["size_half"], year["size_end"]
    figure += f": under {limit // 1024} KB, the last {year['weeks'] - year['weeks'] // 2} weeks add at most " \
              f"{growth_limit:.0%}"
    if half is None or end is None or year["failures"]:
        return verdict(figure, False, "; ".join(year["failures"][:2]) or "not measured")
    growth = end - half
    ok = end < limit and growth <= growth_limit * end
    sizes = year["sizes"]
    quarters = ", ".join(f"week {w}: {sizes[w - 1]:,} B" for w in range(13, len(sizes) + 1, 13))
    counts = ", ".join(f"{name} {n}" for name, n in sorted(year["counts"].items()))
    return verdict(figure, ok, (
        f"{quarters}; growth from week {year['weeks'] // 2} to {year['weeks']}: {growth:+,} B "
        f"({growth / end:+.1%} of the item); {counts}; tier changes: {', '.join(year['tier_changes']) or 'none'}. "
        f"Bounded by the rules' own limits: point batches by earning month (at most afterMonths + 1 = "
        f"{year['expiry_months'] + 1}), tier earnings by month (at most windowMonths), the 10 newest closed vouchers "
        f"plus open ones, one day of promotion uses, the last 3 visit days"))


def upkeep_verdicts(upkeep: dict) -> list[dict[str, str]]:
    results = []
    limit, constant = upkeep["reads_per_change_limit"], upkeep["constant_reads"]
    for run in upkeep["runs"]:
        result = run["result"]
        changed = result.get("membersUpdated", 0)
        ok = (run["items_read"] <= limit * changed + constant and changed == run["due"] and not run["failed_calls"]
              and result.get("complete") is True)
        results.append(verdict(
            f"upkeep job at {run['members']:,} members reads at most {limit} items per member changed + {constant} "
            f"(one per index shard)", ok,
            f"{run['items_read']} items read for {changed} members changed ({run['due_expiring']} with points "
            f"expiring, {run['due_grace']} with a tier grace ending due; {result.get('pointsExpired', 0)} points "
            f"expired, {result.get('tiersChanged', 0)} tiers changed) in {run['request_count']} requests: "
            + ", ".join(f"{api} {n}" for api, n in run["requests"].items()) + f"; {run['seconds']:.1f} s"
            + (f"; the job failed: {result['error']}" if result.get("error") else "")))
    if len(upkeep["runs"]) >= 2:
        first, last = upkeep["runs"][0], upkeep["runs"][-1]
        results.append(verdict(
            f"upkeep job: same DynamoDB requests at {first['members']:,} and {last['members']:,} members",
            first["requests"] == last["requests"],
            f"{first['requests']} vs {last['requests']} ({first['due']} members due each)"))
    return results


def hot_key_verdicts(hot_keys: dict | None) -> list[dict[str, str]]:
    figure = "hottest item's writes per second, chain of 500 locations at 100 scans/s"
    if not hot_keys:
        return [verdict(figure, None, "skipped (--hot-scans 0)")]
    limit = hot_keys["limit_writes_per_second"]
    figure = (f"hottest item's writes per second, chain of {hot_keys['locations']} locations at "
              f"{hot_keys['scans_per_second']} scans/s: at most {limit:g}")
    ok = hot_keys["hottest_writes_per_second"] <= limit and not hot_keys["failures"]
    detail = (f"{hot_keys['hottest_writes_per_second']:g} writes/s to one {hot_keys['hottest_kind']} item "
              f"({hot_keys['hottest_writes']} writes in {hot_keys['scans']:,} scans)")
    if hot_keys["failures"]:
        detail += f"; {hot_keys['failures']} scans failed, e.g. {hot_keys['failure_examples'][0]}"
    return [verdict(figure, ok, detail)]


def cold_start_verdicts(cold: dict | None) -> list[dict[str, str]]:
    if cold is None:
        return [verdict("cold start of every handler", None, "skipped (--import-runs 0)")]
    if cold.get("error"):
        return [verdict("cold start of every handler", False, cold["error"])]
    limit = cold["ratio_limit"]
    results = []
    for name, entry in cold["handlers"].items():
        results.append(verdict(
            f"cold import of {name} <= {limit}x boto3 client", entry["ratio"] <= limit,
            f"median ratio {entry['ratio']:.2f}x ({entry['median_ms']:.0f} ms vs {cold['baseline_ms']:.0f} ms, "
            f"medians of {cold['runs']} paired runs)"))
    project = sum(entry["project_modules"] for entry in cold["handlers"].values())
    recompiled = sorted({m for entry in cold["handlers"].values() for m in entry["project_recompiled"]})
    dependencies = sum(entry["dependency_recompiled"] for entry in cold["handlers"].values())
    results.append(verdict(
        "the shipped .pyc files are used (no module compiled from source at import)",
        not recompiled and not dependencies,
        f"{len(recompiled)} of {project} project modules recompiled over all handlers"
        + (f" ({', '.join(recompiled[:5])})" if recompiled else "")
        + f"; {dependencies} dependency modules recompiled"))
    return results


# --- printing -----------------------------------------------------------------------------------------

def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def print_report(summaries: list[dict], verdicts: list[dict], population: dict, totals: Counter,
                 server_totals: Counter | None, hot_keys: dict | None, cold: dict | None, settings: dict) -> None:
    out = print
    out("")
    out("Bywalec bench: handlers in-process (local HTTP API) against the embedded DynamoDB (moto"
        + (", stock" if settings["stock_moto"] else ", transaction backup patched") + ")")
    out(f"Population: {population['note']}")
    out("Capacity from item sizes (see infra/dynamodb_meter.py): writes 1 WCU/KB of the larger of the item")
    out("  before and after, x2 in transactions; index writes apart; reads 1 RCU/4KB consistent, 0.5 eventual.")
    out("")
    header = (f"{'operation':<50}{'n':>5}  {'round trips':>11} {'warm max':>8} {'limit':>5} {'refills':>7}  "
              f"{'items':>5} {'WCU':>6} {'idx WCU':>7} {'RCU':>5}  {'p50 ms':>7} {'p95 ms':>7}")
    out(header)
    out("-" * len(header))
    for s in summaries:
        rt, per = s["round_trips"], s["per_request"]
        warm_max = rt["warm_max"] if rt["warm_requests"] else "-"
        out(f"{s['name']:<50}{s['requests']:>5}  {_fmt(rt['mean']):>11} {warm_max:>8} {s['limit'] or '-':>5} "
            f"{rt['cache_refill_requests']:>7}  {_fmt(per['items_written']):>5} {_fmt(per['wcu']):>6} "
            f"{_fmt(per['index_wcu']):>7} {_fmt(per['rcu']):>5}  {_fmt(s['handler_ms']['p50'], 1):>7} "
            f"{_fmt(s['handler_ms']['p95'], 1):>7}")
    out("(per request; round trips = DynamoDB requests; refills = requests that re-read the cached merchant or key;")
    out(" handler times include a local HTTP round trip to moto per request: compare them with each other only)")
    out("")
    out("DynamoDB requests by API name, and what they were (mean per request):")
    for s in summaries:
        apis = "  ".join(f"{api} {_fmt(v)}" for api, v in s["requests_by_api_per_request"].items())
        out(f"  {s['name']}: {apis}")
        for shape, v in s["call_shapes_per_request"].items():
            out(f"      {_fmt(v)}  {shape}")
        for note in s["size_notes"]:
            out(f"      note: {note}")
        for failure in s["failure_examples"]:
            out(f"      FAILED REQUEST: {failure}")
        if s["server_cross_check_mismatches"]:
            out(f"      WARNING: the server saw a different number of requests than the client hook in "
                f"{s['server_cross_check_mismatches']} requests")
    out("")
    all_apis = ", ".join(f"{api} {count}" for api, count in sorted(totals.items()))
    out(f"All DynamoDB requests of the run through the handlers (setup included): {all_apis}")
    if server_totals is not None:
        agree = server_totals == totals
        out("  the embedded server counted " + ("the same." if agree else
            "differently: " + ", ".join(f"{a} {c}" for a, c in sorted(server_totals.items()))))
    if hot_keys:
        print_hot_keys(hot_keys)
    if cold:
        print_cold_starts(cold)
    out("")
    out("Figures:")
    for v in verdicts:
        out(f"  {v['verdict']:<5} {v['figure']}: {v['detail']}")
    out("")


def print_hot_keys(hot_keys: dict) -> None:
    print("")
    print(f"Hot keys: {hot_keys['scans']:,} member scans over {hot_keys['locations']} locations, scaled to "
          f"{hot_keys['scans_per_second']} scans/s ({hot_keys['writes']:,} writes to {hot_keys['items_written']:,} "
          "items); the hottest item of each kind:")
    print(f"  {'key kind':<44} {'items':>6} {'writes':>7} {'hottest':>8} {'writes/s':>9}")
    for kind in hot_keys["kinds"]:
        print(f"  {kind['kind']:<44} {kind['items']:>6} {kind['writes']:>7} {kind['hottest_writes']:>8} "
              f"{kind['hottest_writes_per_second']:>9.2f}")
    print("  (member items are written once per member here: their rate is an upper bound, see infra/bench/hotkeys.py)")


def print_cold_starts(cold: dict) -> None:
    print("")
    if cold.get("error"):
        print(f"Cold starts: {cold['error']}")
        return
    print(f"Cold starts: each handler imported from the zipped, unzipped, read-only artefacts by Python "
          f"{cold['python'].split()[0]},")
    print(f"  next to {cold['baseline']} (boto3 on its own, compiled); median of {cold['runs']} paired runs:")
    print(f"  {'':<24} {'import':>8} {'ratio':>6} {'GC':>6}  {'recompiled':>14}  {'without .pyc':>12}")
    print(f"  {'boto3 client (baseline)':<24} {cold['baseline_ms']:>5.0f} ms  1.00x {cold['baseline_gc_ms']:>3.0f} ms"
          f"  {cold['baseline_recompiled']:>4} of {cold['baseline_modules']:<6}")
    for name, entry in cold["handlers"].items():
        recompiled = f"{len(entry['project_recompiled'])} of {entry['project_modules']}"
        print(f"  {name:<24} {entry['median_ms']:>5.0f} ms {entry['ratio']:>5.2f}x {entry['gc_median_ms']:>3.0f} ms"
              f"  {recompiled:>14}  {entry['without_pyc_ms']:>9.0f} ms")
    print("  (recompiled: project modules the loader compiled from source; 'without .pyc' is one control run on")
    print("   a copy without bytecode, where every module is compiled from source)")
    print("  Heaviest imports beyond the baseline (ms of own module code under -X importtime, median of 3):")
    for name, entry in cold["handlers"].items():
        packages = ", ".join(f"{h['name']} {h['ms']:.0f}" for h in entry["heaviest_packages"])
        modules = ", ".join(f"{h['name']} {h['ms']:.0f}" for h in entry["heaviest_modules"][:5])
        print(f"    {name}: by package: {packages}")
        print(f"    {'':<{len(name)}}  by module: {modules}")
    print("  (-X importtime charges a garbage collection to the module being imported when it runs)")
