"""Resolving an exception: a technician closes it with a resolution and a reason."""

from __future__ import annotations

from typing import Literal

from edge.journal.events import EventType
from stations.workflow import Lookup, Outcome, ResolveInput, WorkflowRefused

# What a resolution does to the thing it was raised on. `accept`: carry on as if it were fine
# (e.g. the weight was off because of extra packaging). `reject`: the unit or package goes
# back (return to customer, refuse the payout). `correct`: the data was wrong and was fixed.
Resolution = Literal["accept", "reject", "correct"]
RESOLUTIONS: tuple[str, ...] = ("accept", "reject", "correct")


def decide_resolve(resolve: ResolveInput, lookup: Lookup) -> Outcome:
    exception = lookup.exception(resolve.exception_seq)
    if exception is None:
        raise WorkflowRefused(f"no exception with id {resolve.exception_seq}", status=404)
    if exception.status != "open":
        raise WorkflowRefused(
            f"exception {resolve.exception_seq} is already resolved", code="already_resolved"
        )
    if resolve.resolution not in RESOLUTIONS:
        raise WorkflowRefused(
            f"resolution must be one of {', '.join(RESOLUTIONS)}", status=422, code="invalid"
        )
    reason = resolve.reason.strip()
    if len(reason) < 3:
        raise WorkflowRefused("say why (a reason of at least 3 characters)", status=422)
    out = Outcome()
    out.add(
        EventType.EXCEPTION_RESOLVED,
        exception.subject,
        resolve.operator,
        {
            "exception_seq": exception.seq,
            "exception": exception.kind,
            "resolution": resolve.resolution,
            "reason": reason,
        },
    )
    out.message = f"Exception {exception.seq} ({exception.kind}) resolved: {resolve.resolution}."
    return out
