"""The resolver every HTTP function uses: validation, the error envelope, logging, the body limit."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths

from loyalty.api.errors import envelope, error_response, validation_details
from loyalty.domain.errors import LoyaltyError
from loyalty.settings import get_settings
from loyalty.telemetry import flush_metrics

logger = Logger()


def make_resolver(*routers: Router) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(LoyaltyError)
    def _domain_error(error: LoyaltyError):
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError):
        raw = list(error.errors())
        if any(item.get("type") == "json_invalid" for item in raw):
            return envelope(400, "malformed_request", "The request body is not valid JSON.")
        if any(item.get("type") == "unsupported_content_type" for item in raw):
            return envelope(415, "unsupported_media_type", "Send the body as application/json.")
        return envelope(422, "validation_error", "Some fields are not valid.", validation_details(raw))

    @app.not_found
    def _unknown_route(_):
        return envelope(404, "not_found", "There is no such endpoint.")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception):
        logger.exception("unhandled error")
        return envelope(500, "internal_error", "Something went wrong on our side. Nothing was changed.")

    return app


def lambda_handler_for(app: APIGatewayHttpResolver) -> Callable[[dict, Any], dict]:
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @flush_metrics
    def lambda_handler(event: dict, context: Any) -> dict:
        if _body_size(event) > get_settings().max_body_bytes:
            limit_kb = get_settings().max_body_bytes // 1024
            body = {"error": {"code": "payload_too_large", "message": f"The body is over {limit_kb} KB.",
                              "details": []}}
            return {"statusCode": 413, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
        return app.resolve(event, context)

    return lambda_handler


def _body_size(event: dict) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return len(base64.b64decode(body))
        except ValueError:
            return len(body)
    return len(body.encode("utf-8"))
