"""Recording an erasure the hub ran: its certificate and transcript are already blobs.

The hub refuses to start an erasure on a finished unit (`edge.hub.erasure_run`); one that
finished while the tool ran (someone routed the unit meanwhile) has still wiped the device, so
it is kept, as a `unit_finished` exception with the certificate, never refused and lost."""

from __future__ import annotations

from edge.journal.events import EventType
from stations.reopening import how_to_reopen, is_finished, where
from stations.workflow import ErasureInput, Lookup, Outcome, WorkflowRefused


def decide_erasure(erasure: ErasureInput, lookup: Lookup) -> Outcome:
    unit = lookup.unit(erasure.unit_id)
    if unit is None:
        raise WorkflowRefused(f"no unit {erasure.unit_id!r} at this station", status=404)
    blobs = (erasure.certificate_sha256, erasure.transcript_sha256)
    out = Outcome()
    if is_finished(unit):
        out.raise_exception(
            "unit_finished",
            unit.unit_id,
            erasure.operator,
            f"an erasure of unit {unit.unit_id} ({'succeeded' if erasure.succeeded else 'failed'})"
            f" ended after the unit was finished ({where(unit)}); its certificate is kept here, "
            f"not applied: {how_to_reopen(unit)}",
            {
                "certificate_sha256": erasure.certificate_sha256,
                "transcript_sha256": erasure.transcript_sha256,
                "result": "success" if erasure.succeeded else "failure",
                "verification": erasure.verification,
                "reason": erasure.reason,
            },
            blobs,
        )
        out.message = (
            f"Unit {unit.unit_id} was finished while it was being erased ({where(unit)}): "
            f"the certificate is kept on an exception; reopen it to record the erasure."
        )
        return out
    out.add(
        EventType.ERASURE_COMPLETED,
        unit.unit_id,
        erasure.operator,
        {
            "certificate_sha256": erasure.certificate_sha256,
            "transcript_sha256": erasure.transcript_sha256,
            "result": "success" if erasure.succeeded else "failure",
            "method": erasure.method,
            "verification": erasure.verification,
            "tool": erasure.tool,
            "tool_version": erasure.tool_version,
            "reason": erasure.reason,
        },
        blobs,
    )
    if not erasure.succeeded:
        out.raise_exception(
            "erasure_failed",
            unit.unit_id,
            erasure.operator,
            f"erasure of unit {unit.unit_id} failed: {erasure.reason}; resale is blocked",
            {"certificate_sha256": erasure.certificate_sha256, "reason": erasure.reason},
            (erasure.certificate_sha256,),
        )
        out.message = f"Erasure FAILED: {erasure.reason}. Resale is blocked."
    else:
        out.message = f"Erased and verified; certificate {erasure.certificate_sha256[:12]}…"
    return out
