"""Insights: the owner's figures for a date range, read from the daily and monthly rollups."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from loyalty.api import http
from loyalty.api.contract import responses
from loyalty.api.resolver import lambda_handler_for, make_resolver
from loyalty.api.security import KEY
from loyalty.domain.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from loyalty.replies.insights import Insights
from loyalty.services import insights

router = Router()


@router.get("/v1/merchants/<merchantId>/insights", tags=["insights"], security=KEY, operation_id="getInsights",
            responses=responses(Unauthorized, Forbidden, NotFound, ValidationFailed))
def get_insights(merchantId: str,
                 from_: Annotated[str | None, Query(alias="from", max_length=10,
                                                    description="First local day, YYYY-MM-DD (default: 29 days "
                                                                "before 'to')")] = None,
                 to: Annotated[str | None, Query(max_length=10,
                                                 description="Last local day, YYYY-MM-DD (default: today)")] = None,
                 locationId: Annotated[str | None, Query(max_length=100,
                                                         description="One location's figures")] = None,
                 ) -> Insights:
    return insights.report(http.caller(router), merchantId, from_, to, locationId)


app = make_resolver(router)
lambda_handler = lambda_handler_for(app)
