"""The hub: one thread runs the station's workflows over inputs from the bus and the API,
appends what they decide to the journal, folds it into the read model and tells the screens.

Inputs are handled one at a time, in arrival order, so a workflow always decides on the state
every earlier input left. An input's future resolves only after its events are committed
(fsynced), which is when a bus reading is acknowledged and when the API answers "done".
"""

from __future__ import annotations

import asyncio
import base64
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uuid6

from edge.hub.attendance import (
    Attendance,
    Attendant,
    AttendsError,
    SignOutReason,
    resolve_claims,
    sign_out_event,
)
from edge.hub.attendance import SignIn as SignIn
from edge.hub.attendance import SignOut as SignOut
from edge.hub.broadcast import Broadcaster
from edge.hub.manifest_import import ManifestImport as ManifestImport
from edge.hub.manifest_import import manifest_outcome
from edge.hub.state import HUB_FILE, HubState
from edge.journal import CustodyEvent, EventDraft, EventType, Journal
from stations.catalogue import Catalogue
from stations.disposition import DemandList, RuleSet
from stations.grading import GradeFactors
from stations.profile import HubProfile
from stations.station import StationState, StationWorkflows
from stations.workflow import (
    DeviceCommand,
    DiagInput,
    Outcome,
    PhotoInput,
    Reading,
    ScanInput,
    WeightInput,
    WorkflowInput,
    WorkflowRefused,
)

log = logging.getLogger(__name__)
_STOP = object()


@dataclass(frozen=True)
class Result:
    """What one input did: the events it appended (maybe none) and a word for the screen."""

    events: tuple[CustodyEvent, ...]
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"message": self.message, "events": [e.as_stored() for e in self.events]}


@dataclass(frozen=True)
class Keyed:
    """An action a screen sent with an Idempotency-Key (edge.api.idempotency): every event it
    appends carries the key in `payload.idempotency_key`."""

    item: WorkflowInput
    key: str


_Plain = WorkflowInput | ManifestImport | SignIn | SignOut
HubInput = _Plain | Keyed
SESSION_SWEEP_S = 30.0  # an idle hub checks this often whether someone's session has ended


@dataclass
class _Job:
    item: HubInput
    future: Future[Result]


def new_unit_id() -> str:
    """`U-` and 12 base-32 characters of a UUIDv7: short enough to print on a unit label."""
    raw = uuid6.uuid7().bytes
    text = base64.b32encode(raw[6:14]).decode().rstrip("=")
    return f"U-{text[:12]}"


def load_workflows(profile: HubProfile) -> StationWorkflows:
    return StationWorkflows(
        profile=profile,
        catalogue=Catalogue.load(profile.resolve(profile.catalogue.override)),
        rules=RuleSet.load(profile.resolve(profile.disposition.rules)),
        demand=DemandList.load(profile.resolve(profile.disposition.demand)),
        factors=GradeFactors(),
    )


