"""The member's card (JSON), the mobile web card page (HTML) and the health check."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from loyalty.api import http
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import CARD
from loyalty.services import card

router = Router()


@router.get("/v1/me", tags=["members"], security=CARD)
def my_card() -> dict:
    return card.my_card(http.caller(router))


@router.get("/v1/m/<merchantId>", tags=["web"])
def card_page(merchantId: str):
    html = card.card_page(merchantId, http.base_url(router))
    return Response(200, "text/html; charset=utf-8", html, headers={"Cache-Control": "no-cache"})


@router.get("/v1/health", tags=["health"])
def health() -> dict:
    return {"status": "ok"}


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
