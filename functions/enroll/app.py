"""Joining the program, and staff looking members up."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.schemas.members import Enroll
from loyalty.api.security import KEY, PUBLIC_OR_KEY
from loyalty.domain.errors import (
    AlreadyMember,
    ConcurrentUpdate,
    Forbidden,
    InvalidReferral,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from loyalty.replies.members import ExistingMember, Joined, MemberList, MemberProfile
from loyalty.services import enroll

router = Router()


@router.post("/v1/merchants/<merchantId>/members", tags=["members"], status_code=201, security=PUBLIC_OR_KEY,
             operation_id="createMember",
             responses=responses(Forbidden, NotFound, ValidationFailed, AlreadyMember, InvalidReferral,
                                 ConcurrentUpdate, replies={201: Joined, 200: ExistingMember}))
def create_member(merchantId: str, body: Enroll):
    who = http.caller(router)
    request = enroll.Enrollment(body.phone, body.email, body.name, body.birthday, body.consent.sms,
                                body.consent.email, body.referral_code)

    def work() -> tuple[int, Joined | ExistingMember]:
        result = enroll.enroll(who, merchantId, request)
        return result.status, result.body

    return http.once(router, who, work)


@router.get("/v1/merchants/<merchantId>/members", tags=["members"], security=KEY, operation_id="lookUpMembers",
            responses=responses(Unauthorized, Forbidden, NotFound, ValidationFailed))
def lookup_members(merchantId: str, phone: Annotated[str | None, Query(max_length=32)] = None,
                   email: Annotated[str | None, Query(max_length=254)] = None) -> MemberList:
    return enroll.lookup(http.caller(router), merchantId, http.query_phone(phone), email)


@router.get("/v1/merchants/<merchantId>/members/<memberId>", tags=["members"], security=KEY,
            operation_id="getMemberProfile", responses=responses(Unauthorized, Forbidden, NotFound))
def member_profile(merchantId: str, memberId: str) -> MemberProfile:
    return enroll.profile(http.caller(router), merchantId, memberId)


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
