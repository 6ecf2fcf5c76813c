"""Small helpers routes share: the caller, the public base URL, JSON replies, exactly-once POSTs."""

from __future__ import annotations

import json
from collections.abc import Callable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from loyalty.domain.access import Caller
from loyalty.settings import get_settings


def caller(router: Router) -> Caller:
    """Who is calling: resolved once per request, before the route runs (see resolver.lambda_handler_for)."""
    return router.context["caller"]


def base_url(router: Router) -> str:
    """Links in QR codes: the configured public URL, else the host this request came to."""
    configured = get_settings().public_base_url
    if configured:
        return configured
    context = router.current_event.request_context
    host = context.domain_name or "localhost"
    stage = context.stage
    scheme = "http" if host.startswith(("localhost", "127.0.0.1")) else "https"
    prefix = "" if not stage or stage == "$default" else f"/{stage}"
    return f"{scheme}://{host}{prefix}"


def query_phone(value: str | None) -> str | None:
    """A phone number from a query string, where an unencoded "+" arrives as a space (form decoding)."""
    if value and value.startswith(" ") and value.strip()[:1].isdigit():
        return "+" + value.strip()
    return value


def wire(reply: BaseModel) -> dict:
    """A reply model as the JSON-ready dict the client receives: camelCase, times as ISO strings, nulls kept."""
    return reply.model_dump(mode="json", by_alias=True)


def json_reply(status: int, body: dict | BaseModel) -> Response:
    if isinstance(body, BaseModel):
        body = wire(body)
    # Sorted keys: a replayed reply (read back from the idempotency record) is byte-identical to the first.
    return Response(status_code=status, content_type="application/json", body=json.dumps(body, sort_keys=True))


def once(router: Router, who: Caller, work: Callable[[], tuple[int, BaseModel]]) -> Response:
    """Run a POST's work; with an Idempotency-Key, at most once per caller, route and key.

    The reply model is stored as its JSON-ready dict, so a replay is built from the record alone."""
    event = router.current_event
    key = (event.headers or {}).get("idempotency-key")

    def wire_work() -> tuple[int, dict]:
        status, reply = work()
        return status, wire(reply)

    if key is None:
        status, body = wire_work()
    else:
        # Imported on first use: requests without a key (most scans) never load boto3 and Powertools Idempotency.
        from loyalty.api.idempotency import run_once

        route = f"{event.http_method} {event.path}"
        status, body = run_once(who.identity, route, key, event.json_body, wire_work, router.lambda_context)
    return json_reply(status, body)
