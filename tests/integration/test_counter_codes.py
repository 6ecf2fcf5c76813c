"""Counter codes: signed, rotating, bound to one location of one merchant; bad ones write nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest


def _counter(world, location_index=0, fmt=None):
    location = world.locations[location_index]
    return world.call("GET", f"/v1/merchants/{world.merchant_id}/locations/{location}/counter-code",
                      headers=world.owner, query={"format": fmt} if fmt else None)


def test_counter_code_reply_has_a_url_to_the_card_page_and_a_validity_window(world):
    reply = _counter(world)
    assert reply.status == 200
    body = reply.json
    assert body["url"].startswith(f"http://loyalty.test/v1/m/{world.merchant_id}?c=")
    assert body["validFrom"] < body["validUntil"]


@pytest.mark.parametrize("fmt, content_type, magic", [
    ("svg", "image/svg+xml", b"<svg"),
    ("png", "image/png", b"\x89PNG"),
])
def test_counter_code_as_qr_image(world, fmt, content_type, magic):
    reply = _counter(world, fmt=fmt)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith(content_type)
    assert reply.raw.startswith(magic) or magic in reply.raw[:200]


def _nothing_written(world, member):
    profile = world.profile(member)
    assert profile["ledger"] == []
    assert profile["visitCount"] == 0


def _scan_code(world, member, code):
    return world.call("POST", "/v1/scans", {"counterCode": code}, member.headers)


def test_forged_code_is_rejected(world):
    member = world.enroll()
    code = world.counter_code()
    forged = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    reply = _scan_code(world, member, forged)
    assert (reply.status, reply.error_code) == (400, "invalid_counter_code")
    _nothing_written(world, member)


def test_code_moved_to_another_location_is_rejected(world):
    member = world.enroll()
    merchant, _location, window, signature = world.counter_code(0).split(".")
    moved = ".".join([merchant, world.locations[1], window, signature])
    reply = _scan_code(world, member, moved)
    assert (reply.status, reply.error_code) == (400, "invalid_counter_code")
    _nothing_written(world, member)


def test_code_of_another_merchant_is_rejected(world, other_world):
    member = world.enroll()
    reply = _scan_code(world, member, other_world.counter_code())
    assert (reply.status, reply.error_code) == (400, "invalid_counter_code")
    _nothing_written(world, member)


def test_previous_window_is_still_accepted_but_older_codes_expire(world, monkeypatch):
    from loyalty.services import clock

    member = world.enroll()
    code = world.counter_code()
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=125))
    expired = _scan_code(world, member, code)
    assert (expired.status, expired.error_code) == (410, "counter_code_expired")
    _nothing_written(world, member)

    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=60))
    assert _scan_code(world, member, code).status == 200


def test_staff_key_cannot_get_codes_for_other_locations(world):
    location = world.locations[1]
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/locations/{location}/counter-code",
                       headers=world.staff)
    assert reply.status == 403
