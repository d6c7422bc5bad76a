"""Grading a unit at the bench, and the payout consequence of damage beyond disclosure."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from edge.journal.events import EventType
from stations.condition import Condition
from stations.grading import GradeFactors, grade, payout_delta
from stations.reopening import refuse_if_finished
from stations.workflow import GradeInput, Lookup, Outcome, WorkflowRefused


def decide_grade(request: GradeInput, lookup: Lookup, factors: GradeFactors) -> Outcome:
    unit = lookup.unit(request.unit_id)
    if unit is None:
        raise WorkflowRefused(f"no unit {request.unit_id!r} at this station", status=404)
    refuse_if_finished(unit, "grading")
    answers: dict[str, Any] = dict(request.checklist)
    if answers.get("battery") is None:
        if unit.battery_health is None:
            raise WorkflowRefused(
                "battery health is unknown: put the device in the cradle or enter it",
                status=422,
                code="battery_unknown",
            )
        answers["battery"] = unit.battery_health
    try:
        observed = Condition.model_validate(answers)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'checklist'}: {e['msg']}" for e in exc.errors()
        )
        raise WorkflowRefused(f"checklist: {problems}", status=422, code="invalid") from None
    result = grade(observed)
    expected = lookup.return_by_id(unit.return_id) if unit.return_id else None
    payload: dict[str, Any] = {
        "grade": result.grade,
        "reasons": list(result.reasons),
        "checklist": observed.model_dump(mode="json"),
        "note": request.note,
        "return_id": unit.return_id,
        "beyond_disclosure": False,
        "payout": None,
    }
    out = Outcome()
    report = None
    if expected is not None:
        report = payout_delta(expected.declared_condition, observed, expected.quote, factors)
        payload["beyond_disclosure"] = report.beyond_disclosure
        payload["declared_grade"] = report.declared_grade
        payload["payout"] = {
            "currency": expected.currency,
            "quote": str(report.quote),
            "revised": str(report.revised_payout),
            "delta": str(report.delta),
            "delta_pct": str(report.delta_pct),
        }
        payload["worse_than_declared"] = [
            {"item": d.item, "declared": _text(d.declared), "observed": _text(d.observed)}
            for d in report.items
        ]
    out.add(EventType.GRADE_ASSIGNED, unit.unit_id, request.operator, payload)
    if report is not None and report.beyond_disclosure and expected is not None:
        items = ", ".join(f"{d.item} {_text(d.observed)}" for d in report.items)
        out.raise_exception(
            "damage_beyond_disclosure",
            unit.unit_id,
            request.operator,
            f"unit {unit.unit_id} is worse than return {expected.return_id} declared ({items}); "
            f"payout on hold, {report.delta} {expected.currency} ({report.delta_pct}%)",
            {
                "return_id": expected.return_id,
                "declared_grade": report.declared_grade,
                "observed_grade": report.observed_grade,
                "payout": payload["payout"],
                "worse_than_declared": payload["worse_than_declared"],
            },
        )
        out.message = (
            f"Grade {result.grade}: damage beyond disclosure. Unit goes to returns review; "
            "payout on hold."
        )
    else:
        out.message = f"Grade {result.grade}."
    return out


def _text(value: object) -> str | None:
    return None if value is None else str(value)
