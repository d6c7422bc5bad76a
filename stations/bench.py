"""Intake bench: identify the device, link it to its trade-in, cross-check IMEIs, record
diagnostics, grade it, and flag damage beyond what the customer disclosed.

A unit is identified by a scanned IMEI or a cradle read. It links to its trade-in by the return
label scanned just before (the box it came in) or, failing that, by the declared IMEI of an open
trade-in. Scanned, cradle and declared IMEIs are cross-checked: a mismatch is an exception (the
wrong phone in the box is the commonest trade-in fraud), never a silent relink. So are the make
and model the cradle reads against the declared ones (`device_mismatch`, via the catalogue's
model codes). A reading without a valid IMEI never lands on another unit (`decide_diag`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict
from stdnum import imei as stdnum_imei

from edge.journal.events import CustodyEvent, EventType
from edge.limits import MAX_CODE_LENGTH, MAX_NOTE_LENGTH
from stations.catalogue import Catalogue
from stations.device_identity import ReadDevice, bounded, fact, mismatch, read_device
from stations.manifest import ExpectedReturn
from stations.reopening import how_to_reopen, is_finished, where
from stations.workflow import (
    DiagInput,
    Lookup,
    Outcome,
    Reading,
    ScanInput,
    UnitView,
)


class BenchState(BaseModel):
    model_config = ConfigDict(frozen=True)
    current_unit: str | None = None
    return_context: str | None = None  # a return label scanned just before the device


def as_imei(code: str) -> str | None:
    """The 15-digit IMEI in a scanned code, if it is one (check digit verified)."""
    if len(code) > MAX_CODE_LENGTH:
        return None
    digits = code.strip()
    if digits.upper().startswith("IMEI"):
        digits = digits[4:].lstrip(":= ")
    if not re.fullmatch(r"[0-9]{15}", digits) or not stdnum_imei.is_valid(digits):
        return None
    return digits


def battery_percent(text: str | None) -> int | None:
    """ "92%" (the cradle's reading) → 92; anything else → None."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*([0-9]{1,3})(?:\.[0-9]+)?\s*%?\s*", text)
    if not match:
        return None
    value = int(match.group(1))
    return value if 0 <= value <= 100 else None


def decide_scan(
    state: BenchState,
    scan: ScanInput,
    lookup: Lookup,
    new_unit_id: Callable[[], str],
    station: str,
) -> Outcome:
    imei = scan.imei or as_imei(scan.code)
    if imei is not None:
        return _identify(state, imei, "scan", scan.reading, scan.operator, lookup, new_unit_id)[0]
    out = Outcome()
    code = scan.code.strip()
    expected = lookup.return_by_label(code) or lookup.return_by_id(code)
    if expected is not None:
        out.add(
            EventType.LABEL_SCANNED,
            expected.return_id,
            scan.operator,
            {
                "workflow": "bench",
                "code": scan.code,
                "symbology": scan.symbology,
                "source": scan.source,
                "reading": scan.reading.as_payload(),
                "return_id": expected.return_id,
                "match": "label",
            },
        )
        out.message = f"Return {expected.return_id}: now scan or cradle its device."
        return out
    out.raise_exception(
        "unrecognised_scan",
        f"station:{station}",
        scan.operator,
        f"{scan.code!r} is not an IMEI, a return label, a unit or a bin this station knows",
        {"code": scan.code, "symbology": scan.symbology, "reading": scan.reading.as_payload()},
    )
    out.message = f"Not recognised: {scan.code}"
    return out


def decide_diag(
    state: BenchState,
    diag: DiagInput,
    lookup: Lookup,
    new_unit_id: Callable[[], str],
    station: str,
    catalogue: Catalogue,
) -> Outcome:
    """A cradle reading lands on the unit it identifies, never on another one.

    A valid IMEI finds or creates its unit. A reading whose IMEI is invalid (bad check digit,
    wrong length, stray characters) or missing gets a unit of its own with an `imei_invalid`
    exception, unless, for a missing one only, the unit open at the bench is still waiting for
    its first cradle read (scanned from the box label or *#06#, which is how Android 10 and later
    are identified). A finished unit's reading is kept as a `unit_finished` exception.
    """
    out = Outcome()
    current = lookup.unit(state.current_unit) if state.current_unit else None
    waiting = current if current is not None and _awaits_cradle(current) else None
    claimed = diag.imei if diag.imei is not None else _claimed_imei(diag.fields)
    imei = as_imei(claimed[: MAX_CODE_LENGTH + 1]) if claimed is not None else None
    linked: ExpectedReturn | None
    if imei is not None:
        if waiting is not None and waiting.imei != imei:
            out.raise_exception(
                "imei_mismatch",
                waiting.unit_id,
                diag.operator,
                f"the cradle reads IMEI {imei}, but unit {waiting.unit_id} was scanned "
                f"as {waiting.imei}",
                {"scanned": waiting.imei, "cradle": imei, "return_id": waiting.return_id},
            )
        identified, linked = _identify(
            state, imei, "cradle", diag.reading, diag.operator, lookup, new_unit_id, diag,
            catalogue,
        )  # fmt: skip
        out.extend(identified)
        unit_id = identified.events[0].subject
    elif claimed is None and waiting is not None:
        unit_id = waiting.unit_id
        linked = lookup.return_by_id(waiting.return_id) if waiting.return_id else None
    elif (back := _same_phone_again(current, diag)) is not None:
        unit_id = back.unit_id
        linked = lookup.return_by_id(back.return_id) if back.return_id else None
        out.add(
            EventType.DEVICE_IDENTIFIED,
            unit_id,
            diag.operator,
            {
                "imei": None,
                "source": "cradle",
                "reading": diag.reading.as_payload(),
                "serial": back.serial,
                "platform": diag.platform,
                "again": True,
                "return_id": back.return_id,
                "link": None,
            },
        )
        out.message = f"Unit {unit_id} (serial {back.serial}) is back in the cradle."
    else:
        unit_id, linked = _unidentified(state, diag, claimed, lookup, new_unit_id, catalogue, out)
    unit = lookup.unit(unit_id)
    if unit is not None and is_finished(unit):
        out.raise_exception(
            "unit_finished",
            unit_id,
            diag.operator,
            f"the cradle read unit {unit_id}, which is finished ({where(unit)}); its reading "
            f"is kept here, not applied: {how_to_reopen(unit)}",
            _summary(diag),
            reading=diag.reading,
        )
        out.message = f"Unit {unit_id} is finished ({where(unit)}): reopen it to work on it."
        return out
    read = read_device(diag.model, diag.fields, catalogue)
    out.add(
        EventType.DIAGNOSTICS_RECORDED,
        unit_id,
        diag.operator,
        {
            "platform": diag.platform,
            "imei": imei,
            "serial": None if diag.serial is None else bounded(diag.serial),
            "manufacturer": fact(diag.fields, "manufacturer"),
            "make": _read_make(read),
            "model": _read_model(read),
            "model_code": read.code if read else None,
            "battery_health": battery_percent(diag.battery_health),
            "battery_text": diag.battery_health,
            "lock": diag.lock,
            "fields": diag.fields,
            "reading": diag.reading.as_payload(),
        },
    )
    lock = diag.lock.get("state")
    out.message = " ".join(
        m
        for m in (out.message, f"Diagnostics recorded for {unit_id} (lock: {lock or 'unknown'}).")
        if m
    )
    if read is not None and linked is not None:
        _check_declared(read, linked, unit_id, diag, lookup, catalogue, out)
    return out


def _awaits_cradle(unit: UnitView) -> bool:
    """Identified (by a scan) and not yet read by the cradle, and not finished."""
    return "cradle" not in unit.sources and unit.platform is None and not is_finished(unit)


def _same_phone_again(current: UnitView | None, diag: DiagInput) -> UnitView | None:
    """The unit open at the bench, when this reading without a valid IMEI is its phone back in
    the cradle (a loose cable, docked again): no IMEI of its own, the same serial, not
    finished. A unit with an IMEI is found by it (`_identify`), never by its serial."""
    if current is None or current.imei is not None or is_finished(current):
        return None
    if not diag.serial or not current.serial or "cradle" not in current.sources:
        return None
    return current if bounded(diag.serial) == current.serial else None


def _claimed_imei(fields: dict[str, Any]) -> str | None:
    """What the phone answered for its IMEI when the driver found it invalid (kept as `raw`)."""
    record = fields.get("imei")
    raw = record.get("raw") if isinstance(record, dict) else None
    return None if raw is None else str(raw)


def _read_make(read: ReadDevice | None) -> str | None:
    """A reading that names a model names its make too, so a unit never mixes the declared
    make with the model read."""
    if read is None:
        return None
    return read.make or "unknown"


def _read_model(read: ReadDevice | None) -> str | None:
    """A reading that names a make but no model: the model is unknown, never the declared one
    kept beside the make read."""
    if read is None:
        return None
    return read.model or "unknown"


def _summary(diag: DiagInput) -> dict[str, Any]:
    return {
        "platform": diag.platform,
        "imei": None if diag.imei is None else bounded(diag.imei, MAX_CODE_LENGTH),
        "serial": None if diag.serial is None else bounded(diag.serial),
        "model": None if diag.model is None else bounded(diag.model),
        "battery_health": diag.battery_health,
        "lock": diag.lock,
        "fields": diag.fields,
    }


def _unidentified(
    state: BenchState,
    diag: DiagInput,
    claimed: str | None,
    lookup: Lookup,
    new_unit_id: Callable[[], str],
    catalogue: Catalogue,
    out: Outcome,
) -> tuple[str, ExpectedReturn | None]:
    """A unit of its own for a reading without a valid IMEI, and its `imei_invalid` exception."""
    unit_id = new_unit_id()
    linked = lookup.return_by_id(state.return_context) if state.return_context else None
    raw = None if claimed is None else bounded(claimed, MAX_CODE_LENGTH)
    why = _imei_reason(diag.fields, claimed)
    read = read_device(diag.model, diag.fields, catalogue)
    out.add(
        EventType.DEVICE_IDENTIFIED,
        unit_id,
        diag.operator,
        {
            "imei": None,
            "imei_raw": raw,
            "source": "cradle",
            "reading": diag.reading.as_payload(),
            "serial": None if diag.serial is None else bounded(diag.serial),
            "platform": diag.platform,
            "again": False,
            "return_id": linked.return_id if linked else None,
            "link": "label" if linked else None,
            "declared_imei": linked.declared_imei if linked else None,
            "declared_make": linked.make if linked else None,
            "declared_model": linked.model if linked else None,
            **_unit_device(read, linked),
        },
    )
    said = "no IMEI" if raw is None else f"IMEI {raw!r}, which is not valid"
    out.raise_exception(
        "imei_invalid",
        unit_id,
        diag.operator,
        f"the cradle read {said} ({why}); the reading is kept on a new unit {unit_id}, never "
        "on another: check the IMEI on the device (*#06#, SIM tray) and resolve",
        {
            "imei_raw": raw,
            "state": "unavailable" if raw is None else "invalid",
            "reason": why,
            "serial": None if diag.serial is None else bounded(diag.serial),
            "return_id": linked.return_id if linked else None,
        },
    )
    out.message = f"Unit {unit_id}: the phone gave {said}; identify it by hand."
    return unit_id, linked


def _imei_reason(fields: dict[str, Any], claimed: str | None) -> str:
    record = fields.get("imei")
    reason = record.get("reason") if isinstance(record, dict) else None
    if reason:
        return bounded(reason, MAX_NOTE_LENGTH)
    if claimed is None:
        return "the reading carries no IMEI"
    return "not 15 digits with a valid check digit"


def _unit_device(read: ReadDevice | None, linked: ExpectedReturn | None) -> dict[str, Any]:
    """The unit's make and model: as read when the cradle named a model, else as declared."""
    if read is not None:
        return {"make": _read_make(read), "model": _read_model(read), "model_code": read.code}
    return {"make": linked.make if linked else None, "model": None}


def _check_declared(
    read: ReadDevice,
    linked: ExpectedReturn,
    unit_id: str,
    diag: DiagInput,
    lookup: Lookup,
    catalogue: Catalogue,
    out: Outcome,
) -> None:
    """A `device_mismatch` when the device read is not the one its return declared (once)."""
    why = mismatch(read, linked, catalogue)
    if why is None:
        return
    if any(e.kind == "device_mismatch" for e in lookup.open_exceptions(unit_id)):
        return
    out.raise_exception(
        "device_mismatch",
        unit_id,
        diag.operator,
        why,
        {
            "return_id": linked.return_id,
            "declared": {"make": linked.make, "model": linked.model},
            "read": {
                "make": read.make,
                "model": read.model,
                "code": read.code,
                "catalogued": read.catalogued,
            },
        },
    )
    out.message += f" Not the declared {linked.make} {linked.model}: payout on hold."


def _identify(
    state: BenchState,
    imei: str,
    source: str,
    reading: Reading,
    operator: str,
    lookup: Lookup,
    new_unit_id: Callable[[], str],
    diag: DiagInput | None = None,
    catalogue: Catalogue | None = None,
) -> tuple[Outcome, ExpectedReturn | None]:
    out = Outcome()
    known = lookup.unit_by_imei(imei)
    payload: dict[str, Any] = {"imei": imei, "source": source, "reading": reading.as_payload()}
    read = None
    if diag is not None:
        read = read_device(diag.model, diag.fields, catalogue) if catalogue else None
        payload |= {
            "serial": None if diag.serial is None else bounded(diag.serial),
            "model": None if diag.model is None else bounded(diag.model),
            "platform": diag.platform,
        }
    if known is not None:
        out.add(
            EventType.DEVICE_IDENTIFIED,
            known.unit_id,
            operator,
            {**payload, "again": True, "return_id": known.return_id, "link": None},
        )
        out.message = f"Unit {known.unit_id} (IMEI {imei}) is back at the bench."
        if is_finished(known):
            out.message += f" It is finished ({where(known)}): {how_to_reopen(known)}."
        again = lookup.return_by_id(known.return_id) if known.return_id else None
        return out, again
    unit_id = new_unit_id()
    context = lookup.return_by_id(state.return_context) if state.return_context else None
    linked: ExpectedReturn | None
    link: str | None
    if context is not None:
        linked, link = context, "label"
    else:
        linked = lookup.return_by_imei(imei)
        link = "imei" if linked is not None else None
    payload |= {
        "again": False,
        "return_id": linked.return_id if linked else None,
        "link": link,
        "declared_imei": linked.declared_imei if linked else None,
        "declared_make": linked.make if linked else None,
        "declared_model": linked.model if linked else None,
    }
    if diag is not None:
        payload |= _unit_device(read, linked)
    else:
        payload["make"] = linked.make if linked else None
    out.add(EventType.DEVICE_IDENTIFIED, unit_id, operator, payload)
    if linked is None:
        out.raise_exception(
            "no_trade_in",
            unit_id,
            operator,
            f"IMEI {imei} matches no open trade-in in the manifest",
            {"imei": imei, "source": source},
        )
        out.message = f"Unit {unit_id}: no trade-in for IMEI {imei}."
    elif linked.declared_imei is not None and linked.declared_imei != imei:
        out.raise_exception(
            "imei_mismatch",
            unit_id,
            operator,
            f"return {linked.return_id} declared IMEI {linked.declared_imei}; the device "
            f"{'scanned' if source == 'scan' else 'in the cradle'} is {imei}",
            {source: imei, "declared": linked.declared_imei, "return_id": linked.return_id},
        )
        out.message = f"Unit {unit_id}: IMEI does not match return {linked.return_id}."
    else:
        out.message = f"Unit {unit_id} linked to return {linked.return_id}: grade it."
    return out, linked


def evolve(state: BenchState, event: CustodyEvent) -> BenchState:
    payload = event.payload
    if event.type is EventType.LABEL_SCANNED and payload.get("workflow") == "bench":
        return state.model_copy(update={"return_context": event.subject})
    if event.type is EventType.DEVICE_IDENTIFIED:
        return BenchState(current_unit=event.subject, return_context=None)
    return state
