"""Every API error is JSON `{"error": code, "message": why}`; request bodies are never echoed."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from edge.api.body_limits import BodyTooLarge, too_large_response

log = logging.getLogger(__name__)

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class ApiError(Exception):
    """Raise from an endpoint or dependency to answer `status` with `{"error", "message"}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra  # more JSON fields, e.g. locked_until

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


class ErrorBody(BaseModel):
    """The shape of every error answer, for OpenAPI."""

    model_config = ConfigDict(extra="allow")

    error: str
    message: str


def error_response(
    status: int, example_code: str, example_message: str, description: str, **extra: Any
) -> dict[str, Any]:
    """One `responses=` entry for a route: the error model with an example."""
    return {
        "model": ErrorBody,
        "description": description,
        "content": {
            "application/json": {
                "example": {"error": example_code, "message": example_message, **extra}
            }
        },
    }


_STANDARD_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "There was an error parsing the body", "The body is not UTF-8 JSON"),
    401: (
        "unauthorized",
        "sign in first: send Authorization: Bearer <token>",
        "Missing, expired or ended token",
    ),
    403: (
        "forbidden",
        "needs role technician; you are operator",
        "Signed in, but the role is too low",
    ),
    404: (
        "not_found",
        "no unit 'U-7Q2M4XKZ9D1P' at this station",
        "No such return, unit, exception or certificate here",
    ),
    409: (
        "no_package",
        "no package at the dock: scan its label first",
        "Not possible in the current state (the message says why)",
    ),
    413: (
        "too_large",
        "request bodies here are at most 1048576 bytes",
        "The body is over the size limit (refused before it was read)",
    ),
    422: (
        "invalid_request",
        "body.code: String should have at least 1 character",
        "Refused input: the message names the field (`invalid_request` adds `details`)",
    ),
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that may answer these common errors."""
    return {status: error_response(status, *_STANDARD_ERRORS[status]) for status in statuses}


def _error_json(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    if status in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED) or status < 200:
        return Response(status_code=status, headers=dict(headers or {}))
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=dict(headers or {}))


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return f"http_{status}"


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors without `input` or `ctx`: those may hold what was sent (a PIN)."""
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in errors
    ]


def validation_message(details: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for detail in details:
        where = ".".join(str(part) for part in detail["loc"]) or "request"
        parts.append(f"{where}: {str(detail['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts) or "the request is not valid"


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_json(exc.status, exc.body(), exc.headers)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    body = {"error": "invalid_request", "message": validation_message(details), "details": details}
    return JSONResponse(body, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route takes on this path (Starlette names only the first route's)."""
    allowed = set()
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.add(method)
    return allowed


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED and (allowed := _allowed_methods(request)):
        headers["Allow"] = ", ".join(sorted(allowed))
    return _error_json(
        exc.status_code, {"error": _code_for(exc.status_code), "message": message}, headers
    )


async def _too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    return too_large_response(exc)


async def _cut_off(request: Request, exc: Exception) -> Response:
    """A client that went away mid-body (an endpoint reading the raw body sees it): nothing was
    taken (the client sends again), and no server error is logged."""
    return _error_json(
        HTTPStatus.BAD_REQUEST,
        {"error": "incomplete", "message": "the request body was cut off"},
        {},
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error(
        "unhandled error method=%s path=%s error=%s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return JSONResponse(
        {"error": "internal", "message": "the hub hit an unexpected error; it has been logged"},
        status_code=HTTPStatus.INTERNAL_SERVER_ERROR,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Render ApiError, validation errors, HTTP errors and anything unexpected as JSON."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _cut_off)
    app.add_exception_handler(Exception, _internal_error)
