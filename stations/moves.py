"""Location moves: put-away and transfers, by scanning a unit and then a bin label."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from edge.journal.events import CustodyEvent, EventType
from stations.workflow import Lookup, MoveInput, Outcome, ScanInput, WorkflowRefused


@dataclass(frozen=True)
class MovesConfig:
    bin_pattern: str = r"^BIN-[A-Z0-9][A-Z0-9-]{0,30}$"

    def is_bin(self, code: str) -> bool:
        return re.fullmatch(self.bin_pattern, code.strip()) is not None


class MovesState(BaseModel):
    model_config = ConfigDict(frozen=True)
    pending_unit: str | None = None  # scanned, waiting for its bin


def wants_scan(scan: ScanInput, lookup: Lookup, config: MovesConfig) -> bool:
    """Bins and unit labels are this workflow's; everything else goes to the station's own."""
    code = scan.code.strip()
    return config.is_bin(code) or lookup.unit(code) is not None


def decide_scan(
    state: MovesState, scan: ScanInput, lookup: Lookup, config: MovesConfig, station: str
) -> tuple[Outcome, MovesState]:
    code = scan.code.strip()
    unit = lookup.unit(code)
    if unit is not None:
        where = unit.location or "no location yet"
        out = Outcome(message=f"Unit {unit.unit_id} ({where}): scan the bin it goes to.")
        return out, state.model_copy(update={"pending_unit": unit.unit_id})
    if state.pending_unit is None:
        out = Outcome()
        out.raise_exception(
            "move_without_unit",
            f"station:{station}",
            scan.operator,
            f"bin {code} was scanned with no unit scanned before it",
            {"bin": code, "reading": scan.reading.as_payload()},
        )
        out.message = "Scan the unit first, then its bin."
        return out, state
    move = MoveInput(state.pending_unit, code, scan.operator, scan.reading)
    return decide_move(move, lookup, config), state.model_copy(update={"pending_unit": None})


def decide_move(move: MoveInput, lookup: Lookup, config: MovesConfig) -> Outcome:
    unit = lookup.unit(move.unit_id)
    if unit is None:
        raise WorkflowRefused(f"no unit {move.unit_id!r} at this station", status=404)
    if not config.is_bin(move.bin):
        raise WorkflowRefused(
            f"{move.bin!r} is not a bin label (pattern {config.bin_pattern})",
            status=422,
            code="not_a_bin",
        )
    out = Outcome()
    out.add(
        EventType.LOCATION_MOVED,
        unit.unit_id,
        move.operator,
        {
            "from": unit.location,
            "to": move.bin.strip(),
            "kind": "put-away" if unit.location is None else "transfer",
            "reading": move.reading.as_payload() if move.reading else None,
        },
    )
    out.message = f"Unit {unit.unit_id} → {move.bin.strip()}."
    return out


def evolve(state: MovesState, event: CustodyEvent) -> MovesState:
    if event.type is EventType.LOCATION_MOVED:
        return MovesState()
    return state
