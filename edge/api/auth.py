"""Sign-in with badge (or operator id) and PIN, bearer-token sessions, and operator admin.

The app provides `app.state.operators` (an OperatorStore), `app.state.station` (the station id)
and, optionally, `app.state.on_sign_in(principal, method, attends)`: awaited after each sign-in to
journal it; if it raises, the session is revoked and the client gets 503 (an unjournalled sign-in
must not count), or the ApiError it raised (a refused `attends`).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal, Self

import anyio
from fastapi import APIRouter, Body, Depends, Request, Response, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from edge.api.errors import ApiError, error_response
from edge.operators import (
    LastAdminError,
    Operator,
    OperatorConflictError,
    OperatorInputError,
    OperatorStore,
    OperatorStoreError,
    PinPolicyError,
    Principal,
    Role,
    SignInError,
    UnknownOperatorError,
)
from edge.operators.models import MAX_BADGE_LENGTH, MAX_NAME_LENGTH, OPERATOR_ID_PATTERN

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
operators_router = APIRouter(prefix="/api/v1/operators", tags=["operators"])

_bearer = HTTPBearer(
    auto_error=False,
    description="The token from `POST /api/v1/auth/sign-in`: `Authorization: Bearer <token>`.",
)
_MAX_PIN_FIELD = 64  # long enough for any PIN; bounds the argon2 work a request can ask for

# -- what is sent and answered ---------------------------------------------------------------


def _one_credential_schema(schema: dict[str, Any]) -> None:
    """Say "exactly one of badge or operator_id" in the JSON schema too (neither may be null)."""
    properties = schema["properties"]
    properties["badge"] = {"type": "string", "minLength": 1, "maxLength": MAX_BADGE_LENGTH}
    properties["operator_id"] = {"type": "string", "minLength": 1, "maxLength": 64}
    schema["oneOf"] = [{"required": ["badge"]}, {"required": ["operator_id"]}]


class SignInRequest(BaseModel):
    """Exactly one of `badge` (the scanned badge text) or `operator_id` (typed), and the PIN."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_credential_schema)

    badge: str | None = Field(None, min_length=1, max_length=MAX_BADGE_LENGTH)
    operator_id: str | None = Field(None, min_length=1, max_length=64)
    pin: SecretStr = Field(min_length=1, max_length=_MAX_PIN_FIELD)
    attends: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]] | None = Field(
        None,
        max_length=16,
        description="The flows (`dock`, `bench`) or device slots this person attends here: "
        "their readings are credited to them. Default: their role's flow.",
    )

    @model_validator(mode="after")
    def _one_credential(self) -> Self:
        if (self.badge is None) == (self.operator_id is None):
            raise ValueError("give exactly one of badge or operator_id")
        return self


class SignInResponse(BaseModel):
    token: str = Field(description="Bearer token for this shift; shown only once.")
    operator_id: str
    name: str
    role: Role
    expires_at: datetime


class PrincipalView(BaseModel):
    operator_id: str
    name: str
    role: Role
    station: str
    expires_at: datetime

    @classmethod
    def of(cls, principal: Principal) -> PrincipalView:
        return cls(
            operator_id=principal.operator_id,
            name=principal.name,
            role=principal.role,
            station=principal.station,
            expires_at=principal.expires_at,
        )


class OperatorView(BaseModel):
    """An operator as admins see it (never the PIN or its hash)."""

    operator_id: str
    name: str
    role: Role
    badge: str | None
    disabled: bool
    failed_attempts: int = Field(description="Wrong PINs for them since their last sign-in.")
    locked_until: datetime | None = Field(
        description="Until when some device is held back from trying their badge or id."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, operator: Operator) -> OperatorView:
        return cls(
            operator_id=operator.operator_id,
            name=operator.name,
            role=operator.role,
            badge=operator.badge,
            disabled=operator.disabled,
            failed_attempts=operator.failed_attempts,
            locked_until=operator.locked_until,
            created_at=operator.created_at,
            updated_at=operator.updated_at,
        )


class OperatorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operator_id: str = Field(pattern=OPERATOR_ID_PATTERN)
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    role: Role
    pin: SecretStr = Field(max_length=_MAX_PIN_FIELD, description="4 to 12 digits.")
    badge: str | None = Field(None, min_length=1, max_length=MAX_BADGE_LENGTH)


