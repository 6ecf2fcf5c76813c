"""When DynamoDB throttles or a condition fails midway, callers get a clear answer and nothing is half-written."""

from __future__ import annotations

from botocore.exceptions import ClientError
from pynamodb.connection.base import Connection
from pynamodb.exceptions import TransactWriteError

from tests.support.world import new_phone


def _throttled(*args, **kwargs):
    error = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "TransactWriteItems")
    raise TransactWriteError("throttled", cause=error)


def test_throttled_transaction_is_503_with_retry_after_and_writes_nothing(world, monkeypatch):
    member = world.enroll()
    code = world.counter_code()
    monkeypatch.setattr(Connection, "transact_write_items", _throttled)

    reply = world.call("POST", "/v1/scans", {"counterCode": code}, member.headers)

    assert reply.status == 503
    assert reply.error_code == "service_unavailable"
    assert int(reply.headers["retry-after"]) >= 1
    monkeypatch.undo()
    profile = world.profile(member)
    assert (profile["visitCount"], profile["ledger"], profile["points"]["balance"]) == (0, [], 0)
    assert world.scan(member).status == 200  # the retry the phone makes later simply works


def test_losing_one_guard_leaves_no_other_part_of_the_member_behind(world):
    """The email guard loses; the member item, its phone guard and referral code guard are not written."""
    from datetime import UTC, datetime

    from loyalty.domain.model import Member
    from loyalty.store import keys
    from loyalty.store import members as store
    from loyalty.store.transaction import ConditionFailed

    world.enroll(email="taken@example.com")
    phone = new_phone()
    member = Member(member_id="mem_halfwritten0001", merchant_id=world.merchant_id, token_hash="x" * 64,
                    phone=phone, email="taken@example.com", referral_code="HALF0001", created_at=datetime.now(UTC))
    guards = [
        store.Guard(keys.phone_guard(world.merchant_id, phone), member.member_id, world.merchant_id, tag="phone"),
        store.Guard(keys.email_guard(world.merchant_id, "taken@example.com"), member.member_id, world.merchant_id,
                    tag="email"),
        store.Guard(keys.referral_code_guard(world.merchant_id, "HALF0001"), member.member_id, world.merchant_id,
                    tag="referral_code"),
    ]
    try:
        store.create_member(member, guards, timezone="Europe/Warsaw")
    except ConditionFailed as lost:
        assert lost.failed == {"email"}
    else:
        raise AssertionError("the email guard should have lost")

    assert store.get_member(member.member_id) is None
    assert store.get_guard(keys.phone_guard(world.merchant_id, phone)) is None
    assert store.get_guard(keys.referral_code_guard(world.merchant_id, "HALF0001")) is None


def test_a_transaction_whose_last_write_fails_undoes_the_earlier_ones(world):
    """The ledger entry is written before the member update fails on a stale revision: it must vanish."""
    from datetime import UTC, datetime

    from loyalty.domain.model import LedgerEntry, LedgerLine
    from loyalty.store import members as store
    from loyalty.store.transaction import ConditionFailed

    member = world.enroll()
    record = store.get_member(member.member_id)
    entry = LedgerEntry("led_rollback0001", record.member_id, record.merchant_id, datetime.now(UTC), "scan", 10, 1,
                        (LedgerLine("visit", 10, 1, "Visit"),))
    stale = store.MemberUpdate(record.member_id, expected_rev=record.rev + 7, add={"balance": 10, "stamps": 1})
    try:
        store.commit([stale], [entry])
    except ConditionFailed as lost:
        assert lost.failed == {"member"}
    else:
        raise AssertionError("a stale revision must lose")
    assert store.full_ledger(record.member_id) == []
    assert store.get_member(record.member_id).balance == 0


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


def test_throttled_key_lookup_is_503(world, monkeypatch):
    from loyalty.store import merchants
    from pynamodb.exceptions import GetError

    merchants.clear_caches()

    def throttled_get(*args, **kwargs):
        raise GetError("throttled", cause=_client_error("ProvisionedThroughputExceededException", "GetItem"))

    monkeypatch.setattr(Connection, "get_item", throttled_get)
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/program", headers=world.owner)
    assert reply.status == 503, reply.raw
    assert reply.error_code == "service_unavailable"
    assert reply.headers["retry-after"] == "1"


def test_a_transaction_cancelled_by_throttling_is_503(world, monkeypatch):
    from botocore.exceptions import ReadTimeoutError

    member = world.enroll()
    code = world.counter_code()

    def timed_out(*args, **kwargs):
        raise TransactWriteError("timeout", cause=ReadTimeoutError(endpoint_url="http://dynamodb"))

    monkeypatch.setattr(Connection, "transact_write_items", timed_out)
    reply = world.call("POST", "/v1/scans", {"counterCode": code}, member.headers)
    assert (reply.status, reply.error_code) == (503, "service_unavailable")


def test_a_timed_out_redemption_is_503_and_the_code_still_redeems_later(world, monkeypatch):
    from botocore.exceptions import ReadTimeoutError
    from pynamodb.exceptions import UpdateError

    member = world.enroll()
    world.staff_scan(member, amount=20_000, receipt_id="r")
    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member.headers).json

    def timed_out(*args, **kwargs):
        raise UpdateError("timeout", cause=ReadTimeoutError(endpoint_url="http://dynamodb"))

    with monkeypatch.context() as patch:
        patch.setattr(Connection, "update_item", timed_out)
        reply = world.call("POST", "/v1/redemptions", {"code": claim["code"]}, world.staff)
    assert (reply.status, reply.error_code) == (503, "service_unavailable")
    assert world.call("POST", "/v1/redemptions", {"code": claim["code"]}, world.staff).status == 200
