"""Station endpoints: health, status, devices, the journal, certificates, the profile, and the
live stream for screens."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import shutil
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response

from edge.api.auth import require_role
from edge.api.errors import ApiError, error_responses
from edge.api.models import JournalPage, ProfileBody
from edge.api.services import HubServices, services
from edge.journal import EventType
from edge.journal.clock import clock_state
from edge.operators import Principal, Role
from stations.certificate import CertificateError, open_certificate
from stations.profile import HubProfile

router = APIRouter(tags=["station"])
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
Services = Annotated[HubServices, Depends(services)]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
STREAM_SESSION_CHECK_S = 30.0  # how often an idle stream checks that its session still holds
STREAM_RECHECK_S = 1.0  # while messages flow: how stale a session check may get (other processes)
EVENT_TYPES = "|".join(t.value.replace(".", r"\.") for t in EventType)


@router.get("/healthz", include_in_schema=True, tags=["health"])
@router.get("/livez", include_in_schema=False)
def healthz() -> dict[str, str]:
    """The process answers. A lost broker or upstream is a status, not a failed liveness."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses={503: {"description": "Not ready"}})
def readyz(hub: Services) -> JSONResponse:
    """Ready when the journal takes writes and the read model has caught up with it."""
    problems = hub.hub.ready_problems()
    body = {"status": "ready" if not problems else "not_ready", "problems": problems}
    return JSONResponse(body, status_code=200 if not problems else 503)


@router.get("/api/v1/station", responses=error_responses(401))
def station_status(hub: Services, _: Operator) -> dict[str, Any]:
    """Who and what this station is, and how it is doing: its clock (`synced` when the kernel
    says NTP holds it) and the free space where its journal lives, for the status screen."""
    core = hub.hub
    stats = core.journal.stats()
    active = core.active_operator
    now = datetime.now(UTC)
    disk = shutil.disk_usage(core.data_dir)
    return {
        "time": now.isoformat(),
        "clock": clock_state(now).value,
        "disk": {"free_bytes": disk.free, "total_bytes": disk.total},
        "site": core.site,
        "station": core.station,
        "role": core.profile.station.role,
        "workflows": list(core.profile.workflows),
        "journal": {"size": stats.size, "signed_size": stats.signed_size},
        "bus": {"connected": hub.bus.connected if hub.bus else False},
        "operator": (
            {"operator_id": active.operator_id, "name": active.name, "role": active.role}
            if active
            else None
        ),
        "counts": core.state.counts(),
        "inputs": {
            "handled": core.inputs_handled,
            "refused": core.inputs_refused,
            "failed": core.inputs_failed,
        },
        "screens": core.broadcaster.listeners,
    }


@router.get("/api/v1/devices", responses=error_responses(401))
def devices(hub: Services, _: Operator) -> dict[str, Any]:
    """Every device's last status as it reported it (retained on the bus)."""
    found = dict(hub.bus.devices) if hub.bus else {}
    slots = [
        {
            "device": slot.id,
            "kind": slot.kind,
            "enabled": slot.enabled,
            "status": found.pop(slot.id, None),
        }
        for slot in hub.hub.profile.station.devices
    ]
    extra = [{"device": d, "kind": s.get("kind"), "status": s} for d, s in found.items()]
    return {"devices": slots + extra}


