"""Dock receiving end to end: a scanner and a scale on ptys, a camera on an image folder, the
drivers and camera hosts, a real Mosquitto, the real hub behind its API. The journal is checked
event by event."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edge.journal import JOURNAL_FILE, JournalReader
from tests.api.conftest import MANIFEST
from tests.api.test_stream import receive_within
from tests.broker import RunningBroker
from tests.hub.live import DOCK, LiveStation, live_station, wait_for


@pytest.fixture
def dock(broker: RunningBroker, tmp_path: Path) -> Any:
    with live_station(broker, tmp_path, DOCK) as station:
        station.sign_in("BADGE-ADA")
        answer = station.call("POST", "/api/v1/manifest", "BADGE-ADA", json={"returns": MANIFEST})
        assert answer.status_code == 200, answer.text
        station.sign_in("BADGE-OLGA")  # the operator at the dock now
        wait_for(lambda: _devices_online(station), 30, "devices online")
        yield station


def _devices_online(station: LiveStation) -> bool:
    answer = station.call("GET", "/api/v1/devices", "BADGE-OLGA")
    states = {d["device"]: (d["status"] or {}).get("state") for d in answer.json()["devices"]}
    return all(states.get(d) == "online" for d in ("dock-scanner", "dock-scale", "dock-camera"))


def _new_events(station: LiveStation, after: int, count: int) -> list[dict[str, Any]]:
    try:
        found = wait_for(lambda: len(station.events(after)) >= count and station.events(after), 30)
    except AssertionError:
        raise AssertionError(
            f"wanted {count} events, got {_types(station.events(after))}"
        ) from None
    return list(found)


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["type"] + (f":{e['payload']['exception']}" if e["type"] == "exception.raised" else "")
        for e in events
    ]


def test_a_matching_box_is_received_with_weight_photo_and_seal(dock: LiveStation) -> None:
    start = dock.size()
    assert dock.scanner is not None and dock.scale is not None
    dock.scanner.scan("1Z999AA10123456784")
    scanned = _new_events(dock, start, 1)
    assert scanned[0]["type"] == "label.scanned"
    assert scanned[0]["subject"] == "R-1001" and scanned[0]["operator"] == "olga"
    assert scanned[0]["payload"]["match"] == "label"
    assert scanned[0]["payload"]["reading"]["device"] == "dock-scanner"
    dock.scale.place("398.5")
    # weighed, then the camera's evidence photo arrives on its own
    events = _new_events(dock, start, 3)
    assert _types(events[:3]) == ["label.scanned", "package.weighed", "photo.captured"]
    weighed, photo = events[1], events[2]
    assert (
        Decimal(weighed["payload"]["grams"]) == Decimal("398.5")
        and weighed["payload"]["within_band"] is True
    )
    assert photo["subject"] == "R-1001" and photo["attachments"] == [photo["payload"]["sha256"]]
    assert (dock.data_dir / "blobs").is_dir()
    answer = dock.call("POST", "/api/v1/dock/seal", "BADGE-OLGA", json={"intact": True})
    assert answer.status_code == 200, answer.text
    events = dock.events(start)
    assert _types(events) == [
        "label.scanned",
        "package.weighed",
        "photo.captured",
        "seal.checked",
        "package.received",
    ]
    received = events[-1]
    assert received["payload"]["status"] == "received"
    assert received["payload"]["photos"] == [photo["payload"]["sha256"]]
    assert received["attachments"] == [photo["payload"]["sha256"]]
    assert all(e["operator"] == "olga" for e in events)
    # the return shows the receipt and a timeline that verifies
    view = dock.call("GET", "/api/v1/returns/R-1001", "BADGE-OLGA").json()
    assert view["receipt"]["status"] == "received"
    assert [e["seq"] for e in view["timeline"]][-5:] == [e["seq"] for e in events]
    assert view["verify"]["state"] in {"verified", "pending"}
    # no exceptions were raised
    queue = dock.call("GET", "/api/v1/exceptions", "BADGE-OLGA").json()
    assert queue["total"] == 0


def test_the_dock_s_readings_are_its_operator_s_and_it_stays_attended_after_a_sign_out(
    dock: LiveStation,
) -> None:
    """Item 12: Tom (technician) signs in at the dock after Olga; the scanner's and the scale's
    readings are still Olga's (they were Tom's, the last to sign in). Tom signs out: that is
    journalled, and the next scan is Olga's (it was a no_operator exception: the station had
    gone unattended though Olga and Ada were signed in)."""
    assert dock.scanner is not None and dock.scale is not None
    dock.sign_in("BADGE-TOM")
    start = dock.size()
    dock.scanner.scan("1Z999AA10123456784")
    dock.scale.place("398.5")
    events = _new_events(dock, start, 3)
    assert _types(events[:3]) == ["label.scanned", "package.weighed", "photo.captured"]
    assert [e["operator"] for e in events[:3]] == ["olga", "olga", "olga"]
    answer = dock.call("POST", "/api/v1/dock/seal", "BADGE-OLGA", json={"intact": True})
    assert answer.status_code == 200, answer.text

    mark = dock.size()
    assert dock.call("POST", "/api/v1/auth/sign-out", "BADGE-TOM").status_code == 204
    [ended] = dock.events(mark)
    assert (ended["type"], ended["subject"]) == ("operator.signed_out", "tom")
    dock.scanner.scan("NOT-IN-MANIFEST-7")
    scanned = _new_events(dock, mark + 1, 1)[0]
    assert (scanned["type"], scanned["operator"]) == ("label.scanned", "olga")


def test_unknown_label_is_weighed_photographed_and_queued(dock: LiveStation) -> None:
    start = dock.size()
    assert dock.scanner is not None and dock.scale is not None
    dock.scanner.scan("NOT-IN-MANIFEST-42")
    dock.scale.place("250.0")
    events = _new_events(dock, start, 4)
    assert _types(events[:4]) == [
        "label.scanned",
        "exception.raised:unknown_label",
        "package.weighed",
        "photo.captured",
    ]
    assert events[0]["subject"] == "label:NOT-IN-MANIFEST-42"
    assert events[2]["payload"]["within_band"] is None  # no band to compare with
    dock.call("POST", "/api/v1/dock/seal", "BADGE-OLGA", json={"intact": True})
    received = dock.events(start)[-1]
    assert received["type"] == "package.received"
    assert received["payload"]["status"] == "received_with_exceptions"
    assert received["payload"]["exceptions"] == ["unknown_label"]
    queue = dock.call("GET", "/api/v1/exceptions", "BADGE-OLGA").json()
    assert [x["kind"] for x in queue["items"]] == ["unknown_label"]
    assert queue["items"][0]["evidence"]["label"] == "NOT-IN-MANIFEST-42"


def test_weight_out_of_band_broken_seal_and_resolution(dock: LiveStation) -> None:
    start = dock.size()
    assert dock.scanner is not None and dock.scale is not None
    dock.scanner.scan("1Z999AA10123456784")
    _new_events(dock, start, 1)
    dock.scale.place("1210.0")  # a brick, not an iPhone
    events = _new_events(dock, start, 4)
    assert _types(events[:3]) == [
        "label.scanned",
        "package.weighed",
        "exception.raised:weight_out_of_band",
    ]
    assert events[1]["payload"]["within_band"] is False
    band = events[1]["payload"]["band"]
    assert float(band["max_grams"]) < 1210.0
    answer = dock.call(
        "POST", "/api/v1/dock/seal", "BADGE-OLGA", json={"intact": False, "note": "tape cut"}
    )
    assert answer.status_code == 200
    events = dock.events(start)
    assert _types(events[-3:]) == [
        "seal.checked",
        "exception.raised:seal_broken",
        "package.received",
    ]
    assert events[-1]["payload"]["exceptions"] == ["weight_out_of_band", "seal_broken"]
    queue = dock.call("GET", "/api/v1/exceptions", "BADGE-OLGA").json()
    assert sorted(x["kind"] for x in queue["items"]) == ["seal_broken", "weight_out_of_band"]
    seal_exception = next(x for x in queue["items"] if x["kind"] == "seal_broken")
    # an operator may not resolve; a technician may, with a reason
    path = f"/api/v1/exceptions/{seal_exception['seq']}/resolve"
    body = {"resolution": "reject", "reason": "seal cut in transit; refer to carrier claim"}
    assert dock.call("POST", path, "BADGE-OLGA", json=body).status_code == 403
    dock.sign_in("BADGE-TOM")
    answer = dock.call("POST", path, "BADGE-TOM", json=body)
    assert answer.status_code == 200, answer.text
    resolved = answer.json()["events"][0]
    assert resolved["type"] == "exception.resolved" and resolved["operator"] == "tom"
    assert resolved["payload"]["exception_seq"] == seal_exception["seq"]
    again = dock.call("POST", path, "BADGE-TOM", json=body)
    assert again.status_code == 409 and again.json()["error"] == "already_resolved"


def test_duplicate_receipt_and_cancelled_return(dock: LiveStation) -> None:
    assert dock.scanner is not None and dock.scale is not None
    for label, grams in (("1Z999AA10123456784", "400.0"), ("1Z999AA10123456784", "401.0")):
        start = dock.size()
        dock.scanner.scan(label)
        _new_events(dock, start, 1)
        dock.scale.place(grams)
        wait_for(lambda at=start: "photo.captured" in _types(dock.events(at)), 30, "photo")
        dock.call("POST", "/api/v1/dock/seal", "BADGE-OLGA", json={"intact": True})
        dock.scale.place("0")
    kinds = [
        x["kind"] for x in dock.call("GET", "/api/v1/exceptions", "BADGE-OLGA").json()["items"]
    ]
    assert kinds == ["duplicate_receipt"]
    start = dock.size()
    dock.scanner.scan("1Z999AA10123456791")
    events = _new_events(dock, start, 2)
    assert _types(events[:2]) == ["label.scanned", "exception.raised:return_cancelled"]


def test_a_scan_with_nobody_signed_in_is_kept_as_an_exception(
    broker: RunningBroker, tmp_path: Path
) -> None:
    with live_station(broker, tmp_path, DOCK) as station:
        station.sign_in("BADGE-TOM")
        station.call("POST", "/api/v1/auth/sign-out", "BADGE-TOM")
        wait_for(lambda: _devices_online_as(station), 30)
        start = len(_journal(station))
        assert station.scanner is not None
        station.scanner.scan("1Z999AA10123456784")
        events = wait_for(lambda: _journal(station)[start:], 20)
        assert events[0]["type"] == "exception.raised"
        assert events[0]["payload"]["exception"] == "no_operator"
        assert events[0]["payload"]["evidence"]["scan"] == "1Z999AA10123456784"


def _journal(station: LiveStation) -> list[dict[str, Any]]:
    """Read from the journal file itself: signing in to the API would attend the station."""
    with JournalReader(station.data_dir / JOURNAL_FILE) as reader:
        return [event.as_stored() for event in reader.events()]


def _devices_online_as(station: LiveStation) -> bool:
    statuses = station.client.app.state.services.bus.devices  # type: ignore[attr-defined]
    return bool(statuses.get("dock-scanner", {}).get("state") == "online")


def _message(message: dict[str, Any]) -> str:
    if message["type"] == "event":
        return f"event:{message['event']['type']}"
    if message["type"] == "reading":
        live = message["kind"] == "weight" and not message["reading"]["accepted"]
        return f"reading:{message['kind']}" + (":live" if live else "")
    return str(message["type"])


def _until(ws: Any, last: str) -> list[str]:
    seen: list[str] = []
    while last not in seen:
        seen.append(_message(receive_within(ws)))
    return seen


def test_screens_see_live_weights_at_once_and_custody_readings_after_their_events(
    dock: LiveStation,
) -> None:
    assert dock.scanner is not None and dock.scale is not None
    with dock.client.websocket_connect("/api/v1/stream") as ws:
        ws.send_json({"token": dock.tokens["BADGE-OLGA"]})
        assert receive_within(ws)["type"] == "hello"
        dock.scanner.scan("1Z999AA10123456784")
        seen = _until(ws, "reading:scan")
        assert "event:label.scanned" in seen
        assert seen.index("event:label.scanned") < seen.index("reading:scan"), seen
        dock.scale.place("398.5")
        seen = _until(ws, "reading:weight")  # the accepted (custody) weight
        assert "reading:weight:live" in seen, seen  # the scale settling, shown as it moves
        assert seen.index("reading:weight:live") < seen.index("event:package.weighed"), seen
        assert seen.index("event:package.weighed") < seen.index("reading:weight"), seen
