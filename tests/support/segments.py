"""A café whose members fall into known segments, built through the API on days counted back from TODAY."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.support.world import Member, MerchantWorld, new_address

TODAY = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
Clock = Callable[[datetime], None]  # moves the services' clock to an instant


def days_before(days: int) -> datetime:
    return TODAY - timedelta(days=days)


def visit(world: MerchantWorld, at: Clock, member: Member, days: int) -> None:
    at(days_before(days))
    assert world.scan(member, source_ip=new_address()).status == 200


def join(world: MerchantWorld, at: Clock, days: int, **extra) -> Member:
    at(days_before(days))
    return world.enroll(**extra)


def open_cafe(world: MerchantWorld, other_world: MerchantWorld, at: Clock) -> dict[str, str]:
    """The café's members by the segment they show (member ids), and two members of another business; the
    clock is left at TODAY."""
    people = {
        "lapsed": join(world, at, 120),
        "weekly_then_gone": join(world, at, 70),
        "regular": join(world, at, 20),
        "newcomer": join(world, at, 5),
        "birthday": join(world, at, 1, birthday="1990-11-25"),
    }
    visit(world, at, people["lapsed"], 120)
    for days in (70, 63, 56, 49):
        visit(world, at, people["weekly_then_gone"], days)
    for days in (20, 10, 2):
        visit(world, at, people["regular"], days)
    visit(world, at, people["newcomer"], 5)
    at(days_before(3))
    assert world.staff_scan(people["newcomer"], amount=50000, receipt_id="big-spend").status == 200
    for days in (150, 100):
        stranger = join(other_world, at, days, birthday="1980-11-02")
        visit(other_world, at, stranger, days)
    at(TODAY)
    return {name: member.member_id for name, member in people.items()}
