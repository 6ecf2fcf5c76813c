"""The OpenAPI document is generated from the handlers; it must match template.yaml and be up to date."""

from __future__ import annotations

import json

from infra.openapi import build_document
from infra.template import ROOT, http_routes, load_template


def test_openapi_and_template_list_the_same_routes():
    document = build_document()
    documented = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    deployed = {(route.method, route.path) for route in http_routes(load_template())}
    assert documented == deployed


def test_committed_openapi_document_is_current():
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == build_document(), "run `make openapi` and commit docs/openapi.json"
