"""Every reply the test clients receive is checked against the committed OpenAPI document.

openapi-core validates the status, the content type, the headers (Retry-After where declared) and
the body schema; on top of that an error's ``code`` must be one the operation declares for that
status (``x-error-codes``). A reply the document does not describe fails the test that got it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from infra.template import ROOT

# Answers of the gateway itself, for paths or methods no route serves.
GATEWAY_ANSWERS = {404: "not_found", 405: "method_not_allowed"}


class ContractViolation(AssertionError):
    pass


class Contract:
    def __init__(self, document: dict) -> None:
        from openapi_core import OpenAPI

        self.document = document
        self.openapi = OpenAPI.from_dict(document)
        self._routes = [(re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), path)
                        for path in document["paths"]]

    def operation(self, method: str, path: str) -> dict | None:
        # Literal segments win over parameters (".../members/search" before ".../members/{memberId}").
        matches = sorted((template.count("{"), template) for pattern, template in self._routes if pattern.match(path))
        for _, template in matches:
            if method.lower() in self.document["paths"][template]:
                return self.document["paths"][template][method.lower()]
        return None

    def check(self, method: str, target: str, status: int, headers: dict[str, str], raw: bytes) -> None:
        """Raise ContractViolation unless this reply is one the document promises for this request."""
        from openapi_core.testing import MockRequest, MockResponse

        path, _, query = target.partition("?")
        operation = self.operation(method, path)
        if operation is None:
            if status in GATEWAY_ANSWERS and GATEWAY_ANSWERS[status] == _error_code(raw):
                return
            raise ContractViolation(f"{method} {path} is not in the document, yet answered {status}")
        content_type = headers.get("content-type", "")
        request = MockRequest("http://localhost", method, path, args=dict(parse_qsl(query)),
                              content_type="application/json")
        response = MockResponse(raw, status_code=status, headers=headers, content_type=content_type)
        where = f"{operation['operationId']} ({method} {path}) answered {status} {content_type}"
        errors = list(self.openapi.iter_response_errors(request, response))
        if not errors and str(status) not in operation["responses"]:
            errors = ["status not declared"]
        if errors:
            raise ContractViolation(f"{where}, not as documented: {_describe(errors)}\n{raw[:500]!r}")
        if status >= 400 and not content_type.startswith("text/html"):  # an HTML error page has no code
            declared = operation["responses"][str(status)].get("x-error-codes", [])
            code = _error_code(raw)
            if code not in declared:
                raise ContractViolation(f"{where} with code {code!r}; the document declares {declared}")


@cache
def committed_contract() -> Contract:
    """The committed document (tests/integration/test_openapi.py keeps it equal to the generated one)."""
    return Contract(json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")))


def _error_code(raw: bytes) -> Any:
    try:
        return json.loads(raw)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _describe(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        parts.append(f"{type(error).__name__}: {error}")
        for cause in getattr(error, "schema_errors", None) or []:
            parts.append(f"  {cause.message} at {list(cause.absolute_path)}")
    return "\n".join(parts)
