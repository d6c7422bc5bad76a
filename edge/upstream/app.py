"""The upstream ledger's HTTP API (its own ASGI app): ingest, heads, blobs, the manifest feed,
the customer view and the admin endpoints. Wire format: docs/replication.md."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from edge import __version__
from edge.api.body_limits import BodyLimits, RouteLimit, bearer_token
from edge.api.errors import ApiError, error_response, error_responses, install_error_handlers
from edge.limits import (
    MAX_BATCH_BODY_BYTES,
    MAX_BLOB_BYTES,
    MAX_JSON_BODY_BYTES,
    MAX_MANIFEST_BODY_BYTES,
)
from edge.upstream.arrivals import ArrivalOrder
from edge.upstream.ingest import InvalidBatch, WireBatch, check_body
from edge.upstream.ledger import Ledger, LedgerError, StationInfo
from edge.upstream.refusals import wire_refusal
from edge.upstream.store import StoreError
from edge.web import serve_api_docs
from stations.catalogue import Catalogue
from stations.manifest import ManifestError, parse_manifest

log = logging.getLogger(__name__)
StationId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
ReturnId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
ARRIVAL_WAIT_S = 10.0  # a station's batch waits at most this long for the one before it


@dataclass
class _Arrivals:
    """Per station, the order ingests arrived in: one for their checks, one for their stores."""

    checks: ArrivalOrder = field(default_factory=lambda: ArrivalOrder(ARRIVAL_WAIT_S))
    stores: ArrivalOrder = field(default_factory=lambda: ArrivalOrder(ARRIVAL_WAIT_S))


_CHALLENGE = {"WWW-Authenticate": "Bearer"}  # RFC 9110 §11.6.1: a 401 says how to authenticate


class StationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    station: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    vkey: str = Field(min_length=1, max_length=300)


class ManifestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    returns: list[dict[str, Any]] = Field(min_length=1, max_length=50_000)


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "unauthorized", "send Authorization: Bearer <token>", headers=_CHALLENGE
        )
    return token.strip()


def _arrivals(request: Request) -> _Arrivals:
    arrivals = request.app.state.arrivals
    assert isinstance(arrivals, _Arrivals)
    return arrivals


async def _ledger(request: Request) -> Ledger:  # async: FastAPI runs a sync one in a thread
    ledger = request.app.state.ledger
    assert isinstance(ledger, Ledger)
    return ledger


LedgerDep = Annotated[Ledger, Depends(_ledger)]


async def _station_caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> tuple[str, str]:
    token = _bearer(authorization)
    ledger = await _ledger(request)
    found = ledger.known_station(token)  # in memory: no wait for a station seen before
    if found is None:
        found = await run_in_threadpool(ledger.station_for_token, token)
    if found is None:
        raise ApiError(401, "unauthorized", "unknown station token", headers=_CHALLENGE)
    return found


Caller = Annotated[tuple[str, str], Depends(_station_caller)]


def _admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    if not _is_admin_token(request.app, _bearer(authorization)):
        raise ApiError(401, "unauthorized", "not the admin token", headers=_CHALLENGE)


def _is_admin_token(app: FastAPI, token: str) -> bool:
    expected: str = app.state.admin_token_sha256
    return hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), expected)


async def _admin_gate(scope: Scope) -> bool:
    """An admin may send a large body (a manifest import); a stranger is held to the small cap."""
    token = bearer_token(scope)
    return token is not None and _is_admin_token(scope["app"], token)


Admin = Annotated[None, Depends(_admin)]


def _own(caller: tuple[str, str], site: str, station: str | None = None) -> None:
    if caller[0] != site or (station is not None and caller[1] != station):
        raise ApiError(403, "forbidden", f"this token is for {caller[0]}/{caller[1]}")


def _refusal(exc: LedgerError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses={503: {"description": "Not ready"}})
def readyz(ledger: LedgerDep) -> JSONResponse:
    """Ready or not, nothing more: where the database is and why it failed go to the log."""
    try:
        ledger.manifest_cursor("-")
    except StoreError as exc:
        log.error("not ready: %s", exc)
        return JSONResponse({"status": "not_ready"}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", tags=["health"], response_class=Response)
def metrics(ledger: LedgerDep) -> Response:
    """Prometheus text: fleet totals only (no station, site or return in any label)."""
    totals = ledger.totals()
    lines = []
    for name, help_text, kind in (
        ("stations", "Stations registered", "gauge"),
        ("events", "Custody events held, all stations", "gauge"),
        ("alerts", "Alerts raised (forks, refused batches)", "counter"),
        ("forks", "Forked histories refused and kept as evidence", "counter"),
    ):
        metric = f"edge_upstream_{name}" + ("_total" if kind == "counter" else "")
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} {kind}"]
        lines.append(f"{metric} {totals[name]}")
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its `$defs` written in place (OpenAPI has no `$defs`)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    result = inline(schema)
    assert isinstance(result, dict)
    return result


_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline_schema(WireBatch)}},
    }
}


@router.post(
    "/api/v1/stations/{site}/{station}/events",
    tags=["replication"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
    openapi_extra=_BATCH_BODY,
)
async def ingest(
    site: StationId, station: StationId, caller: Caller, request: Request, ledger: LedgerDep
) -> JSONResponse:
    """A batch of journal events with the checkpoint that covers them."""
    _own(caller, site, station)  # before the body: an unknown caller is refused unread
    # Two turns, taken with no wait since the request came in (the ledger is no thread hop, a
    # known token no lookup): the station's batches are checked one at a time (checks hold the
    # GIL: side by side they finish no sooner and slow the storing thread) and stored in the
    # order the station sent them, the next one checked while one is stored.
    arrivals, key = _arrivals(request), (site, station)
    async with arrivals.stores.turn(key) as store_turn:
        async with arrivals.checks.turn(key) as check_turn:
            raw = await request.body()
            await check_turn.wait()
            try:
                # parsed by pydantic-core in one pass (FastAPI's `json.loads` then
                # `validate_python` cost ~4x as much) and prechecked, before any lock
                checked = await run_in_threadpool(check_body, site, station, raw)
            except ValidationError as exc:  # not a batch at all: as FastAPI answers a bad body
                await run_in_threadpool(ledger.note_refusal, site, station, wire_refusal(raw, exc))
                errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
                raise RequestValidationError(errors) from None
            except InvalidBatch as exc:  # refused before the ledger saw it: an alert as well
                await run_in_threadpool(ledger.note_refusal, site, station, exc)
                raise ApiError(422, "invalid", exc.message, seq=exc.seq) from None
        await store_turn.wait()
        try:
            result = await run_in_threadpool(ledger.ingest_checked, site, station, checked)
        except InvalidBatch as exc:
            raise ApiError(422, "invalid", exc.message, seq=exc.seq) from None
        except LedgerError as exc:
            raise _refusal(exc) from None
    body: dict[str, Any] = {
        "size": result.size,
        "checkpoint_size": result.checkpoint_size,
        "cosignature": result.cosignature,
    }
    if result.outcome == "gap":
        return JSONResponse({"error": "gap", "message": result.message, **body}, status_code=409)
    if result.outcome == "fork":
        return JSONResponse(
            {"error": "fork", "message": result.message, "seq": result.seq, **body},
            status_code=409,
        )
    return JSONResponse({**body, "stored": result.stored})


@router.get(
    "/api/v1/stations/{site}/{station}/head",
    tags=["replication"],
    responses=error_responses(401, 403, 404),
)
def head(site: StationId, station: StationId, caller: Caller, ledger: LedgerDep) -> dict[str, Any]:
    """What the upstream holds of this station: resume from here."""
    _own(caller, site, station)
    try:
        info = ledger.station(site, station)
    except LedgerError as exc:
        raise _refusal(exc) from None
    return {
        "size": info.size,
        "checkpoint_size": info.checkpoint_size,
        "cosignature": info.cosignature,
    }


@router.put(
    "/api/v1/blobs/{sha256}",
    tags=["replication"],
    responses={
        201: {"description": "Stored now (200: it was already held)"},
        **error_responses(401, 413, 422),
        409: error_response(
            409,
            "not_named",
            f"no event of ams-1/dock-1 held here names blob {'0' * 64}: send the events that "
            "name it first",
            "No event of this station held here names the blob",
        ),
    },
)
async def put_blob(sha256: Sha256, request: Request, caller: Caller, ledger: LedgerDep) -> Response:
    """A blob's bytes under its SHA-256, stored once: only a blob one of the station's events
    held here names, within the station's quota (both checked before the body is read)."""
    site, station = caller
    try:
        room = await run_in_threadpool(ledger.blob_room, site, station, sha256)
    except LedgerError as exc:
        raise _refusal(exc) from None
    cap = MAX_BLOB_BYTES if room is None else min(MAX_BLOB_BYTES, room)
    declared = request.headers.get("content-length", "")
    if room is not None and declared.isdigit() and room < int(declared) <= MAX_BLOB_BYTES:
        raise _refusal(ledger.over_quota(site, station))
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > cap:
            if cap < MAX_BLOB_BYTES:
                raise _refusal(ledger.over_quota(site, station))
            raise ApiError(413, "too_large", f"blobs are at most {MAX_BLOB_BYTES} bytes")
    try:
        created = await run_in_threadpool(ledger.put_blob, site, station, sha256, bytes(content))
    except LedgerError as exc:
        raise _refusal(exc) from None
    return JSONResponse({"sha256": sha256, "stored": created}, status_code=201 if created else 200)


