"""POS events: a till's signed sales and refunds."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import POS_KEY
from loyalty.domain.errors import (
    ConcurrentUpdate,
    Cooldown,
    Forbidden,
    InvalidMemberToken,
    InvalidSignature,
    NotFound,
    ReceiptAlreadyCounted,
    RefundTooLarge,
    Unauthorized,
    ValidationFailed,
)
from loyalty.replies.pos import RefundResult
from loyalty.replies.scans import ScanResult
from loyalty.requests.pos import PosEvent, SaleEvent
from loyalty.services import pos

router = Router()

SIGNATURE = Header(alias="bywalec-signature", description=(
    "t=<unix seconds>,v1=<hex HMAC-SHA256(signing secret, \"<t>.<raw body>\")>; t within 300 s of now"))


@router.post("/v1/merchants/<merchantId>/pos/events", tags=["pos"], security=POS_KEY, operation_id="postPosEvent",
             responses=responses(Unauthorized, InvalidSignature, Forbidden, NotFound, InvalidMemberToken,
                                 ValidationFailed, Cooldown, ReceiptAlreadyCounted, RefundTooLarge, ConcurrentUpdate,
                                 replies={200: ScanResult | RefundResult}))
def post_event(merchantId: str, body: Annotated[PosEvent, Body()],
               signature: Annotated[str | None, SIGNATURE] = None):
    """A sale (the staff scan's reply) or a refund; the same eventId again gets the first reply."""
    who = http.caller(router)
    once = pos.event_once(merchantId, body.event_id, router.current_event.json_body)
    record = pos.record_sale if isinstance(body, SaleEvent) else pos.record_refund
    return http.exactly_once_in_transaction(router, 200, lambda o: record(who, merchantId, body, o), once=once)


app = make_resolver(router)
lambda_handler = lambda_handler_for(app, signed_routes=frozenset({pos.ROUTE}))
