"""Earning: counter-code scans from members' phones, card scans by staff or a POS."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import CARD_OR_KEY
from loyalty.domain.errors import (
    ConcurrentUpdate,
    Cooldown,
    CounterCodeExpired,
    Forbidden,
    InvalidCounterCode,
    InvalidMemberToken,
    NotFound,
    RateLimited,
    ReceiptAlreadyCounted,
    Unauthorized,
    ValidationFailed,
)
from loyalty.replies.scans import ScanResult
from loyalty.requests.scans import Scan
from loyalty.services import scan

router = Router()


@router.post("/v1/scans", tags=["scans"], security=CARD_OR_KEY, operation_id="recordScan",
             responses=responses(Unauthorized, Forbidden, InvalidMemberToken, ValidationFailed, InvalidCounterCode,
                                 CounterCodeExpired, NotFound, Cooldown, RateLimited, ReceiptAlreadyCounted,
                                 ConcurrentUpdate,
                                 replies={200: ScanResult}))
def post_scan(body: Scan):
    who = http.caller(router)
    return http.exactly_once_in_transaction(router, 200, lambda once: scan.record_scan(who, body, once))


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
