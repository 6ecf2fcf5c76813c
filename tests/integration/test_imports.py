"""Member imports through the handlers: upload, the worker draining the import queue (as Lambda's event source
mapping feeds it), merges, duplicates, row errors, the same file again, redelivered chunks."""

from __future__ import annotations

import json
import secrets

import boto3
import pytest

from infra.local.queues import lambda_event
from tests.support.world import new_phone

WORKER = "ImportWorkerFunction"


@pytest.fixture
def import_queue(settings_env):
    """An import queue of this test's own; ``drain`` feeds it to the worker until it is empty and returns every
    message body the worker was given."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"imports-{secrets.token_hex(4)}")["QueueUrl"]
    settings_env(IMPORT_QUEUE_URL=url)

    def receive() -> list[dict]:
        return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"]).get("Messages", [])

    class Queue:
        url = ""
        bodies: list[dict] = []

        @staticmethod
        def drain(runtime) -> list[dict]:
            while batch := receive():
                result = runtime.invoke(WORKER, lambda_event(batch, "arn:aws:sqs:eu-central-1:123:imports",
                                                             "eu-central-1"))
                assert result == {"batchItemFailures": []}, result
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)])
                Queue.bodies += [json.loads(m["Body"]) for m in batch]
            return Queue.bodies

        @staticmethod
        def take() -> list[dict]:
            """The messages waiting, removed from the queue without being worked on."""
            taken = []
            while batch := receive():
                taken += batch
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)])
            return taken

    Queue.url = url
    yield Queue
    sqs.delete_queue(QueueUrl=url)


def upload(world, csv: str | bytes, mapping: str | None = None, content_type: str = "text/csv"):
    data = csv.encode() if isinstance(csv, str) else csv
    return world.call("POST", f"/v1/merchants/{world.merchant_id}/imports", data,
                      {**world.owner, "Content-Type": content_type}, query={"mapping": mapping} if mapping else None)


def status(world, import_id: str) -> dict:
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/imports/{import_id}", headers=world.owner)
    assert reply.status == 200, reply.raw
    return reply.json


def imported(world, import_queue, runtime, csv: str, mapping: str | None = None) -> dict:
    reply = upload(world, csv, mapping)
    assert reply.status == 202, reply.raw
    import_queue.drain(runtime)
    return status(world, reply.json["importId"])


def find(world, phone: str | None = None, email: str | None = None) -> dict:
    body = {k: v for k, v in {"phone": phone, "email": email}.items() if v}
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/members/search", body, world.owner)
    assert reply.status == 200, reply.raw
    return world.call("GET", f"/v1/merchants/{world.merchant_id}/members/{reply.json['memberId']}",
                      headers=world.owner).json


def ledger_kinds(member_id: str) -> list[str]:
    from loyalty.store import members as store

    return [entry.kind for entry in store.full_ledger(member_id)]


def test_a_file_creates_members_with_their_balances_as_import_entries(world, import_queue, runtime):
    phone = new_phone()
    local = phone[3:6] + " " + phone[6:9] + " " + phone[9:]  # 600 100 200: a Polish merchant's local format
    email = f"anna-{secrets.token_hex(3)}@example.com"
    csv = ("\ufeffPhone,E-mail,Name,Birthday,Points,Stamps,Visits,Last Visit,Consent SMS,Consent Email\r\n"
           f'{local},{email},"Kowalska, Anna",1990-05-31,120,3,7,2026-10-02,tak,no\r\n')
    result = imported(world, import_queue, runtime, csv)
    assert (result["status"], result["rows"], result["imported"], result["merged"], result["failed"]) == (
        "done", 1, 1, 0, 0)
    member = find(world, phone=phone)
    assert member["name"] == "Kowalska, Anna"
    assert member["points"]["balance"] == 120 and member["stamps"] == 3 and member["visitCount"] == 7
    assert member["lastVisitAt"].startswith("2026-10-02")
    from loyalty.store import members as store

    stored = store.get_member(member["memberId"])
    assert stored.phone == phone and stored.email == email and stored.birthday == "1990-05-31"
    assert stored.consent_sms is True and stored.consent_email is False
    assert ledger_kinds(stored.member_id) == ["import"]
    _, log = store.member_with_consent_log(stored.member_id, 10)
    assert [(c.channel, c.granted, c.source) for c in log] == [("sms", True, "import")]
    # The same person joining at the till later is the imported member, not a second one.
    again = world.call("POST", f"/v1/merchants/{world.merchant_id}/members", {"phone": phone}, world.staff)
    assert again.status == 200 and again.json["memberId"] == stored.member_id


def test_a_row_of_an_existing_member_adds_its_points_and_visits(world, import_queue, runtime):
    member = world.enroll()
    before = world.profile(member)
    result = imported(world, import_queue, runtime, f"phone;points;visits;name\n{member.phone};50;4;Basia\n")
    assert (result["imported"], result["merged"], result["failed"]) == (0, 1, 0)
    after = world.profile(member)
    assert after["points"]["balance"] == before["points"]["balance"] + 50
    assert after["visitCount"] == before["visitCount"] + 4
    assert ledger_kinds(member.member_id).count("import") == 1
    assert "scan" not in ledger_kinds(member.member_id)
    # Her card still works with the token she has.
    assert world.card(member)["points"]["balance"] == after["points"]["balance"]


def test_bad_rows_are_reported_with_their_numbers_and_the_rest_is_imported(world, import_queue, runtime):
    good = new_phone()
    csv = "\n".join([
        "phone,email,points,birthday,lastVisit",
        f"{good},,10,,",                       # 1 fine
        "not a phone,,5,,",                    # 2 bad phone
        ",,5,,",                               # 3 no contact
        f"{new_phone()},,-3,,",                # 4 negative points
        f"{new_phone()},,,31.02.1990,",        # 5 a day that does not exist
        f"{new_phone()},,,,2999-01-01",        # 6 a future visit
        ",,,,",                                # blank: skipped, keeps its number
        f"{good},,7,,",                        # 8 repeats row 1
        ",bad@,1,,",                          # 9 bad email
    ]) + "\n"
    result = imported(world, import_queue, runtime, csv)
    assert (result["rows"], result["imported"], result["failed"]) == (8, 1, 7)
    errors = {e["row"]: e["message"] for e in result["errors"]}
    assert sorted(errors) == [2, 3, 4, 5, 6, 8, 9]
    assert "phone" in errors[2] and "phone number or an email" in errors[3]
    assert errors[4].startswith("points") and errors[5].startswith("birthday")
    assert "future" in errors[6] and errors[8] == "Duplicate of row 1 (same phone)." and "email" in errors[9]
    assert find(world, phone=good)["points"]["balance"] == 10


def test_the_same_file_again_is_the_same_import_and_adds_nothing(world, import_queue, runtime):
    phone = new_phone()
    csv = f"phone,points\n{phone},40\n"
    first = upload(world, csv)
    import_queue.drain(runtime)
    again = upload(world, csv)
    assert again.status == 202 and again.json["importId"] == first.json["importId"]
    import_queue.drain(runtime)
    assert find(world, phone=phone)["points"]["balance"] == 40
    # Another mapping of the same bytes is another import.
    other = upload(world, csv, mapping="phone:phone")
    assert other.json["importId"] != first.json["importId"]


def test_a_redelivered_chunk_applies_no_row_twice_and_counts_once(world, import_queue, runtime):
    phones = [new_phone() for _ in range(3)]
    reply = upload(world, "phone,points\n" + "".join(f"{p},25\n" for p in phones))
    import_queue.drain(runtime)  # the split, then the one chunk
    chunk = next(body for body in import_queue.bodies if body.get("kind") == "chunk"
                 and body["importId"] == reply.json["importId"])
    message = {"MessageId": "again", "ReceiptHandle": "r", "Body": json.dumps(chunk),
               "Attributes": {"ApproximateReceiveCount": "2"}}
    for receive in (message, {**message, "Attributes": {"ApproximateReceiveCount": "1"}}):
        result = runtime.invoke(WORKER, lambda_event([receive], "arn:aws:sqs:eu-central-1:123:imports",
                                                     "eu-central-1"))
        assert result == {"batchItemFailures": []}
    assert [find(world, phone=p)["points"]["balance"] for p in phones] == [25, 25, 25]
    result = status(world, reply.json["importId"])
    assert (result["status"], result["imported"], result["merged"]) == ("done", 3, 0)


def test_a_chunk_that_failed_halfway_finishes_on_its_retry(world, import_queue, runtime, monkeypatch):
    from loyalty.services import import_worker

    regulars = [world.enroll() for _ in range(4)]
    before = [world.profile(m)["points"]["balance"] for m in regulars]
    reply = upload(world, "phone,points\n" + "".join(f"{m.phone},10\n" for m in regulars))
    (split,) = import_queue.take()
    runtime.invoke(WORKER, lambda_event([split], "arn:aws:sqs:eu-central-1:123:imports", "eu-central-1"))
    original = import_worker._merge
    merged = []

    def crash_on_the_third(*args, **kwargs):
        if len(merged) == 2:
            raise RuntimeError("the container died")
        merged.append(original(*args, **kwargs))
        return merged[-1]

    monkeypatch.setattr(import_worker, "_merge", crash_on_the_third)
    (chunk,) = import_queue.take()
    event = lambda_event([chunk], "arn:aws:sqs:eu-central-1:123:imports", "eu-central-1")
    assert runtime.invoke(WORKER, event) == {"batchItemFailures": [{"itemIdentifier": chunk["MessageId"]}]}
    assert status(world, reply.json["importId"])["status"] == "running"
    monkeypatch.setattr(import_worker, "_merge", original)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    assert runtime.invoke(WORKER, event) == {"batchItemFailures": []}
    assert [world.profile(m)["points"]["balance"] for m in regulars] == [b + 10 for b in before]
    result = status(world, reply.json["importId"])
    assert (result["status"], result["merged"]) == ("done", 4)


def test_a_mapping_names_the_columns_of_another_system(world, import_queue, runtime):
    phone = new_phone()
    result = imported(world, import_queue, runtime, f"Telefon,Imię,Punkty\n{phone},Ola,15\n",
                      mapping="phone:Telefon,name:Imię,points:Punkty")
    assert result["imported"] == 1
    member = find(world, phone=phone)
    assert (member["name"], member["points"]["balance"]) == ("Ola", 15)


@pytest.mark.parametrize(("csv", "query", "status_code", "code", "words"), [
    ("name,points\nAnna,5\n", None, 422, "validation_error", "phone or an email column"),
    ("phone,points\n", None, 422, "validation_error", "no rows"),
    ("", None, 422, "validation_error", "empty"),
    ("Telefon\n600100200\n", "phone:Phone", 422, "validation_error", "Telefon"),
    ("phone\n+48600100200\n", "colour:Phone", 422, "validation_error", "Unknown field"),
    ("phone\n+48600100200\n", "phone", 422, "validation_error", "field:column"),
])
def test_a_file_that_cannot_be_imported_is_refused_up_front(world, import_queue, csv, query, status_code, code,
                                                            words):
    reply = upload(world, csv, mapping=query)
    assert (reply.status, reply.error_code) == (status_code, code), reply.raw
    assert words in reply.json["error"]["message"]
    assert import_queue.take() == []


def test_wrong_media_type_non_utf8_and_a_6_mb_body_are_refused(world, import_queue):
    assert upload(world, "phone\n+48600100200\n", content_type="application/json").status in (400, 415)
    assert upload(world, "phone\n+48600100200\n", content_type="text/plain").status == 415
    latin = upload(world, "phone,name\n+48600100200,Zo\u017cka\n".encode("cp1250"))
    assert latin.status == 422 and "UTF-8" in latin.json["error"]["message"]
    big = upload(world, "phone\n" + "+48600100200\n" * (6 * 1024 * 1024 // 13))  # API Gateway's limit
    assert (big.status, big.error_code) == (413, "payload_too_large")
    over = upload(world, "phone\n" + "+48600100200\n" * (5_500_000 // 13))  # reaches the function
    assert (over.status, over.error_code) == (413, "payload_too_large") and "5 MB" in over.json["error"]["message"]
    assert import_queue.take() == []


def test_only_the_owner_imports(world, other_world, import_queue):
    assert upload(world, "phone\n+48600100200\n").status == 202
    staff = world.call("POST", f"/v1/merchants/{world.merchant_id}/imports", b"phone\n+48600100201\n",
                       {**world.staff, "Content-Type": "text/csv"})
    assert staff.status == 403
    other = world.call("POST", f"/v1/merchants/{world.merchant_id}/imports", b"phone\n+48600100202\n",
                       {**other_world.owner, "Content-Type": "text/csv"})
    assert other.status == 404  # another merchant's owner learns nothing of this one
    unknown = world.call("GET", f"/v1/merchants/{world.merchant_id}/imports/imp_nope", headers=world.owner)
    assert unknown.status == 404


def test_a_100000_row_file_is_accepted_and_split_into_chunks_within_the_message_limit(world, import_queue,
                                                                                       runtime):
    rows = "".join(f"+48601{n:06d},{n % 50},Guest {n}\n" for n in range(100_000))
    reply = upload(world, "phone,points,name\n" + rows)
    assert reply.status == 202, reply.raw
    assert status(world, reply.json["importId"])["rows"] == 100_000
    (split,) = import_queue.take()
    assert runtime.invoke(WORKER, lambda_event([split], "arn:aws:sqs:eu-central-1:123:imports",
                                               "eu-central-1")) == {"batchItemFailures": []}
    chunks = import_queue.take()
    assert len(chunks) == 400  # 250 rows each
    assert max(len(m["Body"].encode()) for m in chunks) < 256 * 1024
    numbers = [row["row"] for m in chunks for row in json.loads(m["Body"])["rows"]]
    assert sorted(numbers) == list(range(1, 100_001))
    # The first chunk applied through the worker: its 250 new members are counted on the running import.
    first = next(m for m in chunks if json.loads(m["Body"])["chunk"] == 0)
    runtime.invoke(WORKER, lambda_event([first], "arn:aws:sqs:eu-central-1:123:imports", "eu-central-1"))
    progress = status(world, reply.json["importId"])
    assert (progress["status"], progress["imported"]) == ("running", 250)


def test_two_deliveries_of_one_chunk_at_once_apply_each_row_once(world, import_queue, runtime):
    """SQS may hand one message to two workers: the loser's batch fails on the rows' records and each of its
    rows then finds the winner's record."""
    from concurrent.futures import ThreadPoolExecutor

    from loyalty.services import import_worker

    phones = [new_phone() for _ in range(12)]
    regular = world.enroll()
    reply = upload(world, "phone,points\n" + "".join(f"{p},7\n" for p in [*phones, regular.phone]))
    (split,) = import_queue.take()
    runtime.invoke(WORKER, lambda_event([split], "arn:aws:sqs:eu-central-1:123:imports", "eu-central-1"))
    (chunk,) = import_queue.take()
    body = json.loads(chunk["Body"])
    before = world.profile(regular)["points"]["balance"]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: import_worker.apply_chunk(body), range(2)))
    assert results == [{"imported": 12, "merged": 1}] * 2
    assert [find(world, phone=p)["points"]["balance"] for p in phones] == [7] * 12
    assert world.profile(regular)["points"]["balance"] == before + 7
    result = status(world, reply.json["importId"])
    assert (result["status"], result["imported"], result["merged"]) == ("done", 12, 1)


def test_the_file_is_deleted_once_its_rows_are_queued_and_a_late_split_does_nothing(world, import_queue, runtime):
    from loyalty.store import imports as store
    from loyalty.store import keys
    from loyalty.store.models import ImportFilePartItem

    phone = new_phone()
    reply = upload(world, f"phone,name\n{phone},Ewa\n")
    (split,) = import_queue.take()
    job = store.get(world.merchant_id, reply.json["importId"])
    pk, prefix = keys.import_file_parts(world.merchant_id, job.import_id)
    assert len(list(ImportFilePartItem.query(pk, ImportFilePartItem.sk.startswith(prefix)))) == 1
    event = lambda_event([split], "arn:aws:sqs:eu-central-1:123:imports", "eu-central-1")
    runtime.invoke(WORKER, event)
    assert list(ImportFilePartItem.query(pk, ImportFilePartItem.sk.startswith(prefix))) == []
    assert runtime.invoke(WORKER, event) == {"batchItemFailures": []}  # the split delivered again
    assert len(import_queue.take()) == 1  # the one chunk, queued once
