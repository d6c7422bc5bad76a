"""Intake bench: identify the device, link it to its trade-in, cross-check IMEIs, record
diagnostics, grade it, and flag damage beyond what the customer disclosed.

A unit is identified by a scanned IMEI or a cradle read. It links to its trade-in by the return
label scanned just before (the box it came in) or, failing that, by the declared IMEI of an open
trade-in. Scanned, cradle and declared IMEIs are cross-checked: a mismatch is an exception (the
wrong phone in the box is the commonest trade-in fraud), never a silent relink.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict
from stdnum import imei as stdnum_imei

from edge.journal.events import CustodyEvent, EventType
from stations.manifest import ExpectedReturn
from stations.workflow import (
    DiagInput,
    Lookup,
    Outcome,
    Reading,
    ScanInput,
)


class BenchState(BaseModel):
    model_config = ConfigDict(frozen=True)
    current_unit: str | None = None
    return_context: str | None = None  # a return label scanned just before the device


def as_imei(code: str) -> str | None:
    """The 15-digit IMEI in a scanned code, if it is one (check digit verified)."""
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
        return _identify(state, imei, "scan", scan.reading, scan.operator, lookup, new_unit_id)
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
) -> Outcome:
    out = Outcome()
    current = lookup.unit(state.current_unit) if state.current_unit else None
    if diag.imei is not None:
        if current is not None and current.cradle_imei is None and current.imei != diag.imei:
            out.raise_exception(
                "imei_mismatch",
                current.unit_id,
                diag.operator,
                f"the cradle reads IMEI {diag.imei}, but unit {current.unit_id} was scanned "
                f"as {current.imei}",
                {"scanned": current.imei, "cradle": diag.imei, "return_id": current.return_id},
            )
        out.extend(
            _identify(
                state, diag.imei, "cradle", diag.reading, diag.operator, lookup, new_unit_id, diag
            )
        )
        unit_id = out.events[-1].subject
    elif current is not None:
        unit_id = current.unit_id
    else:
        out.raise_exception(
            "unidentified_device",
            f"station:{station}",
            diag.operator,
            "the cradle read a device without an IMEI and no unit is open at the bench",
            {"serial": diag.serial, "model": diag.model, "platform": diag.platform},
        )
        return out
    out.add(
        EventType.DIAGNOSTICS_RECORDED,
        unit_id,
        diag.operator,
        {
            "platform": diag.platform,
            "imei": diag.imei,
            "serial": diag.serial,
            "manufacturer": _fact(diag.fields, "manufacturer"),
            "model": diag.model,
            "battery_health": battery_percent(diag.battery_health),
            "battery_text": diag.battery_health,
            "lock": diag.lock,
            "fields": diag.fields,
            "reading": diag.reading.as_payload(),
        },
    )
    lock = diag.lock.get("state")
    out.message = f"Diagnostics recorded for {unit_id} (lock: {lock or 'unknown'})."
    return out


def _identify(
    state: BenchState,
    imei: str,
    source: str,
    reading: Reading,
    operator: str,
    lookup: Lookup,
    new_unit_id: Callable[[], str],
    diag: DiagInput | None = None,
) -> Outcome:
    out = Outcome()
    known = lookup.unit_by_imei(imei)
    payload: dict[str, Any] = {"imei": imei, "source": source, "reading": reading.as_payload()}
    if diag is not None:
        payload |= {"serial": diag.serial, "model": diag.model, "platform": diag.platform}
    if known is not None:
        out.add(
            EventType.DEVICE_IDENTIFIED,
            known.unit_id,
            operator,
            {**payload, "again": True, "return_id": known.return_id, "link": None},
        )
        out.message = f"Unit {known.unit_id} (IMEI {imei}) is back at the bench."
        return out
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
        "make": linked.make if linked else None,
        "declared_model": linked.model if linked else None,
    }
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
    return out


def _fact(fields: dict[str, Any], name: str) -> str | None:
    """A cradle field's value (fields are {"value", "source"} records)."""
    fact = fields.get(name)
    value = fact.get("value") if isinstance(fact, dict) else None
    return None if value is None else str(value)


def evolve(state: BenchState, event: CustodyEvent) -> BenchState:
    payload = event.payload
    if event.type is EventType.LABEL_SCANNED and payload.get("workflow") == "bench":
        return state.model_copy(update={"return_context": event.subject})
    if event.type is EventType.DEVICE_IDENTIFIED:
        return BenchState(current_unit=event.subject, return_context=None)
    return state