@router.head(
    "/api/v1/blobs/{sha256}",
    tags=["replication"],
    response_class=Response,
    responses={
        200: {"description": "Held (and named by one of this station's events)"},
        401: {"description": "No or unknown station token"},
        404: {"description": "Not held, or no event of this station names it"},
    },
)
def has_blob(sha256: Sha256, caller: Caller, ledger: LedgerDep) -> Response:
    return Response(status_code=200 if ledger.has_blob(*caller, sha256) else 404)


@router.get(
    "/api/v1/sites/{site}/manifest",
    tags=["manifest"],
    responses={
        304: {"description": "Nothing changed after `after` (If-None-Match matched)"},
        **error_responses(401, 403),
    },
)
def manifest_feed(
    site: StationId,
    caller: Caller,
    ledger: LedgerDep,
    after: Annotated[int, Query(ge=0, le=2**53)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Expected returns of the site changed after `after` (a cursor), oldest change first."""
    _own(caller, site)
    etag = f'"{site}-{ledger.manifest_cursor(site)}-{after}"'
    if if_none_match == etag:
        return Response(status_code=304, headers={"ETag": etag})
    records, cursor, more = ledger.manifest_since(site, after, limit)
    return JSONResponse(
        {"records": records, "cursor": cursor, "more": more}, headers={"ETag": etag}
    )


@router.post(
    "/api/v1/sites/{site}/manifest", tags=["admin"], responses=error_responses(400, 401, 422)
)
def import_manifest(
    site: StationId, body: ManifestBody, _: Admin, ledger: LedgerDep
) -> dict[str, Any]:
    """Create or update expected returns; the tokens of new returns are shown once."""
    data = json.dumps({"returns": body.returns}).encode()
    try:
        records = parse_manifest(data, "json", Catalogue.builtin())
        changed, tokens = ledger.import_manifest(site, records)
    except ManifestError as exc:
        raise ApiError(422, "invalid_manifest", str(exc)) from None
    return {"changed": changed, "tokens": tokens}


@router.get("/api/v1/returns/{return_id}", tags=["customer"], responses=error_responses(401, 404))
def customer_view(
    return_id: ReturnId, ledger: LedgerDep, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    """The status and custody milestones of one return, for its customer."""
    view = ledger.return_view(return_id, _bearer(authorization))
    if view is None:
        raise ApiError(404, "not_found", "no such return for this token")
    return view


@router.post("/api/v1/stations", tags=["admin"], responses=error_responses(400, 401, 409, 422))
def register_station(body: StationBody, _: Admin, ledger: LedgerDep) -> dict[str, str]:
    """Enrol a station's checkpoint key; its bearer token is shown once."""
    try:
        token = ledger.register_station(body.site, body.station, body.vkey)
    except LedgerError as exc:
        raise _refusal(exc) from None
    return {"token": token}


@router.get("/api/v1/stations", tags=["admin"], responses=error_responses(401))
def list_stations(_: Admin, ledger: LedgerDep) -> dict[str, list[dict[str, Any]]]:
    return {"stations": [_station_json(s) for s in ledger.stations()]}


@router.get("/api/v1/alerts", tags=["admin"], responses=error_responses(401))
def alerts(
    _: Admin, ledger: LedgerDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """Forks and refused batches, newest first."""
    return {"alerts": ledger.alerts(limit)}


def _station_json(info: StationInfo) -> dict[str, Any]:
    return {
        "site": info.site,
        "station": info.station,
        "origin": info.origin,
        "size": info.size,
        "checkpoint_size": info.checkpoint_size,
        "registered_at": info.registered_at,
        "last_contact_at": info.last_contact_at,
    }


def upstream_app(ledger: Ledger, admin_token: str) -> FastAPI:
    app = FastAPI(
        title="Edge upstream ledger",
        version=__version__,
        description="The reference receiving end for station journals (docs/replication.md).",
        docs_url=None,
        redoc_url=None,
    )
    serve_api_docs(app)
    app.state.ledger = ledger
    app.state.arrivals = _Arrivals()
    app.state.admin_token_sha256 = hashlib.sha256(admin_token.encode()).hexdigest()
    install_error_handlers(app)
    app.include_router(router)
    # ingest and blobs refuse an unknown token before reading the body; the manifest is parsed
    # before its route runs, so only an admin gets the large cap
    app.add_middleware(
        BodyLimits,
        default=MAX_JSON_BODY_BYTES,
        routes=[
            RouteLimit("POST", "/api/v1/stations/{site}/{station}/events", MAX_BATCH_BODY_BYTES),
            RouteLimit("PUT", "/api/v1/blobs/{sha256}", MAX_BLOB_BYTES),
            RouteLimit(
                "POST", "/api/v1/sites/{site}/manifest", MAX_MANIFEST_BODY_BYTES, _admin_gate
            ),
        ],
    )

    @app.exception_handler(StoreError)
    async def _store_down(request: Request, exc: StoreError) -> JSONResponse:
        log.error("store error: %s", exc)
        return JSONResponse(
            {"error": "store_unavailable", "message": "the ledger's database is unavailable"},
            status_code=503,
        )

    return app
