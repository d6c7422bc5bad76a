"""Finished units stay finished: a routed unit takes no further bench, erasure or disposition
step until a technician reopens it with a reason (`unit.reopened`). Moves to a bin go on."""

from __future__ import annotations

from edge.journal.events import EventType
from edge.limits import MAX_NOTE_LENGTH
from stations.workflow import Lookup, Outcome, ReopenInput, UnitView, WorkflowRefused


def is_finished(unit: UnitView) -> bool:
    return unit.status == "routed"


def where(unit: UnitView) -> str:
    """The finished unit's state in words: "routed to parts, in BIN-A-01"."""
    place = f", in {unit.location}" if unit.location else ""
    return f"routed to {unit.route}{place}"


def how_to_reopen(unit: UnitView) -> str:
    return (
        f"reopen it first (POST /api/v1/units/{unit.unit_id}/reopen with a reason; "
        "technician or admin)"
    )


def refuse_if_finished(unit: UnitView, step: str) -> None:
    """Refuse a person's `step` ("grading", "erasure", "routing") on a finished unit."""
    if is_finished(unit):
        raise WorkflowRefused(
            f"unit {unit.unit_id} is finished ({where(unit)}): no {step} until you "
            f"{how_to_reopen(unit)}",
            code="unit_finished",
        )


def decide_reopen(request: ReopenInput, lookup: Lookup) -> Outcome:
    unit = lookup.unit(request.unit_id)
    if unit is None:
        raise WorkflowRefused(f"no unit {request.unit_id!r} at this station", status=404)
    if not is_finished(unit):
        raise WorkflowRefused(
            f"unit {unit.unit_id} is not finished (status {unit.status}): nothing to reopen",
            code="not_finished",
        )
    reason = request.reason.strip()
    if not 3 <= len(reason) <= MAX_NOTE_LENGTH:
        raise WorkflowRefused(
            f"reason: say why in 3 to {MAX_NOTE_LENGTH} characters", status=422, code="invalid"
        )
    out = Outcome()
    out.add(
        EventType.UNIT_REOPENED,
        unit.unit_id,
        request.operator,
        {
            "reason": reason,
            "was": {
                "status": unit.status,
                "route": unit.route,
                "location": unit.location,
                "grade": unit.grade,
                "erasure": unit.erasure,
            },
        },
    )
    out.message = f"Unit {unit.unit_id} reopened (was {where(unit)}): it can be worked on again."
    return out
