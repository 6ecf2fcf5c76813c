"""Importing members from a CSV file (pure): the file's shape, the column mapping, each row checked and
normalised, repeated rows, and the chunks the worker applies.

A file is UTF-8 (a byte order mark is dropped), with Unix or Windows line endings, quoted fields as RFC 4180
has them, and a comma, semicolon or tab between fields (a spreadsheet saved in a Polish locale uses
semicolons): the delimiter is the one under which the header names the most known columns. Columns are found
by name, case, spaces, underscores and hyphens aside (``Last Visit`` is ``lastVisit``), or by the mapping
``phone:Telefon,name:Imię`` (field:column pairs, comma separated) for files whose headers say something else;
a field the mapping leaves out is still found by its own name. Unknown columns are ignored. Data rows count
from 1 (the header is not a row); blank rows are skipped but keep their number, so an error's row is the
spreadsheet's line minus one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from loyalty.domain.errors import ValidationFailed
from loyalty.domain.identity import normalize_email, normalize_phone
from loyalty.domain.preferences import normalise_birthday

FIELDS = ("phone", "email", "name", "birthday", "points", "stamps", "visits", "lastVisit", "consentSms",
          "consentEmail")
DELIMITERS = (",", ";", "\t")
MAX_COUNT = 10_000_000  # points, stamps or visits above this are a typo, not a customer
MAX_NAME = 80  # as at joining
MAX_CELL = 254
_TRUE = frozenset({"yes", "y", "true", "1", "tak", "t", "x"})
_FALSE = frozenset({"no", "n", "false", "0", "nie", ""})
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")  # 31.05.1990, as Polish spreadsheets write dates


def _folded(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().strip('"')).casefold()


_FIELD_BY_FOLDED = {_folded(field): field for field in FIELDS}


def parse_mapping(raw: str | None) -> dict[str, str]:
    """``phone:Telefon,name:Imię`` -> {field: column}. Raises ValidationFailed naming what is wrong."""
    if raw is None or not raw.strip():
        return {}
    mapping: dict[str, str] = {}
    for pair in raw.split(","):
        field, separator, column = pair.partition(":")
        known = _FIELD_BY_FOLDED.get(_folded(field))
        if not separator or not column.strip():
            raise ValidationFailed.field("mapping", f"Use field:column pairs separated by commas, like "
                                                    f"phone:Telefon,name:Imię (got {pair.strip()!r}).")
        if known is None:
            raise ValidationFailed.field("mapping", f"Unknown field {field.strip()!r}; the fields are "
                                                    f"{', '.join(FIELDS)}.")
        mapping[known] = column.strip()
    return mapping


@dataclass(frozen=True)
class Table:
    """A checked file: which column holds each field, and the data rows as lists of cells."""

    delimiter: str
    header: list[str]
    columns: dict[str, int]  # field -> column position

    def values(self, cells: list[str]) -> dict[str, str]:
        return {field: cells[i].strip() if i < len(cells) else "" for field, i in self.columns.items()}


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("The file is not UTF-8 text. Save it from the spreadsheet as \"CSV UTF-8\".",
                               details=[{"field": "body", "message": "Not UTF-8."}]) from None


def read_table(text: str, mapping: dict[str, str]) -> tuple[Table, Iterator[tuple[int, list[str]]]]:
    """The file's header checked against the fields, and its data rows as (row number, cells), blank rows
    left out. Raises ValidationFailed when no phone or email column is found, or a mapped column is missing."""
    first_line = next(iter(io.StringIO(text, newline="")), "")
    if not first_line.strip():
        raise ValidationFailed("The file is empty: it needs a header row and at least one row.",
                               details=[{"field": "body", "message": "Empty file."}])
    best: tuple[int, str, list[str], dict[str, int]] | None = None
    for delimiter in DELIMITERS:
        header = next(csv.reader([first_line], delimiter=delimiter), [])
        columns = _columns(header, mapping)
        if best is None or len(columns) > best[0]:
            best = (len(columns), delimiter, header, columns)
    _, delimiter, header, columns = best
    found = [name.strip() for name in header if name.strip()]
    missing = [f"{field} (mapped to {column!r})" for field, column in mapping.items()
               if field not in columns]
    if missing:
        raise ValidationFailed(f"The mapping names columns the file does not have: {', '.join(missing)}. "
                               f"Columns found: {', '.join(found) or 'none'}.",
                               details=[{"field": "mapping", "message": f"Column not found: {m}."} for m in missing])
    if "phone" not in columns and "email" not in columns:
        raise ValidationFailed(
            "The file needs a phone or an email column (a header row naming phone or email, or ?mapping=). "
            f"Columns found: {', '.join(found) or 'none'}.",
            details=[{"field": "phone", "message": "No phone column."},
                     {"field": "email", "message": "No email column."},
                     {"field": "header", "message": f"Found: {', '.join(found) or 'none'}."}])
    table = Table(delimiter=delimiter, header=header, columns=columns)
    return table, _rows(text, delimiter)


def _columns(header: list[str], mapping: dict[str, str]) -> dict[str, int]:
    positions = {_folded(name): i for i, name in reversed(list(enumerate(header)))}  # the first of equal names
    columns = {}
    for field in FIELDS:
        wanted = mapping.get(field, field)
        if _folded(wanted) in positions:
            columns[field] = positions[_folded(wanted)]
    return columns


def _rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader, None)  # the header
    for number, cells in enumerate(reader, start=1):
        if any(cell.strip() for cell in cells):
            yield number, cells


def count_rows(text: str, mapping: dict[str, str]) -> tuple[Table, int]:
    """Checks the header and counts the data rows (the progress figure's total)."""
    table, rows = read_table(text, mapping)
    try:
        return table, sum(1 for _ in rows)
    except csv.Error as exc:
        raise ValidationFailed(f"The file is not valid CSV: {exc}.", details=[{"field": "body", "message": str(exc)}]
                               ) from None


# --- rows ------------------------------------------------------------------------------------------

class RowError(ValueError):
    """A row that cannot be imported; the message says why, for the owner."""


@dataclass(frozen=True)
class ImportRow:
    row: int
    phone: str | None = None
    email: str | None = None
    name: str | None = None
    birthday: str | None = None
    points: int = 0
    stamps: int = 0
    visits: int = 0
    last_visit_at: datetime | None = None
    consent_sms: bool | None = None  # None: the file says nothing
    consent_email: bool | None = None

    def identities(self) -> list[tuple[str, str]]:
        return [(kind, value) for kind, value in (("phone", self.phone), ("email", self.email)) if value]

    def wire(self) -> dict:
        data = {"row": self.row, "phone": self.phone, "email": self.email, "name": self.name,
                "birthday": self.birthday, "points": self.points, "stamps": self.stamps, "visits": self.visits,
                "lastVisitAt": self.last_visit_at.isoformat() if self.last_visit_at else None,
                "consentSms": self.consent_sms, "consentEmail": self.consent_email}
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_wire(cls, data: dict) -> ImportRow:
        last = data.get("lastVisitAt")
        return cls(row=int(data["row"]), phone=data.get("phone"), email=data.get("email"), name=data.get("name"),
                   birthday=data.get("birthday"), points=int(data.get("points", 0)),
                   stamps=int(data.get("stamps", 0)), visits=int(data.get("visits", 0)),
                   last_visit_at=datetime.fromisoformat(last) if last else None,
                   consent_sms=data.get("consentSms"), consent_email=data.get("consentEmail"))


def normalise_row(number: int, values: dict[str, str], *, region: str | None, timezone: str,
                  today: date) -> ImportRow:
    """One row's values checked and normalised; raises RowError with the first problem found."""
    too_long = [field for field, value in values.items() if len(value) > MAX_CELL]
    if too_long:
        raise RowError(f"{too_long[0]}: longer than {MAX_CELL} characters.")
    phone = _phone(values.get("phone", ""), region)
    email = _email(values.get("email", ""))
    if not phone and not email:
        raise RowError("A phone number or an email address is required.")
    name = values.get("name", "") or None
    if name and len(name) > MAX_NAME:
        raise RowError(f"name: longer than {MAX_NAME} characters.")
    return ImportRow(
        row=number, phone=phone, email=email, name=name, birthday=_birthday(values.get("birthday", ""), today),
        points=_count("points", values.get("points", "")), stamps=_count("stamps", values.get("stamps", "")),
        visits=_count("visits", values.get("visits", "")),
        last_visit_at=_last_visit(values.get("lastVisit", ""), timezone, today),
        consent_sms=_consent("consentSms", values.get("consentSms", "")),
        consent_email=_consent("consentEmail", values.get("consentEmail", "")))


def _phone(raw: str, region: str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalize_phone(raw, region)
    except ValidationFailed:
        hint = "" if region else " with its country code, like +48 600 100 200"
        raise RowError(f"phone: {raw!r} is not a valid phone number{hint}.") from None


def _email(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return normalize_email(raw)
    except ValidationFailed:
        raise RowError(f"email: {raw!r} is not a valid email address.") from None


def _birthday(raw: str, today: date) -> str | None:
    if not raw:
        return None
    dotted = _DOTTED_DATE.match(raw)
    if dotted:
        day, month, year = dotted.groups()
        raw = f"{year}-{int(month):02d}-{int(day):02d}"
    try:
        return normalise_birthday(raw, today)
    except ValueError as exc:
        raise RowError(f"birthday: {exc}") from None


def _count(field: str, raw: str) -> int:
    if not raw:
        return 0
    cleaned = raw.replace(" ", "").replace("\u00a0", "")
    if not cleaned.isdigit():
        raise RowError(f"{field}: {raw!r} is not a whole number of 0 or more.")
    value = int(cleaned)
    if value > MAX_COUNT:
        raise RowError(f"{field}: {value} is more than {MAX_COUNT:,}.")
    return value


def _date(raw: str) -> date:
    dotted = _DOTTED_DATE.match(raw)
    if dotted:
        day, month, year = dotted.groups()
        return date(int(year), int(month), int(day))
    return datetime.fromisoformat(raw).date() if "T" in raw or " " in raw else date.fromisoformat(raw)


def _last_visit(raw: str, timezone: str, today: date) -> datetime | None:
    """The day of the last visit, as noon of that day in the merchant's timezone (the file has no time)."""
    if not raw:
        return None
    try:
        day = _date(raw)
    except ValueError:
        raise RowError(f"lastVisit: {raw!r} is not a date; use YYYY-MM-DD or DD.MM.YYYY.") from None
    if day > today:
        raise RowError(f"lastVisit: {day.isoformat()} is in the future.")
    if day.year < 1990:
        raise RowError(f"lastVisit: {day.isoformat()} is too long ago.")
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(timezone))


def _consent(field: str, raw: str) -> bool | None:
    if not raw:
        return None
    folded = raw.strip().casefold()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise RowError(f"{field}: {raw!r} is not yes or no.")


# --- the whole file --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowFailure:
    row: int
    message: str

    def wire(self) -> dict:
        return {"row": self.row, "error": self.message}


def checked_rows(text: str, mapping: dict[str, str], *, region: str | None, timezone: str,
                 today: date) -> Iterator[ImportRow | RowFailure]:
    """Every data row, normalised or failed; a row whose phone or email an earlier row of the file already
    used fails as a duplicate of that row (so one file never adds one customer's points twice)."""
    table, rows = read_table(text, mapping)
    seen: dict[tuple[str, str], int] = {}
    for number, cells in rows:
        try:
            row = normalise_row(number, table.values(cells), region=region, timezone=timezone, today=today)
        except RowError as error:
            yield RowFailure(number, str(error))
            continue
        earlier = next(((kind, seen[(kind, value)]) for kind, value in row.identities() if (kind, value) in seen),
                       None)
        if earlier:
            yield RowFailure(number, f"Duplicate of row {earlier[1]} (same {earlier[0]}).")
            continue
        for identity in row.identities():
            seen[identity] = number
        yield row


def chunks(rows: Iterator[ImportRow | RowFailure], *, max_rows: int,
           max_bytes: int) -> Iterator[list[ImportRow | RowFailure]]:
    """The rows in consecutive chunks of at most ``max_rows`` rows and about ``max_bytes`` of wire size."""
    chunk: list[ImportRow | RowFailure] = []
    size = 0
    for row in rows:
        row_size = len(str(row.wire())) + 8
        if chunk and (len(chunk) >= max_rows or size + row_size > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += row_size
    if chunk:
        yield chunk
