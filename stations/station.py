"""One station's workflows together: which one takes an input, and the state they share.

Scans go to location moves when they are a bin or a unit label, otherwise to the flow they
came from: the one the scan names (a typed scan says which screen it came from), else the one
its scanner's slot feeds (`[hub.feeds]`): receiving at the dock, identification at a bench or
an erasure station.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from edge.journal.events import CustodyEvent
from stations import bench, moves, receiving
from stations.assessment import decide_grade
from stations.bench import BenchState
from stations.catalogue import Catalogue
from stations.disposition import DemandList, RuleSet
from stations.erasure_step import decide_erasure
from stations.grading import GradeFactors
from stations.moves import MovesState
from stations.profile import HubProfile
from stations.receiving import DockState
from stations.reopening import decide_reopen
from stations.resolution import decide_resolve
from stations.routing import decide_route
from stations.workflow import (
    UNATTENDED,
    CancelReceiptInput,
    DiagInput,
    ErasureInput,
    GradeInput,
    Lookup,
    MoveInput,
    Outcome,
    PhotoInput,
    ReopenInput,
    ResolveInput,
    RouteInput,
    ScanInput,
    SealInput,
    WeightInput,
    WorkflowInput,
    WorkflowRefused,
)


class StationState(BaseModel):
    model_config = ConfigDict(frozen=True)
    dock: DockState = DockState()
    bench: BenchState = BenchState()
    moves: MovesState = MovesState()


@dataclass
class StationWorkflows:
    """The workflows a profile names, with the data they need (catalogue, rules)."""

    profile: HubProfile
    catalogue: Catalogue
    rules: RuleSet
    demand: DemandList
    factors: GradeFactors

    @property
    def station(self) -> str:
        return self.profile.station.station

    @property
    def dock_config(self) -> receiving.DockConfig:
        settings = self.profile.receiving
        return receiving.DockConfig(
            camera=settings.camera,
            weight_reuse_s=settings.weight_reuse_s,
            min_package_grams=Decimal(str(settings.min_package_grams)),
        )

    @property
    def moves_config(self) -> moves.MovesConfig:
        return moves.MovesConfig(self.profile.moves.bin_pattern)

    def runs(self, workflow: str) -> bool:
        return workflow in self.profile.workflows

    def decide(
        self,
        state: StationState,
        item: WorkflowInput,
        lookup: Lookup,
        now: datetime,
        new_unit_id: Callable[[], str],
    ) -> tuple[Outcome, StationState]:
        """Events for one input, and the state if the input changed it without an event."""
        if isinstance(item, WeightInput) and item.grams < self.dock_config.min_package_grams:
            out, dock = receiving.decide_weight(state.dock, item, now, self.dock_config)
            return out, state.model_copy(update={"dock": dock})  # an empty scale
        if (
            isinstance(item, ScanInput | WeightInput | PhotoInput | DiagInput)
            and item.operator == UNATTENDED
            and self.profile.hub.require_operator
        ):
            return self._unattended(item), state
        match item:
            case ScanInput():
                return self._scan(state, item, lookup, now, new_unit_id)
            case WeightInput():
                if not self.runs("receiving"):
                    return Outcome(), state  # a bench scale's weights are not custody here
                out, dock = receiving.decide_weight(state.dock, item, now, self.dock_config)
                return out, state.model_copy(update={"dock": dock})
            case PhotoInput():
                return receiving.decide_photo(state.dock, item, self.station), state
            case DiagInput():
                return bench.decide_diag(
                    state.bench, item, lookup, new_unit_id, self.station, self.catalogue
                ), state
            case SealInput():
                if not self.runs("receiving"):
                    raise WorkflowRefused("this station does not receive packages", status=404)
                return receiving.decide_seal(state.dock, item, self.dock_config.camera), state
            case CancelReceiptInput():
                if not self.runs("receiving"):
                    raise WorkflowRefused("this station does not receive packages", status=404)
                return receiving.decide_cancel(state.dock, item), state
            case ResolveInput():
                return decide_resolve(item, lookup), state
            case GradeInput():
                return decide_grade(item, lookup, self.factors), state
            case ErasureInput():
                return decide_erasure(item, lookup), state
            case RouteInput():
                return decide_route(item, lookup, self.rules, self.demand), state
            case MoveInput():
                return moves.decide_move(item, lookup, self.moves_config), state
            case ReopenInput():
                return decide_reopen(item, lookup), state
        raise TypeError(f"no workflow takes {type(item).__name__}")

    def _scan(
        self,
        state: StationState,
        scan: ScanInput,
        lookup: Lookup,
        now: datetime,
        new_unit_id: Callable[[], str],
    ) -> tuple[Outcome, StationState]:
        if self.runs("moves") and moves.wants_scan(scan, lookup, self.moves_config):
            out, moved = moves.decide_scan(
                state.moves, scan, lookup, self.moves_config, self.station
            )
            return out, state.model_copy(update={"moves": moved})
        flow = scan.flow or self.profile.slot_flow(scan.reading.device_id)
        if self.runs("receiving") and (flow or self.profile.flows[0]) == "dock":
            out = receiving.decide_scan(
                state.dock, scan, lookup, now, self.dock_config, self.catalogue
            )
            return out, state
        return bench.decide_scan(state.bench, scan, lookup, new_unit_id, self.station), state

    def _unattended(self, item: ScanInput | WeightInput | PhotoInput | DiagInput) -> Outcome:
        what: dict[str, object]
        match item:
            case ScanInput():
                what = {"scan": item.code, "symbology": item.symbology}
            case WeightInput():
                what = {"grams": str(item.grams)}
            case PhotoInput():
                what = {"photo": item.sha256}
            case DiagInput():
                what = {"imei": item.imei, "serial": item.serial, "model": item.model}
        out = Outcome()
        present = isinstance(item, PhotoInput) and item.blob_present
        attachments = (item.sha256,) if present and isinstance(item, PhotoInput) else ()
        out.raise_exception(
            "no_operator",
            f"station:{self.station}",
            UNATTENDED,
            "a device reading arrived while nobody was signed in at the station",
            what,
            attachments,
            reading=item.reading,
        )
        out.message = "Sign in first: that reading was kept as an exception."
        return out

    def evolve(self, state: StationState, event: CustodyEvent) -> StationState:
        return StationState(
            dock=receiving.evolve(state.dock, event),
            bench=bench.evolve(state.bench, event),
            moves=moves.evolve(state.moves, event),
        )
