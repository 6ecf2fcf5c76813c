"""Normalising the identities a member joins with (uniqueness is on the normal form)."""

from __future__ import annotations

from functools import cache

from loyalty.domain.errors import ValidationFailed

# phonenumbers and email_validator are imported on first use: only enrolment and lookups need them,
# and they would add a fifth to every other function's cold start.


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return E.164 (``+48600100200``). Without ``region`` the international format with a leading + is
    required; with it (an ISO country code, ``PL``) a national number such as ``600 100 200`` is read as that
    country's."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed.field("phone", "Enter the number with its country code, like +48 600 100 200.") \
            from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed.field("phone", "This is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed.field("email", str(exc)) from exc
    return result.normalized.lower()


def country_of_timezone(timezone: str) -> str | None:
    """The ISO country code of an IANA timezone (``Europe/Warsaw`` -> ``PL``), from the timezone database's own
    zone table; None for zones of no one country (``UTC``)."""
    return _zone_countries().get(timezone)


@cache
def _zone_countries() -> dict[str, str]:
    from importlib.resources import files

    countries: dict[str, str] = {}
    for line in files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, zone, *_ = line.split("\t")
            countries[zone] = code
    return countries
