"""CSV member import: rows per second through the real worker, and the time 200,000 rows would take.

(Not the cold-start "import runs" of coldstart.py: this is the owner's upload of customers.)

A shop is opened through the API and a fifth of the file's customers are bulk-loaded as existing members
(with their phone guards), so the file merges them. 100,000 rows with every column are about 6.5 MB, over the
5 MB upload limit, so they go as two files of 50,000 rows, as the owner would send them. The file is what a
spreadsheet in a Polish locale exports:
a byte order mark, semicolons, Windows line endings, phones in local and international formats, half with an
email, names, birthdays, points, stamps, visits, the last visit as DD.MM.YYYY, consents as tak/nie, about 1 %
bad phone numbers and 0.5 % repeated customers. It is uploaded through the HTTP handler, then the import
queue (moto's SQS) is fed to the import worker's handler in this process, two messages per invocation as the
template's event source mapping does, until it is empty; the import's counters must then add up.

The figure: rows per second of the worker (split plus every chunk), one invocation at a time on this machine
against the embedded moto DynamoDB. The projection to 200,000 rows divides by that rate and by the template's
maximum concurrency of the worker's event source (chunks touch disjoint items, so they run side by side). The
verdict asks for 15 minutes: the longest one Lambda invocation may run, which is what a merchant would wait
had the file been imported in one synchronous go, and comfortably "while she makes a coffee" for a shop's
whole customer base. The one-worker time is printed next to it.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from infra.bench.driver import Driver, bearer
from infra.bench.loader import bulk_load
from infra.bench.report import verdict
from infra.bench.scenario import create_world
from infra.template import load_template

# The worker's rate is what is projected; 20,000 rows keep `make bench` to minutes (`--csv-import-rows 100000` for the
# figure of a whole customer base uploaded as two files).
DEFAULT_ROWS = 20_000
# A spreadsheet export with every column is about 65 bytes a row: 50,000 rows are 3.3 MB, under the 5 MB limit, so
# a 100,000-row customer base is uploaded as two files (as its owner would have to).
ROWS_PER_FILE = 50_000
PROJECTED_ROWS = 200_000
LIMIT_SECONDS = 15 * 60
WORKER = "ImportWorkerFunction"
BATCH_SIZE = 2


def worker_concurrency(template: dict) -> int:
    events = template["Resources"][WORKER]["Properties"]["Events"]
    (source,) = [e["Properties"] for e in events.values() if e["Type"] == "SQS"]
    return int(source.get("ScalingConfig", {}).get("MaximumConcurrency", 1))


def realistic_files(rows: int, existing: int, rows_per_file: int = ROWS_PER_FILE,
                    seed: int = 5) -> tuple[list[bytes], dict[str, int]]:
    """The files (each under the 5 MB upload limit) and what they must give: imported, merged, failed rows."""
    rng = random.Random(seed)
    header = "Phone;Email;Name;Birthday;Points;Stamps;Visits;Last visit;Consent SMS;Consent email"
    expected = {"imported": 0, "merged": 0, "failed": 0}
    today = date(2026, 11, 1)
    files: list[bytes] = []
    for first in range(0, rows, rows_per_file):
        lines = [header]
        earlier: list[str] = []  # a file repeats its own rows; another file's are merged, not refused
        for n in range(first, min(rows, first + rows_per_file)):
            roll = rng.random()
            if roll < 0.01:
                phone, outcome = f"12{n % 1000}", "failed"  # not a phone number
            elif roll < 0.015 and earlier:
                phone, outcome = rng.choice(earlier), "failed"  # the same customer twice
            elif n % 5 == 0 and n // 5 < existing:
                phone, outcome = f"+48601{n // 5:06d}", "merged"  # loader.bulk_load's numbers
            else:
                phone, outcome = f"+48602{n:06d}", "imported"
            expected[outcome] += 1
            if outcome != "failed":
                earlier.append(phone)
            digits = phone[3:]
            shown = rng.choice([phone, f"{digits[:3]} {digits[3:6]} {digits[6:]}", digits, f"+48 {digits}"]) \
                if phone.startswith("+48") else phone
            email = f"klient{n}@example.com" if rng.random() < 0.5 and outcome != "merged" else ""
            birthday = f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(1950, 2005)}" \
                if rng.random() < 0.3 else ""
            last = today - timedelta(days=rng.randint(1, 700))
            lines.append(";".join([
                shown, email, f"Klient {n}", birthday, str(rng.randint(0, 500)), str(rng.randint(0, 9)),
                str(rng.randint(0, 60)), last.strftime("%d.%m.%Y"), rng.choice(["tak", "nie", ""]),
                rng.choice(["tak", "nie"])]))
        files.append(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return files, expected


def _queue() -> tuple[Any, str]:
    import boto3
    from loyalty.settings import get_settings

    # The embedded moto server answers for SQS as well.
    os.environ.setdefault("AWS_ENDPOINT_URL_SQS", os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])
    url = sqs.create_queue(QueueName=f"bench-imports-{int(time.time())}",
                           Attributes={"VisibilityTimeout": "1800"})["QueueUrl"]
    os.environ["IMPORT_QUEUE_URL"] = url
    get_settings.cache_clear()
    from loyalty.services import imports

    imports._sqs.cache_clear()
    return sqs, url


@contextmanager
def _counting_dynamodb_requests() -> Iterator[Counter]:
    from botocore.client import BaseClient

    counted: Counter = Counter()
    previous = BaseClient._make_api_call

    def counting(client: Any, operation: str, params: dict) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            counted[operation] += 1
        return previous(client, operation, params)

    BaseClient._make_api_call = counting
    try:
        yield counted
    finally:
        BaseClient._make_api_call = previous


def measure_csv_import(driver: Driver, meter: Any, admin_token: str, rows: int,
                       log: Callable[[str], None]) -> dict[str, Any]:
    from infra.local.queues import lambda_event

    world = create_world(driver, admin_token, name="Kawiarnia Import")
    existing = rows // 5
    log(f"csv import: {existing:,} existing members loaded, then files of {rows:,} rows in all")
    bulk_load(meter, world.merchant_id, existing, 0)
    files, expected = realistic_files(rows, existing)
    sqs, url = _queue()
    path = f"/v1/merchants/{world.merchant_id}/imports"
    started = time.perf_counter()
    import_ids = [driver.expect(202, "POST", path, data, {**bearer(world.owner_key), "Content-Type": "text/csv"})[
        "importId"] for data in files]
    upload_seconds = time.perf_counter() - started
    invocations = 0
    # The worker runs unmetered (the meter reads every written item before and after, which would be most of
    # the time); its DynamoDB requests are only counted.
    with meter.internal(), _counting_dynamodb_requests() as requests:
        started = time.perf_counter()
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH_SIZE,
                                           AttributeNames=["All"]).get("Messages", []):
            result = driver.api.runtime.invoke(WORKER, lambda_event(batch, f"arn:aws:sqs:local:0:{url}", "local"))
            invocations += 1
            if result.get("batchItemFailures"):
                raise RuntimeError(f"the worker failed on {result['batchItemFailures']}")
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)])
            if invocations % 50 == 0:
                log(f"csv import: {invocations} worker invocations, {time.perf_counter() - started:.0f} s")
        worker_seconds = time.perf_counter() - started
    statuses = [driver.expect(200, "GET", f"{path}/{import_id}", None, bearer(world.owner_key))
                for import_id in import_ids]
    counted = {key: sum(status[key] for status in statuses) for key in ("imported", "merged", "failed")}
    concurrency = worker_concurrency(load_template())
    rate = rows / worker_seconds
    return {"rows": rows, "files": len(files), "bytes": sum(map(len, files)), "existing_members": existing,
            "expected": expected, "counted": counted,
            "status": "done" if all(status["status"] == "done" for status in statuses) else "not done",
            "upload_seconds": round(upload_seconds, 2),
            "worker_seconds": round(worker_seconds, 1), "worker_invocations": invocations,
            "rows_per_second": round(rate, 1), "dynamodb_requests_per_row": round(sum(requests.values()) / rows, 2),
            "dynamodb_requests": dict(requests),
            "concurrency": concurrency, "projected_rows": PROJECTED_ROWS,
            "projected_seconds_one_worker": round(PROJECTED_ROWS / rate),
            "projected_seconds": round(PROJECTED_ROWS / rate / concurrency), "limit_seconds": LIMIT_SECONDS,
            "errors_shown": sum(len(status["errors"]) for status in statuses)}


def verdicts(figures: dict | None) -> list[dict[str, str]]:
    if figures is None:
        return [verdict("csv import: 200,000 rows within 15 minutes", None, "skipped (--csv-import-rows 0)")]
    complete = figures["status"] == "done" and figures["counted"] == figures["expected"]
    detail = (f"{figures['rows']:,} rows ({figures['files']} files, {figures['bytes'] / 1e6:.1f} MB, "
              f"{figures['existing_members']:,} existing members): upload {figures['upload_seconds']:.1f} s, "
              f"worker {figures['worker_seconds']:.0f} s in "
              f"{figures['worker_invocations']} invocations = {figures['rows_per_second']:.0f} rows/s on this machine, "
              f"{figures['dynamodb_requests_per_row']:.1f} DynamoDB requests per row; counted {figures['counted']} "
              f"(expected {figures['expected']}); {figures['projected_rows']:,} rows: "
              f"{figures['projected_seconds_one_worker'] / 60:.1f} min with one worker, "
              f"{figures['projected_seconds'] / 60:.1f} min with the template's {figures['concurrency']} concurrent "
              f"workers; limit {figures['limit_seconds'] // 60} min")
    return [verdict("csv import: 200,000 rows within 15 minutes",
                    complete and figures["projected_seconds"] <= figures["limit_seconds"], detail)]
