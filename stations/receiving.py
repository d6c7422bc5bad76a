"""Dock receiving: label scan → manifest match → weigh → evidence photo → seal check → received.

Every package that reaches the dock ends in `package.received`, even one whose label matches
nothing: its weight, photo and seal are evidence for the exception that says what was wrong.
Exceptions (unknown label, duplicate receipt, weight outside the band, broken seal, return
expired or cancelled, …) are journalled as they are found and stay open until a technician
resolves them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict

from edge.journal.events import CustodyEvent, EventType, format_ts
from stations.catalogue import Catalogue
from stations.manifest import ExpectedReturn
from stations.workflow import (
    CancelReceiptInput,
    DeviceCommand,
    Lookup,
    Outcome,
    PhotoInput,
    Reading,
    ScanInput,
    SealInput,
    WeightInput,
    WorkflowRefused,
    is_expired,
    subject_for_label,
)

Stage = Literal["awaiting_weight", "awaiting_seal"]
PHOTO_REQUEST_PREFIX = "dock:"
PHOTO_REQUESTS_KEPT = 20


@dataclass(frozen=True)
class DockConfig:
    camera: str | None = None  # device slot that takes the evidence photo, if any
    weight_reuse_s: float = 20.0  # a box weighed just before its label was scanned still counts
    min_package_grams: Decimal = Decimal(5)  # below this the scale is empty, not weighing a box


class Band(BaseModel):
    model_config = ConfigDict(frozen=True)
    min_grams: str
    max_grams: str
    source: str


class PackageInProgress(BaseModel):
    model_config = ConfigDict(frozen=True)
    subject: str
    return_id: str | None
    label: str
    stage: Stage
    band: Band | None
    grams: str | None = None
    within_band: bool | None = None
    photos: tuple[str, ...] = ()
    photo_request: str | None = None
    exceptions: tuple[str, ...] = ()


class LooseWeight(BaseModel):
    model_config = ConfigDict(frozen=True)
    grams: str
    device: str
    seq: int | None
    digest: str | None = None
    at: datetime


class DockState(BaseModel):
    model_config = ConfigDict(frozen=True)
    current: PackageInProgress | None = None
    loose_weight: LooseWeight | None = None  # transient: a weight with no label yet
    # Recent photo requests → the package they were for, so a late photo finds its package.
    photo_requests: tuple[tuple[str, str], ...] = ()


def weight_band(expected: ExpectedReturn | None, catalogue: Catalogue) -> Band | None:
    if expected is None:
        return None
    band = expected.weight_band or catalogue.weight_band(
        expected.make, expected.model, expected.packaging
    )
    return Band(min_grams=str(band.min_grams), max_grams=str(band.max_grams), source=band.source)


def label_candidates(scan: ScanInput) -> list[tuple[str, str]]:
    """(how, text) pairs to try against the manifest: the label itself, then its GS1 element
    values, then the parts of a URL or key=value QR payload."""
    found: list[tuple[str, str]] = [("label", scan.code.strip())]
    found += [("gs1", value) for value in scan.gs1.values()]
    text = scan.code.strip()
    if "://" in text:
        parts = urlsplit(text)
        segments = [s for s in parts.path.split("/") if s]
        found += [("qr", value) for _, value in parse_qsl(parts.query)]
        found += [("qr", s) for s in reversed(segments)]
    elif "=" in text or ";" in text:
        for piece in text.replace(";", "&").split("&"):
            key, _, value = piece.partition("=")
            found.append(("qr", (value or key).strip()))
    return [(how, value) for how, value in found if value]


def match_label(scan: ScanInput, lookup: Lookup) -> tuple[ExpectedReturn | None, str | None]:
    for how, text in label_candidates(scan):
        expected = lookup.return_by_label(text)
        if expected is None and how != "label":
            expected = lookup.return_by_id(text)
        if expected is not None:
            return expected, how
    return None, None


def decide_scan(
    state: DockState,
    scan: ScanInput,
    lookup: Lookup,
    now: datetime,
    config: DockConfig,
    catalogue: Catalogue,
) -> Outcome:
    out = Outcome()
    operator = scan.operator
    if state.current is not None and state.current.label == scan.code.strip():
        # The same label again (a double scan): recorded, and the package carries on.
        out.add(
            EventType.LABEL_SCANNED,
            state.current.subject,
            operator,
            {
                "workflow": "dock",
                "code": scan.code,
                "reading": scan.reading.as_payload(),
                "repeat": True,
            },
        )
        out.message = f"Package {state.current.subject} is already open."
        return out
    if state.current is not None:
        previous = state.current
        out.raise_exception(
            "receipt_incomplete",
            previous.subject,
            operator,
            f"label {scan.code!r} was scanned before package {previous.subject} was finished "
            f"({previous.stage.replace('_', ' ')})",
            {"label": previous.label, "stage": previous.stage, "next_label": scan.code},
        )
    expected, how = match_label(scan, lookup)
    subject = expected.return_id if expected else subject_for_label(scan.code)
    band = weight_band(expected, catalogue)
    out.add(
        EventType.LABEL_SCANNED,
        subject,
        operator,
        {
            "workflow": "dock",
            "code": scan.code,
            "symbology": scan.symbology,
            "source": scan.source,
            "reading": scan.reading.as_payload(),
            "gs1": dict(scan.gs1),
            "return_id": expected.return_id if expected else None,
            "match": how,
            "band": band.model_dump() if band else None,
        },
    )
    evidence: dict[str, Any] = {"label": scan.code}
    if expected is None:
        out.raise_exception(
            "unknown_label",
            subject,
            operator,
            f"label {scan.code!r} matches no expected return in the manifest",
            evidence,
        )
        out.message = f"Unknown label {scan.code}: weigh and photograph it for the exception."
    else:
        evidence["return_id"] = expected.return_id
        first = lookup.receipt_seq(expected.return_id)
        if first is not None:
            out.raise_exception(
                "duplicate_receipt",
                subject,
                operator,
                f"return {expected.return_id} was already received (journal seq {first})",
                {**evidence, "first_receipt_seq": first},
            )
        if expected.status == "cancelled":
            out.raise_exception(
                "return_cancelled",
                subject,
                operator,
                f"return {expected.return_id} was cancelled",
                evidence,
            )
        elif expected.status == "expired" or is_expired(expected, now):
            expires = format_ts(expected.expires_at) if expected.expires_at else None
            out.raise_exception(
                "return_expired",
                subject,
                operator,
                f"return {expected.return_id} expired"
                + (f" at {expires}" if expires else " (manifest status)"),
                {**evidence, "expires_at": expires},
            )
        out.message = f"Return {expected.return_id}: put the package on the scale."
    loose = state.loose_weight
    if loose is not None and now - loose.at <= timedelta(seconds=config.weight_reuse_s):
        package = PackageInProgress(
            subject=subject,
            return_id=expected.return_id if expected else None,
            label=scan.code,
            stage="awaiting_weight",
            band=band,
        )
        reading = Reading(loose.device, loose.seq, loose.digest)
        out.extend(_weigh(package, Decimal(loose.grams), reading, operator, now, config))
    return out


def decide_weight(
    state: DockState, weight: WeightInput, now: datetime, config: DockConfig
) -> tuple[Outcome, DockState]:
    """A stable weight weighs the package waiting for one; otherwise it is kept for a moment in
    case its label is scanned next (a box is often put down before it is scanned)."""
    if weight.grams < config.min_package_grams:
        # The scale is empty: whatever lay on it before is gone.
        return Outcome(), state.model_copy(update={"loose_weight": None})
    current = state.current
    if current is None or current.stage != "awaiting_weight":
        loose = LooseWeight(
            grams=str(weight.grams),
            device=weight.reading.device_id,
            seq=weight.reading.seq,
            digest=weight.reading.digest,
            at=now,
        )
        return Outcome(message="Weight noted: scan the package's label."), state.model_copy(
            update={"loose_weight": loose}
        )
    return _weigh(current, weight.grams, weight.reading, weight.operator, now, config), state


def _weigh(
    package: PackageInProgress,
    grams: Decimal,
    reading: Reading,
    operator: str,
    now: datetime,
    config: DockConfig,
) -> Outcome:
    out = Outcome()
    within: bool | None = None
    if package.band is not None:
        low, high = Decimal(package.band.min_grams), Decimal(package.band.max_grams)
        within = low <= grams <= high
    request = photo_request_id(package.subject, now) if config.camera else None
    out.add(
        EventType.PACKAGE_WEIGHED,
        package.subject,
        operator,
        {
            "grams": str(grams),
            "reading": reading.as_payload(),
            "band": package.band.model_dump() if package.band else None,
            "within_band": within,
            "photo_request": request,
        },
    )
    if within is False and package.band is not None:
        low, high = Decimal(package.band.min_grams), Decimal(package.band.max_grams)
        off = grams - high if grams > high else grams - low
        out.raise_exception(
            "weight_out_of_band",
            package.subject,
            operator,
            f"package weighs {grams} g; expected {low}–{high} g ({off:+} g outside)",
            {"grams": str(grams), "band": package.band.model_dump(), "outside_by": str(off)},
        )
    if config.camera and request:
        out.commands.append(DeviceCommand(config.camera, "photo", request))
    out.message = f"{grams} g recorded. Check the seal: intact or broken?"
    return out


def photo_request_id(subject: str, now: datetime) -> str:
    """Short and unique; `DockState.photo_requests` maps it back to the package."""
    stamp = int(now.timestamp() * 1000)
    digest = hashlib.sha256(subject.encode()).hexdigest()[:8]
    return f"{PHOTO_REQUEST_PREFIX}{stamp}:{digest}"


def decide_photo(state: DockState, photo: PhotoInput, station: str) -> Outcome:
    requests = dict(state.photo_requests)
    subject = requests.get(photo.request_id or "")
    if subject is None and state.current is not None and photo.request_id is None:
        subject = state.current.subject  # a photo nobody asked for, while a package is open
    out = Outcome()
    out.add(
        EventType.PHOTO_CAPTURED,
        subject or f"station:{station}",
        photo.operator,
        {
            "sha256": photo.sha256,
            "width": photo.width,
            "height": photo.height,
            "request_id": photo.request_id,
            "reading": photo.reading.as_payload(),
            "blob_present": photo.blob_present,
        },
        (photo.sha256,) if photo.blob_present else (),
    )
    if not photo.blob_present:
        out.raise_exception(
            "photo_missing",
            subject or f"station:{station}",
            photo.operator,
            f"the camera reported photo {photo.sha256[:12]}… but its file is not in the "
            "station's blob store",
            {"sha256": photo.sha256, "device": photo.reading.device_id},
        )
    return out


def decide_seal(state: DockState, seal: SealInput, camera: str | None) -> Outcome:
    current = state.current
    if current is None:
        raise WorkflowRefused("no package at the dock: scan its label first", code="no_package")
    out = Outcome()
    operator = seal.operator
    raised = list(current.exceptions)
    if current.stage == "awaiting_weight":
        out.raise_exception(
            "not_weighed",
            current.subject,
            operator,
            f"package {current.subject} was closed without a stable weight from the scale",
            {"label": current.label},
        )
        raised.append("not_weighed")
    out.add(
        EventType.SEAL_CHECKED,
        current.subject,
        operator,
        {"intact": seal.intact, "note": seal.note},
    )
    if not seal.intact:
        out.raise_exception(
            "seal_broken",
            current.subject,
            operator,
            f"tamper seal on package {current.subject} is broken"
            + (f": {seal.note}" if seal.note else ""),
            {"label": current.label, "note": seal.note, "photos": list(current.photos)},
            current.photos,
        )
        raised.append("seal_broken")
    photo_missing = camera is not None and not current.photos
    out.add(
        EventType.PACKAGE_RECEIVED,
        current.subject,
        operator,
        {
            "return_id": current.return_id,
            "label": current.label,
            "grams": current.grams,
            "band": current.band.model_dump() if current.band else None,
            "within_band": current.within_band,
            "seal": "intact" if seal.intact else "broken",
            "photos": list(current.photos),
            "photo_pending": photo_missing and current.photo_request is not None,
            "exceptions": raised,
            "status": "received_with_exceptions" if raised else "received",
        },
        current.photos,
    )
    verdict = "with exceptions: " + ", ".join(raised) if raised else "clean"
    out.message = f"Package {current.subject} received ({verdict})."
    return out


def decide_cancel(state: DockState, cancel: CancelReceiptInput) -> Outcome:
    """Undo the open package: journalled with the reason and what it had so far; its events
    and exceptions stay in the journal, and the next label starts clean."""
    current = state.current
    if current is None:
        raise WorkflowRefused("no package at the dock: nothing to cancel", code="no_package")
    reason = cancel.reason.strip()
    if len(reason) < 3:
        raise WorkflowRefused("say why (a reason of at least 3 characters)", status=422)
    out = Outcome()
    out.add(
        EventType.RECEIPT_CANCELLED,
        current.subject,
        cancel.operator,
        {
            "return_id": current.return_id,
            "label": current.label,
            "stage": current.stage,
            "grams": current.grams,
            "photos": list(current.photos),
            "exceptions": list(current.exceptions),
            "reason": reason,
        },
    )
    out.message = f"Package {current.subject} cancelled: scan the next label."
    return out


def evolve(state: DockState, event: CustodyEvent) -> DockState:
    """Fold one journal event into the dock's state."""
    payload = event.payload
    current = state.current
    if event.type is EventType.LABEL_SCANNED and payload.get("workflow", "dock") != "dock":
        return state
    request = payload.get("photo_request") if event.type is EventType.PACKAGE_WEIGHED else None
    if isinstance(request, str):
        recent = (*state.photo_requests, (request, event.subject))[-PHOTO_REQUESTS_KEPT:]
        state = state.model_copy(update={"photo_requests": recent})
        current = state.current
    if event.type is EventType.LABEL_SCANNED and not payload.get("repeat"):
        band = payload.get("band")
        package = PackageInProgress(
            subject=event.subject,
            return_id=_text(payload.get("return_id")),
            label=str(payload.get("code", "")).strip(),
            stage="awaiting_weight",
            band=Band.model_validate(band) if isinstance(band, dict) else None,
        )
        return state.model_copy(update={"current": package})
    if current is None or event.subject != current.subject:
        return state
    if event.type is EventType.PACKAGE_WEIGHED:
        updated = current.model_copy(
            update={
                "stage": "awaiting_seal",
                "grams": _text(payload.get("grams")),
                "within_band": payload.get("within_band"),
                "photo_request": _text(payload.get("photo_request")),
            }
        )
        return state.model_copy(update={"current": updated, "loose_weight": None})
    if event.type is EventType.PHOTO_CAPTURED:
        if not payload.get("blob_present", True):
            return state  # recorded as photo_missing; not evidence the package can attach
        sha = str(payload.get("sha256"))
        return state.model_copy(
            update={
                "current": current.model_copy(
                    update={"photos": (*current.photos, sha), "photo_request": None}
                )
            }
        )
    if event.type is EventType.EXCEPTION_RAISED:
        kind = str(payload.get("exception"))
        return state.model_copy(
            update={
                "current": current.model_copy(update={"exceptions": (*current.exceptions, kind)})
            }
        )
    if event.type in (EventType.PACKAGE_RECEIVED, EventType.RECEIPT_CANCELLED):
        # A weight that came while this box waited for its seal check was this box, lifted.
        return state.model_copy(update={"current": None, "loose_weight": None})
    return state


def _text(value: object) -> str | None:
    return None if value is None else str(value)
