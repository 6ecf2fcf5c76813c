"""The resolver every HTTP function uses: validation, the error envelope, logging, the body limit."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths

from loyalty.api.auth import authenticate_member, resolve_caller, verify_signature
from loyalty.api.errors import envelope, error_response, raw_error_response, validation_details
from loyalty.domain.access import MEMBER, POS, Caller
from loyalty.domain.errors import (
    Forbidden,
    LoyaltyError,
    MalformedRequest,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from loyalty.services.exactly_once import ExactlyOnce, check_idempotency_key
from loyalty.settings import get_settings
from loyalty.store.transaction import is_unavailable
from loyalty.telemetry import flush_metrics

logger = Logger()


def make_resolver(*routers: Router) -> APIGatewayHttpResolver:
    # A reply that does not fit its declared model is our bug: 500 (below), never a 422 blaming the client.
    app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)
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
        return envelope(422, "validation_error", "Some fields are not valid.", validation_details(raw))

    @app.not_found
    def _unknown_route(_):
        return envelope(404, "not_found", "There is no such endpoint.")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception):
        if is_unavailable(error):
            logger.warning("DynamoDB unavailable", exc_info=True)
            return error_response(ServiceUnavailable(retry_after=1))
        logger.exception("unhandled error")
        return envelope(500, "internal_error", "Something went wrong on our side. Nothing was changed.")

    return app


def lambda_handler_for(app: APIGatewayHttpResolver, ignored_bodies: frozenset[str] = frozenset(),
                       signed_routes: frozenset[str] = frozenset(),
                       file_routes: dict[str, FileBody] | None = None) -> Callable[[dict, Any], dict]:
    """``ignored_bodies``: route keys ("POST /v1/u/{token}") that accept any body, of any type, and read none.
    ``signed_routes``: the route keys POS keys may call, each request signed (every other route refuses them).
    ``file_routes``: route keys whose body is a file (a CSV upload) of a size limit of its own, handed to the
    route as it came (``http.file_body``) instead of as JSON."""
    # log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: events carry credentials in their headers.
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
    @flush_metrics
    def lambda_handler(event: dict, context: Any) -> dict:
        if event.get("routeKey") in ignored_bodies:
            event["body"], event["isBase64Encoded"] = "", False
        try:
            caller, once = screen_request(event, signed_routes, (file_routes or {}).get(event.get("routeKey")))
        except LoyaltyError as error:
            return raw_error_response(error)
        except Exception as error:
            if is_unavailable(error):  # the API key lookup met a throttled or unreachable DynamoDB
                return raw_error_response(ServiceUnavailable(retry_after=1))
            raise
        # Routes read them through http.caller and http.exactly_once: resolved once per request.
        app.append_context(caller=caller, once=once)
        return app.resolve(event, context)

    return lambda_handler


_BODY_METHODS = {"POST", "PUT", "PATCH"}


@dataclass(frozen=True)
class FileBody:
    """A route whose body is a file, of any media type (its service checks which, once the caller may call it),
    up to a size limit (a settings field's name)."""

    limit_setting: str


def screen_request(event: dict, signed_routes: frozenset[str] = frozenset(),
                   file_body: FileBody | None = None) -> tuple[Caller, ExactlyOnce | None]:
    """Refuse what must never reach a route: oversized or undecodable bodies, bodies that are not one JSON
    object, non-JSON content types (other than a file route's), unknown credentials. Leaves a JSON body as plain
    UTF-8 text in ``event`` (a file as base64) and returns the caller and, for a POST with an Idempotency-Key,
    the request's exactly-once identity."""
    settings = get_settings()
    raw = event.get("body") or ""
    try:
        data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8", "surrogatepass")
    except ValueError as exc:
        raise MalformedRequest("The request body could not be decoded.") from exc
    limit = getattr(settings, file_body.limit_setting) if file_body else settings.max_body_bytes
    if len(data) > limit:
        size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
        raise PayloadTooLarge(f"The body is over {size}.")
    headers = event.get("headers") or {}
    event["headers"] = headers
    http_context = event.get("requestContext", {}).get("http", {})
    method = (http_context.get("method") or "").upper()
    parsed = None
    if file_body is not None:
        # The route reads the bytes as sent (http.file_body); Powertools never parses them.
        event["body"], event["isBase64Encoded"] = base64.b64encode(data).decode("ascii"), True
    elif data and method in _BODY_METHODS:
        content_type = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType()
        try:
            text = data.decode("utf-8")
            parsed = json.loads(text)
        except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, absurd nesting or numbers
            raise MalformedRequest() from exc
        if not isinstance(parsed, dict):
            raise ValidationFailed.field("body", "Expected a JSON object.")
        headers["content-type"] = "application/json"
        event["body"], event["isBase64Encoded"] = text, False
    # Unknown credentials are 401 before any validation detail is revealed.
    caller = resolve_caller(headers, http_context.get("sourceIp"))
    if caller.role == POS:
        if event.get("routeKey") not in signed_routes:
            raise Forbidden("A POS key only reports sales and refunds (POST /v1/merchants/{merchantId}/pos/events).")
        verify_signature(caller, headers, data)  # over the bytes as sent, before the body is validated
    key = headers.get("idempotency-key")
    once = None
    if key is not None and method == "POST":
        once = ExactlyOnce.for_request(caller, f"{method} {event.get('rawPath') or ''}", key, parsed)
    if caller.role == MEMBER and method in _BODY_METHODS:
        # Before the body is validated, and handed to the service; a route without a body (GET /v1/me reads
        # the member with its history in one Query) lets its service do the one read, which refuses it as well.
        caller = authenticate_member(caller, once)
    if key is not None and method == "POST":
        check_idempotency_key(caller, key)
    return caller, once
