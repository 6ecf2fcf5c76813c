"""The merchant's public HTML pages (the web card, the owner's dashboard): a template from ``loyalty/web`` with the
merchant's settings embedded for the page's own script. The pages hold no figure and no secret."""

from __future__ import annotations

import json
from functools import cache

from loyalty.domain.errors import NotFound
from loyalty.services.merchants import load_merchant

_CONFIG = "__BYWALEC_CONFIG__"


@cache
def template(name: str) -> str:
    from importlib import resources

    return resources.files("loyalty.web").joinpath(name).read_text(encoding="utf-8")


def merchant_page(name: str, merchant_id: str, base_url: str) -> str:
    try:
        merchant = load_merchant(merchant_id)
    except NotFound:
        raise NotFound("No loyalty program here.") from None
    config = {"merchantId": merchant.merchant_id, "merchantName": merchant.name, "apiBase": base_url,
              "currency": merchant.currency, "timezone": merchant.timezone}
    # Escape "<" so a merchant name can never close the <script> element it is embedded in.
    return template(name).replace(_CONFIG, json.dumps(config).replace("<", "\\u003c"))
