"""A realistic dock-receiving shift, as custody events: what `make demo` appends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.journal import BlobStore, EventDraft, EventType


@dataclass(frozen=True)
class InboundBox:
    return_id: str | None  # None: the label matches no expected return
    label: str
    declared_device: str
    grams: str  # what the scale read, stable
    expected_band: tuple[str, str]  # min, max grams
    seal_intact: bool = True


def shift_boxes(shift: int) -> list[InboundBox]:
    """Three boxes per shift: one clean receipt, one overweight box, one unknown label."""
    n = shift * 3
    return [
        InboundBox(
            f"RET-2026-{n + 1:06d}",
            f"1ZRT{n + 1:010d}",
            "Apple iPhone 13 128GB",
            "412.5",
            ("330", "520"),
        ),
        InboundBox(
            f"RET-2026-{n + 2:06d}",
            f"1ZRT{n + 2:010d}",
            "Samsung Galaxy S22",
            "1210.0",
            ("320", "500"),
        ),
        InboundBox(None, f"1ZXX{n + 3:010d}", "", "0", ("0", "0")),
    ]


def _scale_frames(grams: str) -> bytes:
    """What a continuous-output scale sends: two unstable readings, then three stable ones."""
    kg = float(grams) / 1000
    frames = [f"US,GS,+{kg * 0.97:8.3f}kg\r\n", f"US,GS,+{kg * 1.01:8.3f}kg\r\n"]
    frames += [f"ST,GS,+{kg:8.3f}kg\r\n"] * 3
    return "".join(frames).encode("ascii")


def receiving_drafts(boxes: list[InboundBox], operator: str, blobs: BlobStore) -> list[EventDraft]:
    """The events a dock station records for these boxes, in order (blobs stored first)."""
    drafts = [
        EventDraft(
            type=EventType.OPERATOR_SIGNED_IN,
            subject=f"operator:{operator}",
            operator=operator,
            payload={"method": "badge+pin", "role": "operator"},
        )
    ]
    for box in boxes:
        subject = box.return_id or f"label:{box.label}"
        drafts.append(
            EventDraft(
                type=EventType.LABEL_SCANNED,
                subject=subject,
                operator=operator,
                payload={
                    "code": box.label,
                    "symbology": "code128",
                    "aim": "]C0",
                    "device": "scanner-1",
                    "matched_return": box.return_id,
                },
            )
        )
        if box.return_id is None:
            drafts.append(
                EventDraft(
                    type=EventType.EXCEPTION_RAISED,
                    subject=subject,
                    operator=operator,
                    payload={"kind": "unknown_label", "code": box.label, "queue": "receiving"},
                )
            )
            continue
        low, high = box.expected_band
        within = float(low) <= float(box.grams) <= float(high)
        frames = blobs.put(_scale_frames(box.grams))
        drafts.append(
            EventDraft(
                type=EventType.PACKAGE_WEIGHED,
                subject=subject,
                operator=operator,
                payload={
                    "grams": box.grams,
                    "stable": True,
                    "device": "scale-1",
                    "expected_band": {"min_grams": low, "max_grams": high},
                    "within_band": within,
                },
                attachments=(frames,),
            )
        )
        if not within:
            drafts.append(
                EventDraft(
                    type=EventType.EXCEPTION_RAISED,
                    subject=subject,
                    operator=operator,
                    payload={
                        "kind": "weight_out_of_band",
                        "measured_grams": box.grams,
                        "expected_band": {"min_grams": low, "max_grams": high},
                        "queue": "receiving",
                    },
                )
            )
            continue
        drafts.append(
            EventDraft(
                type=EventType.SEAL_CHECKED,
                subject=subject,
                operator=operator,
                payload={"seal": f"SEAL-{box.label[-6:]}", "intact": box.seal_intact},
            )
        )
        drafts.append(
            EventDraft(
                type=EventType.PACKAGE_RECEIVED,
                subject=subject,
                operator=operator,
                payload={
                    "label": box.label,
                    "declared_device": box.declared_device,
                    "grams": box.grams,
                    "seal_intact": box.seal_intact,
                },
            )
        )
    return drafts


def describe(event_type: str, payload: dict[str, Any]) -> str:
    """One line a receiving lead can read, for the demo's summary table."""
    if event_type == "label.scanned":
        match = payload.get("matched_return")
        return f"label {payload.get('code')}: " + ("matched" if match else "NO MATCHING RETURN")
    if event_type == "package.weighed":
        band = payload.get("expected_band") or {}
        verdict = "ok" if payload.get("within_band") else "OUT OF BAND"
        expected = f"{band.get('min_grams')}-{band.get('max_grams')}"
        return f"{payload.get('grams')} g, expected {expected}: {verdict}"
    if event_type == "seal.checked":
        return "seal intact" if payload.get("intact") else "SEAL BROKEN"
    if event_type == "package.received":
        return f"received: {payload.get('declared_device')}"
    if event_type == "exception.raised":
        return f"EXCEPTION {payload.get('kind')} -> {payload.get('queue')} queue"
    if event_type == "operator.signed_in":
        return f"signed in ({payload.get('method')})"
    return ""
