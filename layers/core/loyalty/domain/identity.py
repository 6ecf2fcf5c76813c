"""Normalising the identities a member joins with (uniqueness is on the normal form)."""

from __future__ import annotations

from loyalty.domain.errors import ValidationFailed

# phonenumbers and email_validator are imported on first use: only enrolment and lookups need them,
# and they would add a fifth to every other function's cold start.


def normalize_phone(raw: str) -> str:
    """Return E.164 (``+48600100200``); international format with a leading + is required."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, None)
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
