"""Running an erasure for a unit: the profile's tool, its transcript and a signed certificate
into the blob store, then `erasure.completed` through the workflows."""

from __future__ import annotations

import asyncio
import uuid

import uuid6

from edge.api.errors import ApiError
from edge.api.services import HubServices
from edge.hub.runtime import Result
from edge.operators import Principal
from stations.certificate import Device, Media, Technician, sign_certificate
from stations.erasure_tool import ErasureRun, ErasureTarget, build_certificate, run_erasure
from stations.reopening import refuse_if_finished
from stations.workflow import ErasureInput, UnitView


async def erase_unit(services: HubServices, unit: UnitView, who: Principal) -> Result:
    hub = services.hub
    refuse_if_finished(unit, "erasure")  # before the tool runs, not after
    if unit.payout_status == "declined":
        raise ApiError(
            409, "declined", f"unit {unit.unit_id}'s trade-in was declined: it goes back unerased"
        )
    platform = unit.platform if unit.platform in ("android", "ios") else "other"
    tools = hub.profile.erasure.tools
    config = tools.get(platform)
    if config is None:
        known = ", ".join(sorted(tools)) or "none"
        raise ApiError(
            409,
            "no_erasure_tool",
            f"this station's profile has no erasure tool for {platform} devices "
            f"(configured: {known})",
        )
    if not unit.serial:
        raise ApiError(
            409,
            "serial_unknown",
            f"unit {unit.unit_id} has no serial number yet: put it in the cradle first",
        )
    target = ErasureTarget(unit.serial, unit.imei, platform)  # type: ignore[arg-type]
    run: ErasureRun = await asyncio.to_thread(run_erasure, config, target)
    blobs = hub.journal.blobs
    transcript_sha = await asyncio.to_thread(blobs.put, run.transcript)
    certificate = build_certificate(
        run,
        certificate_id=uuid.UUID(str(uuid6.uuid7())),
        device=Device(
            manufacturer=unit.make or "unknown",
            model=unit.model or "unknown",
            serial=unit.serial,
            imei=unit.imei,
            platform=platform,
        ),
        media=Media(type=config.media_type, source=unit.unit_id),
        technician=Technician(operator_id=who.operator_id, name=who.name),
        station=hub.station,
        site=hub.site,
        transcript_sha256=transcript_sha,
    )
    document = sign_certificate(certificate, hub.journal.signer)
    certificate_sha = await asyncio.to_thread(blobs.put, document)
    item = ErasureInput(
        unit_id=unit.unit_id,
        certificate_sha256=certificate_sha,
        transcript_sha256=transcript_sha,
        succeeded=run.succeeded,
        method=run.method,
        verification=run.verification,
        tool=run.tool_name,
        tool_version=run.tool_version,
        reason=run.reason,
        operator=who.operator_id,
    )
    return await hub.handle(item)
