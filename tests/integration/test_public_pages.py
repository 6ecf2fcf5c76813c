"""Routes anyone may call: a merchant's mobile card page, the owner's dashboard page and the health check."""

from __future__ import annotations

import base64
import hashlib
import os
import re

from tests.support.world import create_world


def test_card_page_names_the_merchant_and_its_name_cannot_close_the_script(handlers):
    world = create_world(handlers, name="Bar </script><script>alert(1)</script>")
    reply = handlers.request("GET", f"/v1/m/{world.merchant_id}")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert reply.headers["cache-control"] == "no-cache"
    assert world.merchant_id in reply.text
    assert "Bar \\u003c/script>\\u003cscript>alert(1)\\u003c/script>" in reply.text
    assert "<script>alert(1)" not in reply.text


def test_card_page_of_an_unknown_merchant_is_not_found(handlers):
    reply = handlers.request("GET", "/v1/m/mch_does_not_exist")
    assert (reply.status, reply.error_code) == (404, "not_found")


def test_health_answers_ok(handlers):
    reply = handlers.request("GET", "/v1/health")
    assert (reply.status, reply.json) == (200, {"status": "ok"})


def _inline(html: str, element: str) -> list[str]:
    return re.findall(rf"<{element}>(.*?)</{element}>", html, re.DOTALL)


def _csp_hash(content: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(content.encode()).digest()).decode() + "'"


def test_dashboard_page_is_public_html_that_runs_only_its_own_script_and_style(handlers):
    world = create_world(handlers, name="Bar </script><script>alert(1)</script>")

    reply = handlers.request("GET", f"/v1/merchants/{world.merchant_id}/dashboard")  # no key: the page asks for it

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["referrer-policy"] == "no-referrer"
    policy = dict(part.strip().split(" ", 1) for part in reply.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["connect-src"].split() == ["'self'", os.environ["PUBLIC_BASE_URL"]]  # the API, nothing else
    scripts, styles = _inline(reply.text, "script"), _inline(reply.text, "style")
    assert len(scripts) == len(styles) == 1
    assert policy["script-src"] == _csp_hash(scripts[0])  # no 'unsafe-inline', no other origin
    assert policy["style-src"] == _csp_hash(styles[0])
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", reply.text)  # nothing loaded from anywhere else
    assert "Bar \\u003c/script>\\u003cscript>alert(1)\\u003c/script>" in reply.text
    assert "<script>alert(1)" not in reply.text


def test_dashboard_page_of_an_unknown_merchant_is_not_found(handlers):
    reply = handlers.request("GET", "/v1/merchants/mch_does_not_exist/dashboard")
    assert (reply.status, reply.error_code) == (404, "not_found")
