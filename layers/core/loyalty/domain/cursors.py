"""Opaque page cursors: a JSON position in URL-safe base64. What a position may hold is each list's own check;
a cursor never names a merchant (that comes from the path), so it cannot reach into another merchant's list."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, TypeVar

from loyalty.domain.errors import ValidationFailed

T = TypeVar("T")


def write(position: Any) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read(cursor: str, parse: Callable[[Any], T]) -> T:
    """``parse`` turns the decoded position into the list's own, raising ValueError (or TypeError, KeyError)
    when it is not one: the caller then gets 422 on ``cursor``."""
    try:
        return parse(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))))
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise ValidationFailed.field("cursor", "Not a cursor from this list: start again without it.") from None
