"""Request bodies are capped before anything reads them whole (hub and upstream).

A declared `Content-Length` over the cap is answered 413 at once: the app never runs and not a
byte of the body is read. A chunked body is counted as it streams in, and the read that passes
the cap raises `BodyTooLarge` (rendered as the same 413), so at most the cap plus one chunk is
ever held. The cap is `edge.limits.MAX_JSON_BODY_BYTES` unless a route is given its own (blob
uploads, manifest imports, replication batches); a `gate` makes a large cap depend on who asks
(an admin's token), so a stranger's body is held to the small one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from re import Pattern

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Gate = Callable[[Scope], Awaitable[bool]]
_CLOSE = {"Connection": "close"}  # the rest of a refused body is not read: end the connection


class BodyTooLarge(HTTPException):
    """The body passed its cap while being read; rendered as 413 `too_large`."""

    def __init__(self, limit: int, gated: bool = False) -> None:
        super().__init__(413, too_large_message(limit, gated), headers=_CLOSE)
        self.limit = limit


def too_large_message(limit: int, gated: bool = False) -> str:
    more = " without a signed-in admin's token" if gated else ""
    return f"request bodies here are at most {limit} bytes{more}"


def too_large_response(exc: BodyTooLarge) -> JSONResponse:
    return JSONResponse(
        {"error": "too_large", "message": exc.detail, "limit": exc.limit},
        status_code=413,
        headers=_CLOSE,
    )


@dataclass(frozen=True)
class RouteLimit:
    """A route's own cap: `method` and `path` as the route declares them."""

    method: str
    path: str
    limit: int
    gate: Gate | None = None  # if it says no, the default cap holds
    pattern: Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", compile_path(self.path)[0])

    def matches(self, scope: Scope) -> bool:
        return scope["method"] == self.method and bool(self.pattern.match(scope["path"]))


class BodyLimits:
    """ASGI middleware: cap every HTTP request body (see the module docstring)."""

    def __init__(self, app: ASGIApp, default: int, routes: Sequence[RouteLimit] = ()) -> None:
        self.app, self.default, self.routes = app, default, tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, gated = await self._limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await too_large_response(BodyTooLarge(limit, gated))(scope, receive, send)
            return
        taken = 0

        async def counted() -> Message:
            nonlocal taken
            message = await receive()
            if message["type"] == "http.request":
                taken += len(message.get("body", b""))
                if taken > limit:
                    raise BodyTooLarge(limit, gated)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # raised where no handler renders it
            if started:
                raise
            await too_large_response(exc)(scope, receive, send)

    async def _limit(self, scope: Scope) -> tuple[int, bool]:
        for route in self.routes:
            if route.matches(scope):
                if route.gate is None or route.limit <= self.default or await route.gate(scope):
                    return route.limit, False
                return self.default, True
        return self.default, False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed one itself
    return None


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer …` header, for a gate."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
