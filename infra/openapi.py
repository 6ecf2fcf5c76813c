"""Writes the OpenAPI document of the whole HTTP API, generated from the handlers' own routes.

Usage: python -m infra.openapi docs/openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infra.local.http_api import HttpApi
from infra.local.lambda_runtime import LambdaRuntime
from infra.template import ROOT


def build_document(root: Path = ROOT) -> dict:
    api = HttpApi(LambdaRuntime(root=root))
    from loyalty.api.resolver import make_resolver

    routers = [api.runtime.load_module(logical_id).router for logical_id in sorted(api.http_function_ids())]
    app = make_resolver(*routers)
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    schema = app.get_openapi_json_schema(
        security_schemes={
            "apiKey": HTTPBearer(description="Admin token, merchant owner key or staff key."),
            "posKey": HTTPBearer(description="A POS key; each request also carries its Bywalec-Signature."),
            "memberToken": APIKey(name="X-Member-Token", in_=APIKeyIn.header,
                                  description="The value inside the member's personal card QR."),
        },
        title="Bywalec loyalty API", version="1.0.0",
        summary="Stamp cards, points, rewards and referrals for small merchants.",
        description="Contract of the Bywalec HTTP API. Errors always use the envelope "
                    '{"error": {"code", "message", "details"}}. Every POST accepts an Idempotency-Key header.',
    )
    return with_contract_conventions(json.loads(schema))


_ERROR_SCHEMA = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "examples": ["cooldown"],
                     "description": "What went wrong; each response lists the codes it can carry."},
            "message": {"type": "string", "description": "A sentence a person understands."},
            "details": {"type": "array", "items": {"type": "object"},
                        "description": "Field-level problems: {field, message}."},
        },
    }},
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "The same key and body from the same caller within 24 h returns the original reply; "
                   "the same key with another body is 422 idempotency_key_reused. Without credentials "
                   "use a random key of 16+ characters (a UUID).",
}


def with_contract_conventions(document: dict) -> dict:
    """What the routes share and Powertools cannot infer: the error envelope, the errors the plumbing can
    answer with (added to each route's own), Idempotency-Key."""
    from loyalty.api.contract import declared_errors, error_responses, plumbing_errors

    document["components"]["schemas"]["Error"] = _ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        document["components"]["schemas"].pop(name, None)
    for operations in document["paths"].values():
        for method, operation in operations.items():
            if "x-file-body" in operation:  # a file route's body (resolver.FileBody), which Powertools never parses
                operation["requestBody"] = operation.pop("x-file-body")
            responses = operation.setdefault("responses", {})
            has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
            errors = declared_errors(operation) + list(plumbing_errors(
                method, has_body="requestBody" in operation, has_query=has_query))
            for status in [status for status in responses if int(status) >= 400]:
                if "text/html" not in responses[status].get("content", {}):  # a route's own page stays
                    del responses[status]  # Powertools' own 422 is replaced by the envelope
            for response in responses.values():
                if response.get("content") == {}:
                    del response["content"]  # a reply without a body (204)
            responses.update({str(status): response for status, response in error_responses(errors).items()})
            if method == "post":
                operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY)
    return document


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "openapi.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(build_document(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