class OperatorUpdate(BaseModel):
    """Only the fields given change; `"badge": null` takes the badge away."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=MAX_NAME_LENGTH)
    role: Role | None = None
    badge: str | None = Field(None, min_length=1, max_length=MAX_BADGE_LENGTH)
    disabled: bool | None = None


class PinChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pin: SecretStr = Field(max_length=_MAX_PIN_FIELD, description="4 to 12 digits.")


# -- OpenAPI examples -------------------------------------------------------------------------

_SIGN_IN_EXAMPLES: dict[str, Any] = {
    "badge": {
        "summary": "Scanned badge",
        "value": {"badge": "EMP-004217", "pin": "4826"},
    },
    "operator_id": {
        "summary": "Operator id typed on the keypad",
        "value": {"operator_id": "op-0042", "pin": "4826"},
    },
}
_CREATE_EXAMPLES: dict[str, Any] = {
    "operator": {
        "summary": "A dock operator with a badge",
        "value": {
            "operator_id": "op-0042",
            "name": "Sam Berg",
            "role": "operator",
            "pin": "4826",
            "badge": "EMP-004217",
        },
    }
}
_UPDATE_EXAMPLES: dict[str, Any] = {
    "promote": {"summary": "Make a technician", "value": {"role": "technician"}},
    "disable": {"summary": "Disable (leaver)", "value": {"disabled": True}},
    "new_badge": {"summary": "Replace a lost badge", "value": {"badge": "EMP-004299"}},
}
_PIN_EXAMPLES: dict[str, Any] = {"pin": {"summary": "New PIN", "value": {"pin": "730514"}}}

_BAD_BODY = error_response(
    400, "bad_request", "There was an error parsing the body", "The body is not UTF-8 JSON"
)
_UNAUTHORIZED = error_response(
    401, "unauthorized", "sign in first: no valid bearer token", "Missing, expired or ended token"
)
_FORBIDDEN = error_response(
    403, "forbidden", "needs role admin; you are technician", "Signed in, but the role is too low"
)
_UNKNOWN = error_response(404, "unknown_operator", "no operator op-0042", "No such operator")
_INVALID = error_response(
    422,
    "invalid_request",
    "body: give exactly one of badge or operator_id",
    "Refused input (`invalid_request`, with `details`), or a PIN refused by policy (`pin_policy`)",
    details=[
        {"loc": ["body"], "msg": "Value error, give exactly one of badge…", "type": "value_error"}
    ],
)
_UNAVAILABLE = error_response(
    503, "operators_unavailable", "operators database …: disk I/O error", "Database unavailable"
)

# -- dependencies ------------------------------------------------------------------------------


def utc_now() -> datetime:
    """The request's time; tests override this dependency."""
    return datetime.now(UTC)


def _store(request: Request) -> OperatorStore:
    store = request.app.state.operators
    assert isinstance(store, OperatorStore)
    return store


def _station(request: Request) -> str:
    station = request.app.state.station
    assert isinstance(station, str)
    return station


