"""A member's referral code, link and QR; the owner's review of held referrals."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import CARD, KEY
from loyalty.domain.errors import (
    ConcurrentUpdate,
    Forbidden,
    InvalidMemberToken,
    NotFound,
    ReferralAlreadyDecided,
    Unauthorized,
)
from loyalty.replies.referrals import ApprovedReferral, HeldReferrals, MyReferral, ReviewedReferral
from loyalty.services import referral, referral_review

router = Router()


@router.get("/v1/me/referral", tags=["referrals"], security=CARD, operation_id="getReferral",
            responses=responses(Unauthorized, Forbidden, InvalidMemberToken))
def my_referral() -> MyReferral:
    return referral.my_referral(http.caller(router), http.base_url(router))


# The owner's review: a referral another merchant holds is 404; a decided one cannot be decided again.
REVIEW_CHECKS = (Unauthorized, Forbidden, NotFound)


@router.get("/v1/merchants/<merchantId>/referrals", tags=["referrals"], security=KEY, operation_id="listHeldReferrals",
            responses=responses(*REVIEW_CHECKS))
def held_referrals(merchantId: str, status: Annotated[Literal["held"], Query()] = "held") -> HeldReferrals:
    return referral_review.held_referrals(http.caller(router), merchantId)


@router.post("/v1/merchants/<merchantId>/referrals/<referralId>/approve", tags=["referrals"], security=KEY,
             operation_id="approveReferral",
             responses=responses(*REVIEW_CHECKS, ReferralAlreadyDecided, ConcurrentUpdate,
                                 replies={200: ApprovedReferral}))
def approve_referral(merchantId: str, referralId: str):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (200, referral_review.approve(who, merchantId, referralId)))


@router.post("/v1/merchants/<merchantId>/referrals/<referralId>/reject", tags=["referrals"], security=KEY,
             operation_id="rejectReferral",
             responses=responses(*REVIEW_CHECKS, ReferralAlreadyDecided, ConcurrentUpdate,
                                 replies={200: ReviewedReferral}))
def reject_referral(merchantId: str, referralId: str):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (200, referral_review.reject(who, merchantId, referralId)))


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
