"""Cradle readings at the bench (pure): a reading lands on the unit it identifies, never on
another; a finished unit's reading is kept as an exception, not applied."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from edge.journal.events import EventType
from edge.limits import MAX_CODE_LENGTH
from stations.bench import BenchState, decide_diag
from stations.catalogue import Catalogue
from stations.manifest import ExpectedReturn
from stations.workflow import DiagInput, Reading
from tests.stations.fake_lookup import FakeLookup, unit_view

PREVIOUS_IMEI = "354652102345675"
FINISHED = unit_view(
    "U-PREVIOUS",
    imei=PREVIOUS_IMEI,
    cradle_imei=PREVIOUS_IMEI,
    serial="F2LXK0ABCD12",
    platform="ios",
    status="routed",
    route="refurbish",
    location="BIN-A-01",
    sources=("cradle",),
)


def diag(imei: str | None, fields: dict[str, Any] | None = None) -> DiagInput:
    return DiagInput(
        platform="android",
        imei=imei,
        serial="NEWPHONE01",
        model="SM-G930F",
        battery_health="good",
        lock={"state": "clear"},
        fields=fields or {"manufacturer": {"value": "samsung", "source": "adb getprop"}},
        reading=Reading("bench-cradle", 9, "d" * 32),
        operator="tom",
    )


def decide(reading: DiagInput, lookup: FakeLookup, current: str | None) -> Any:
    return decide_diag(
        BenchState(current_unit=current),
        reading,
        lookup,
        lambda: "U-NEW",
        "bench-1",
        Catalogue.builtin(),
    )


# what a third-party driver may put in `imei` itself (the shipped driver sends only valid ones)
@pytest.mark.parametrize("bad", ["352911098765434", "3" * 3000, "35291109876543\x003"])
def test_an_invalid_imei_gets_a_unit_of_its_own(bad: str) -> None:
    lookup = FakeLookup(units={FINISHED.unit_id: FINISHED})
    out = decide(diag(bad), lookup, current=FINISHED.unit_id)
    assert {e.subject for e in out.events} == {"U-NEW"}
    types = [(e.type, e.payload.get("exception")) for e in out.events]
    assert types == [
        (EventType.DEVICE_IDENTIFIED, None),
        (EventType.EXCEPTION_RAISED, "imei_invalid"),
        (EventType.DIAGNOSTICS_RECORDED, None),
    ]
    raw = out.events[1].payload["evidence"]["imei_raw"]
    assert len(raw) <= MAX_CODE_LENGTH and raw.isprintable()
    assert out.events[2].payload["imei"] is None


def test_the_driver_s_invalid_imei_is_read_from_its_fields() -> None:
    fields = {"imei": {"state": "invalid", "raw": "352911098765434", "reason": "Luhn"}}
    lookup = FakeLookup(units={FINISHED.unit_id: FINISHED})
    out = decide(diag(None, fields), lookup, current=FINISHED.unit_id)
    raised = [e for e in out.events if e.type is EventType.EXCEPTION_RAISED]
    assert [e.subject for e in raised] == ["U-NEW"]
    assert raised[0].payload["evidence"]["imei_raw"] == "352911098765434"
    assert raised[0].payload["evidence"]["reason"] == "Luhn"


def test_no_imei_and_no_unit_waiting_for_the_cradle_is_a_unit_of_its_own() -> None:
    lookup = FakeLookup(units={FINISHED.unit_id: FINISHED})
    out = decide(diag(None), lookup, current=FINISHED.unit_id)
    assert {e.subject for e in out.events} == {"U-NEW"}
    assert out.events[1].payload["evidence"]["state"] == "unavailable"


def test_no_imei_lands_on_the_unit_scanned_just_before() -> None:
    # Android 10 and later keep the IMEI from adb: scan it from the box, then dock the phone
    scanned = unit_view("U-SCANNED", imei="352911098765433", sources=("scan",))
    lookup = FakeLookup(units={scanned.unit_id: scanned})
    out = decide(diag(None), lookup, current=scanned.unit_id)
    assert [(e.type, e.subject) for e in out.events] == [
        (EventType.DIAGNOSTICS_RECORDED, "U-SCANNED")
    ]
    assert out.events[0].payload["make"] == "Samsung"
    assert out.events[0].payload["model"] == "Galaxy S7"


def test_a_finished_unit_s_reading_is_kept_not_applied() -> None:
    lookup = FakeLookup(units={FINISHED.unit_id: FINISHED})
    out = decide(diag(PREVIOUS_IMEI), lookup, current=None)
    types = [(e.type, e.payload.get("exception")) for e in out.events]
    assert types == [
        (EventType.DEVICE_IDENTIFIED, None),
        (EventType.EXCEPTION_RAISED, "unit_finished"),
    ]
    message = out.events[1].payload["message"]
    assert "routed to refurbish, in BIN-A-01" in message
    assert "/api/v1/units/U-PREVIOUS/reopen" in message
    assert out.events[1].payload["evidence"]["serial"] == "NEWPHONE01"


@pytest.mark.parametrize("bad", [None, "352911098765434"])
def test_the_same_phone_without_a_valid_imei_docked_again_is_the_same_unit(
    bad: str | None,
) -> None:
    """A loose cable: the phone without an IMEI (Android 10+, or a bad one) drops off the
    cradle and comes back, and the driver reads it again. Same serial, on the unit open at the
    bench: the same unit, not a second unit with a second `imei_invalid` exception for a
    supervisor to resolve."""
    first = unit_view(
        "U-FIRST",
        serial="NEWPHONE01",
        platform="android",
        status="identified",
        sources=("cradle",),
    )
    lookup = FakeLookup(units={first.unit_id: first})
    out = decide(diag(bad), lookup, current=first.unit_id)
    assert {e.subject for e in out.events} == {"U-FIRST"}
    assert EventType.EXCEPTION_RAISED not in [e.type for e in out.events]
    assert out.events[-1].type is EventType.DIAGNOSTICS_RECORDED
    # another phone (another serial) is still a unit of its own
    other = DiagInput(**{**diag(bad).__dict__, "serial": "OTHERPHONE"})
    assert {e.subject for e in decide(other, lookup, current=first.unit_id).events} == {"U-NEW"}


def test_a_make_without_a_model_is_a_device_mismatch_and_no_declared_model_is_kept() -> None:
    """Item 11: the return declared an Apple iPhone 13; the phone answers "samsung" and no
    model. A device_mismatch, and the unit is a samsung of unknown model, not a samsung
    "iPhone 13"."""
    scanned = unit_view(
        "U-SCANNED",
        imei=None,
        return_id="R-1",
        make="Apple",
        model="iPhone 13",
        sources=("scan",),
    )
    lookup = FakeLookup(
        units={scanned.unit_id: scanned},
        returns={"R-1": declared_iphone()},
    )
    reading = DiagInput(**{**diag(None).__dict__, "model": None})
    out = decide(reading, lookup, current=scanned.unit_id)
    kinds = [e.payload.get("exception") for e in out.events if e.type is EventType.EXCEPTION_RAISED]
    assert kinds == ["device_mismatch"]
    [recorded] = [e for e in out.events if e.type is EventType.DIAGNOSTICS_RECORDED]
    assert (recorded.payload["make"], recorded.payload["model"]) == ("samsung", "unknown")


def declared_iphone() -> ExpectedReturn:
    return ExpectedReturn(
        return_id="R-1",
        label_codes=("RET-1",),
        customer_ref="C-1",
        make="Apple",
        model="iPhone 13",
        quote=Decimal("100.00"),
        currency="EUR",
        status="accepted",
    )
