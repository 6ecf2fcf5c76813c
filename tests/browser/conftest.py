"""The web pages in headless Chromium (Playwright), against the session's local server, on a phone's screen.

Playwright cannot download its own browsers here: the tests drive Debian's ``chromium`` package
(``apt-get install chromium``; .ci/run installs it). The pages link to the public base URL the tests configure
(``site``); the browser reaches it as a phone would reach the deployed domain, each request answered by the
local server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.clients import HttpClient
from tests.support.world import create_world

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 30_000
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "en-GB", "timezone_id": "Europe/Warsaw"}


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright

    # A page waits for the local server, whose functions start cold in their own processes on a busy machine.
    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def site(server) -> str:
    """The public base URL the pages and their links use."""
    return server.env["PUBLIC_BASE_URL"]


LAPTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB", "timezone_id": "Europe/Warsaw"}


def _tab(chromium, server, site, options: dict):
    """A fresh browser tab: its own storage, so nothing is remembered from another test."""
    context = chromium.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)

    def to_local_server(route) -> None:
        route.fulfill(response=route.fetch(url=server.base_url + route.request.url[len(site):]))

    if site != server.base_url:
        context.route(f"{site}/**", to_local_server)
    page = context.new_page()
    yield page
    context.unroute_all(behavior="ignoreErrors")  # requests the page still had in flight (its referral panel)
    context.close()


@pytest.fixture
def phone(chromium, server, site):
    """A phone-sized tab."""
    yield from _tab(chromium, server, site, PHONE)


@pytest.fixture
def laptop(chromium, server, site):
    """A laptop-sized tab."""
    yield from _tab(chromium, server, site, LAPTOP)


@pytest.fixture(scope="session")
def api(server):
    return HttpClient(server.base_url)


@pytest.fixture
def shop(api):
    return create_world(api)
