"""Routes anyone may call: a merchant's mobile card page and the health check."""

from __future__ import annotations

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
