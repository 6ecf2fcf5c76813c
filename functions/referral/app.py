"""A member's referral code, link and QR."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import CARD
from loyalty.domain.errors import Forbidden, InvalidMemberToken, Unauthorized
from loyalty.replies.referrals import MyReferral
from loyalty.services import referral

router = Router()


@router.get("/v1/me/referral", tags=["referrals"], security=CARD, operation_id="getReferral",
            responses=responses(Unauthorized, Forbidden, InvalidMemberToken))
def my_referral() -> MyReferral:
    return referral.my_referral(http.caller(router), http.base_url(router))


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
