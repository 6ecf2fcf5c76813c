"""Joining the program, and staff looking members up."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from loyalty.api import http
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.schemas.members import Enroll, MemberSearch
from loyalty.api.security import KEY, PUBLIC_OR_KEY
from loyalty.services import enroll, reissue

router = Router()


@router.post("/v1/merchants/<merchantId>/members", tags=["members"], status_code=201, security=PUBLIC_OR_KEY)
def create_member(merchantId: str, body: Enroll):
    who = http.caller(router)
    request = enroll.Enrollment(body.phone, body.email, body.name, body.birthday, body.consent.sms,
                                body.consent.email, body.referral_code, body.device_id, body.card_on_device)

    def work() -> tuple[int, dict]:
        result = enroll.enroll(who, merchantId, request)
        return result.status, result.body

    return http.once(router, who, work)


@router.post("/v1/merchants/<merchantId>/members/search", tags=["members"], security=KEY)
def search_members(merchantId: str, body: MemberSearch) -> dict:
    return enroll.search(http.caller(router), merchantId, body.phone, body.email)


@router.get("/v1/merchants/<merchantId>/members/<memberId>", tags=["members"], security=KEY)
def member_profile(merchantId: str, memberId: str) -> dict:
    return enroll.profile(http.caller(router), merchantId, memberId)


@router.post("/v1/merchants/<merchantId>/members/<memberId>/card", tags=["members"], status_code=201, security=KEY)
def reissue_card(merchantId: str, memberId: str):
    who = http.caller(router)
    return http.once(router, who, lambda: (201, reissue.reissue_card(who, merchantId, memberId)))


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
