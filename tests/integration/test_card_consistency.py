"""GET /v1/me is one consistent view: the balance it shows is explained by the history it shows."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

NO_COOLDOWN = {"stampCard": None, "points": {"perVisit": 0, "perCurrencyUnit": 1, "welcomeBonus": 0},
               "rewards": [{"id": "cake", "name": "Slice of cake", "pointsCost": 30}],
               "rewardValidityDays": 30, "scanCooldownMinutes": 0}


def _consistent(card: dict, ledger: list) -> bool:
    """Some prefix of the full ledger ends with exactly the card's history and adds up to the card's balance."""
    shown = [(e["points"], e["label"]) for e in reversed(card["history"])]
    if not shown:
        return card["points"]["balance"] == 0
    for end in range(len(shown), len(ledger) + 1):
        window = [(e.points, e.label) for e in ledger[end - len(shown):end]]
        if window == shown and sum(e.points for e in ledger[:end]) == card["points"]["balance"]:
            return True
    return False


def test_every_card_read_during_concurrent_scans_matches_its_history(handlers):
    from loyalty.domain.access import MEMBER, STAFF, Caller
    from loyalty.requests.scans import Scan
    from loyalty.services import card, scan
    from loyalty.store import members as store

    from tests.support.world import create_world

    world = create_world(handlers, program=NO_COOLDOWN)
    member = world.enroll()
    staff = Caller(STAFF, world.merchant_id, (world.locations[0],), "key_concurrent_test")
    reader = Caller(MEMBER, member_token=member.token)
    scans, cards, errors = 40, [], []
    done = threading.Event()

    def scanner() -> None:
        try:
            for i in range(scans):  # every bill differs, so every history line is recognisable
                scan.staff_scan(staff, Scan(member_id=member.member_id, location_id=world.locations[0],
                                            amount=100 * (i + 1)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    def read() -> None:
        try:
            while not done.is_set():
                cards.append(card.my_card(reader).wire())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scanner), threading.Thread(target=read), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    assert not errors, errors
    ledger = store.full_ledger(member.member_id)
    assert len(ledger) == scans
    assert len(cards) >= 10
    inconsistent = [c["points"]["balance"] for c in cards if not _consistent(c, ledger)]
    assert inconsistent == [], f"{len(inconsistent)} of {len(cards)} card reads disagree with their history"
    assert world.card(member)["points"]["balance"] == sum(e.points for e in ledger)


def test_a_ledger_entry_the_member_item_does_not_reflect_yet_is_not_shown(world):
    """What a read straddling a commit would see: the new entry, and the member item from before it."""
    from loyalty.domain.model import LedgerEntry, LedgerLine
    from loyalty.store import members as store

    member = world.enroll()
    assert world.staff_scan(member, amount=500).status == 200
    before = world.card(member)
    ahead = LedgerEntry("led_notyetinbalance", member.member_id, world.merchant_id, datetime.now(UTC), "scan", 99, 0,
                        (LedgerLine("visit", 99, 0, "A visit still being written"),))
    store.commit([], [ahead])  # the ledger entry alone, as if its member update were not visible yet

    after = world.card(member)

    assert after["points"] == before["points"]
    assert after["history"] == before["history"]
