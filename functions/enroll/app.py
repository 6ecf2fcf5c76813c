"""Joining the program, staff looking members up, and the owner's segments of members."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from loyalty.api import http
from loyalty.api.contract import as_attachment, responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import KEY, PUBLIC_OR_KEY
from loyalty.domain.errors import (
    AlreadyMember,
    ConcurrentUpdate,
    Forbidden,
    InvalidReferral,
    NotFound,
    RateLimited,
    SegmentExists,
    Unauthorized,
    ValidationFailed,
)
from loyalty.replies.members import ExistingMember, Joined, MemberProfile, MemberSummary, NewCard
from loyalty.replies.privacy import MemberExport
from loyalty.replies.segments import SegmentCreated, SegmentList, SegmentMembers
from loyalty.requests.members import Enroll, MemberSearch
from loyalty.requests.segments import CreateSegment
from loyalty.services import enroll, privacy, reissue, segments

router = Router()


@router.post("/v1/merchants/<merchantId>/members", tags=["members"], status_code=201, security=PUBLIC_OR_KEY,
             operation_id="createMember",
             responses=responses(Forbidden, NotFound, ValidationFailed, AlreadyMember, InvalidReferral,
                                 ConcurrentUpdate, RateLimited, replies={201: Joined, 200: ExistingMember}))
def create_member(merchantId: str, body: Enroll):
    who = http.caller(router)

    def work() -> tuple[int, Joined | ExistingMember]:
        result = enroll.enroll(who, merchantId, body)
        return result.status, result.body

    return http.exactly_once(router, who, work)


@router.post("/v1/merchants/<merchantId>/members/search", tags=["members"], security=KEY, operation_id="searchMembers",
             responses=responses(Unauthorized, Forbidden, NotFound, ValidationFailed))
def search_members(merchantId: str, body: MemberSearch) -> MemberSummary:
    return enroll.search(http.caller(router), merchantId, body)


@router.get("/v1/merchants/<merchantId>/members/<memberId>", tags=["members"], security=KEY,
            operation_id="getMemberProfile", responses=responses(Unauthorized, Forbidden, NotFound))
def member_profile(merchantId: str, memberId: str) -> MemberProfile:
    return enroll.profile(http.caller(router), merchantId, memberId)


@router.get("/v1/merchants/<merchantId>/members/<memberId>/export", tags=["members"], security=KEY,
            operation_id="exportMemberData",
            responses=as_attachment(responses(Unauthorized, Forbidden, NotFound, replies={200: MemberExport})))
def export_member_data(merchantId: str, memberId: str):
    """The owner's copy of everything kept about one member (a member's data request made at the counter)."""
    export = privacy.export_member(http.caller(router), merchantId, memberId)
    return http.attachment(export, f"bywalec-member-{export.member_id}.json")


@router.delete("/v1/merchants/<merchantId>/members/<memberId>", tags=["members"], status_code=204, security=KEY,
               operation_id="eraseMember",
               responses=responses(Unauthorized, Forbidden, NotFound, ConcurrentUpdate, replies={204: {}}))
def erase_member(merchantId: str, memberId: str):
    """Erases the member's personal data (owner only); erasing an erased member again is 204 as well."""
    privacy.erase_member(http.caller(router), merchantId, memberId)
    return Response(204)


@router.post("/v1/merchants/<merchantId>/members/<memberId>/card", tags=["members"], status_code=201, security=KEY,
             operation_id="reissueCard",
             responses=responses(Unauthorized, Forbidden, NotFound, ConcurrentUpdate, replies={201: NewCard}))
def reissue_card(merchantId: str, memberId: str):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (201, reissue.reissue_card(who, merchantId, memberId)))


# Segments: the owner's; another merchant's segment or members are 404.
@router.get("/v1/merchants/<merchantId>/segments", tags=["segments"], security=KEY, operation_id="listSegments",
            responses=responses(Unauthorized, Forbidden, NotFound))
def list_segments(merchantId: str) -> SegmentList:
    return segments.list_segments(http.caller(router), merchantId)


@router.post("/v1/merchants/<merchantId>/segments", tags=["segments"], status_code=201, security=KEY,
             operation_id="createSegment",
             responses=responses(Unauthorized, Forbidden, NotFound, ValidationFailed, SegmentExists,
                                 replies={201: SegmentCreated}))
def create_segment(merchantId: str, body: CreateSegment):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (201, segments.create_segment(who, merchantId, body)))


@router.get("/v1/merchants/<merchantId>/segments/<name>/members", tags=["segments"], security=KEY,
            operation_id="listSegmentMembers", responses=responses(Unauthorized, Forbidden, NotFound, ValidationFailed))
def segment_members(merchantId: str, name: str,
                    limit: Annotated[int, Query(ge=1, le=200, description="Members per page")] = 50,
                    cursor: Annotated[str | None, Query(max_length=400,
                                                        description="nextCursor of the previous page")] = None,
                    ) -> SegmentMembers:
    return segments.members_page(http.caller(router), merchantId, name, limit, cursor)


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
