"""Who readings are credited to and which flow a scan feeds, on the hub in process (no broker):
a station that runs both the dock and the bench, sessions signing in, out and running out."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from drivers.profile import ProfileError
from edge.hub.runtime import Hub, ManifestImport, SignIn
from edge.journal import JOURNAL_FILE, JournalReader
from stations.manifest import parse_manifest
from stations.profile import load_hub_profile
from stations.workflow import UNATTENDED, Reading, ScanInput, WeightInput, WorkflowRefused
from tests.hub.test_hub_core import MANIFEST

DOCK_AND_BENCH = """
[station]
site = "ams-1"
station = "intake-1"
role = "dock"

[devices.dock-scanner]
kind = "scanner"
path = "/dev/null"

[devices.dock-scale]
kind = "scale"
path = "/dev/null"
protocol = "mtsics"

[devices.bench-scanner]
kind = "scanner"
path = "/dev/null"

[devices.bench-cradle]
kind = "cradle"

[hub]
workflows = ["receiving", "bench", "moves"]

[hub.feeds]
dock-scanner = "dock"
bench-scanner = "bench"
"""

IMEI = "356938035643809"  # R-1001's declared IMEI
LABEL = "1Z999AA10123456784"  # R-1001's label
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


def make_hub(tmp_path: Path, text: str = DOCK_AND_BENCH, clock: Clock | None = None) -> Hub:
    path = tmp_path / "station.toml"
    path.write_text(text)
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return Hub(data, load_hub_profile(path), now=clock or Clock())


def signing_in(operator_id: str, role: str, *attends: str, hours: float = 8) -> SignIn:
    expires = START + timedelta(hours=hours)
    return SignIn(operator_id, operator_id.title(), role, "badge", expires, attends)


async def load_manifest(hub: Hub) -> None:
    records = parse_manifest(json.dumps(MANIFEST).encode(), "json", hub.workflows.catalogue)
    await hub.handle(ManifestImport(tuple(records), "test", "ada"))


def journal(hub: Hub) -> list[dict[str, Any]]:
    with JournalReader(hub.data_dir / JOURNAL_FILE) as reader:
        return [event.as_stored() for event in reader.events()]


def running(hub: Hub, body: Any) -> None:
    async def main() -> None:
        hub.start()
        try:
            await body()
        finally:
            await hub.stop()

    asyncio.run(main())


def test_a_reading_is_credited_to_who_attends_its_slot_not_to_the_last_to_sign_in(
    tmp_path: Path,
) -> None:
    """Item 12: Olga (operator: the dock) then Tom (technician: the bench) sign in; the scale's
    weight is Olga's, the cradle's and the bench scanner's reads are Tom's."""
    hub = make_hub(tmp_path)

    async def body() -> None:
        await hub.handle(signing_in("olga", "operator"))
        await hub.handle(signing_in("tom", "technician"))
        assert hub.operator_for_readings("dock-scale") == "olga"
        assert hub.operator_for_readings("dock-scanner") == "olga"
        assert hub.operator_for_readings("bench-cradle") == "tom"
        assert hub.operator_for_readings("bench-scanner") == "tom"
        # a person may claim a slot by name: it wins over the flow it feeds
        await hub.handle(signing_in("ada", "admin", "dock-scale"))
        assert hub.operator_for_readings("dock-scale") == "ada"
        assert hub.operator_for_readings("dock-scanner") == "olga"
        [signed_in] = [e for e in journal(hub) if e["subject"] == "ada"]
        assert signed_in["payload"]["attends"] == ["dock-scale"]
        assert signed_in["payload"]["attending"] == {"flows": [], "slots": ["dock-scale"]}

    running(hub, body)


def test_the_station_stays_attended_while_anyone_is_and_every_session_end_is_journalled(
    tmp_path: Path,
) -> None:
    """Item 12, three sessions on a dock: Ada, Olga, Tom sign in. Tom signing out leaves Olga
    attending (before: nobody); Olga's session running out leaves Ada; when Ada signs out the
    station is unattended. Each end is an `operator.signed_out` with its reason."""
    clock = Clock()
    text = DOCK_AND_BENCH.split("[devices.bench-scanner]")[0]  # the dock only
    hub = make_hub(tmp_path, text.replace("intake-1", "dock-1"), clock)

    async def body() -> None:
        await hub.handle(signing_in("ada", "admin", hours=10))
        await hub.handle(signing_in("olga", "operator", hours=2))
        await hub.handle(signing_in("tom", "technician", hours=10))
        # Olga's role is the dock's, so the scale is hers though Tom signed in after her
        assert hub.operator_for_readings("dock-scale") == "olga"
        await asyncio.to_thread(hub.signed_out, "tom")
        assert hub.operator_for_readings("dock-scale") == "olga"
        clock.now = START + timedelta(hours=3)  # Olga's shift session ran out
        assert hub.operator_for_readings("dock-scale") == "ada"
        result = await hub.handle(WeightInput(Decimal(300), Reading("dock-scale", 1, "w1"), "ada"))
        assert result.events == ()  # a loose weight; the expiry was journalled before it
        await asyncio.to_thread(hub.signed_out, "ada")
        assert hub.operator_for_readings("dock-scale") == UNATTENDED
        scan = ScanInput("X-1", "code128", Reading("dock-scanner", 1, "s1"), UNATTENDED)
        [raised] = (await hub.handle(scan)).events
        assert raised.payload["exception"] == "no_operator"

    running(hub, body)
    ends = [
        (e["subject"], e["payload"]["reason"], e["operator"])
        for e in journal(hub)
        if e["type"] == "operator.signed_out"
    ]
    assert ends == [
        ("tom", "signed_out", "tom"),
        ("olga", "expired", "olga"),
        ("ada", "signed_out", "ada"),
    ]


def test_attendance_is_restored_after_a_restart_and_ended_sessions_are_journalled(
    tmp_path: Path,
) -> None:
    """Item 12: after a restart Olga (session still open) attends the dock as before; Tom,
    whose session ended while the hub was down, is journalled as signed out."""

    @dataclass
    class Session:
        expires_at: datetime

    hub = make_hub(tmp_path)
    running(hub, lambda: _sign_in_both(hub))
    hub = make_hub(tmp_path)

    async def body() -> None:
        hub.restore_attendance(
            lambda operator_id: (
                Session(START + timedelta(hours=8)) if operator_id == "olga" else None
            )
        )
        await hub.handle(WeightInput(Decimal(1), Reading("dock-scale", 2, "w2"), "x"))
        assert hub.operator_for_readings("dock-scale") == "olga"
        assert hub.operator_for_readings("bench-cradle") == UNATTENDED

    running(hub, body)
    [ended] = [e for e in journal(hub) if e["type"] == "operator.signed_out"]
    assert (ended["subject"], ended["payload"]["reason"]) == ("tom", "session_ended")


async def _sign_in_both(hub: Hub) -> None:
    await hub.handle(signing_in("olga", "operator"))
    await hub.handle(signing_in("tom", "technician"))


def test_a_sign_in_attending_something_the_station_lacks_is_refused(tmp_path: Path) -> None:
    hub = make_hub(tmp_path)

    async def body() -> None:
        with pytest.raises(WorkflowRefused, match="'erasure'") as refused:
            await hub.handle(signing_in("tom", "technician", "erasure"))
        assert refused.value.status == 422 and refused.value.code == "invalid_attends"
        assert journal(hub) == []
        assert hub.operator_for_readings("bench-cradle") == UNATTENDED

    running(hub, body)


def test_a_scan_feeds_the_flow_of_its_scanner_slot(tmp_path: Path) -> None:
    """Item 13: on a station with the dock and the bench, an IMEI from the bench scanner
    identifies a device; the same IMEI from the dock scanner is a label there."""
    hub = make_hub(tmp_path)

    async def body() -> None:
        await _sign_in_both(hub)
        await load_manifest(hub)
        bench = ScanInput(IMEI, "code128", Reading("bench-scanner", 1, "b1"), "tom")
        identified = (await hub.handle(bench)).events
        assert identified[0].type.value == "device.identified"
        assert identified[0].payload["return_id"] == "R-1001"
        dock = ScanInput(LABEL, "code128", Reading("dock-scanner", 1, "d1"), "olga")
        [scanned] = (await hub.handle(dock)).events
        assert scanned.type.value == "label.scanned" and scanned.payload["workflow"] == "dock"
        # a typed scan names its flow; the station checks it
        assert hub.scan_flow("tom", "technician", None) == "bench"
        assert hub.scan_flow("olga", "operator", None) == "dock"
        assert hub.scan_flow("tom", "technician", "dock") == "dock"
        with pytest.raises(WorkflowRefused, match="not one of this station's flows"):
            hub.scan_flow("tom", "technician", "erasure")

    running(hub, body)


def test_a_station_with_two_flows_must_say_what_each_scanner_feeds(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_text(DOCK_AND_BENCH.replace('bench-scanner = "bench"\n', ""))
    with pytest.raises(ProfileError, match="'bench-scanner' \\(scanner\\) feeds"):
        load_hub_profile(path)
    path.write_text(DOCK_AND_BENCH.replace('bench-scanner = "bench"', 'nowhere = "bench"'))
    with pytest.raises(ProfileError, match="no device slot 'nowhere'"):
        load_hub_profile(path)
    only_dock = DOCK_AND_BENCH.replace('"receiving", "bench", "moves"', '"receiving", "moves"')
    path.write_text(only_dock)
    with pytest.raises(ProfileError, match="flows are dock"):
        load_hub_profile(path)


def test_signing_out_one_of_two_sessions_keeps_attending_only_as_long_as_the_other(
    tmp_path: Path,
) -> None:
    """Item 12, signing in twice: Olga's first session runs 2 hours, her second 8. She signs
    the second out; the first keeps her attending, but only until it ends: at 3 hours a
    weight is no longer credited to her (before: to her until the second session's 8 hours)."""

    @dataclass
    class Session:
        expires_at: datetime

    clock = Clock()
    hub = make_hub(tmp_path, clock=clock)
    sessions = {"olga": [START + timedelta(hours=2), START + timedelta(hours=8)]}

    def live(operator_id: str) -> Session | None:
        open_ = [t for t in sessions.get(operator_id, []) if t > clock.now]
        return Session(open_[-1]) if open_ else None

    async def body() -> None:
        hub.live_session = live
        await hub.handle(signing_in("olga", "operator", hours=2))
        await hub.handle(signing_in("olga", "operator", hours=8))
        sessions["olga"].pop()  # the 8-hour session signs out
        await asyncio.to_thread(hub.signed_out, "olga")
        assert hub.operator_for_readings("dock-scale") == "olga"
        clock.now = START + timedelta(hours=3)
        assert hub.operator_for_readings("dock-scale") == UNATTENDED
        await hub.handle(WeightInput(Decimal(1), Reading("dock-scale", 9, "w9"), UNATTENDED))

    running(hub, body)
    ends = [
        (e["payload"]["reason"], e["payload"]["still_signed_in"])
        for e in journal(hub)
        if e["type"] == "operator.signed_out"
    ]
    assert ends == [("signed_out", True), ("expired", False)]


def test_a_session_ended_elsewhere_stops_attending_on_a_busy_station_too(tmp_path: Path) -> None:
    """Item 12: an admin revokes Olga's session while her scale keeps the hub busy (a reading
    more often than the sweep interval). The check for sessions ended elsewhere must not wait
    for an idle moment that never comes: her weights stop being credited to her."""
    hub = make_hub(tmp_path)
    hub.session_sweep_s = 0.2
    live = {"olga": True}

    @dataclass
    class Session:
        expires_at: datetime

    async def body() -> None:
        hub.live_session = lambda op: Session(START + timedelta(hours=8)) if live.get(op) else None
        await hub.handle(signing_in("olga", "operator"))
        live["olga"] = False  # revoked elsewhere (admin, operator disabled)
        for seq in range(1, 25):  # busy: a reading every 0.05 s for over a second
            await hub.handle(WeightInput(Decimal(1), Reading("dock-scale", seq, f"w{seq}"), "x"))
            await asyncio.sleep(0.05)
        assert hub.operator_for_readings("dock-scale") == UNATTENDED

    running(hub, body)
    [ended] = [e for e in journal(hub) if e["type"] == "operator.signed_out"]
    assert ended["payload"]["reason"] == "session_ended"


def test_a_reading_queued_while_its_person_s_session_ran_out_is_not_credited_to_them(
    tmp_path: Path,
) -> None:
    """Item 12: the bus side credits a scan to Olga a moment before her session runs out; by
    the time the hub takes it she has been journalled as signed out. The reading is credited
    to who attends the slot when it is journalled (Tom, also at the dock), never to a
    person the journal already says has left."""
    clock = Clock()
    hub = make_hub(tmp_path, clock=clock)

    async def body() -> None:
        await load_manifest(hub)
        await hub.handle(signing_in("tom", "operator", hours=8))
        await hub.handle(signing_in("olga", "operator", hours=2))  # the latest: the dock's
        queued = ScanInput(LABEL, "code128", Reading("dock-scanner", 1, "s1"), "olga")
        assert hub.operator_for_readings("dock-scanner") == queued.operator
        clock.now = START + timedelta(hours=2, seconds=1)  # ran out while it waited
        await hub.handle(queued)

    running(hub, body)
    events = journal(hub)
    [left] = [e["seq"] for e in events if e["type"] == "operator.signed_out"]
    assert [e for e in events if e["seq"] > left and e["operator"] == "olga"] == []
    [scanned] = [e for e in events if e["type"] == "label.scanned"]
    assert scanned["operator"] == "tom"
