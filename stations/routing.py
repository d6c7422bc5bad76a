"""Routing a unit by the disposition rules, recording which rule fired and what it saw."""

from __future__ import annotations

from edge.journal.events import EventType
from stations.disposition import DemandList, RuleSet, UnitFacts, decide
from stations.exception_kinds import kind
from stations.reopening import refuse_if_finished
from stations.workflow import Lookup, Outcome, RouteInput, WorkflowRefused


def decide_route(
    request: RouteInput, lookup: Lookup, rules: RuleSet, demand: DemandList
) -> Outcome:
    unit = lookup.unit(request.unit_id)
    if unit is None:
        raise WorkflowRefused(f"no unit {request.unit_id!r} at this station", status=404)
    refuse_if_finished(unit, "routing")
    if unit.grade is None or unit.checklist is None:
        raise WorkflowRefused(f"unit {unit.unit_id} is not graded yet", code="not_graded")
    if unit.payout_status == "declined":
        raise WorkflowRefused(
            f"unit {unit.unit_id}'s trade-in was declined: it goes back to the customer",
            code="declined",
        )
    review = [e for e in lookup.open_exceptions(unit.unit_id) if kind(e.kind).changes_payout]
    if review:
        raise WorkflowRefused(
            f"unit {unit.unit_id} is in returns review (exception {review[0].seq}, "
            f"{review[0].kind}, is open and decides its payout)",
            code="returns_review",
        )
    checklist = unit.checklist
    facts = UnitFacts(
        grade=unit.grade,
        screen=checklist["screen"],
        body=checklist["body"],
        function=checklist["function"],
        battery_health=unit.battery_health,
        lock=unit.lock,
        erasure=unit.erasure,
        demand=demand.demand_for(unit.make or "", unit.model or ""),
        make=unit.make or "",
        model=unit.model or "",
    )
    decision = decide(rules, facts)
    out = Outcome()
    out.add(
        EventType.DISPOSITION_ROUTED,
        unit.unit_id,
        request.operator,
        {
            "route": decision.route,
            "rule": decision.rule_name,
            "seen": decision.seen,
            "skipped": [{"rule": name, "reason": why} for name, why in decision.skipped],
            "explanation": decision.explanation,
            "checklist": list(decision.checklist),
        },
    )
    out.message = f"Unit {unit.unit_id}: {decision.explanation}"
    return out
