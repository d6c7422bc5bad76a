"""What every workflow shares: the inputs it reacts to, what it returns, what it may look up.

A workflow is a decider: `decide(state, input, lookup, now) -> Outcome` is pure (no I/O; the
lookup is a read-only view the hub passes in) and `evolve(state, event) -> state` folds the
journal's events back into the workflow's state, so the state after a restart is the state
before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import JsonValue

from edge.journal.events import EventDraft, EventType
from stations.manifest import ExpectedReturn

UNATTENDED = "unattended"


class WorkflowRefused(Exception):
    """A request from a person that cannot be done now; nothing was journalled.

    Readings from devices are never refused (they always land in the journal, as an exception
    when they do not fit); only a person's API request is, with a message that says why.
    """

    def __init__(self, message: str, *, status: int = 409, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


# -- inputs --


@dataclass(frozen=True)
class Reading:
    """Where a custody reading came from: the device slot and its driver-local seq."""

    device_id: str
    seq: int | None  # None for what a person typed into the API
    digest: str | None = None  # of the payload bytes: a replay has the same seq and digest

    def as_payload(self) -> dict[str, JsonValue]:
        payload: dict[str, JsonValue] = {"device": self.device_id, "seq": self.seq}
        if self.digest is not None:
            payload["digest"] = self.digest
        return payload


@dataclass(frozen=True)
class ScanInput:
    code: str
    symbology: str
    reading: Reading
    operator: str
    gs1: dict[str, str] = field(default_factory=dict)
    imei: str | None = None
    source: str = "scanner"
    flow: str | None = None  # "dock" | "bench"; None: the flow the scanner's slot feeds


@dataclass(frozen=True)
class WeightInput:
    grams: Decimal
    reading: Reading
    operator: str


@dataclass(frozen=True)
class PhotoInput:
    sha256: str
    width: int
    height: int
    request_id: str | None
    reading: Reading
    operator: str
    blob_present: bool = True  # the camera stored the JPEG where the journal can see it


@dataclass(frozen=True)
class DiagInput:
    platform: str
    imei: str | None
    serial: str | None
    model: str | None
    battery_health: str | None
    lock: dict[str, JsonValue]
    fields: dict[str, JsonValue]
    reading: Reading
    operator: str


@dataclass(frozen=True)
class SealInput:
    intact: bool
    operator: str
    note: str = ""


@dataclass(frozen=True)
class CancelReceiptInput:
    """A person undoes the package open at the dock (a mis-scan), saying why."""

    reason: str
    operator: str


@dataclass(frozen=True)
class ResolveInput:
    exception_seq: int
    resolution: str
    reason: str
    operator: str
    role: str = ""  # the resolver's role (edge.operators.Role value); four eyes on money


@dataclass(frozen=True)
class GradeInput:
    unit_id: str
    checklist: dict[str, Any]  # screen, body, function, accessories, battery_health (optional)
    operator: str
    note: str = ""


@dataclass(frozen=True)
class ErasureInput:
    """An erasure the hub has already run: its certificate and transcript are in the blob
    store."""

    unit_id: str
    certificate_sha256: str
    transcript_sha256: str
    succeeded: bool
    method: str
    verification: str
    tool: str
    tool_version: str
    reason: str
    operator: str


@dataclass(frozen=True)
class RouteInput:
    unit_id: str
    operator: str


@dataclass(frozen=True)
class ReopenInput:
    """A technician reopens a finished (routed) unit, saying why, before working on it again."""

    unit_id: str
    reason: str
    operator: str


@dataclass(frozen=True)
class MoveInput:
    unit_id: str
    bin: str
    operator: str
    reading: Reading | None = None


WorkflowInput = (
    ScanInput
    | WeightInput
    | PhotoInput
    | DiagInput
    | SealInput
    | CancelReceiptInput
    | ResolveInput
    | GradeInput
    | ErasureInput
    | RouteInput
    | MoveInput
    | ReopenInput
)


# -- outputs --


@dataclass(frozen=True)
class DeviceCommand:
    """A command for a device on the bus (`cmd/{device}/{verb}`)."""

    device_id: str
    verb: str
    request_id: str
    args: dict[str, JsonValue] = field(default_factory=dict)


@dataclass
class Outcome:
    """Events to journal (in order, in one transaction), commands to send, a word for the
    screen."""

    events: list[EventDraft] = field(default_factory=list)
    commands: list[DeviceCommand] = field(default_factory=list)
    message: str = ""

    def add(
        self,
        type_: EventType,
        subject: str,
        operator: str,
        payload: dict[str, Any],
        attachments: tuple[str, ...] = (),
    ) -> EventDraft:
        draft = EventDraft(
            type=type_,
            subject=subject,
            operator=operator,
            payload=payload,
            attachments=attachments,
        )
        self.events.append(draft)
        return draft

    def raise_exception(
        self,
        kind: str,
        subject: str,
        operator: str,
        message: str,
        evidence: dict[str, Any],
        attachments: tuple[str, ...] = (),
        reading: Reading | None = None,
    ) -> None:
        payload: dict[str, Any] = {"exception": kind, "message": message, "evidence": evidence}
        if reading is not None:
            payload["reading"] = reading.as_payload()  # so a redelivery is known as one
        self.add(EventType.EXCEPTION_RAISED, subject, operator, payload, attachments)

    def extend(self, other: Outcome) -> None:
        self.events.extend(other.events)
        self.commands.extend(other.commands)
        self.message = " ".join(m for m in (self.message, other.message) if m)


# -- what a workflow may look up --


@dataclass(frozen=True)
class UnitView:
    unit_id: str
    imei: str | None
    serial: str | None
    return_id: str | None
    make: str | None
    model: str | None
    platform: str | None
    status: str
    grade: str | None
    checklist: dict[str, Any] | None
    battery_health: int | None
    lock: str
    erasure: Literal["not_run", "verified", "failed"]
    certificate_sha256: str | None
    route: str | None
    location: str | None
    payout_status: str
    sources: tuple[str, ...] = ()  # how it was identified: "scan", "cradle"
    cradle_imei: str | None = None


@dataclass(frozen=True)
class ExceptionView:
    seq: int
    kind: str
    subject: str
    message: str
    status: Literal["open", "resolved"]
    operator: str = ""  # who raised it, or to whom the reading that raised it is credited


class Lookup(Protocol):
    """The read-only view of the station's state a workflow may consult."""

    def return_by_id(self, return_id: str) -> ExpectedReturn | None: ...

    def return_by_label(self, code: str) -> ExpectedReturn | None: ...

    def return_by_imei(self, imei: str) -> ExpectedReturn | None: ...

    def receipt_seq(self, return_id: str) -> int | None: ...

    def unit(self, unit_id: str) -> UnitView | None: ...

    def unit_by_imei(self, imei: str) -> UnitView | None: ...

    def exception(self, seq: int) -> ExceptionView | None: ...

    def open_exceptions(self, subject: str) -> list[ExceptionView]: ...


def subject_for_label(code: str) -> str:
    """The journal subject of a package whose label matched no return."""
    text = f"label:{code}"
    return text if len(text) <= 200 else text[:200]


def is_expired(expected: ExpectedReturn, now: datetime) -> bool:
    return expected.expires_at is not None and expected.expires_at < now
