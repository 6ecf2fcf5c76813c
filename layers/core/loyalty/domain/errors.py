"""Domain errors. Each carries the contract's error code; api/errors.py maps classes to HTTP statuses."""

from __future__ import annotations

from typing import Any


class LoyaltyError(Exception):
    code = "error"
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None, *, details: list[dict[str, Any]] | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details or []
        self.retry_after = retry_after


class MalformedRequest(LoyaltyError):
    code = "malformed_request"
    default_message = "The request body is not valid JSON."


class InvalidCounterCode(LoyaltyError):
    code = "invalid_counter_code"
    default_message = "This code is not valid here. Scan the code at the counter again."


class InvalidMemberToken(LoyaltyError):
    code = "invalid_member_token"
    default_message = "This card is not recognised. Join again or ask the staff for help."


class Unauthorized(LoyaltyError):
    code = "unauthorized"
    default_message = "Missing or unknown credentials."


class InvalidSignature(LoyaltyError):
    code = "invalid_signature"
    default_message = ("The Bywalec-Signature header is missing or does not match the body, or its time is more "
                       "than 5 minutes away from now.")


class Forbidden(LoyaltyError):
    code = "forbidden"
    default_message = "These credentials may not do this."


class NotFound(LoyaltyError):
    code = "not_found"
    default_message = "Not found."


class AlreadyMember(LoyaltyError):
    code = "already_member"
    default_message = "This phone number or email already has a card here."


class AlreadyRedeemed(LoyaltyError):
    code = "already_redeemed"
    default_message = "This reward has already been redeemed."


class InsufficientBalance(LoyaltyError):
    code = "insufficient_balance"
    default_message = "Not enough points for this reward yet."


class RewardExpired(LoyaltyError):
    code = "reward_expired"
    default_message = "This reward has expired; its points went back to the card."


class RewardNotActive(LoyaltyError):
    code = "reward_not_active"
    default_message = "This reward is no longer active."


class TooManyOpenRewards(LoyaltyError):
    code = "too_many_open_rewards"
    default_message = "This card holds too many unused rewards."


class ReceiptAlreadyCounted(LoyaltyError):
    code = "receipt_already_counted"
    default_message = "This receipt has already been counted."


class RefundTooLarge(LoyaltyError):
    code = "refund_too_large"
    default_message = "This refund is more than what remains of the sale."


class OwnerKeyNotRevocable(LoyaltyError):
    code = "owner_key_not_revocable"
    default_message = ("The owner key cannot be revoked: the platform administrator replaces it "
                       "(POST /v1/merchants/{merchantId}/owner-key), which revokes the old one.")


class ConcurrentUpdate(LoyaltyError):
    code = "concurrent_update"
    default_message = "The card changed while this was processed. Please try again."


class CounterCodeExpired(LoyaltyError):
    code = "counter_code_expired"
    default_message = "This code has expired. Scan the code at the counter again."


class PayloadTooLarge(LoyaltyError):
    code = "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(LoyaltyError):
    code = "unsupported_media_type"
    default_message = "Send the body as JSON (Content-Type: application/json)."


class ValidationFailed(LoyaltyError):
    code = "validation_error"
    default_message = "Some fields are not valid."

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])


class IdempotencyKeyReused(LoyaltyError):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request body."


class InvalidReferral(LoyaltyError):
    code = "invalid_referral"
    default_message = "This referral code is not valid."


class Cooldown(LoyaltyError):
    code = "cooldown"
    default_message = "This visit is already counted. The next one counts later."


class RateLimited(LoyaltyError):
    code = "rate_limited"
    default_message = "Too many requests. Try again shortly."


class ServiceUnavailable(LoyaltyError):
    code = "service_unavailable"
    default_message = "The service is busy. Nothing was changed; please try again."


class ReferralAlreadyDecided(LoyaltyError):
    code = "referral_already_decided"
    default_message = "This referral has already been approved or rejected."


class SegmentExists(LoyaltyError):
    code = "segment_exists"
    default_message = "A segment of this name already exists."


class InvalidToken(LoyaltyError):
    """A forged, altered or malformed unsubscribe link."""

    code = "invalid_token"
    default_message = "This link is not valid. Use the link from the message you received."


class VisitNotFound(NotFound):
    """No counted visit of this member has that scan id (another member's, or none at all: never said which)."""

    code = "visit_not_found"
    default_message = "No visit of yours has this scanId."


class FeedbackWindowClosed(LoyaltyError):
    code = "feedback_window_closed"
    default_message = "A visit can be rated for 48 hours after it; this one is older."


class FeedbackAlreadyGiven(LoyaltyError):
    code = "feedback_already_given"
    default_message = "This visit has already been rated."


class NpsNotDue(LoyaltyError):
    code = "nps_not_due"
    default_message = "The recommendation question is answered at most once every 90 days."