def _not_signed_in(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def current_principal(
    request: Request,
    now: Annotated[datetime, Depends(utc_now)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """Who sent this request, from `Authorization: Bearer <token>`; 401 if nobody valid."""
    if credentials is None:
        raise _not_signed_in("sign in first: send Authorization: Bearer <token>")
    with _store_errors():
        principal = _store(request).authenticate(credentials.credentials, now)
    if principal is None:
        raise _not_signed_in("the token is unknown, expired or ended: sign in again")
    request.state.principal = principal
    return principal


def require_role(role: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through only principals whose role allows `role` (else 403)."""

    def check_role(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.role.allows(role):
            raise ApiError(
                403, "forbidden", f"needs role {role.value}; you are {principal.role.value}"
            )
        return principal

    return check_role


@contextmanager
def _store_errors() -> Iterator[None]:
    """Operator store refusals become API errors."""
    try:
        yield
    except UnknownOperatorError as exc:
        raise ApiError(404, "unknown_operator", str(exc)) from None
    except LastAdminError as exc:
        raise ApiError(409, "last_admin", str(exc)) from None
    except OperatorConflictError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except PinPolicyError as exc:
        raise ApiError(422, "pin_policy", str(exc)) from None
    except OperatorInputError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    except OperatorStoreError as exc:
        log.error("operators database unavailable error=%s", exc)
        raise ApiError(503, "operators_unavailable", str(exc)) from None


def _sign_in_refusal(exc: SignInError) -> ApiError:
    if exc.reason == "held_back":
        # Held back per (client address, badge or id), alike for badges that exist or not.
        wait = exc.retry_after_seconds or 1
        return ApiError(
            429,
            "sign_in_held",
            exc.message,
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )
    if exc.reason == "disabled":
        return ApiError(403, "disabled", exc.message)
    # unknown badge and wrong PIN answer alike, so a badge's existence cannot be probed
    return ApiError(401, "sign_in_failed", exc.message)


def client_address(request: Request) -> str:
    """The peer's address as the server saw it (a proxy's only if uvicorn trusts it)."""
    return request.client.host if request.client is not None else "unknown"


# -- /api/v1/auth -----------------------------------------------------------------------------


@router.post(
    "/sign-in",
    response_model=SignInResponse,
    summary="Sign in with a badge or operator id and a PIN",
    responses={
        400: _BAD_BODY,
        401: error_response(
            401,
            "sign_in_failed",
            "badge or PIN not recognised",
            "Unknown badge/operator id or wrong PIN (the two look alike on purpose)",
        ),
        403: error_response(
            403, "disabled", "operator op-0042 is disabled; ask an admin", "Operator disabled"
        ),
        422: _INVALID,
        429: error_response(
            429,
            "sign_in_held",
            "too many failed sign-ins with this badge from this device: try again in 8 s, or "
            "ask an admin to unlock",
            "Held back after repeated failures from this client address with this badge or id "
            "(exponential; the same for badges that exist and ones that do not; a correct PIN "
            "waits too). `Retry-After` says how long",
            retry_after=8,
        ),
        503: error_response(
            503,
            "journal_unavailable",
            "the sign-in could not be recorded in the custody journal; try again",
            "The sign-in could not be journalled; no session was started",
        ),
    },
)
async def sign_in(
    request: Request,
    body: Annotated[SignInRequest, Body(openapi_examples=_SIGN_IN_EXAMPLES)],
    now: Annotated[datetime, Depends(utc_now)],
) -> SignInResponse:
    """Start a session for this station; answer the bearer token (valid for one shift)."""
    store = _store(request)
    method: Literal["badge", "code"] = "badge" if body.badge is not None else "code"
    credential = body.badge if body.badge is not None else body.operator_id
    assert credential is not None
    try:
        with _store_errors():
            session = await run_in_threadpool(
                store.sign_in,
                credential,
                body.pin.get_secret_value(),
                station=_station(request),
                now=now,
                by=method,
                client=client_address(request),
            )
    except SignInError as exc:
        raise _sign_in_refusal(exc) from None
    on_sign_in = getattr(request.app.state, "on_sign_in", None)
    if on_sign_in is not None:
        try:
            outcome = on_sign_in(session.principal, method, tuple(body.attends or ()))
            if inspect.isawaitable(outcome):
                await outcome
        except ApiError:  # refused what the sign-in asked (`attends`): no session either
            await run_in_threadpool(store.sign_out, session.token, now)
            raise
        except Exception as exc:
            log.error(
                "sign-in not journalled; session ended operator_id=%s token=%s… error=%s",
                session.operator.operator_id,
                session.token[:6],
                type(exc).__name__,
                exc_info=exc,
            )
            await run_in_threadpool(store.sign_out, session.token, now)
            raise ApiError(
                503,
                "journal_unavailable",
                "the sign-in could not be recorded in the custody journal; try again, "
                "or call a technician if it keeps failing",
            ) from None
        except BaseException:
            # Cancelled mid-journalling: the token never reaches the client; end it anyway.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(store.sign_out, session.token, now)
            raise
    return SignInResponse(
        token=session.token,
        operator_id=session.operator.operator_id,
        name=session.operator.name,
        role=session.role,
        expires_at=session.expires_at,
    )


@router.post(
    "/sign-out",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    summary="End this session",
    responses={401: _UNAUTHORIZED},
)
def sign_out(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    now: Annotated[datetime, Depends(utc_now)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Response:
    """The token stops working at once."""
    assert credentials is not None  # current_principal let the request through
    with _store_errors():
        _store(request).sign_out(credentials.credentials, now)
    on_sign_out = getattr(request.app.state, "on_sign_out", None)
    if on_sign_out is not None:
        on_sign_out(principal)  # the station's devices stop reading on their behalf
    log.info("operator signed out operator_id=%s", principal.operator_id)
    return Response(status_code=HTTPStatus.NO_CONTENT)


@router.get("/me", response_model=PrincipalView, responses={401: _UNAUTHORIZED})
def me(principal: Annotated[Principal, Depends(current_principal)]) -> PrincipalView:
    """Who this token belongs to, with which role, at which station, until when."""
    return PrincipalView.of(principal)


# -- /api/v1/operators (admins) ---------------------------------------------------------------

_Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _BAD_BODY,
    401: _UNAUTHORIZED,
    403: _FORBIDDEN,
    422: _INVALID,
    503: _UNAVAILABLE,
}


@operators_router.get("", response_model=list[OperatorView], responses=_ADMIN_ERRORS)
def list_operators(request: Request, admin: _Admin) -> list[OperatorView]:
    """Every operator, by id."""
    with _store_errors():
        return [OperatorView.of(operator) for operator in _store(request).list_operators()]


@operators_router.post(
    "",
    response_model=OperatorView,
    status_code=HTTPStatus.CREATED,
    responses={
        **_ADMIN_ERRORS,
        409: error_response(409, "conflict", "operator op-0042 already exists", "Id/badge taken"),
    },
)
def create_operator(
    request: Request,
    admin: _Admin,
    body: Annotated[OperatorCreate, Body(openapi_examples=_CREATE_EXAMPLES)],
    now: Annotated[datetime, Depends(utc_now)],
) -> OperatorView:
    """Add an operator with their first PIN (4 to 12 digits; not easy to guess: 1111, 1234,
    1212, 2580 and the like are refused with the reason)."""
    with _store_errors():
        operator = _store(request).add_operator(
            body.operator_id,
            body.name,
            body.role,
            body.pin.get_secret_value(),
            body.badge,
            now=now,
        )
    log.info("operator created operator_id=%s by=%s", operator.operator_id, admin.operator_id)
    return OperatorView.of(operator)


@operators_router.get(
    "/{operator_id}", response_model=OperatorView, responses={**_ADMIN_ERRORS, 404: _UNKNOWN}
)
def get_operator(request: Request, admin: _Admin, operator_id: str) -> OperatorView:
    """One operator."""
    with _store_errors():
        operator = _store(request).get(operator_id)
    if operator is None:
        raise ApiError(404, "unknown_operator", f"no operator {operator_id}")
    return OperatorView.of(operator)


@operators_router.patch(
    "/{operator_id}",
    response_model=OperatorView,
    responses={
        **_ADMIN_ERRORS,
        404: _UNKNOWN,
        409: error_response(
            409,
            "last_admin",
            "op-0001 is the only enabled admin; add or enable another admin first",
            "Would leave no enabled admin, or the badge is taken",
        ),
    },
)
def update_operator(
    request: Request,
    admin: _Admin,
    operator_id: str,
    body: Annotated[OperatorUpdate, Body(openapi_examples=_UPDATE_EXAMPLES)],
    now: Annotated[datetime, Depends(utc_now)],
) -> OperatorView:
    """Change name, role, badge or disabled. A role change or disabling ends their sessions."""
    with _store_errors():
        operator = _store(request).update_operator(
            operator_id,
            name=body.name,
            role=body.role,
            badge=body.badge if "badge" in body.model_fields_set else ...,
            disabled=body.disabled,
            now=now,
        )
    log.info("operator changed operator_id=%s by=%s", operator_id, admin.operator_id)
    return OperatorView.of(operator)


@operators_router.post(
    "/{operator_id}/pin",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    responses={**_ADMIN_ERRORS, 404: _UNKNOWN},
)
def set_pin(
    request: Request,
    admin: _Admin,
    operator_id: str,
    body: Annotated[PinChange, Body(openapi_examples=_PIN_EXAMPLES)],
    now: Annotated[datetime, Depends(utc_now)],
) -> Response:
    """Give a new PIN; clears held-back sign-ins and ends the operator's sessions."""
    with _store_errors():
        _store(request).set_pin(operator_id, body.pin.get_secret_value(), now=now)
    log.info("operator PIN set operator_id=%s by=%s", operator_id, admin.operator_id)
    return Response(status_code=HTTPStatus.NO_CONTENT)


@operators_router.post(
    "/{operator_id}/unlock",
    response_model=OperatorView,
    responses={**_ADMIN_ERRORS, 404: _UNKNOWN},
)
def unlock_operator(
    request: Request,
    admin: _Admin,
    operator_id: str,
    now: Annotated[datetime, Depends(utc_now)],
) -> OperatorView:
    """Let every device try this operator's badge and id again after failed sign-ins."""
    with _store_errors():
        operator = _store(request).unlock(operator_id, now=now)
    log.info("operator unlocked operator_id=%s by=%s", operator_id, admin.operator_id)
    return OperatorView.of(operator)
