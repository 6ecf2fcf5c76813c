"""The owner's dashboard page: one HTML document, the same for every visitor; it holds no figure and no key.

The page asks the owner for her key, keeps it in the tab's session storage and reads every figure through the
owner routes with it. Its script and style are inline; the Content-Security-Policy names them by hash, so no
other script, style, font or frame can run in the page, and it talks only to this API.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from loyalty.services import pages

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


_PAGE = "dashboard_page.html"


@cache
def _template() -> _Template:
    html = pages.template(_PAGE)
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for element, content in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode("ascii")
        hashes[element].append(f"'sha256-{digest}'")
    return _Template(html, tuple(hashes["script"]), tuple(hashes["style"]))


def dashboard_page(merchant_id: str, base_url: str) -> Page:
    # The merchant's settings go into a JSON data block, which the policy need not (and does not) name.
    return Page(pages.merchant_page(_PAGE, merchant_id, base_url), _policy(_template(), base_url))


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
