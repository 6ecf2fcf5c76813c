"""Reading an HTTP/1.1 request body from a BaseHTTPRequestHandler (Content-Length or chunked)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


class BodyTooLarge(Exception):
    pass


def read_request_body(handler: BaseHTTPRequestHandler, limit: int | None = None) -> bytes:
    """Raises BodyTooLarge past ``limit`` bytes and ValueError on a malformed length."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        parts, total = [], 0
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if limit is not None and total > limit:
                raise BodyTooLarge
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    if limit is not None and length > limit:
        raise BodyTooLarge
    return handler.rfile.read(length) if length > 0 else b""
