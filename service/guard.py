"""The HTTP API's ASGI middleware: the bearer token check and the request body size limit.

With a token configured, every request but the dashboard's static shell (``/`` and
``/static/...``, which hold no data) must carry ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from connevo.service.errors import error_response

PUBLIC_PATHS = ("/", "/favicon.ico")
PUBLIC_PREFIX = "/static/"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Guard:
    """ASGI middleware: bearer token check and request body size limit.

    The body is read (up to the limit) before the application sees it, so a chunked upload
    without ``Content-Length`` is bounded too.
    """

    def __init__(self, app: ASGIApp, *, token: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if self.token is not None and path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIX):
            if not self._authorized(scope):
                await error_response(401, "missing or wrong bearer token: send 'Authorization: Bearer <token>'",
                                     {"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await error_response(400, f"invalid Content-Length header {declared!r}")(scope, receive, send)
                return
            if size > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # disconnect: let the application see it
            chunks.append(message.get("body", b""))
            total += len(chunks[-1])
            if total > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _authorized(self, scope: Scope) -> bool:
        assert self.token is not None
        header = _header(scope, b"authorization") or ""
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), self.token)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(413, f"request body larger than this service allows ({self.max_body_bytes} bytes, "
                                  "limits.max_body_bytes)")(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            text: str = value.decode("latin-1")
            return text
    return None


__all__ = ["PUBLIC_PATHS", "PUBLIC_PREFIX", "Guard"]
