"""What a route promises in the OpenAPI document besides its parameters: its replies and its errors.

A route declares the reply models it answers with and the domain errors its service can raise:

    @router.post("/v1/scans", operation_id="recordScan",
                 responses=contract.responses(Cooldown, NotFound, replies={200: ScanResult}))

Errors become one entry per HTTP status (the status comes from ``api.errors.STATUS``) with the
envelope schema, the possible codes (``x-error-codes`` and the description) and ``Retry-After`` on
429 and 503. What the plumbing itself can refuse (credentials, body size, JSON, idempotency) is
added to every operation by ``plumbing_errors`` when the document is built, so routes list only
their own errors. The end-to-end tests check every reply against the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import UnionType
from typing import Any, get_args

from pydantic import BaseModel

from loyalty.api.errors import STATUS, status_of
from loyalty.domain.errors import (
    IdempotencyKeyReused,
    InvalidMemberToken,
    LoyaltyError,
    MalformedRequest,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)

ENVELOPE = {"$ref": "#/components/schemas/Error"}
CODES_KEY = "x-error-codes"
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "required": True,
                               "schema": {"type": "integer", "minimum": 1}}}
MEANING = {
    400: "Malformed request, or an unknown or forged counter code.",
    401: "Missing or unknown credentials.",
    403: "Known caller, not allowed here.",
    404: "Does not exist, or belongs to another merchant.",
    409: "State conflict.",
    410: "The counter code has expired: scan the code at the counter again.",
    413: "Body over 64 KB (a CSV import: over 5 MB).",
    415: "Body is not JSON.",
    422: "Body, query or Idempotency-Key fails validation (field-level details).",
    429: "Too soon; see Retry-After.",
    503: "DynamoDB throttled or unavailable, nothing was written; see Retry-After.",
}
ERRORS_BY_CODE: dict[str, type[LoyaltyError]] = {cls.code: cls for cls in STATUS}

# Refusals before any route runs (resolver.screen_request, auth) and DynamoDB unavailability anywhere.
# A member token on any route is checked while the request is screened: a forged one is invalid_member_token.
EVERY_ROUTE = (Unauthorized, InvalidMemberToken, PayloadTooLarge, ServiceUnavailable)
# Bodies: undecodable or non-JSON (screen_request), then the request model's validation.
WITH_BODY = (MalformedRequest, UnsupportedMediaType, ValidationFailed)
# Query parameters are validated against their declared types.
WITH_QUERY = (ValidationFailed,)
# An Idempotency-Key: too long or weak, reused with another body, or its first request still running.
IDEMPOTENT = (ValidationFailed, IdempotencyKeyReused, ServiceUnavailable)

ReplySpec = type[BaseModel] | UnionType | dict[str, Any] | None  # a union of models: one of them


def responses(*raises: type[LoyaltyError], replies: dict[int, ReplySpec] | None = None) -> dict[int, dict]:
    """A route's documented responses.

    ``replies`` maps a success status to its reply: a model, ``None`` for the route's return type
    (its annotation), ``{media type: model or JSON schema}`` for replies in several formats (an empty
    schema for raw bytes such as images), or ``{}`` for no body (204).
    """
    documented: dict[int, dict] = {}
    for status, reply in (replies or {200: None}).items():
        documented[status] = {"description": _success_description(reply)}
        if isinstance(reply, dict):
            documented[status]["content"] = {media: _content(value) for media, value in reply.items()}
        elif reply is not None:
            documented[status]["content"] = {"application/json": {"model": reply}}
    documented.update(error_responses(raises))
    return documented


ATTACHMENT = {"Content-Disposition": {
    "description": "attachment; filename=\"...json\": a browser saves the reply as a file.", "required": True,
    "schema": {"type": "string", "examples": ['attachment; filename="bywalec-my-data-mem_123.json"']}}}


def as_attachment(documented: dict[int, dict], status: int = 200) -> dict[int, dict]:
    """Documents that the reply of ``status`` comes as a file to save (a data export)."""
    documented[status]["headers"] = ATTACHMENT
    return documented


def error_responses(raises: Iterable[type[LoyaltyError]]) -> dict[int, dict]:
    by_status: dict[int, list[str]] = {}
    for cls in raises:
        codes = by_status.setdefault(status_of(cls()), [])
        if cls.code not in codes:
            codes.append(cls.code)
    documented = {}
    for status, codes in sorted(by_status.items()):
        codes.sort()
        response = {"description": f"{MEANING.get(status, 'Refused.')} Codes: {', '.join(codes)}.",
                    "content": {"application/json": {"schema": ENVELOPE}}, CODES_KEY: codes}
        if status in (429, 503):
            response["headers"] = RETRY_AFTER
        documented[status] = response
    return documented


def plumbing_errors(method: str, *, has_body: bool, has_query: bool) -> tuple[type[LoyaltyError], ...]:
    """The errors every operation of this shape can answer with, whatever its service does."""
    errors = list(EVERY_ROUTE)
    if has_body:
        errors += WITH_BODY
    if has_query:
        errors += WITH_QUERY
    if method.upper() == "POST":
        errors += IDEMPOTENT
    return tuple(errors)


def declared_errors(operation: dict) -> list[type[LoyaltyError]]:
    """The error classes an operation of the document declares (read back from its responses)."""
    return [ERRORS_BY_CODE[code] for response in operation.get("responses", {}).values()
            for code in response.get(CODES_KEY, ())]


def _content(value: type[BaseModel] | dict) -> dict:
    if isinstance(value, dict):
        return {"schema": value} if value else {}  # no schema: raw bytes such as an image
    return {"model": value}


def _success_description(reply: ReplySpec) -> str:
    if reply == {}:
        return "No content."
    if isinstance(reply, dict):
        return "Media types: " + ", ".join(reply) + "."
    models = get_args(reply) or ((reply,) if reply is not None else ())  # a union: one of several replies
    own_docs = [model.__dict__.get("__doc__") for model in models]  # not a base class's docstring
    lines = [doc.strip().splitlines()[0] for doc in own_docs if doc]
    return " Or: ".join(lines) if lines else "Success."
