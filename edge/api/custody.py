"""Custody endpoints: returns, units (timeline + verify badge), exceptions, and the actions
people take at the dock and the bench."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from edge.api.auth import require_role
from edge.api.errors import ApiError, error_responses
from edge.api.idempotency import IdempotencyKey, once
from edge.api.models import (
    ActionResult,
    CancelReceiptBody,
    ChecklistBody,
    ManifestBody,
    MoveBody,
    Page,
    ReopenBody,
    ResolveBody,
    SealBody,
    TypedScanBody,
)
from edge.api.services import HubServices, services
from edge.hub.badge import verify_badge
from edge.hub.erasure_run import erase_unit
from edge.hub.runtime import ManifestImport, Result
from edge.operators import Principal, Role
from stations.manifest import ManifestError, parse_manifest
from stations.workflow import (
    CancelReceiptInput,
    GradeInput,
    MoveInput,
    Reading,
    ReopenInput,
    ResolveInput,
    RouteInput,
    ScanInput,
    SealInput,
    UnitView,
)

router = APIRouter(prefix="/api/v1", tags=["custody"])
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
Technician = Annotated[Principal, Depends(require_role(Role.TECHNICIAN))]
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
Services = Annotated[HubServices, Depends(services)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
UnitId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
ReturnId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
ExceptionSeq = Annotated[int, Path(ge=1, le=2**53)]

_ERRORS = error_responses(400, 401, 403, 404, 409, 422)


def _result(result: Result) -> ActionResult:
    return ActionResult(**result.as_json())


# -- returns --


@router.get("/returns", response_model=Page, responses=_ERRORS)
def list_returns(
    hub: Services,
    _: Operator,
    status: Annotated[
        str | None, Query(pattern=r"^(accepted|in_transit|received|cancelled|expired)$")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    """Expected returns from the manifest, with their receipt and unit."""
    items, total = hub.hub.state.list_returns(status=status, limit=limit, offset=offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/returns/{return_id}", responses=_ERRORS)
def get_return(hub: Services, _: Operator, return_id: ReturnId) -> dict[str, Any]:
    """One return: the manifest record, receipt, unit and its custody timeline."""
    expected = hub.hub.state.return_by_id(return_id)
    if expected is None:
        raise ApiError(404, "not_found", f"no expected return {return_id!r}")
    summary = hub.hub.state.return_summary(return_id, expected.to_record())
    subjects = [return_id] + ([summary["unit_id"]] if summary["unit_id"] else [])
    return {**summary, **_timeline(hub, subjects)}


@router.post("/manifest", response_model=ActionResult, responses=_ERRORS)
async def import_manifest(hub: Services, admin: Admin, body: ManifestBody) -> ActionResult:
    """Add or update expected returns; each change is journalled (`manifest.synced`)."""
    data = json.dumps({"returns": body.returns}).encode()
    try:
        records = parse_manifest(data, "json", hub.hub.workflows.catalogue)
    except ManifestError as exc:
        raise ApiError(422, "invalid_manifest", str(exc)) from None
    item = ManifestImport(tuple(records), "api", admin.operator_id)
    return _result(await hub.hub.handle(item))


# -- units --


def unit_json(unit: UnitView) -> dict[str, Any]:
    return {
        "unit_id": unit.unit_id,
        "imei": unit.imei,
        "cradle_imei": unit.cradle_imei,
        "serial": unit.serial,
        "return_id": unit.return_id,
        "make": unit.make,
        "model": unit.model,
        "platform": unit.platform,
        "status": unit.status,
        "grade": unit.grade,
        "checklist": unit.checklist,
        "battery_health": unit.battery_health,
        "lock": unit.lock,
        "erasure": unit.erasure,
        "certificate_sha256": unit.certificate_sha256,
        "route": unit.route,
        "location": unit.location,
        "payout_status": unit.payout_status,
        "identified_by": list(unit.sources),
    }


@router.get("/units", response_model=Page, responses=_ERRORS)
def list_units(
    hub: Services,
    _: Operator,
    status: Annotated[
        str | None, Query(pattern=r"^(identified|graded|returns_review|routed)$")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    units, total = hub.hub.state.list_units(status=status, limit=limit, offset=offset)
    return Page(items=[unit_json(u) for u in units], total=total, limit=limit, offset=offset)


def _unit_or_404(hub: HubServices, unit_id: str) -> UnitView:
    unit = hub.hub.state.unit(unit_id)
    if unit is None:
        raise ApiError(404, "not_found", f"no unit {unit_id!r} at this station")
    return unit


def _timeline(hub: HubServices, subjects: list[str]) -> dict[str, Any]:
    journal = hub.hub.journal
    reader = journal.reader
    events = sorted(
        (e for subject in subjects for e in reader.events(subject=subject)),
        key=lambda e: e.seq,
    )
    badge = verify_badge(reader, [e.seq for e in events], journal.verifier, journal.origin)
    return {"timeline": [e.as_stored() for e in events], "verify": badge.as_json()}


@router.get("/units/{unit_id}", responses=_ERRORS)
def get_unit(hub: Services, _: Operator, unit_id: UnitId) -> dict[str, Any]:
    """One unit with its full custody timeline (and its return's) and a verify badge."""
    unit = _unit_or_404(hub, unit_id)
    subjects = [unit.unit_id] + ([unit.return_id] if unit.return_id else [])
    return {"unit": unit_json(unit), **_timeline(hub, subjects)}


@router.post("/units/{unit_id}/grade", response_model=ActionResult, responses=_ERRORS)
async def grade_unit(
    hub: Services, who: Technician, unit_id: UnitId, body: ChecklistBody
) -> ActionResult:
    """Grade by the checklist (A–D); damage beyond disclosure puts the payout on hold."""
    checklist = body.model_dump(exclude={"note"})
    item = GradeInput(unit_id, checklist, who.operator_id, body.note)
    return _result(await hub.hub.handle(item))


@router.post("/units/{unit_id}/erasure", response_model=ActionResult, responses=_ERRORS)
async def erase(hub: Services, who: Technician, unit_id: UnitId) -> ActionResult:
    """Run the profile's erasure tool for the unit's platform; issue a signed certificate."""
    return _result(await erase_unit(hub, _unit_or_404(hub, unit_id), who))


@router.post("/units/{unit_id}/route", response_model=ActionResult, responses=_ERRORS)
async def route_unit(hub: Services, who: Technician, unit_id: UnitId) -> ActionResult:
    """Route by the disposition rules; the event records the rule and the values it saw."""
    return _result(await hub.hub.handle(RouteInput(unit_id, who.operator_id)))


@router.post("/units/{unit_id}/move", response_model=ActionResult, responses=_ERRORS)
async def move_unit(
    hub: Services, who: Operator, unit_id: UnitId, body: MoveBody, key: IdempotencyKey = None
) -> ActionResult | JSONResponse:
    """Put a unit away or transfer it to a bin."""
    item = MoveInput(unit_id, body.bin, who.operator_id)
    return await once(hub, key, who, f"move:{unit_id}", body, item)


@router.post("/units/{unit_id}/reopen", response_model=ActionResult, responses=_ERRORS)
async def reopen_unit(
    hub: Services, who: Technician, unit_id: UnitId, body: ReopenBody
) -> ActionResult:
    """Reopen a finished (routed) unit with a reason (`unit.reopened`) to work on it again."""
    return _result(await hub.hub.handle(ReopenInput(unit_id, body.reason, who.operator_id)))


# -- exceptions --


@router.get("/exceptions", response_model=Page, responses=_ERRORS)
def list_exceptions(
    hub: Services,
    _: Operator,
    status: Annotated[str | None, Query(pattern=r"^(open|resolved)$")] = "open",
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    """The exception queue, newest first (open ones by default)."""
    items, total = hub.hub.state.list_exceptions(
        status=status, kind=kind, limit=limit, offset=offset
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/exceptions/{seq}", responses=_ERRORS)
def get_exception(hub: Services, _: Operator, seq: ExceptionSeq) -> dict[str, Any]:
    record = hub.hub.state.exception_record(seq)
    if record is None:
        raise ApiError(404, "not_found", f"no exception with id {seq}")
    return record


@router.post("/exceptions/{seq}/resolve", response_model=ActionResult, responses=_ERRORS)
async def resolve_exception(
    hub: Services, who: Technician, seq: ExceptionSeq, body: ResolveBody
) -> ActionResult:
    """Close an exception with a resolution and a reason (`exception.resolved`)."""
    item = ResolveInput(seq, body.resolution, body.reason, who.operator_id, who.role.value)
    return _result(await hub.hub.handle(item))


# -- the dock and typed scans --


@router.get("/dock", responses=_ERRORS)
def dock(hub: Services, _: Operator) -> dict[str, Any]:
    """The package in progress at this dock, if any."""
    current = hub.hub.station_state.dock.current
    return {"current": current.model_dump(mode="json") if current else None}


@router.post("/dock/seal", response_model=ActionResult, responses=_ERRORS)
async def seal(
    hub: Services, who: Operator, body: SealBody, key: IdempotencyKey = None
) -> ActionResult | JSONResponse:
    """Confirm the tamper seal (intact or broken); this completes the receipt."""
    item = SealInput(body.intact, who.operator_id, body.note)
    return await once(hub, key, who, "dock/seal", body, item)


@router.post("/dock/cancel", response_model=ActionResult, responses=_ERRORS)
async def cancel_receipt(
    hub: Services, who: Operator, body: CancelReceiptBody, key: IdempotencyKey = None
) -> ActionResult | JSONResponse:
    """Undo the package open at the dock, with a reason (`receipt.cancelled`); its events stay
    in the journal and the next label starts clean."""
    item = CancelReceiptInput(body.reason.strip(), who.operator_id)
    return await once(hub, key, who, "dock/cancel", body, item)


@router.post("/scans", response_model=ActionResult, responses=_ERRORS)
async def typed_scan(
    hub: Services, who: Operator, body: TypedScanBody, key: IdempotencyKey = None
) -> ActionResult | JSONResponse:
    """A code typed by a person, handled as the station's scanner would handle it, in the flow
    it names (`dock`, `bench`) or else the one the person attends."""
    item = ScanInput(
        code=body.code,
        symbology="typed",
        reading=Reading("api", None),
        operator=who.operator_id,
        source="keyboard",
        flow=hub.hub.scan_flow(who.operator_id, who.role.value, body.flow),
    )
    return await once(hub, key, who, "scans", body, item)