@router.get("/api/v1/journal", response_model=JournalPage, responses=error_responses(401, 422))
def journal_page(
    hub: Services,
    _: Operator,
    after: Annotated[int, Query(ge=0, le=2**53)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    type: Annotated[str | None, Query(pattern=rf"^({EVENT_TYPES})$")] = None,
    subject: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> JournalPage:
    """Custody events after seq `after`, oldest first, optionally one type or subject."""
    reader = hub.hub.journal.reader
    events = []
    for event in reader.events(start=after + 1, subject=subject, event_type=type, batch=limit):
        events.append(event.as_stored())
        if len(events) > limit:
            break
    more = len(events) > limit
    events = events[:limit]
    return JournalPage(
        events=events,
        next_after=events[-1]["seq"] if more and events else None,
        size=reader.size(),
    )


@router.get(
    "/api/v1/certificates/{sha256}",
    response_class=Response,
    responses={
        200: {"content": {"application/json": {}}, "description": "The signed certificate"},
        **error_responses(401, 404, 409, 422),
    },
)
def certificate(hub: Services, _: Operator, sha256: Sha256) -> Response:
    """An erasure certificate as signed, after checking it against the station key."""
    blobs = hub.hub.journal.blobs
    if not blobs.has(sha256):
        raise ApiError(404, "not_found", f"no certificate {sha256}")
    document = blobs.read(sha256)
    try:
        open_certificate(document, hub.hub.journal.verifier)
    except CertificateError as exc:
        raise ApiError(409, "certificate_invalid", f"certificate does not verify: {exc}") from None
    return Response(document, media_type="application/json")


@router.get("/api/v1/profile", responses=error_responses(401, 403))
def get_profile(hub: Services, _: Admin) -> dict[str, Any]:
    """The station profile in force (as loaded at start) and its file."""
    path = hub.profile_path
    text = path.read_text(encoding="utf-8") if path and path.exists() else None
    profile = hub.hub.profile
    return {
        "path": str(path) if path else None,
        "toml": text,
        "role": profile.station.role,
        "workflows": list(profile.workflows),
        "devices": [slot.model_dump(mode="json") for slot in profile.station.devices],
    }


@router.put("/api/v1/profile", responses=error_responses(400, 401, 403, 409, 422))
def put_profile(hub: Services, _: Admin, body: ProfileBody) -> dict[str, Any]:
    """Check a new profile and store it; it takes effect when the station restarts."""
    import tomllib

    from drivers.profile import ProfileError
    from edge.hub.runtime import load_workflows
    from stations.catalogue import CatalogueError
    from stations.disposition import RulesError
    from stations.profile import parse_hub_profile
    from stations.profile_lock import locked_changes

    path = hub.profile_path
    if path is None:
        raise ApiError(409, "no_profile_file", "this hub was started without a profile file")
    try:
        data = tomllib.loads(body.toml)
        parsed = parse_hub_profile(data, "profile", path.parent)
    except tomllib.TOMLDecodeError as exc:
        raise ApiError(422, "invalid_profile", f"not valid TOML: {exc}") from None
    except ProfileError as exc:
        raise ApiError(422, "invalid_profile", str(exc)) from None
    current = hub.hub.profile.station
    if (parsed.station.site, parsed.station.station) != (current.site, current.station):
        raise ApiError(
            422,
            "invalid_profile",
            "a profile cannot change the station's site or id (its journal is theirs)",
        )
    # Before any file it names is opened: what the station runs, reads or sends custody to is
    # set in the file on the station by its administrator, never from a badge-and-PIN session.
    locked = locked_changes(_profile_on_disk(path) or hub.hub.profile, parsed)
    if locked:
        raise ApiError(
            403,
            "root_only",
            f"{', '.join(locked)} cannot be changed through the API (programs, files and "
            "addresses the station uses): edit the profile file on the station",
            fields=locked,
        )
    try:
        # the files it names (catalogue override, rules, demand) must load too, or the station
        # would store the profile now and fail to start at the next restart
        load_workflows(parsed)
    except (CatalogueError, RulesError) as exc:
        raise ApiError(422, "invalid_profile", str(exc)) from None
    if path.exists():
        backup = path.with_suffix(".toml.bak")
        backup.write_bytes(path.read_bytes())
    tmp = path.with_suffix(".toml.new")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(body.toml)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    return {"stored": str(path), "applies": "at the next restart of the station"}


def _profile_on_disk(path: pathlib.Path) -> HubProfile | None:
    """The profile file as it is now (root may have edited it since the start), if it loads."""
    from drivers.profile import ProfileError
    from stations.profile import load_hub_profile

    try:
        return load_hub_profile(path)
    except ProfileError:
        return None


@router.websocket("/api/v1/stream")
async def stream(websocket: WebSocket) -> None:
    """Live custody events, readings and device status. Send `{"token": "…"}` first (a token
    in the URL would end up in access logs). The stream ends (`{"type": "error"}`, close code
    4401) when the token's session does: sign-out, expiry, a role change or a disabled
    operator."""
    await websocket.accept()
    hub: HubServices = websocket.app.state.services
    try:
        async with asyncio.timeout(10):
            hello = await websocket.receive_text()
        token = json.loads(hello).get("token")
    except (TimeoutError, ValueError, AttributeError, WebSocketDisconnect):
        token = None
    principal = await _session(hub, token) if isinstance(token, str) else None
    if principal is None or not isinstance(token, str):
        await _unauthorized(websocket)
        return
    check = _SessionCheck(hub, token, principal)
    async with hub.hub.broadcaster.listen() as listener:
        await websocket.send_json(
            {"type": "hello", "station": hub.hub.station, "journal_size": hub.hub.journal.size}
        )
        receiver = asyncio.ensure_future(_drain(websocket))
        receiver.add_done_callback(lambda _: listener.wake())
        try:
            while not receiver.done():
                ready = await listener.wait(STREAM_SESSION_CHECK_S)
                if receiver.done():
                    break
                # an ended session sees no more: rechecked while idle, and before a message
                # whenever it may have ended since the last check
                if not await check.holds(force=not ready):
                    await _unauthorized(websocket)
                    break
                # what is queued now, without a loop turn between; what comes meanwhile waits
                # for the next burst, after the next session check
                for message in listener.burst():
                    await websocket.send_text(message)
                if listener.lagged and not listener.pending:  # what was queued, then this
                    await websocket.send_json({"type": "lagged"})
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            receiver.cancel()
            with contextlib.suppress(Exception):
                await websocket.close()


async def _session(hub: HubServices, token: str) -> Principal | None:
    return await asyncio.to_thread(hub.operators.authenticate, token, datetime.now(UTC))


class _SessionCheck:
    """Whether a stream's session still holds, asked of the operator store only when it may have
    changed: a sign-out, disable or role change in this process (the store's generation), the
    session's expiry, or every `STREAM_RECHECK_S` for changes made by another process."""

    def __init__(self, hub: HubServices, token: str, principal: Principal) -> None:
        self.hub, self.token = hub, token
        self.expires_at = principal.expires_at
        self.generation = hub.operators.generation
        self.checked_at = time.monotonic()

    async def holds(self, *, force: bool = False) -> bool:
        due = (
            force
            or self.hub.operators.generation != self.generation
            or datetime.now(UTC) >= self.expires_at
            or time.monotonic() - self.checked_at >= STREAM_RECHECK_S
        )
        if not due:
            return True
        self.generation = self.hub.operators.generation
        self.checked_at = time.monotonic()
        principal = await _session(self.hub, self.token)
        if principal is None:
            return False
        self.expires_at = principal.expires_at
        return True


async def _unauthorized(websocket: WebSocket) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_json({"type": "error", "error": "unauthorized"})
        await websocket.close(code=4401)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the screen sends, so a closed socket is noticed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
