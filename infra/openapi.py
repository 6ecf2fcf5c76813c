"""Writes the OpenAPI document of the whole HTTP API, generated from the handlers' own routes.

Usage: python -m infra.openapi docs/openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from infra.local_api import LocalApi
from infra.template import ROOT


def build_document(root: Path = ROOT) -> dict:
    api = LocalApi(root=root)
    from loyalty.api.resolver import make_resolver

    routers = [api.load_module(logical_id).router for logical_id in sorted(api.http_function_ids())]
    app = make_resolver(*routers)
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    schema = app.get_openapi_json_schema(
        security_schemes={
            "apiKey": HTTPBearer(description="Admin token, merchant owner key or staff key."),
            "memberToken": APIKey(name="X-Member-Token", in_=APIKeyIn.header,
                                  description="The value inside the member's personal card QR."),
        },
        title="Bywalec loyalty API", version="1.0.0",
        summary="Stamp cards, points, rewards and referrals for small merchants.",
        description="Contract of the Bywalec HTTP API. Errors always use the envelope "
                    '{"error": {"code", "message", "details"}}. Every POST accepts an Idempotency-Key header.',
    )
    return json.loads(schema)


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "openapi.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(build_document(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
