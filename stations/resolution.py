"""Resolving an exception: a technician closes it with a resolution and a reason.

Four eyes on money: an exception whose kind changes the payout (`exception_kinds`) is resolved
only by someone other than the person who raised it (or to whom the reading that raised it was
credited), and only with the admin role. The station has no separate supervisor role: admin is
the supervisor.
"""

from __future__ import annotations

from typing import Literal

from edge.journal.events import EventType
from edge.operators.roles import Role
from stations.exception_kinds import kind
from stations.workflow import ExceptionView, Lookup, Outcome, ResolveInput, WorkflowRefused

SUPERVISOR = Role.ADMIN  # who may decide a payout; there is no supervisor role of its own

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
    if kind(exception.kind).changes_payout:
        _four_eyes(exception, resolve)
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


def _four_eyes(exception: ExceptionView, resolve: ResolveInput) -> None:
    what = f"exception {exception.seq} ({exception.kind}) changes the customer's payout"
    if resolve.operator == exception.operator:
        raise WorkflowRefused(
            f"{what}: it was raised by you ({exception.operator}, or on a reading credited to "
            f"you), so a second person must resolve it: someone else with the "
            f"{SUPERVISOR.value} role (the station's supervisor role)",
            status=403,
            code="four_eyes",
        )
    if not _holds(resolve.role, SUPERVISOR):
        raise WorkflowRefused(
            f"{what}: only someone with the {SUPERVISOR.value} role (the station's supervisor "
            f"role) may resolve it, and not {exception.operator}, who raised it; you are "
            f"{resolve.role or 'of unknown role'}",
            status=403,
            code="four_eyes",
        )


def _holds(role: str, required: Role) -> bool:
    try:
        return Role(role).allows(required)
    except ValueError:
        return False
