"""The owner's dashboard page: one HTML document, the same for every visitor; it holds no figure and no key.

The page asks the owner for her key, keeps it in the tab's session storage and reads every figure through the
owner routes with it. Its script and style are inline; the Content-Security-Policy names them by hash, so no
other script, style, font or frame can run in the page, and it talks only to this API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from loyalty.domain.errors import NotFound
from loyalty.services.merchants import load_merchant

_CONFIG = "__BYWALEC_CONFIG__"
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@dataclass(frozen=True)
class Page:
    html: str
    content_security_policy: str


@dataclass(frozen=True)
class _Template:
    html: str
    script_hashes: tuple[str, ...]
    style_hashes: tuple[str, ...]


@cache
def _template() -> _Template:
    from importlib import resources

    html = resources.files("loyalty.web").joinpath("dashboard_page.html").read_text(encoding="utf-8")
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for element, content in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode("ascii")
        hashes[element].append(f"'sha256-{digest}'")
    return _Template(html, tuple(hashes["script"]), tuple(hashes["style"]))


def dashboard_page(merchant_id: str, base_url: str) -> Page:
    try:
        merchant = load_merchant(merchant_id)
    except NotFound:
        raise NotFound("No loyalty program here.") from None
    template = _template()
    config = {"merchantId": merchant.merchant_id, "merchantName": merchant.name, "apiBase": base_url,
              "currency": merchant.currency, "timezone": merchant.timezone}
    # Escape "<" so a merchant name can never close the <script> element it is embedded in.
    html = template.html.replace(_CONFIG, json.dumps(config).replace("<", "\\u003c"))
    return Page(html, _policy(template, base_url))


def _policy(template: _Template, base_url: str) -> str:
    parts = urlsplit(base_url)
    api_origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return "; ".join([
        "default-src 'none'",
        f"script-src {' '.join(template.script_hashes)}",
        f"style-src {' '.join(template.style_hashes)}",
        "img-src 'self' data:",
        " ".join(filter(None, ["connect-src 'self'", api_origin])),
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])
