"""No secret at rest: after the flows that hand out secrets, with Idempotency-Keys and their replays, no
item of the table and no line the server or its functions logged holds a member token, an API key, a POS
key's signing secret or the admin token, raw or in base64, while every replay still returned the first reply
byte for byte.

The server runs in its own process with its own table. Its function processes log at DEBUG through the
root logger, as Lambda's runtime wires it, so Powertools' and botocore's own debug lines (which show
every item written) are captured too."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.clients import HttpClient
from tests.support.pos import signature
from tests.support.world import bearer, member_headers, new_phone

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
_SERVER = """
import signal, sys, threading
from infra.local.stack import start_local_stack

def _stop(*_):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, _stop)
stack = start_local_stack(port=0, concurrency=2, run_schedules=False)
print("listening on", stack.base_url, flush=True)
try:
    threading.Event().wait()
except KeyboardInterrupt:
    pass
finally:
    stack.stop()
"""


@pytest.fixture
def logged_server(tmp_path):
    log_path = tmp_path / "server.log"
    # Every process of the server, the function processes included, starts with debug logging to stderr.
    (tmp_path / "sitecustomize.py").write_text("import logging\nlogging.basicConfig(level=logging.DEBUG)\n")
    admin_token = secrets.token_urlsafe(24)
    table = f"bywalec-proof-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "TABLE_NAME": table, "LOYALTY_ADMIN_TOKEN": admin_token,
           "POWERTOOLS_LOG_LEVEL": "DEBUG", "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", _SERVER], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        # The whole address up to its line's end: the log file may be read while the line is being written.
        while not (found := re.search(r"listening on (http://[^\s/]+:\d+)\n", log_path.read_text(errors="replace"))):
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.1)
        yield HttpClient(found.group(1)), admin_token, table, log_path, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _twice(http, method, path, body, headers):
    """A request and its retry with the same Idempotency-Key: the retry gets the first reply, byte for byte."""
    first = http.request(method, path, body, headers)
    retry = http.request(method, path, body, headers)
    assert first.status in (200, 201), first.raw
    assert (retry.status, retry.raw) == (first.status, first.raw)
    return first.json


def _spellings(secret: str) -> set[str]:
    raw = secret.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {secret, *encoded, *(value.rstrip("=") for value in encoded)}


def test_no_secret_in_the_table_or_the_logs_and_replays_are_identical(logged_server):
    http, admin_token, table, log_path, process = logged_server
    key = lambda: str(uuid.uuid4())  # noqa: E731 - as the web card makes them

    merchant = _twice(http, "POST", "/v1/merchants", {"name": "Proof Café", "timezone": "Europe/Warsaw",
                                                      "currency": "PLN"},
                      {**bearer(admin_token), "Idempotency-Key": key()})
    mid, owner = merchant["merchantId"], bearer(merchant["apiKey"])
    location = _twice(http, "POST", f"/v1/merchants/{mid}/locations", {"name": "Old Town"},
                      {**owner, "Idempotency-Key": key()})["locationId"]
    staff_key = _twice(http, "POST", f"/v1/merchants/{mid}/api-keys", {"role": "staff", "locationIds": [location]},
                       {**owner, "Idempotency-Key": "staff-key-1"})["apiKey"]
    pos = _twice(http, "POST", f"/v1/merchants/{mid}/api-keys", {"role": "pos", "locationIds": [location]},
                 {**owner, "Idempotency-Key": "pos-key-1"})
    tokens = [_twice(http, "POST", f"/v1/merchants/{mid}/members",
                     {"phone": new_phone(), "consent": {"sms": True, "email": False}},
                     {"Idempotency-Key": key()})["memberToken"] for _ in range(3)]
    code = http.request("GET", f"/v1/merchants/{mid}/locations/{location}/counter-code", headers=bearer(staff_key))
    for token in tokens:
        _twice(http, "POST", "/v1/scans", {"counterCode": code.json["code"]}, member_headers(token, key()))
    _twice(http, "POST", "/v1/scans", {"memberToken": tokens[0], "locationId": location, "amount": 20_000},
           {**bearer(staff_key), "Idempotency-Key": key()})
    claim = _twice(http, "POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member_headers(tokens[0], key()))
    _twice(http, "POST", "/v1/redemptions", {"code": claim["code"]}, {**bearer(staff_key), "Idempotency-Key": key()})
    for token in tokens:
        assert http.request("GET", "/v1/me", headers={"X-Member-Token": token}).status == 200
    # The till's events are signed with the secret: it checks them from its sealed copy, as sent again.
    pos_events = f"/v1/merchants/{mid}/pos/events"
    for event in ({"type": "sale", "eventId": "e-1", "locationId": location, "receiptId": "R-1",
                   "member": {"memberToken": tokens[1]}, "amount": 5_000},
                  {"type": "refund", "eventId": "e-2", "receiptId": "R-1", "refundId": "F-1", "amount": 1_000}):
        raw = json.dumps(event).encode()
        _twice(http, "POST", pos_events, raw, {**bearer(pos["apiKey"]),
                                               "Bywalec-Signature": signature(pos["signingSecret"], int(time.time()),
                                                                              raw)})

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)

    import boto3

    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    items = [item for page in client.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]
    kept = [item for item in items if item["PK"]["S"].startswith("IDEMPOTENCY#")]
    # Every keyed request kept its reply: merchant, location, staff and POS keys, 3 joins, 4 scans, claim,
    # redemption, and the two POS events (kept under their event ids).
    assert len(kept) == 15
    stored = json.dumps(items)
    logs = log_path.read_text(errors="replace")
    # The capture works: the access log, and the functions' own debug lines with every item they wrote.
    assert "POST /v1/scans -> 200" in logs
    assert "Calling TransactWriteItems with arguments" in logs and "IDEMPOTENCY#" in logs
    assert "signing_secret" in stored  # the POS key's secret is kept, sealed, to check signatures
    secrets_handed_out = {"admin token": admin_token, "owner key": merchant["apiKey"], "staff key": staff_key,
                          "POS key": pos["apiKey"], "POS signing secret": pos["signingSecret"],
                          **{f"member token {i}": token for i, token in enumerate(tokens)}}
    for name, secret in secrets_handed_out.items():
        for spelling in _spellings(secret):
            assert spelling not in stored, f"the table holds the {name}"
            assert spelling not in logs, f"the logs hold the {name}"
