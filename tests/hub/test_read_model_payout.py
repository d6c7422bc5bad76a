"""The read model's payout rule holds for every payout-changing exception kind, not one name."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.hub.state import HubState
from edge.journal.clock import ClockState
from edge.journal.events import CustodyEvent, EventType
from stations.routing import decide_route
from stations.workflow import RouteInput, WorkflowRefused

CHECKLIST = {"screen": "flawless", "body": "flawless", "function": "all_working"}


def _event(seq: int, type_: EventType, subject: str, operator: str, **payload: Any) -> CustodyEvent:
    return CustodyEvent.model_construct(
        v=1,
        seq=seq,
        event_id=uuid.uuid4(),
        type=type_,
        subject=subject,
        operator=operator,
        station="bench-1",
        site="ams-1",
        ts=datetime(2026, 12, 7, 12, 0, seq, tzinfo=UTC),
        clock=ClockState.SYNCED,
        payload=payload,
        attachments=(),
        prev=None,
        hash="0" * 64,
    )


def _unit_with_exception(tmp_path: Path, kind: str, resolution: str) -> HubState:
    state = HubState(tmp_path / "hub.db")
    unit = "U-1"
    state.apply(
        [
            _event(
                1,
                EventType.DEVICE_IDENTIFIED,
                unit,
                "tom",
                imei="354652102345675",
                source="cradle",
                return_id="R-1",
                make="Samsung",
                model="Galaxy S7",
            ),
            _event(
                2,
                EventType.EXCEPTION_RAISED,
                unit,
                "tom",
                exception=kind,
                message="not the declared device",
                evidence={},
            ),
            _event(
                3,
                EventType.GRADE_ASSIGNED,
                unit,
                "tom",
                grade="A",
                checklist=CHECKLIST,
                beyond_disclosure=False,
            ),
            _event(
                4,
                EventType.EXCEPTION_RESOLVED,
                unit,
                "ada",
                exception_seq=2,
                exception=kind,
                resolution=resolution,
                reason="checked by a supervisor",
            ),
        ],
        {},
    )
    return state


@pytest.mark.parametrize("kind", ["device_mismatch", "imei_mismatch", "imei_invalid"])
def test_a_rejected_payout_exception_of_any_kind_declines_the_trade_in(
    tmp_path: Path, kind: str
) -> None:
    """Rejecting a substitution (device_mismatch) refuses the payout exactly as rejecting
    damage beyond disclosure does: the unit goes back, it is not routed to resale."""
    state = _unit_with_exception(tmp_path, kind, "reject")
    try:
        unit = state.unit("U-1")
        assert unit is not None and unit.payout_status == "declined"
        with pytest.raises(WorkflowRefused) as refused:
            decide_route(RouteInput("U-1", "tom"), state, None, None)  # type: ignore[arg-type]
        assert refused.value.code == "declined"
    finally:
        state.close()


def test_an_accepted_payout_exception_adjusts_the_payout_and_keeps_the_units_status(
    tmp_path: Path,
) -> None:
    state = _unit_with_exception(tmp_path, "device_mismatch", "accept")
    try:
        unit = state.unit("U-1")
        assert unit is not None and (unit.payout_status, unit.status) == ("adjusted", "graded")
    finally:
        state.close()