@dataclass
class Hub:
    """The station hub's core. `start()` it inside a running event loop."""

    data_dir: Path
    profile: HubProfile
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    broadcaster: Broadcaster = field(default_factory=Broadcaster)
    send_command: Callable[[DeviceCommand], None] | None = None
    # appended events, as stored JSON; on the loop, after the screens have been sent them
    on_events: Callable[[list[str]], None] | None = None
    on_appended: list[Callable[[], None]] = field(default_factory=list)  # called on the loop
    journal: Journal = field(init=False)
    state: HubState = field(init=False)
    workflows: StationWorkflows = field(init=False)
    attendance: Attendance = field(default_factory=Attendance)
    # operator id → their open session here, or None (the operators store; see serve.py)
    live_session: Callable[[str], Any] | None = None
    session_sweep_s: float = SESSION_SWEEP_S
    _station_state: StationState = field(default_factory=StationState)
    _queue: queue.SimpleQueue[_Job | object] = field(default_factory=queue.SimpleQueue)
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    duplicates: int = 0
    caught_up: bool = False
    inputs_handled: int = 0
    inputs_refused: int = 0
    inputs_failed: int = 0

    def __post_init__(self) -> None:
        station = self.profile.station
        self.workflows = load_workflows(self.profile)
        self.journal = Journal(self.data_dir, site=station.site, station=station.station)
        try:
            self.state = HubState(self.data_dir / HUB_FILE)
        except BaseException:
            self.journal.close()
            raise
        try:
            self._catch_up()
        except BaseException:
            self.state.close()  # its checkpoint thread too
            self.journal.close()
            raise

    @property
    def site(self) -> str:
        return self.journal.site

    @property
    def station(self) -> str:
        return self.journal.station

    def _catch_up(self) -> None:
        """Fold the journal's tail that the read model has not seen (after a crash, or a
        deleted hub.db) and restore the workflows' state."""
        stored = self.state.workflow_states().get("station")
        state = StationState.model_validate_json(stored) if stored else StationState()
        applied = self.state.applied_seq
        if applied > self.journal.size:
            raise RuntimeError(
                f"{self.state.path} has applied seq {applied} but the journal holds only "
                f"{self.journal.size} events: it belongs to another journal; move it away"
            )
        batch: list[CustodyEvent] = []
        for event in self.journal.reader.events(start=applied + 1):
            state = self.workflows.evolve(state, event)
            batch.append(event)
            if len(batch) >= 500:
                self.state.apply(batch, {"station": state.model_dump_json()})
                batch = []
        if batch:
            self.state.apply(batch, {"station": state.model_dump_json()})
            log.info("hub read model caught up to seq=%d", batch[-1].seq)
        self._station_state = state
        self.caught_up = True

    def restore_attendance(self, live_session: Callable[[str], Any]) -> None:
        """After a restart: whoever signed in here and still holds an open session attends
        again, as their sign-in said; a session that ended while the hub was down is journalled
        as ended now. `live_session(operator_id)` → principal or None."""
        self.live_session = live_session
        signed_in: dict[str, CustodyEvent] = {}
        left: dict[str, int] = {}
        reader = self.journal.reader
        for event in reader.events(event_type=EventType.OPERATOR_SIGNED_IN.value):
            signed_in[event.subject] = event
        for event in reader.events(event_type=EventType.OPERATOR_SIGNED_OUT.value):
            if not event.payload.get("still_signed_in"):
                left[event.subject] = event.seq
        for operator_id, event in signed_in.items():
            if left.get(operator_id, 0) > event.seq:
                continue
            name, role = str(event.payload.get("name")), str(event.payload.get("role"))
            principal = live_session(operator_id)
            if principal is None:
                self.submit(SignOut(operator_id, "session_ended", name=name, role=role))
                continue
            claims = event.payload.get("attends")
            given = tuple(str(c) for c in claims) if isinstance(claims, list) else ()
            try:
                self.attendance.attend(
                    self._attendant(
                        event.subject, name, role, given, event.ts, principal.expires_at
                    )
                )
            except AttendsError:  # the profile changed since: what their role attends
                self.attendance.attend(
                    self._attendant(operator_id, name, role, (), event.ts, principal.expires_at)
                )

    def _attendant(
        self,
        operator_id: str,
        name: str,
        role: str,
        claims: tuple[str, ...],
        since: datetime,
        expires_at: datetime,
    ) -> Attendant:
        slot_ids = [slot.id for slot in self.profile.station.devices]
        slots, flows = resolve_claims(claims, role, self.profile.flows, slot_ids)
        return Attendant(operator_id, name, role, since, expires_at, claims, slots, flows)

    @property
    def active_operator(self) -> Attendant | None:
        """The latest of the people attending the station (the station's status shows it)."""
        now = self.now()
        people = [a for a in self.attendance.people() if a.expires_at > now]
        return people[-1] if people else None

    # -- lifecycle --

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="hub-workflows", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ready_problems(self) -> list[str]:
        """Why the hub cannot take custody now (empty when it can)."""
        problems = []
        if not self.caught_up:
            problems.append("read model has not caught up with the journal")
        if not self.running:
            problems.append("workflow thread is not running")
        if not self.journal.writable:
            problems.append("journal writer is not running")
        return problems

    async def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        self.journal.close()
        self.state.close()

    # -- inputs --

    def submit(self, item: HubInput) -> Future[Result]:
        future: Future[Result] = Future()
        self._queue.put(_Job(item, future))
        return future

    async def handle(self, item: HubInput) -> Result:
        return await asyncio.wrap_future(self.submit(item))

    def operator_for_readings(self, device_id: str) -> str:
        """Who a reading from this device slot is credited to (edge.hub.attendance)."""
        flow = self.profile.slot_flow(device_id)
        return self.attendance.credit(device_id, flow, self.now())

    def scan_flow(self, operator_id: str, role: str, requested: str | None) -> str:
        """The flow a person's typed scan is for: the one they name, else the one they attend;
        WorkflowRefused (422) for a flow the station does not run, or when it is not clear."""
        flows = self.profile.flows
        if requested is not None:
            if requested not in flows:
                raise WorkflowRefused(
                    f"flow {requested!r} is not one of this station's flows: {', '.join(flows)}",
                    status=422,
                    code="unknown_flow",
                )
            return requested
        if len(flows) == 1:
            return flows[0]
        attendant = self.attendance.get(operator_id) or self._attendant(
            operator_id, operator_id, role, (), self.now(), self.now()
        )
        mine = {name for name, _ in attendant.flows}
        mine |= {f for slot in attendant.slots if (f := self.profile.slot_flow(slot))}
        if len(mine) == 1:
            return mine.pop()
        raise WorkflowRefused(
            f"this station runs {' and '.join(flows)}: say which one this scan is for "
            f"(flow: {' or '.join(repr(f) for f in flows)})",
            status=422,
            code="flow_needed",
        )

    def signed_out(self, operator_id: str) -> None:
        """A session of this operator was signed out (from an API thread): they stop attending
        unless another session of theirs is open here, and the sign-out is journalled."""
        other = self.live_session(operator_id) if self.live_session is not None else None
        still = other is not None
        attendant = self.attendance.get(operator_id)
        if other is None:
            self.attendance.leave(operator_id)
        elif attendant is not None:
            # They attend on as long as the session still open does, not the one that ended.
            self.attendance.attend(replace(attendant, expires_at=other.expires_at))
        item = SignOut(
            operator_id,
            "signed_out",
            still,
            attendant.name if attendant else None,
            attendant.role if attendant else None,
        )
        try:
            self.submit(item).result(timeout=60)
        except Exception:
            log.exception("sign-out not journalled operator_id=%s", operator_id)

    # -- the workflow thread --

    def _run(self) -> None:
        swept = time.monotonic()
        while True:
            try:
                job = self._queue.get(timeout=self.session_sweep_s)
            except queue.Empty:
                job = None
            # Every sweep interval, busy or idle: a station whose readings never pause must
            # still notice a session ended elsewhere (revoked, operator disabled).
            if time.monotonic() - swept >= self.session_sweep_s:
                swept = time.monotonic()
                try:
                    self._end_sessions(self.now(), check_live=True)
                except Exception:
                    log.exception("ending sessions failed")
            if job is None:
                continue
            if job is _STOP:
                return
            assert isinstance(job, _Job)
            try:
                result = self._handle(job.item)
            except BaseException as exc:
                if type(exc).__name__ == "WorkflowRefused":
                    self.inputs_refused += 1
                else:
                    self.inputs_failed += 1
                    log.exception("input failed kind=%s", type(job.item).__name__)
                job.future.set_exception(exc)
            else:
                self.inputs_handled += 1
                job.future.set_result(result)

    def _credit_now(self, item: _Plain) -> _Plain:
        """A device reading credited (on the bus side) to someone who has left since, by the
        time it is journalled: credited to who attends its slot now, never after the journal's
        `operator.signed_out` for them."""
        if (
            isinstance(item, ScanInput | WeightInput | PhotoInput | DiagInput)
            and self.attendance.has_left(item.operator)
            and any(slot.id == item.reading.device_id for slot in self.profile.station.devices)
        ):
            return replace(item, operator=self.operator_for_readings(item.reading.device_id))
        return item

    def _end_sessions(self, now: datetime, *, check_live: bool = False) -> None:
        """Journal `operator.signed_out` for sessions that ran out (and, with `check_live`,
        that were ended elsewhere: revoked, operator disabled); they stop attending."""
        ended: list[tuple[Attendant, SignOutReason]] = [
            (a, "expired") for a in self.attendance.expired(now)
        ]
        if check_live and self.live_session is not None:
            ended += [
                (a, "session_ended")
                for a in self.attendance.people()
                if a.expires_at > now and self.live_session(a.operator_id) is None
            ]
        if not ended:
            return
        outcome = Outcome()
        for attendant, reason in ended:
            item = SignOut(attendant.operator_id, reason, False, attendant.name, attendant.role)
            sign_out_event(outcome, item, attendant.expires_at)
        self._commit(outcome.events, self._station_state)
        for attendant, _ in ended:
            self.attendance.leave(attendant.operator_id)

    def _sign_in_outcome(self, item: SignIn, now: datetime) -> tuple[Outcome, Attendant]:
        try:
            attendant = self._attendant(
                item.operator_id, item.name, item.role, item.attends, now, item.expires_at
            )
        except AttendsError as exc:
            raise WorkflowRefused(str(exc), status=422, code="invalid_attends") from None
        outcome = Outcome()
        outcome.add(
            EventType.OPERATOR_SIGNED_IN,
            item.operator_id,
            item.operator_id,
            {
                "name": item.name,
                "role": item.role,
                "method": item.method,
                "attends": list(item.attends),
                "attending": attendant.attending,
            },
        )
        outcome.message = f"{item.name} signed in."
        return outcome, attendant

    def _handle(self, job_item: HubInput) -> Result:
        now = self.now()
        key = job_item.key if isinstance(job_item, Keyed) else None
        item: _Plain = job_item.item if isinstance(job_item, Keyed) else job_item
        self._end_sessions(now)
        item = self._credit_now(item)
        attendant: Attendant | None = None
        reading = getattr(item, "reading", None)
        if isinstance(reading, Reading) and reading.seq is not None and reading.digest:
            # Checked here, one input at a time, so two copies in flight cannot both pass.
            seen = self.state.seen_reading(reading.device_id, reading.seq, reading.digest)
            if seen is not None:
                self.duplicates += 1
                log.info(
                    "duplicate reading device=%s seq=%d journal_seq=%d",
                    reading.device_id,
                    reading.seq,
                    seen,
                )
                return Result((), f"already journalled at seq {seen}")
        if isinstance(item, ManifestImport):
            outcome = manifest_outcome(item, self.state)
            state = self._station_state
        elif isinstance(item, SignIn):
            outcome, attendant = self._sign_in_outcome(item, now)
            state = self._station_state
        elif isinstance(item, SignOut):
            outcome = Outcome()
            sign_out_event(outcome, item)
            state = self._station_state
        else:
            outcome, state = self.workflows.decide(
                self._station_state, item, self.state, now, new_unit_id
            )
        if key is not None:
            outcome.events = [
                d.model_copy(update={"payload": {**d.payload, "idempotency_key": key}})
                for d in outcome.events
            ]
        events = self._commit(outcome.events, state)
        if attendant is not None:
            self.attendance.attend(attendant)
        elif isinstance(item, SignOut) and not item.still_signed_in:
            self.attendance.leave(item.operator_id)
        for command in outcome.commands:
            if self.send_command is not None:
                try:
                    self.send_command(command)
                except Exception:
                    log.exception(
                        "command failed device=%s verb=%s", command.device_id, command.verb
                    )
        return Result(tuple(events), outcome.message)

    def _commit(self, drafts: list[EventDraft], state: StationState) -> list[CustodyEvent]:
        events = self.journal.append_many(drafts) if drafts else []
        for event in events:
            state = self.workflows.evolve(state, event)
        self.state.apply(events, {"station": state.model_dump_json()})
        self._station_state = state
        if events:
            self._announce(events)
        return events

    def _announce(self, events: list[CustodyEvent]) -> None:
        """Every appended event, as stored, to the screens and the bus: encoded once, here."""
        stored = [event.model_dump_json() for event in events]
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._appended, stored)
        else:  # not started (no screens, nobody waiting on the loop)
            self._to_bus(stored)

    def _appended(self, stored: list[str]) -> None:
        """On the loop: the screens first (their tasks send in the next turn), the rest after."""
        self.broadcaster.publish_encoded([f'{{"type":"event","event":{text}}}' for text in stored])
        assert self._loop is not None
        self._loop.call_soon(self._after_screens, stored)

    def _after_screens(self, stored: list[str]) -> None:
        """The bus's journal topic, then whoever waits for new events (replication)."""
        self._to_bus(stored)
        for listener in self.on_appended:
            try:
                listener()
            except Exception:
                log.exception("on_appended listener failed")

    def _to_bus(self, stored: list[str]) -> None:
        if self.on_events is not None:
            try:
                self.on_events(stored)
            except Exception:
                log.exception("on_events hook failed")

    @property
    def station_state(self) -> StationState:
        return self._station_state
