"""Intake bench and erasure station end to end: a serial scanner on a pty, the cradle through
stand-in adb/libimobiledevice tools, the erasure stand-in tool, a real Mosquitto, the real hub."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.cradle import SIM_DIR as CRADLE_SIM_DIR
from drivers.sim.cradle import load_preset, write_scenario
from drivers.sim.erasure import TOOL as ERASE_TOOL
from edge.journal.blobs import BlobStore
from edge.limits import MAX_CODE_LENGTH
from edge.operators import Role
from stations.certificate import open_certificate
from tests.broker import RunningBroker
from tests.hub.live import LiveStation, add_operator, live_station, wait_for

CRADLE_TOOLS = ("adb", "idevice_id", "ideviceinfo", "idevicediagnostics")
IPHONE_IMEI = "354652102345675"  # the iphone13_activated preset
GALAXY_IMEI = "352911098765433"  # the galaxy_s7_android8 preset

DEVICES = """
[station]
site = "ams-1"
station = "dock-1"
role = "{role}"

[bus]
port = {{port}}

[devices.bench-scanner]
kind = "scanner"
path = "{{scanner}}"

[devices.bench-cradle]
kind = "cradle"
poll_interval = 0.3
{tools}
"""

ERASURE = """
[erasure.tools.android]
command = ["{tool}", "erase", "--serial", "{{{{serial}}}}", "--method", "purge"]
verify_command = ["{tool}", "verify", "--serial", "{{{{serial}}}}"]
version_command = ["{tool}", "--version"]
tool_name = "edge-sim-erase"
method = "Purge"
technique = "factory reset + crypto erase"
verification_method = "quick-sampling"
verify_pass_pattern = "^RESULT: PASS\\\\b"
media_type = "flash/eMMC"
timeout_s = 30
"""


def profile(role: str, *, erasure: bool = False) -> str:
    tools = "\n".join(f'{tool} = "{CRADLE_SIM_DIR / tool}"' for tool in CRADLE_TOOLS)
    text = DEVICES.format(role=role, tools=tools)
    return text + (ERASURE.format(tool=ERASE_TOOL) if erasure else "")


MANIFEST = [
    {
        "return_id": "R-2001",
        "label_codes": ["RET-2001"],
        "customer_ref": "C-1",
        "make": "Apple",
        "model": "iPhone 13",
        "declared_imei": IPHONE_IMEI,
        "screen": "flawless",
        "body": "flawless",
        "function": "all_working",
        "battery": "good",
        "accessories": "none",
        "quote": "300.00",
        "currency": "EUR",
        "status": "accepted",
    },
    {
        "return_id": "R-2002",
        "label_codes": ["RET-2002"],
        "customer_ref": "C-2",
        "make": "Samsung",
        "model": "Galaxy S7",
        "declared_imei": "356938035643809",
        "screen": "minor_scratches",
        "quote": "40.00",
        "currency": "EUR",
        "status": "accepted",
    },
    {
        "return_id": "R-2003",
        "label_codes": ["RET-2003"],
        "customer_ref": "C-3",
        "make": "Apple",
        "model": "iPhone 13",
        "quote": "300.00",
        "currency": "EUR",
        "status": "accepted",
    },
]


@pytest.fixture
def cradle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    scenario = tmp_path / "cradle.json"
    write_scenario(scenario, {})
    monkeypatch.setenv("EDGE_SIM_CRADLE", str(scenario))
    return scenario


@pytest.fixture
def bench(broker: RunningBroker, tmp_path: Path, cradle: Path) -> Iterator[LiveStation]:
    """The intake bench: the returns imported, Tom signed in, scanner and cradle online."""
    with live_station(broker, tmp_path, profile("bench")) as station:
        _start(station)
        yield station


@pytest.fixture
def eraser(broker: RunningBroker, tmp_path: Path, cradle: Path) -> Iterator[LiveStation]:
    """The erasure station, started as the bench is."""
    with live_station(broker, tmp_path, profile("erasure", erasure=True)) as station:
        _start(station)
        yield station


def _start(station: LiveStation, technician: str = "BADGE-TOM") -> None:
    station.sign_in("BADGE-ADA")
    answer = station.call("POST", "/api/v1/manifest", "BADGE-ADA", json={"returns": MANIFEST})
    assert answer.status_code == 200, answer.text
    station.sign_in(technician)
    wait_for(lambda: _online(station, "bench-scanner", "bench-cradle"), 30, "devices online")


def _online(station: LiveStation, *devices: str) -> bool:
    statuses = station.client.app.state.services.bus.devices  # type: ignore[attr-defined]
    return all(statuses.get(d, {}).get("state") in ("online", "attention") for d in devices)


def _events_of(station: LiveStation, after: int, kind: str, count: int = 1) -> list[Any]:
    def found() -> list[Any]:
        return [e for e in station.events(after) if e["type"] == kind]

    try:
        events = wait_for(lambda: len(found()) >= count and found(), 30)
    except AssertionError:
        types = [e["type"] for e in station.events(after)]
        raise AssertionError(f"no {count}× {kind}; journal has {types}") from None
    return list(events)


def test_imei_scan_links_the_trade_in_and_the_cradle_confirms_it(
    bench: LiveStation, cradle: Path
) -> None:
    start = bench.size()
    assert bench.scanner is not None
    bench.scanner.scan(IPHONE_IMEI)
    identified = _events_of(bench, start, "device.identified")[0]
    unit_id = identified["subject"]
    assert identified["payload"]["return_id"] == "R-2001"
    assert identified["payload"]["link"] == "imei" and identified["operator"] == "tom"
    write_scenario(cradle, load_preset("iphone13_activated"))
    diag = _events_of(bench, start, "diagnostics.recorded")[0]
    assert diag["subject"] == unit_id and diag["payload"]["imei"] == IPHONE_IMEI
    kinds = [e["payload"].get("exception") for e in bench.events(start)]
    assert "imei_mismatch" not in kinds
    unit = bench.call("GET", f"/api/v1/units/{unit_id}", "BADGE-TOM").json()["unit"]
    assert unit["identified_by"] == ["cradle", "scan"]
    assert unit["cradle_imei"] == IPHONE_IMEI and unit["serial"] == "F2LXK0ABCD12"
    # declared "iPhone 13", read ProductType iPhone14,5: the same device, no mismatch
    assert (unit["make"], unit["model"]) == ("Apple", "iPhone 13")
    assert "device_mismatch" not in kinds


def test_wrong_phone_in_the_box_is_an_imei_mismatch(bench: LiveStation, cradle: Path) -> None:
    start = bench.size()
    assert bench.scanner is not None
    bench.scanner.scan("RET-2002")  # the box says Galaxy S7 with IMEI ...809
    _events_of(bench, start, "label.scanned")
    write_scenario(cradle, load_preset("galaxy_s7_android8"))
    raised = _events_of(bench, start, "exception.raised")[0]
    assert raised["payload"]["exception"] == "imei_mismatch"
    evidence = raised["payload"]["evidence"]
    assert evidence["cradle"] == GALAXY_IMEI and evidence["declared"] == "356938035643809"
    identified = _events_of(bench, start, "device.identified")[0]
    assert identified["payload"]["link"] == "label"
    assert identified["payload"]["return_id"] == "R-2002"
    # declared Samsung Galaxy S7, read SM-G930F: the model matches, only the IMEI does not
    _events_of(bench, start, "diagnostics.recorded")
    kinds = [e["payload"].get("exception") for e in bench.events(start)]
    assert "device_mismatch" not in kinds


def test_declared_iphone_read_galaxy_is_a_device_mismatch(bench: LiveStation, cradle: Path) -> None:
    start = bench.size()
    assert bench.scanner is not None
    bench.scanner.scan("RET-2003")  # declared an Apple iPhone 13, no IMEI given
    _events_of(bench, start, "label.scanned")
    write_scenario(cradle, load_preset("galaxy_s7_android8"))
    diag = _events_of(bench, start, "diagnostics.recorded")[0]
    unit_id = diag["subject"]
    raised = [
        e
        for e in _events_of(bench, start, "exception.raised")
        if e["payload"]["exception"] == "device_mismatch"
    ]
    assert [e["subject"] for e in raised] == [unit_id]
    evidence = raised[0]["payload"]["evidence"]
    assert evidence["declared"] == {"make": "Apple", "model": "iPhone 13"}
    assert evidence["read"]["model"] == "Galaxy S7" and evidence["read"]["code"] == "SM-G930F"
    unit = bench.call("GET", f"/api/v1/units/{unit_id}", "BADGE-TOM").json()["unit"]
    # the unit is what was read, not the declared make with the read model
    assert (unit["make"], unit["model"], unit["return_id"]) == (
        "Samsung",
        "Galaxy S7",
        "R-2003",
    )
    checklist = {
        "screen": "flawless",
        "body": "flawless",
        "function": "all_working",
        "accessories": "none",
        "battery": 90,
    }
    graded = bench.call("POST", f"/api/v1/units/{unit_id}/grade", "BADGE-TOM", json=checklist)
    assert graded.status_code == 200, graded.text
    routed = bench.call("POST", f"/api/v1/units/{unit_id}/route", "BADGE-TOM")
    assert routed.status_code == 409 and routed.json()["error"] == "returns_review"
    assert "device_mismatch" in routed.json()["message"]


BAD_IMEIS = (
    "352911098765434",  # 15 digits, check digit wrong
    "3" * 3000,
    "35291109876543\x003",  # a NUL inside
)


def test_phones_without_a_valid_imei_never_land_on_the_previous_unit(
    bench: LiveStation, cradle: Path
) -> None:
    start = bench.size()
    # the previous phone: read, graded, routed (to refurbish) and binned
    write_scenario(cradle, load_preset("galaxy_s7_android8"))
    previous = _events_of(bench, start, "diagnostics.recorded")[0]["subject"]
    checklist = {
        "screen": "heavy_scratches",
        "body": "flawless",
        "function": "all_working",
        "accessories": "none",
        "battery": 95,
    }
    path = f"/api/v1/units/{previous}"
    assert bench.call("POST", f"{path}/grade", "BADGE-TOM", json=checklist).status_code == 200
    assert bench.call("POST", f"{path}/route", "BADGE-TOM").status_code == 200
    moved = bench.call("POST", f"{path}/move", "BADGE-TOM", json={"bin": "BIN-A-01"})
    assert moved.status_code == 200
    before = bench.call("GET", path, "BADGE-TOM").json()
    units = {previous}
    for n, bad in enumerate(BAD_IMEIS, start=1):
        scenario = load_preset("galaxy_s7_android8")
        phone = scenario["android"][0]
        phone["serial"] = phone["props"]["ro.serialno"] = f"BADIMEI{n:04d}"
        phone["iphonesubinfo"] = {"string": bad}
        write_scenario(cradle, scenario)
        diag = _events_of(bench, start, "diagnostics.recorded", n + 1)[-1]
        unit_id = diag["subject"]
        assert unit_id not in units  # a unit of its own, every time
        units.add(unit_id)
        assert diag["payload"]["serial"] == f"BADIMEI{n:04d}"
        raised = [
            e
            for e in bench.events(start)
            if e["type"] == "exception.raised" and e["subject"] == unit_id
        ]
        assert [e["payload"]["exception"] for e in raised] == ["imei_invalid"]
        raw = raised[0]["payload"]["evidence"]["imei_raw"]
        assert len(raw) <= MAX_CODE_LENGTH and raw.isprintable()
        assert raw.startswith(bad[:14])
    after = bench.call("GET", path, "BADGE-TOM").json()
    assert after["unit"] == before["unit"]  # serial, status, route, bin: untouched
    assert after["timeline"] == before["timeline"]
    assert before["unit"]["status"] == "routed" and before["unit"]["location"] == "BIN-A-01"


def test_a_finished_unit_is_reopened_with_a_reason_before_more_work(
    eraser: LiveStation, cradle: Path
) -> None:
    start = eraser.size()
    write_scenario(cradle, load_preset("galaxy_s7_android8"))
    unit_id = _events_of(eraser, start, "diagnostics.recorded")[0]["subject"]
    path = f"/api/v1/units/{unit_id}"
    checklist = {
        "screen": "flawless",
        "body": "flawless",
        "function": "all_working",
        "accessories": "complete",
        "battery": 90,
    }
    assert eraser.call("POST", f"{path}/grade", "BADGE-TOM", json=checklist).status_code == 200
    assert eraser.call("POST", f"{path}/erasure", "BADGE-TOM").status_code == 200
    first_route = eraser.call("POST", f"{path}/route", "BADGE-TOM")
    assert first_route.status_code == 200
    route = first_route.json()["events"][0]["payload"]["route"]
    bin_move = eraser.call("POST", f"{path}/move", "BADGE-TOM", json={"bin": "BIN-A-01"})
    assert bin_move.status_code == 200
    finished = eraser.size()
    for step, body in (("erasure", None), ("route", None), ("grade", checklist)):
        refused = eraser.call("POST", f"{path}/{step}", "BADGE-TOM", json=body)
        assert refused.status_code == 409, (step, refused.text)
        answer = refused.json()
        assert answer["error"] == "unit_finished"
        assert f"routed to {route}, in BIN-A-01" in answer["message"]
        assert f"/api/v1/units/{unit_id}/reopen" in answer["message"]
    assert eraser.size() == finished  # nothing erased, routed or graded again
    # reopening: technician or admin, with a reason, journalled
    eraser.sign_in("BADGE-OLGA")
    reason = {"reason": "customer disputes the grade"}
    assert eraser.call("POST", f"{path}/reopen", "BADGE-OLGA", json=reason).status_code == 403
    short = eraser.call("POST", f"{path}/reopen", "BADGE-TOM", json={"reason": "x"})
    assert short.status_code == 422
    reopened = eraser.call("POST", f"{path}/reopen", "BADGE-TOM", json=reason)
    assert reopened.status_code == 200, reopened.text
    event = reopened.json()["events"][0]
    assert event["type"] == "unit.reopened" and event["operator"] == "tom"
    assert event["payload"]["reason"] == "customer disputes the grade"
    assert event["payload"]["was"]["route"] == route
    unit = eraser.call("GET", path, "BADGE-TOM").json()["unit"]
    assert (unit["status"], unit["route"], unit["location"]) == ("graded", None, "BIN-A-01")
    again = eraser.call("POST", f"{path}/reopen", "BADGE-TOM", json=reason)
    assert again.status_code == 409 and again.json()["error"] == "not_finished"
    assert eraser.call("POST", f"{path}/route", "BADGE-TOM").status_code == 200


def test_damage_beyond_disclosure_holds_the_payout_and_blocks_routing(
    bench: LiveStation, cradle: Path
) -> None:
    start = bench.size()
    assert bench.scanner is not None
    bench.scanner.scan(IPHONE_IMEI)
    unit_id = _events_of(bench, start, "device.identified")[0]["subject"]
    checklist = {
        "screen": "cracked",
        "body": "minor_wear",
        "function": "all_working",
        "accessories": "none",
        "battery": 91,
    }
    # operators may not grade
    bench.sign_in("BADGE-OLGA")
    path = f"/api/v1/units/{unit_id}/grade"
    assert bench.call("POST", path, "BADGE-OLGA", json=checklist).status_code == 403
    answer = bench.call("POST", path, "BADGE-TOM", json=checklist)
    assert answer.status_code == 200, answer.text
    graded, raised = answer.json()["events"]
    assert graded["type"] == "grade.assigned" and graded["payload"]["grade"] == "D"
    assert graded["payload"]["beyond_disclosure"] is True
    payout = graded["payload"]["payout"]
    # declared flawless (grade A) → observed D: 300.00 × 0.25 / 1.00 with no accessories on
    # both sides (the shipped factors, docs/grading.md)
    assert Decimal(payout["quote"]) == Decimal("300.00")
    assert Decimal(payout["revised"]) < Decimal(payout["quote"])
    assert Decimal(payout["delta"]) == Decimal(payout["revised"]) - Decimal(payout["quote"])
    worse = {item["item"] for item in graded["payload"]["worse_than_declared"]}
    assert worse == {"screen", "body"}
    assert raised["payload"]["exception"] == "damage_beyond_disclosure"
    unit = bench.call("GET", f"/api/v1/units/{unit_id}", "BADGE-TOM").json()["unit"]
    assert unit["status"] == "returns_review" and unit["payout_status"] == "on_hold"
    routed = bench.call("POST", f"/api/v1/units/{unit_id}/route", "BADGE-TOM")
    assert routed.status_code == 409 and routed.json()["error"] == "returns_review"
    # four eyes on money: not the technician who raised it, not another technician
    resolve_path = f"/api/v1/exceptions/{raised['seq']}/resolve"
    accept = {"resolution": "accept", "reason": "customer agreed to the revised offer"}
    own = bench.call("POST", resolve_path, "BADGE-TOM", json=accept)
    assert own.status_code == 403 and own.json()["error"] == "four_eyes"
    assert "raised by you" in own.json()["message"] and "admin" in own.json()["message"]
    add_operator(bench.data_dir, "tia", Role.TECHNICIAN, "BADGE-TIA")
    bench.sign_in("BADGE-TIA")
    other = bench.call("POST", resolve_path, "BADGE-TIA", json=accept)
    assert other.status_code == 403 and other.json()["error"] == "four_eyes"
    assert "admin role" in other.json()["message"]
    assert (
        bench.call("GET", f"/api/v1/units/{unit_id}", "BADGE-TOM").json()["unit"]["payout_status"]
        == "on_hold"
    )
    # a second person with the admin role accepts the revised payout: routing may go on
    bench.sign_in("BADGE-ADA")
    resolve = bench.call("POST", resolve_path, "BADGE-ADA", json=accept)
    assert resolve.status_code == 200, resolve.text
    assert resolve.json()["events"][0]["operator"] == "ada"
    unit = bench.call("GET", f"/api/v1/units/{unit_id}", "BADGE-TOM").json()["unit"]
    assert unit["payout_status"] == "adjusted"
    routed = bench.call("POST", f"/api/v1/units/{unit_id}/route", "BADGE-TOM")
    assert routed.status_code == 200, routed.text
    decision = routed.json()["events"][0]["payload"]
    assert decision["route"] not in ("resale-a", "resale-b")  # never erased
    assert decision["seen"]["erasure"] == "not_run"


def test_erasure_certificate_is_signed_journalled_and_gates_resale(
    eraser: LiveStation, cradle: Path, edge_cli: list[str]
) -> None:
    start = eraser.size()
    write_scenario(cradle, load_preset("galaxy_s7_android8"))
    unit_id = _events_of(eraser, start, "device.identified")[0]["subject"]
    _events_of(eraser, start, "diagnostics.recorded")
    checklist = {
        "screen": "flawless",
        "body": "flawless",
        "function": "all_working",
        "accessories": "complete",
        "battery": 90,
    }
    answer = eraser.call("POST", f"/api/v1/units/{unit_id}/grade", "BADGE-TOM", json=checklist)
    assert answer.status_code == 200, answer.text
    erased = eraser.call("POST", f"/api/v1/units/{unit_id}/erasure", "BADGE-TOM")
    assert erased.status_code == 200, erased.text
    event = erased.json()["events"][0]
    assert event["type"] == "erasure.completed" and event["payload"]["result"] == "success"
    certificate_sha = event["payload"]["certificate_sha256"]
    assert certificate_sha in event["attachments"]
    document = eraser.call("GET", f"/api/v1/certificates/{certificate_sha}", "BADGE-TOM")
    assert document.status_code == 200
    verifier = eraser.client.app.state.services.hub.journal.verifier  # type: ignore[attr-defined]
    certificate = open_certificate(document.content, verifier)
    assert certificate.device.imei == GALAXY_IMEI
    assert certificate.sanitization.method == "Purge"
    assert certificate.technician.operator_id == "tom" and certificate.result == "success"
    blobs = BlobStore(eraser.data_dir / "blobs")
    assert blobs.matches(certificate.transcript_sha256)
    assert b"erase" in blobs.read(certificate.transcript_sha256)
    # as the catalogue names what the cradle read (SM-G930F), not the raw getprop text
    assert certificate.device.manufacturer == "Samsung"
    assert certificate.device.model == "Galaxy S7"
    # the CLI verifies it against the journal while the hub runs
    check = subprocess.run(
        [
            *edge_cli,
            "--data-dir",
            str(eraser.data_dir),
            "certificate",
            "verify",
            certificate_sha,
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    routed = eraser.call("POST", f"/api/v1/units/{unit_id}/route", "BADGE-TOM")
    decision = routed.json()["events"][0]["payload"]
    assert decision["seen"]["erasure"] == "verified"
    assert decision["rule"] is not None and decision["explanation"]


def test_failed_erasure_is_an_exception_and_resale_is_refused(
    eraser: LiveStation, cradle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_SIM_ERASE", "verify_fail")
    start = eraser.size()
    write_scenario(cradle, load_preset("galaxy_s7_android8"))
    unit_id = _events_of(eraser, start, "diagnostics.recorded")[0]["subject"]
    checklist = {
        "screen": "flawless",
        "body": "flawless",
        "function": "all_working",
        "accessories": "complete",
        "battery": 95,
    }
    eraser.call("POST", f"/api/v1/units/{unit_id}/grade", "BADGE-TOM", json=checklist)
    erased = eraser.call("POST", f"/api/v1/units/{unit_id}/erasure", "BADGE-TOM")
    assert erased.status_code == 200, erased.text
    completed, raised = erased.json()["events"]
    assert completed["payload"]["result"] == "failure"
    assert raised["payload"]["exception"] == "erasure_failed"
    routed = eraser.call("POST", f"/api/v1/units/{unit_id}/route", "BADGE-TOM")
    decision = routed.json()["events"][0]["payload"]
    assert decision["route"] not in ("resale-a", "resale-b")
    assert decision["seen"]["erasure"] == "failed"


def test_put_away_by_scanning_a_unit_then_a_bin(bench: LiveStation, cradle: Path) -> None:
    start = bench.size()
    assert bench.scanner is not None
    bench.scanner.scan(IPHONE_IMEI)
    unit_id = _events_of(bench, start, "device.identified")[0]["subject"]
    bench.scanner.scan(unit_id)
    bench.scanner.scan("BIN-A-01")
    moved = _events_of(bench, start, "location.moved")[0]
    assert moved["subject"] == unit_id
    assert moved["payload"] == {**moved["payload"], "from": None, "to": "BIN-A-01"}
    assert moved["payload"]["kind"] == "put-away"
    answer = bench.call(
        "POST", f"/api/v1/units/{unit_id}/move", "BADGE-TOM", json={"bin": "BIN-B-07"}
    )
    assert answer.status_code == 200
    transfer = answer.json()["events"][0]["payload"]
    assert (transfer["from"], transfer["to"], transfer["kind"]) == (
        "BIN-A-01",
        "BIN-B-07",
        "transfer",
    )
    bad = bench.call("POST", f"/api/v1/units/{unit_id}/move", "BADGE-TOM", json={"bin": "X"})
    assert bad.status_code == 422 and bad.json()["error"] == "not_a_bin"
