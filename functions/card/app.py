"""The member's card (JSON), the mobile web card page (HTML), feedback on visits and the health check."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from loyalty.api import http
from loyalty.api.contract import as_attachment, responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import CARD, KEY
from loyalty.domain.errors import (
    AlreadyMember,
    ConcurrentUpdate,
    FeedbackAlreadyGiven,
    FeedbackWindowClosed,
    Forbidden,
    InvalidMemberToken,
    NotFound,
    NpsNotDue,
    RateLimited,
    Unauthorized,
    ValidationFailed,
    VisitNotFound,
)
from loyalty.replies.base import Health
from loyalty.replies.cards import MyCard
from loyalty.replies.feedback import FeedbackList, FeedbackView
from loyalty.replies.members import CardLinkAccepted, NewCard, Preferences
from loyalty.replies.privacy import MemberExport
from loyalty.requests.feedback import GiveFeedback
from loyalty.requests.members import CardLinkOpening, CardLinkRequest, PreferencesChange
from loyalty.services import card, card_link, dashboard, feedback, preferences, privacy, unsubscribe

router = Router()


@router.get("/v1/me", tags=["members"], security=CARD, operation_id="getCard",
            responses=responses(Unauthorized, Forbidden, InvalidMemberToken, ConcurrentUpdate))
def my_card() -> MyCard:
    return card.my_card(http.caller(router))


@router.get("/v1/me/preferences", tags=["members"], security=CARD, operation_id="getPreferences",
            responses=responses(Unauthorized, Forbidden, InvalidMemberToken))
def my_preferences() -> Preferences:
    return preferences.preferences(http.caller(router))


@router.patch("/v1/me/preferences", tags=["members"], security=CARD, operation_id="changePreferences",
              responses=responses(Unauthorized, Forbidden, InvalidMemberToken, ValidationFailed, AlreadyMember,
                                  ConcurrentUpdate))
def change_my_preferences(body: PreferencesChange) -> Preferences:
    return preferences.change_preferences(http.caller(router), body)


@router.get("/v1/me/export", tags=["members"], security=CARD, operation_id="exportMyData",
            responses=as_attachment(responses(Unauthorized, Forbidden, InvalidMemberToken,
                                              replies={200: MemberExport})))
def export_my_data():
    """All personal data kept about the member, as a file to download."""
    export = privacy.export_mine(http.caller(router))
    return http.attachment(export, f"bywalec-my-data-{export.member_id}.json")


@router.delete("/v1/me", tags=["members"], status_code=204, security=CARD, operation_id="eraseMe",
               responses=responses(Unauthorized, Forbidden, InvalidMemberToken, ConcurrentUpdate, replies={204: {}}))
def erase_me():
    """Erases the member's personal data; the card stops working (points and rewards are lost to her)."""
    privacy.erase_mine(http.caller(router))
    return Response(204)


@router.get("/v1/m/<merchantId>", tags=["web"], operation_id="getCardPage",
            responses=responses(NotFound, replies={200: {"text/html": {"type": "string"}}}))
def card_page(merchantId: str):
    html = card.card_page(merchantId, http.base_url(router))
    return Response(200, "text/html; charset=utf-8", html, headers={"Cache-Control": "no-cache"})


@router.get("/v1/merchants/<merchantId>/dashboard", tags=["web"], operation_id="getDashboardPage",
            responses=responses(NotFound, replies={200: {"text/html": {"type": "string"}}}))
def dashboard_page(merchantId: str):
    """Public HTML: the owner pastes her key into the page, which sends it on every data call, never in a URL."""
    page = dashboard.dashboard_page(merchantId, http.base_url(router))
    return Response(200, "text/html; charset=utf-8", page.html, headers={
        "Cache-Control": "no-store", "Content-Security-Policy": page.content_security_policy,
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
        "X-Robots-Tag": "noindex"})


@router.post("/v1/merchants/<merchantId>/card-link", tags=["web"], status_code=202,
             operation_id="requestCardLink",
             responses=responses(NotFound, ValidationFailed, RateLimited, ConcurrentUpdate,
                                 replies={202: CardLinkAccepted}))
def request_card_link(merchantId: str, body: CardLinkRequest):
    """Always 202 for a valid request: it never tells whether the phone or email has a card here."""
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (202, card_link.request_card_link(who, merchantId, body)))


@router.post("/v1/merchants/<merchantId>/card-link/open", tags=["web"], status_code=201,
             operation_id="openCardLink", responses=responses(NotFound, ValidationFailed, ConcurrentUpdate,
                                                              replies={201: NewCard}))
def open_card_link(merchantId: str, body: CardLinkOpening):
    """The card page exchanges a card link's one-time code for a new card token."""
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (201, card_link.open_card_link(merchantId, body)))


# Feedback: a member rates her visit; the owner reads her merchant's feedback.
@router.post("/v1/me/feedback", tags=["feedback"], status_code=201, security=CARD, operation_id="giveFeedback",
             responses=responses(Unauthorized, Forbidden, InvalidMemberToken, ValidationFailed, VisitNotFound,
                                 FeedbackWindowClosed, FeedbackAlreadyGiven, NpsNotDue, ConcurrentUpdate,
                                 replies={201: FeedbackView}))
def give_feedback(body: GiveFeedback):
    """Rate a counted visit (its scanId) once, within 48 hours; ``nps`` at most once every 90 days. A rating of
    1 or 2 emails the owner (messaging settings' notifyEmail) at once."""
    who = http.caller(router)
    return http.exactly_once_in_transaction(router, 201, lambda once: feedback.give_feedback(who, body, once))


@router.get("/v1/merchants/<merchantId>/feedback", tags=["feedback"], security=KEY, operation_id="listFeedback",
            responses=responses(Unauthorized, Forbidden, NotFound, ValidationFailed))
def list_feedback(merchantId: str,
                  rating: Annotated[int | None, Query(ge=1, le=5, description="Only this rating")] = None,
                  cursor: Annotated[str | None, Query(max_length=400,
                                                      description="nextCursor of the previous page")] = None,
                  ) -> FeedbackList:
    """Newest first, 50 per page."""
    return feedback.feedback_list(http.caller(router), merchantId, rating, cursor)


HTML = {"text/html": {"type": "string"}}
UNSUBSCRIBE = "/v1/u/{token}"


def _html(page: unsubscribe.Page) -> Response:
    # Never cached or indexed: the page says whether this person still gets offers.
    return Response(page.status, "text/html; charset=utf-8", page.html,
                    headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})


@router.get("/v1/u/<token>", tags=["web"], operation_id="getUnsubscribePage",
            responses=responses(replies={200: HTML, 404: HTML}))
def unsubscribe_page(token: str):
    return _html(unsubscribe.landing_page(token))


@router.post("/v1/u/<token>", tags=["web"], operation_id="unsubscribe",
             responses=responses(replies={200: HTML, 404: HTML}))
def unsubscribe_now(token: str):
    """Whatever the body (RFC 8058 one-click sends ``List-Unsubscribe=One-Click`` form-encoded)."""
    return _html(unsubscribe.unsubscribe_page(token))


@router.get("/v1/health", tags=["health"], operation_id="getHealth", responses=responses())
def health() -> Health:
    return Health()


app = make_resolver(router)
lambda_handler = lambda_handler_for(app, ignored_bodies=frozenset({f"POST {UNSUBSCRIBE}"}))
