"""Benchmark: DynamoDB round trips, capacity and handler time per user path, hot keys, and cold starts.

`python -m infra.bench [--members N] [--large N] [--ops N] [--hot-scans N] [--campaign-members N]
[--rules-members N] [--rules-weeks N] [--insights-members N] [--csv-import-rows N] [--skip-paths]
[--import-runs N] [--dashboard-loads N] [--json PATH]`
(what `make bench` runs)
measures the following and exits 1 when any figure fails its verdict:
- the paths users take (scenario.py), through the real handlers in this process (driver.py) against the
  embedded moto DynamoDB: per operation, DynamoDB requests by API name, items written, write and read
  capacity units computed from item sizes (infra/dynamodb_meter.py) and p50/p95 handler time, with
  round-trip verdicts on warm requests; the member scan again after the table is bulk-loaded
  (loader.py) to `--large` members;
- hot keys (hotkeys.py): the item written most often by member scans of a chain of 500 locations,
  as writes per second at 100 scans a second;
- campaign runs (campaign_runs.py): what a birthday and a win-back run read at two populations;
- program rules (rules.py): member scans under tiers, promotions, item points, expiry and surprises at
  two populations, one member's item after a year of weekly visits, POS sales and refunds, and the
  upkeep job (points expiry, tier downgrades) at two populations with the same members due;
- insights (insights.py): a 90-day insights request over rollups of half a year of history, counted by the stream
  consumer, at two populations: the same requests and items read (O(days)), and p50;
- CSV member import (csv_import.py): rows per second of the import worker on a realistic file, and the
  projected time for 200,000 rows;
- cold starts (coldstart.py): each handler imported as Lambda loads it, next to a bare boto3 client
  (`--import-runs`: Python module imports, not the CSV import);
- the owner's dashboard (dashboard.py): bytes of a first load and the time until every chart is drawn, in headless
  Chromium against the local stack.
Each part but the user paths is skipped with a 0 (`--skip-paths` skips those), to run one part alone.
Figures and verdicts are printed (report.py) and written as JSON.

moto's TransactWriteItems deep-copies the whole table (its cost grows with the table);
infra/local/dynamodb.py removes that in this process unless --stock-moto is given.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.bench import campaign_runs, coldstart, csv_import, dashboard, hotkeys, insights, report, rules, scenario
from infra.bench.driver import Driver
from infra.bench.stats import summarize
from infra.template import ROOT, ensure_table, load_template

DEFAULT_MEMBERS = 1_000
DEFAULT_LARGE = 10_000
DEFAULT_OPS = 100
DEFAULT_HOT_SCANS = 500
DEFAULT_IMPORT_RUNS = 5
REGION = "eu-central-1"
TABLE_NAME = "bywalec-bench"


def configure_environment(endpoint: str) -> dict[str, str]:
    env = {
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench", "TABLE_NAME": TABLE_NAME, "LOYALTY_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "LOYALTY_SIGNING_KEY": secrets.token_urlsafe(32), "PUBLIC_BASE_URL": "http://bench.invalid",
        "POWERTOOLS_SERVICE_NAME": "bywalec", "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        # moto answers a Query on an index by reading the whole table: at 20,000 members one can take longer
        # than the 5 s a deployed function waits.
        "DYNAMODB_READ_TIMEOUT_SECONDS": "120",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "CACHE_TTL_SECONDS"):
        os.environ.pop(name, None)
    os.environ.update(env)
    return env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=DEFAULT_MEMBERS,
                        help="members enrolled through the handler (the first population); default %(default)s")
    parser.add_argument("--large", type=int, default=DEFAULT_LARGE,
                        help="second population for the member-scan measurement, reached by bulk-loading "
                             "member items; 0 skips it; default %(default)s")
    parser.add_argument("--ops", type=int, default=DEFAULT_OPS, help="measured requests per operation; "
                        "default %(default)s")
    parser.add_argument("--hot-scans", type=int, default=DEFAULT_HOT_SCANS,
                        help="member scans of the 500-location chain for the hot-key figure (0 skips); "
                             "default %(default)s")
    parser.add_argument("--campaign-members", type=int, default=campaign_runs.POPULATIONS[-1],
                        help="the larger population of the campaign-run measurement (the smaller is "
                             f"{campaign_runs.POPULATIONS[0]:,}); 0 skips it; default %(default)s")
    parser.add_argument("--rules-members", type=int, default=rules.POPULATIONS[-1],
                        help="the larger population of the program-rules measurement (member scans under every rule, "
                             f"POS sales and refunds, the upkeep job; the smaller is {rules.POPULATIONS[0]:,}); "
                             "0 skips it; default %(default)s")
    parser.add_argument("--rules-weeks", type=int, default=rules.WEEKS,
                        help="weekly visits of the one member whose item is sized (0 skips it); default %(default)s")
    parser.add_argument("--insights-members", type=int, default=insights.POPULATIONS[-1],
                        help="the larger population of the insights measurement (a 90-day request over rollups "
                             f"of half a year of history; the smaller is {insights.POPULATIONS[0]:,}); 0 skips it; "
                             "default %(default)s")
    parser.add_argument("--csv-import-rows", type=int, default=csv_import.DEFAULT_ROWS,
                        help="rows of the CSV member-import file run through the import worker (0 skips); "
                             "default %(default)s")
    parser.add_argument("--skip-paths", action="store_true",
                        help="do not run the user paths (scenario.py), to run other parts alone")
    parser.add_argument("--import-runs", type=int, default=DEFAULT_IMPORT_RUNS,
                        help="paired cold-start runs per handler: Python module imports, not the CSV member "
                             "import (0 skips); default %(default)s")
    parser.add_argument("--dashboard-loads", type=int, default=dashboard.DEFAULT_LOADS,
                        help="first loads of the owner's dashboard in headless Chromium (0 skips); default %(default)s")
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results.json",
                        help="where to write the figures (default: bench-results.json at the repository root)")
    parser.add_argument("--stock-moto", action="store_true",
                        help="keep moto's whole-table copy per transaction (handler times then grow with the table)")
    args = parser.parse_args(argv)
    if args.ops < 1:
        parser.error("--ops must be at least 1")
    needed = scenario.members_needed(args.ops, args.large)
    if args.members < needed and not args.skip_paths:
        parser.error(f"--members must be at least {needed} for --ops {args.ops} (fresh members for every measured "
                     "scan, claim and redemption)")
    if 0 < args.hot_scans < hotkeys.CHAIN_LOCATIONS:
        parser.error(f"--hot-scans must be 0 or at least {hotkeys.CHAIN_LOCATIONS} (one scan per location; fewer "
                     "scans would over-count each item's share of the chain's scans)")
    if 0 < args.rules_members < 4 * args.ops + 300:
        parser.error(f"--rules-members must be 0 or at least {4 * args.ops + 300} for --ops {args.ops} (members to "
                     "scan and to sell to, beyond the ones due for upkeep)")
    if args.rules_weeks < 0 or args.rules_weeks % 2:
        parser.error("--rules-weeks must be 0 or an even number (the growth figure compares the two halves)")
    if args.large and args.large <= args.members and not args.skip_paths:
        parser.error("--large must exceed --members (or be 0)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    from infra.dynamodb_meter import Meter, ServerCounter
    from infra.local.dynamodb import EmbeddedDynamoDB

    dynamodb = EmbeddedDynamoDB(host="127.0.0.1", table_sized_transactions=args.stock_moto)
    endpoint = dynamodb.start()
    server = None
    inner = getattr(dynamodb, "_server", None)
    if inner is not None and getattr(inner, "app", None) is not None:
        server = inner.app = ServerCounter(inner.app)
    env = configure_environment(endpoint)
    hot_keys: dict | None = None
    campaigns: dict | None = None
    rules_figures: dict | None = None
    insights_figures: dict | None = None
    csv_figures: dict | None = None
    try:
        import boto3

        def new_client() -> Any:
            return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)

        template = load_template()
        ensure_table(new_client(), TABLE_NAME, template)
        server_start = server.snapshot() if server else Counter()
        meter = Meter(new_client)
        meter.install()

        from infra.local.http_api import HttpApi
        from infra.local.lambda_runtime import LambdaRuntime

        # Handlers in this process, one at a time.
        api = HttpApi(LambdaRuntime(template=template, root=ROOT, region=REGION))
        driver = Driver(api, meter, server)
        if args.skip_paths:
            paths = scenario.PathsResult([], {"small": 0, "large": None, "note": "user paths skipped (--skip-paths)"})
        else:
            paths = scenario.run_paths(driver, meter, env["LOYALTY_ADMIN_TOKEN"], args.members, args.large, args.ops,
                                       log)
        summaries = [summarize(op) for op in paths.operations]
        totals = Counter(meter.totals)
        server_totals = (server.snapshot() - server_start) if server else None
        if args.hot_scans > 0:
            hot_keys = hotkeys.measure_hot_keys(driver, meter, env["LOYALTY_ADMIN_TOKEN"], args.hot_scans, log)
        if args.campaign_members > 0:
            sizes = tuple(sorted({min(campaign_runs.POPULATIONS[0], args.campaign_members), args.campaign_members}))
            campaigns = campaign_runs.measure_campaign_runs(driver, meter, env["LOYALTY_ADMIN_TOKEN"], log, sizes)
        if args.rules_members > 0:
            sizes = tuple(sorted({min(rules.POPULATIONS[0], args.rules_members), args.rules_members}))
            measured = rules.measure_rules(driver, meter, env["LOYALTY_ADMIN_TOKEN"], args.ops, log, sizes,
                                           args.rules_weeks)
            summaries += [summarize(op) for op in measured.operations]
            rules_figures = measured.figures
        if args.insights_members > 0:
            sizes = tuple(sorted({min(insights.POPULATIONS[0], args.insights_members), args.insights_members}))
            insights_figures = insights.measure_insights(driver, meter, env["LOYALTY_ADMIN_TOKEN"], log, sizes)
        if args.csv_import_rows > 0:
            csv_figures = csv_import.measure_csv_import(driver, meter, env["LOYALTY_ADMIN_TOKEN"],
                                                        args.csv_import_rows, log)
        meter.uninstall()
        close = getattr(api, "close", None)
        if close:
            close()
    finally:
        dynamodb.stop()

    cold: dict | None = None
    if args.import_runs > 0:
        log(f"cold starts: {args.import_runs} paired runs per handler")
        cold = coldstart.measure_cold_starts(args.import_runs, log)
    dashboard_figures: dict | None = None
    if args.dashboard_loads > 0:
        log(f"dashboard: {args.dashboard_loads} first loads in headless Chromium against the local stack")
        dashboard_figures = dashboard.measure_dashboard(args.dashboard_loads, log)
    verdicts = report.figures(summaries, totals, server_totals, paths.population, hot_keys, cold, campaigns,
                              paths.segment_recounts, rules_figures)
    verdicts += insights.verdicts(insights_figures)
    verdicts += csv_import.verdicts(csv_figures)
    verdicts += dashboard.verdicts(dashboard_figures)
    settings = {"members": args.members, "large": args.large, "ops": args.ops, "hot_scans": args.hot_scans,
                "campaign_members": args.campaign_members, "rules_members": args.rules_members,
                "rules_weeks": args.rules_weeks, "insights_members": args.insights_members,
                "csv_import_rows": args.csv_import_rows, "skip_paths": args.skip_paths,
                "import_runs": args.import_runs, "dashboard_loads": args.dashboard_loads,
                "stock_moto": args.stock_moto, "python": sys.version.split()[0],
                "cache_ttl_seconds": float(os.environ.get("CACHE_TTL_SECONDS") or 30)}
    report.print_report(summaries, verdicts, paths.population, totals, server_totals, hot_keys, cold, settings)
    results = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": settings,
        "population": paths.population,
        "method": {
            "round_trips": "DynamoDB requests per HTTP request, counted by a wrapper of botocore's "
                           "BaseClient._make_api_call and cross-checked by counting requests at the embedded server",
            "warm": "a request that did not re-read the cached merchant (program) or API key; in this process "
                    "all handlers share those caches (on Lambda each function's containers have their own)",
            "item_size": "sum of attribute name lengths and value sizes (numbers: significant digits / 2 + 1; "
                         "lists and maps: 3 + 1 per element)",
            "write_capacity": "1 WCU per started KB of the larger of the item before and after (strongly consistent "
                              "reads of every written key right before and after the request, not counted), "
                              "x2 in TransactWriteItems; index writes reported separately at 1 WCU per KB",
            "read_capacity": "1 RCU per started 4 KB strongly consistent, 0.5 eventually consistent, x2 in "
                             "transactions, from the sizes of the items returned",
            "handler_time": "wall time of HttpApi.handle minus the meter's own reads; includes local HTTP round "
                            "trips to moto",
            "hot_keys": "writes per item over member scans round-robin over the chain's locations, one member each, "
                        "scaled: writes / scans x scans per second",
            "dashboard": "fresh browser context per load with the owner key in session storage; bytes from Chromium's "
                         "network events (encodedDataLength received plus request line, headers and body sent); "
                         "time: the page's charts-drawn performance mark; median of the loads after one warm-up",
            "cold_start": "import of the handler module from the zipped and unzipped artefacts by the runtime's "
                          "Python version in a fresh isolated process; median of per-pair ratios against "
                          "`import boto3; boto3.client('dynamodb')` run next to it",
        },
        "operations": summaries,
        "requests_by_api_whole_run": dict(totals),
        "server_requests_by_api_whole_run": dict(server_totals) if server_totals is not None else None,
        "hot_keys": hot_keys,
        "campaign_runs": campaigns,
        "program_rules": rules_figures,
        "insights": insights_figures,
        "csv_import": csv_figures,
        "segment_recounts": paths.segment_recounts,
        "cold_starts": cold,
        "dashboard": dashboard_figures,
        "figures": verdicts,
        "elapsed_seconds": round(time.monotonic() - started, 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shown = args.json.resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    log(f"figures written to {shown}; {sum(v['verdict'] == report.FAIL for v in verdicts)} verdicts failed")
    return report.exit_status(verdicts)


if __name__ == "__main__":
    raise SystemExit(main())
