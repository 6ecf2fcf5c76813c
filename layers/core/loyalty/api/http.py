"""Small helpers routes share: the caller, the public base URL, JSON replies, exactly-once POSTs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from loyalty.domain.access import Caller
from loyalty.replies.base import Reply
from loyalty.services.exactly_once import ExactlyOnce, run_in_transaction
from loyalty.settings import get_settings


def caller(router: Router) -> Caller:
    """Who is calling: resolved once per request, before the route runs (see resolver.lambda_handler_for)."""
    return router.context["caller"]


def file_body(router: Router) -> tuple[bytes, str]:
    """The body of a file route (resolver.FileBody) as the client sent it, and its media type."""
    media_type = (router.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
    return base64.b64decode(router.current_event.body or ""), media_type


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


def json_reply(status: int, body: dict | Reply) -> Response:
    if isinstance(body, Reply):
        body = body.wire()
    # Sorted keys: a replayed reply (read back from the idempotency record) is byte-identical to the first.
    return Response(status_code=status, content_type="application/json", body=json.dumps(body, sort_keys=True))


def attachment(body: Reply, filename: str) -> Response:
    """A JSON reply a browser saves as a file (``filename``) instead of showing it."""
    return Response(status_code=200, content_type="application/json", body=json.dumps(body.wire(), sort_keys=True),
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def exactly_once(router: Router, who: Caller, work: Callable[[], tuple[int, Reply]]) -> Response:
    """Run a POST's work; with an Idempotency-Key, at most once per caller (``who``), route and key.

    The reply model is kept as its JSON-ready dict, so a replay is built from the record alone."""
    request_identity: ExactlyOnce | None = router.context.get("once")  # built for ``who`` while screening

    def wire_work() -> tuple[int, dict]:
        status, reply = work()
        return status, reply.wire()

    if request_identity is None:
        status, body = wire_work()
    else:
        # Imported on first use: requests without a key never load boto3 and Powertools Idempotency.
        from loyalty.api.idempotency import run_exactly_once

        status, body = run_exactly_once(request_identity, wire_work, router.lambda_context)
    return json_reply(status, body)


def exactly_once_in_transaction(router: Router, status: int, work: Callable[[ExactlyOnce | None], Reply],
                                once: ExactlyOnce | None = None) -> Response:
    """Run a POST whose own transaction keeps its reply (scans, claims): with an Idempotency-Key, at most once
    per caller, route and key, at no extra round trip; ``work`` writes ``once.record(reply)`` with its change.

    ``once``: the route's own exactly-once identity (a POS event id), instead of the Idempotency-Key's."""
    request_identity: ExactlyOnce | None = once or router.context.get("once")
    if request_identity is None:
        return json_reply(status, work(None))
    return json_reply(*run_in_transaction(request_identity, status, work))
