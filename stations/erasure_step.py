"""Recording an erasure the hub ran: its certificate and transcript are already blobs."""

from __future__ import annotations

from edge.journal.events import EventType
from stations.reopening import refuse_if_finished
from stations.workflow import ErasureInput, Lookup, Outcome, WorkflowRefused


def decide_erasure(erasure: ErasureInput, lookup: Lookup) -> Outcome:
    unit = lookup.unit(erasure.unit_id)
    if unit is None:
        raise WorkflowRefused(f"no unit {erasure.unit_id!r} at this station", status=404)
    refuse_if_finished(unit, "erasure")
    out = Outcome()
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
        (erasure.certificate_sha256, erasure.transcript_sha256),
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
