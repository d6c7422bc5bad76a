"""The hub's FastAPI application: custody, station and auth routers over one set of services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.requests import Request
from fastapi.responses import JSONResponse
from starlette.types import Scope

from edge import __version__
from edge.api import auth, custody, replication, station
from edge.api.body_limits import BodyLimits, RouteLimit, bearer_token
from edge.api.errors import ApiError, install_error_handlers
from edge.api.services import HubServices
from edge.hub.runtime import SignIn
from edge.limits import MAX_JSON_BODY_BYTES, MAX_MANIFEST_BODY_BYTES
from edge.operators import Principal, Role
from edge.web import serve_api_docs, serve_pwa
from stations.workflow import WorkflowRefused

Start = Callable[[], Awaitable[HubServices]]
Stop = Callable[[HubServices], Awaitable[None]]

DESCRIPTION = """\
The station hub's API. Operators sign in with a badge (or operator id) and PIN at
`/api/v1/auth/sign-in` and send the token as `Authorization: Bearer …`. Roles: operator
(receiving, moves), technician (grading, erasure, routing, resolving exceptions), admin
(operators, manifest, profile). `/healthz` and `/readyz` are open. Every error is JSON:
`{"error": code, "message": text}`.
"""


def create_app(start: Start, stop: Stop) -> FastAPI:
    """`start` builds the services inside the server's event loop; `stop` closes them."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await start()
        app.state.services = services
        app.state.operators = services.operators
        app.state.station = services.hub.station
        app.state.on_sign_in = _journal_sign_in(services)
        app.state.on_sign_out = lambda principal: services.hub.signed_out(principal.operator_id)
        try:
            yield
        finally:
            await stop(services)

    app = FastAPI(
        title="Edge station hub",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    serve_api_docs(app)
    serve_pwa(app)
    install_error_handlers(app)
    app.add_middleware(
        BodyLimits,
        default=MAX_JSON_BODY_BYTES,
        routes=[
            RouteLimit("POST", "/api/v1/manifest", MAX_MANIFEST_BODY_BYTES, _signed_in_admin),
        ],
    )
    app.add_exception_handler(WorkflowRefused, _refused)
    app.include_router(station.router)
    app.include_router(auth.router)
    app.include_router(auth.operators_router)
    app.include_router(custody.router)
    app.include_router(replication.router)
    return app


def _journal_sign_in(
    services: HubServices,
) -> Callable[[Principal, str, tuple[str, ...]], Awaitable[Any]]:
    async def on_sign_in(principal: Principal, method: str, attends: tuple[str, ...]) -> None:
        item = SignIn(
            principal.operator_id,
            principal.name,
            principal.role.value,
            method,
            principal.expires_at,
            attends,
        )
        try:
            await services.hub.handle(item)
        except WorkflowRefused as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None

    return on_sign_in


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WorkflowRefused)
    return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)


async def _signed_in_admin(scope: Scope) -> bool:
    """Whether a request comes with a live admin session (it may send a large body)."""
    token = bearer_token(scope)
    services = getattr(scope["app"].state, "services", None)
    if token is None or not isinstance(services, HubServices):
        return False
    principal = await asyncio.to_thread(services.operators.authenticate, token, datetime.now(UTC))
    return principal is not None and principal.role.allows(Role.ADMIN)
