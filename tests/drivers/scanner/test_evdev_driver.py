"""The keyboard-wedge driver's real shell, driven through a stand-in evdev device on a pipe."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from drivers.scanner import CALIBRATION_TEXT, ScannerOutput, WedgeScanner
from drivers.scanner.decoder import Terminator
from drivers.sim.keystreams import KeyStream, scan
from tests.drivers.scanner.support import InputNode, Seen, until

GS = "\x1d"


@pytest.fixture
def node(tmp_path: Path) -> InputNode:
    by_id = tmp_path / "input" / "by-id"
    by_id.mkdir(parents=True)
    return InputNode(by_id / "usb-Sim_Scanner_0001-event-kbd")


def run_with(
    node: InputNode,
    seen: Seen,
    scenario: Callable[[WedgeScanner], Awaitable[None]],
    layout: str = "us",
    terminator: Terminator = "enter",
) -> WedgeScanner:
    driver = WedgeScanner(
        node.path,
        seen.outputs.append,
        seen.status,
        reopen_interval=0.05,
        layout=layout,
        terminator=terminator,
        idle_gap=0.05,
        open_device=node.open,
    )

    async def main() -> None:
        task = asyncio.create_task(driver.run())
        try:
            await scenario(driver)
        finally:
            driver.stop()
            await task

    asyncio.run(main())
    return driver


@pytest.mark.parametrize("layout", ["us", "de"])
def test_a_scan_is_grabbed_decoded_and_handed_on(node: InputNode, layout: str) -> None:
    node.plug()
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        assert node.device.grabbed, "a headless station would type the scan into its console"
        node.device.send(scan("]Q1RET-2026-000001", layout))
        await until(lambda: len(seen.outputs) == 1)

    run_with(node, seen, scenario, layout=layout)
    (out,) = seen.codes()
    assert (out.code.code, out.code.aim, out.code.symbology) == ("RET-2026-000001", "]Q1", "qr")
    assert out.kind == "scanner" and out.timing is not None
    assert node.device.closed and not node.device.grabbed


@pytest.mark.parametrize("controls", ["ctrl", "alt-keypad"])
def test_gs1_with_fnc1_as_group_separator_reaches_the_output(
    node: InputNode, controls: str
) -> None:
    node.plug()
    seen = Seen()
    label = f"]C110ABC123{GS}0109506000134352"

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        node.device.send(scan(label, "fr", controls=controls))  # type: ignore[arg-type]
        await until(lambda: len(seen.outputs) == 1)

    run_with(node, seen, scenario, layout="fr")
    (out,) = seen.codes()
    assert out.code.raw == label.encode()
    assert out.code.gs1 == {"10": "ABC123", "01": "09506000134352"}


def test_an_imei_is_recognised(node: InputNode) -> None:
    node.plug()
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        node.device.send(scan("490154203237518", "uk", suffix="kpenter"))
        await until(lambda: len(seen.outputs) == 1)

    run_with(node, seen, scenario, layout="uk")
    assert [o.code.imei for o in seen.codes()] == ["490154203237518"]


def test_typing_on_the_scanner_input_is_flagged_as_human(node: InputNode) -> None:
    node.plug()
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        node.device.send(scan("490154203237518", timing="human"))
        node.device.send(scan("490154203237518", timing="scanner"))
        await until(lambda: len(seen.outputs) == 2)

    run_with(node, seen, scenario)
    assert [(o.kind, o.is_scan) for o in seen.codes()] == [("human", False), ("scanner", True)]


def test_idle_gap_ends_a_scan_without_a_terminator(node: InputNode) -> None:
    node.plug()
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        node.device.send(scan("SN-0042", suffix=None))
        await until(lambda: len(seen.outputs) == 1)

    run_with(node, seen, scenario, terminator="idle")
    assert [o.code.code for o in seen.codes()] == ["SN-0042"]


def test_dropped_events_give_an_error_and_the_next_scan_is_fine(node: InputNode) -> None:
    node.plug()
    seen = Seen()
    stream = KeyStream("us").type("0123", suffix=None).syn_dropped().type("4567")

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        node.device.send(stream.events)  # the damaged scan, its tail after the drop included
        await until(lambda: len(seen.outputs) == 1)
        sent = len(stream.events)
        node.device.send(stream.pause(1.0).type("AFTER").events[sent:])
        await until(lambda: len(seen.outputs) == 2)

    run_with(node, seen, scenario)
    (error,) = seen.errors()
    assert "SYN_DROPPED" in error.reason
    assert [o.code.code for o in seen.codes()] == ["AFTER"]


def test_unplug_goes_offline_without_spinning_and_replug_grabs_again(node: InputNode) -> None:
    node.plug()
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        first = node.device
        first.send(scan("BEFORE"))
        await until(lambda: len(seen.outputs) == 1)
        reads_before = first.reads
        node.unplug()
        await until(lambda: seen.states()[-1] == "offline")
        opens_while_gone = node.opens
        await asyncio.sleep(0.3)  # six reopen intervals
        assert first.reads == reads_before + 1, "one read saw ENODEV; nothing spun on the fd"
        assert node.opens == opens_while_gone, "the path is polled, not opened, while gone"
        assert first.closed
        node.plug()
        await until(lambda: seen.states()[-1] == "online")
        second = node.device
        assert second is not first
        assert second.grabbed
        second.send(scan("AFTER"))
        await until(lambda: len(seen.outputs) == 2)

    run_with(node, seen, scenario)
    assert seen.states() == ["online", "offline", "online"]
    assert "unplugged" in seen.statuses[1][1]
    assert [o.code.code for o in seen.codes()] == ["BEFORE", "AFTER"]


def test_unplugged_mid_scan_is_an_error_not_half_a_code(node: InputNode) -> None:
    node.plug()
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        node.device.send(scan("490154", suffix=None))
        await asyncio.sleep(0.05)
        node.unplug()
        await until(lambda: seen.states()[-1] == "offline" and len(seen.outputs) == 1)

    run_with(node, seen, scenario)
    assert seen.codes() == []
    (error,) = seen.errors()
    assert "went away" in error.reason and error.raw == b"490154"


def test_a_missing_path_waits_offline_until_the_scanner_appears(node: InputNode) -> None:
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["offline"])
        assert node.opens == 0
        node.plug()
        await until(lambda: seen.states() == ["offline", "online"])

    run_with(node, seen, scenario)
    assert "waiting for" in seen.statuses[0][1]


def test_a_refused_grab_is_offline_with_the_reason(node: InputNode) -> None:
    node.plug()
    node.grab_error = OSError(errno.EBUSY, "Device or resource busy")
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["offline"])
        node.grab_error = None
        await until(lambda: seen.states() == ["offline", "online"])
        assert node.device.grabbed

    run_with(node, seen, scenario)
    assert "another program" in seen.statuses[0][1]
    refused = node.devices[0]
    assert refused.closed and not refused.grabbed


def test_a_calibration_scan_reports_the_layout_instead_of_a_code(node: InputNode) -> None:
    node.plug()
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        node.device.send(scan(CALIBRATION_TEXT, "de"))
        await until(lambda: seen.states()[-1] == "attention")

    driver = run_with(node, seen, scenario, layout="us")
    assert seen.outputs == []
    assert driver.detected_layout == "de"
    assert 'layout = "de"' in seen.statuses[-1][1]


def test_a_calibration_scan_in_the_configured_layout_confirms_it(node: InputNode) -> None:
    node.plug()
    seen = Seen()

    async def scenario(driver: WedgeScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        node.device.send(scan(CALIBRATION_TEXT, "fr"))
        await until(lambda: len(seen.statuses) == 2)

    run_with(node, seen, scenario, layout="fr")
    assert seen.statuses[-1] == ("online", "calibration scan: layout fr confirmed")
    assert not any(isinstance(o, ScannerOutput) for o in seen.outputs)
