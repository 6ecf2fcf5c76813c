"""A client generated from docs/openapi.json by openapi-python-client gets typed replies, not dicts.

The generated package talks to the handlers in-process (an httpx transport in front of the local
API), so this is the walk a client developer takes: generate, import, call, read typed attributes.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from datetime import datetime

import httpx
import pytest

from infra.local.http_api import HttpRequest
from infra.template import ROOT

PACKAGE = "bywalec_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Generate the client once (offline; no formatting hooks), import it from a temp dir."""
    where = tmp_path_factory.mktemp("client")
    config = where / "config.json"
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": PACKAGE}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(ROOT / "docs" / "openapi.json"),
         "--meta", "none", "--output-path", str(where / PACKAGE), "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # nothing of the document was skipped
    sys.path.insert(0, str(where))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _client(generated, handlers, token: str, header: str = "X-Member-Token", prefix: str = ""):
    def handle(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode()
        response = handlers.api.handle(HttpRequest(request.method, target, list(request.headers.items()),
                                                request.content))
        return httpx.Response(response.status, headers=response.headers, content=response.body)

    return generated("client").AuthenticatedClient(
        base_url="http://loyalty.test", token=token, auth_header_name=header, prefix=prefix,
        httpx_args={"transport": httpx.MockTransport(handle)})


def test_the_generated_client_parses_a_scan_into_typed_models(generated, handlers, world):
    record_scan = generated("api.scans.record_scan")
    models = generated("models")
    member = world.enroll()
    client = _client(generated, handlers, member.token)

    reply = record_scan.sync_detailed(client=client, body=models.Scan(counter_code=world.counter_code()))

    assert reply.status_code == 200
    scan = reply.parsed
    assert isinstance(scan, models.ScanResult)
    assert isinstance(scan.awarded, models.Awarded)
    assert isinstance(scan.awarded.points, int) and scan.awarded.points == 30  # 10 a visit + 20 welcome
    assert [line.kind for line in scan.awarded.lines] == ["visit", "welcome"]
    assert isinstance(scan.stamps, models.Stamps) and scan.stamps.count == 1
    assert scan.next_reward.unit == models.NextRewardUnit.VISITS
    assert scan.balance == 30

    again = record_scan.sync_detailed(client=client, body=models.Scan(counter_code=world.counter_code()))
    assert again.status_code == 429
    assert isinstance(again.parsed, models.Error)
    assert again.parsed.error.code == "cooldown"


def test_the_generated_client_reads_the_card_with_times_as_datetimes(generated, handlers, world):
    get_card = generated("api.members.get_card")
    models = generated("models")
    member = world.enroll()
    world.scan(member)

    card = get_card.sync(client=_client(generated, handlers, member.token))

    assert isinstance(card, models.MyCard)
    assert isinstance(card.history[0].at, datetime)
    assert card.points.balance == 30
    assert card.qr_svg.startswith("<svg")
