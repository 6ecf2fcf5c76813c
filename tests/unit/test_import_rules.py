"""CSV import rules (pure): the file's shape, the mapping, each row's normalisation, duplicates and chunks."""

from __future__ import annotations

import json
from datetime import UTC, date

import pytest
from loyalty.domain import imports as rules
from loyalty.domain.errors import ValidationFailed
from loyalty.domain.identity import country_of_timezone

TODAY = date(2026, 11, 23)
WARSAW = "Europe/Warsaw"


def rows(text: str, mapping: dict | None = None, region: str | None = "PL") -> list:
    return list(rules.checked_rows(text, mapping or {}, region=region, timezone=WARSAW, today=TODAY))


def test_a_polish_local_phone_becomes_e164_with_the_merchants_country():
    assert country_of_timezone(WARSAW) == "PL"
    assert country_of_timezone("UTC") is None
    (row,) = rows("phone\n600 100 200\n")
    assert row.phone == "+48600100200"
    (failure,) = rows("phone\n600 100 200\n", region=None)
    assert isinstance(failure, rules.RowFailure) and "country code" in failure.message


def test_bom_crlf_and_quoted_commas():
    text = rules.decode("\ufeffname,phone\r\n\"Nowak, Jan\",+48600100200\r\n".encode())
    (row,) = rows(text)
    assert (row.name, row.phone) == ("Nowak, Jan", "+48600100200")


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_semicolons_and_tabs_are_read_like_commas(delimiter):
    text = delimiter.join(["Telefon", "Imię", "Punkty"]) + "\n" + delimiter.join(["600100200", "Ola", "5"]) + "\n"
    (row,) = rows(text, rules.parse_mapping("phone:Telefon,name:Imię,points:Punkty"))
    assert (row.phone, row.name, row.points) == ("+48600100200", "Ola", 5)


def test_headers_are_matched_whatever_their_case_spaces_and_underscores():
    table, _ = rules.read_table("PHONE, Last Visit ,consent_sms,E-Mail,Extra\n", {})
    assert table.columns == {"phone": 0, "email": 3, "lastVisit": 1, "consentSms": 2}


def test_a_file_without_a_phone_or_email_column_lists_what_it_found():
    with pytest.raises(ValidationFailed) as refused:
        rules.read_table("name;points\nAnna;5\n", {})
    assert "Columns found: name, points" in refused.value.message


def test_a_mapping_to_a_missing_column_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        rules.read_table("Telefon\n600100200\n", {"phone": "Tel"})
    assert "'Tel'" in refused.value.message and "Telefon" in refused.value.message


@pytest.mark.parametrize("raw", ["phone", "colour:Kolor", "phone:"])
def test_a_malformed_mapping_is_refused(raw):
    with pytest.raises(ValidationFailed):
        rules.parse_mapping(raw)


def test_the_mapping_format():
    assert rules.parse_mapping("phone:Telefon, name : Imię,LAST_VISIT:Ostatnio") == {
        "phone": "Telefon", "name": "Imię", "lastVisit": "Ostatnio"}
    assert rules.parse_mapping(None) == {} == rules.parse_mapping(" ")


def test_non_utf8_is_refused_with_advice():
    with pytest.raises(ValidationFailed) as refused:
        rules.decode("phone,name\n+48600100200,Żaneta\n".encode("cp1250"))
    assert "CSV UTF-8" in refused.value.message


def test_every_value_is_normalised():
    (row,) = rows("email,birthday,points,stamps,visits,lastVisit,consentSms,consentEmail\n"
                  " Anna@Example.COM ,31.05.1990,1 200,3,7,02.10.2026,TAK,nie\n")
    assert row.email == "anna@example.com" and row.birthday == "1990-05-31"
    assert (row.points, row.stamps, row.visits) == (1200, 3, 7)
    assert row.last_visit_at.astimezone(UTC).isoformat() == "2026-10-02T10:00:00+00:00"  # noon in Warsaw
    assert (row.consent_sms, row.consent_email) == (True, False)


@pytest.mark.parametrize(("line", "words"), [
    ("+48600100200,,-5,,,", "points"),
    ("+48600100200,,1.5,,,", "points"),
    ("+48600100200,,,02-30,,", "birthday"),
    ("+48600100200,,,,2099-01-01,", "future"),
    ("+48600100200,,,,yesterday,", "lastVisit"),
    ("+48600100200,,,,,maybe", "consentSms"),
    ("12,,,,,", "phone"),
    (",not-an-email,,,,", "email"),
    (",,5,,,", "phone number or an email"),
])
def test_a_bad_value_fails_its_row_with_a_reason(line, words):
    (failure,) = rows("phone,email,points,birthday,lastVisit,consentSms\n" + line + "\n")
    assert isinstance(failure, rules.RowFailure) and failure.row == 1 and words in failure.message


def test_a_row_repeating_an_earlier_phone_or_email_fails_as_its_duplicate():
    found = rows("phone,email\n600100200,a@example.com\n+48 600 100 200,\n,A@example.com\n601100200,\n")
    assert [type(r).__name__ for r in found] == ["ImportRow", "RowFailure", "RowFailure", "ImportRow"]
    assert found[1].message == "Duplicate of row 1 (same phone)."
    assert found[2].message == "Duplicate of row 1 (same email)."


def test_blank_rows_are_skipped_and_keep_their_numbers():
    found = rows("phone\n600100200\n\n,\n601100200\n")
    assert [r.row for r in found] == [1, 4]
    assert rules.count_rows("phone\n600100200\n\n601100200\n", {})[1] == 2


def test_chunks_hold_at_most_their_rows_and_bytes():
    many = [rules.ImportRow(row=n, phone=f"+48600{n:06d}", name="x" * 50) for n in range(1, 1001)]
    by_rows = list(rules.chunks(iter(many), max_rows=250, max_bytes=10**9))
    assert [len(c) for c in by_rows] == [250] * 4
    by_bytes = list(rules.chunks(iter(many), max_rows=10**6, max_bytes=20_000))
    assert all(sum(len(str(r.wire())) + 8 for r in c) <= 20_000 for c in by_bytes)
    assert [r.row for c in by_bytes for r in c] == list(range(1, 1001))


def test_a_row_survives_its_trip_through_the_queue():
    (row,) = rows("phone,name,points,lastVisit,consentEmail\n600100200,Ola,4,2026-01-05,yes\n")
    assert rules.ImportRow.from_wire(row.wire()) == row


def test_chunks_are_queued_in_requests_sqs_accepts(monkeypatch, settings_env):
    """Ten messages and 256 KB per SendMessageBatch, whatever the size of each chunk."""
    from loyalty.services import imports

    sent: list[list[dict]] = []

    class Queue:
        def send_message_batch(self, QueueUrl, Entries):
            sent.append(Entries)
            return {"Successful": Entries}

    settings_env(IMPORT_QUEUE_URL="https://sqs.invalid/imports")
    monkeypatch.setattr(imports, "_sqs", Queue)
    bodies = [{"chunk": n, "rows": "x" * (60_000 if n % 3 == 0 else 1_000)} for n in range(40)]
    imports.send(bodies)
    assert [json.loads(e["MessageBody"])["chunk"] for batch in sent for e in batch] == list(range(40))
    assert all(len(batch) <= 10 and sum(len(e["MessageBody"]) for e in batch) <= 256 * 1024 for batch in sent)
