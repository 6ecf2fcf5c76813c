"""The one place where domain errors become HTTP: status per error class, and the contract's envelope."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response

from loyalty.domain import errors

STATUS: dict[type[errors.LoyaltyError], int] = {
    errors.MalformedRequest: 400,
    errors.InvalidCounterCode: 400,
    errors.Unauthorized: 401,
    errors.InvalidMemberToken: 401,
    errors.InvalidSignature: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.VisitNotFound: 404,
    errors.InvalidToken: 404,
    errors.AlreadyMember: 409,
    errors.AlreadyRedeemed: 409,
    errors.InsufficientBalance: 409,
    errors.RewardExpired: 409,
    errors.RewardNotActive: 409,
    errors.ReceiptAlreadyCounted: 409,
    errors.TooManyOpenRewards: 409,
    errors.OwnerKeyNotRevocable: 409,
    errors.ConcurrentUpdate: 409,
    errors.ReferralAlreadyDecided: 409,
    errors.SegmentExists: 409,
    errors.FeedbackAlreadyGiven: 409,
    errors.NpsNotDue: 409,
    errors.CounterCodeExpired: 410,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.ValidationFailed: 422,
    errors.IdempotencyKeyReused: 422,
    errors.InvalidReferral: 422,
    errors.RefundTooLarge: 422,
    errors.FeedbackWindowClosed: 422,
    errors.Cooldown: 429,
    errors.RateLimited: 429,
    errors.ServiceUnavailable: 503,
}


def status_of(error: errors.LoyaltyError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def envelope_body(code: str, message: str, details: list | None = None) -> str:
    return json.dumps({"error": {"code": code, "message": message, "details": details or []}})


def envelope(status: int, code: str, message: str, details: list | None = None,
             retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(status_code=status, content_type="application/json", body=envelope_body(code, message, details),
                    headers=headers)


def raw_error_response(error: errors.LoyaltyError) -> dict:
    """The same answer as ``error_response``, as an API Gateway v2 result: for refusals before the resolver runs."""
    headers = {"Content-Type": "application/json"}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return {"statusCode": status_of(error), "headers": headers,
            "body": envelope_body(error.code, error.message, error.details)}


def error_response(error: errors.LoyaltyError) -> Response:
    return envelope(status_of(error), error.code, error.message, error.details, error.retry_after)


def validation_details(raw_errors: list[dict]) -> list[dict]:
    """Pydantic's errors as ``{field, message}``; ``field`` is the dotted path inside the body or query."""
    details = []
    for err in raw_errors:
        location = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")]
        message = err.get("msg", "Invalid value.")
        if err.get("type") == "extra_forbidden":
            message = "Unknown field."
        elif err.get("type") == "missing":
            message = "This field is required."
        details.append({"field": ".".join(location) or "body", "message": message})
    return details
