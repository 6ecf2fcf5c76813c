"""Campaigns: the owner's routes, and the 15-minute tick (EventBridge Scheduler) that runs the due campaigns."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import KEY
from loyalty.domain.errors import ConcurrentUpdate, Forbidden, NotFound, Unauthorized, ValidationFailed
from loyalty.replies.campaigns import CampaignList, CampaignReply, Preview, RunList
from loyalty.requests.campaigns import CreateCampaign, EditCampaign
from loyalty.services import campaigns
from loyalty.telemetry import flush_metrics

logger = Logger()
router = Router()

# The owner's routes: another merchant's campaign is 404.
KEY_CHECKS = (Unauthorized, Forbidden, NotFound)


@router.post("/v1/merchants/<merchantId>/campaigns", tags=["campaigns"], status_code=201, security=KEY,
             operation_id="createCampaign",
             responses=responses(*KEY_CHECKS, ValidationFailed, replies={201: CampaignReply}))
def create_campaign(merchantId: str, body: CreateCampaign):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (201, campaigns.create(who, merchantId, body)))


@router.get("/v1/merchants/<merchantId>/campaigns", tags=["campaigns"], security=KEY, operation_id="listCampaigns",
            responses=responses(*KEY_CHECKS))
def list_campaigns(merchantId: str) -> CampaignList:
    return campaigns.list_campaigns(http.caller(router), merchantId)


@router.get("/v1/merchants/<merchantId>/campaigns/<campaignId>", tags=["campaigns"], security=KEY,
            operation_id="getCampaign", responses=responses(*KEY_CHECKS))
def get_campaign(merchantId: str, campaignId: str) -> CampaignReply:
    return campaigns.get_campaign(http.caller(router), merchantId, campaignId)


@router.patch("/v1/merchants/<merchantId>/campaigns/<campaignId>", tags=["campaigns"], security=KEY,
              operation_id="editCampaign", responses=responses(*KEY_CHECKS, ValidationFailed, ConcurrentUpdate))
def edit_campaign(merchantId: str, campaignId: str, body: EditCampaign) -> CampaignReply:
    return campaigns.edit(http.caller(router), merchantId, campaignId, body)


@router.post("/v1/merchants/<merchantId>/campaigns/<campaignId>/preview", tags=["campaigns"], security=KEY,
             operation_id="previewCampaign", responses=responses(*KEY_CHECKS, replies={200: Preview}))
def preview_campaign(merchantId: str, campaignId: str):
    who = http.caller(router)
    return http.exactly_once(router, who, lambda: (200, campaigns.preview(who, merchantId, campaignId)))


@router.get("/v1/merchants/<merchantId>/campaigns/<campaignId>/runs", tags=["campaigns"], security=KEY,
            operation_id="listCampaignRuns", responses=responses(*KEY_CHECKS))
def list_runs(merchantId: str, campaignId: str) -> RunList:
    return campaigns.list_runs(http.caller(router), merchantId, campaignId)


app = make_resolver(router)
http_handler = lambda_handler_for(app)


@logger.inject_lambda_context
@flush_metrics
def tick(event: dict, context: Any) -> dict:
    result = campaigns.run_due(context.get_remaining_time_in_millis)
    logger.info("campaigns ran", extra=result)
    return result


def lambda_handler(event: dict, context: Any) -> dict:
    """HTTP API requests go to the routes; the schedule's event (no request context) runs the tick."""
    return http_handler(event, context) if "requestContext" in event else tick(event, context)
