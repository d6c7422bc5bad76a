"""The serial scanner driver on a real pty: simulator (the scanner) → pyserial → codes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import serial

from drivers.scanner import SerialScanner
from drivers.sim.serial_scanner import GARBAGE, SerialScannerSimulator
from tests.drivers.scanner.support import Seen, until

GS = "\x1d"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SerialScannerSimulator]:
    by_id = tmp_path / "serial" / "by-id"
    by_id.mkdir(parents=True)
    with SerialScannerSimulator(by_id / "usb-Sim_Scanner_0001-if00") as simulator:
        yield simulator


def run_with(
    sim: SerialScannerSimulator,
    seen: Seen,
    scenario: Callable[[SerialScanner], Awaitable[None]],
    max_length: int = 4096,
) -> None:
    driver = SerialScanner(
        sim.link, seen.outputs.append, seen.status, reopen_interval=0.05, max_length=max_length
    )

    async def main() -> None:
        task = asyncio.create_task(driver.run())
        try:
            await scenario(driver)
        finally:
            driver.stop()
            await task

    asyncio.run(main())


def test_codes_with_aim_gs1_and_imei_reach_the_output(sim: SerialScannerSimulator) -> None:
    seen = Seen()

    async def scenario(driver: SerialScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        sim.scan(f"]C110ABC123{GS}0109506000134352")
        sim.scan("490154203237518", suffix=b"\r")
        sim.scan("]Q1RET-2026-000001", suffix=b"\n")
        await until(lambda: len(seen.outputs) == 3)

    run_with(sim, seen, scenario)
    gs1, imei, qr = seen.codes()
    assert gs1.code.gs1 == {"10": "ABC123", "01": "09506000134352"}
    assert imei.code.imei == "490154203237518"
    assert (qr.code.aim, qr.code.code) == ("]Q1", "RET-2026-000001")
    assert all(o.kind == "scanner" for o in seen.codes())


def test_the_port_is_opened_exclusively(sim: SerialScannerSimulator) -> None:
    seen = Seen()

    async def scenario(driver: SerialScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        with pytest.raises(serial.SerialException):
            serial.Serial(str(sim.link), exclusive=True)

    run_with(sim, seen, scenario)


def test_garbage_and_overlong_lines_are_errors_and_the_next_code_is_fine(
    sim: SerialScannerSimulator,
) -> None:
    seen = Seen()

    async def scenario(driver: SerialScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        sim.garbage()
        sim.garbage(b"\x00\x13 noise")
        sim.scan("X" * 200)
        sim.scan("SN-0042")
        await until(lambda: len(seen.outputs) == 4)

    run_with(sim, seen, scenario, max_length=64)
    noise, control, overlong = seen.errors()
    assert "control character 0x00" in control.reason
    assert noise.raw == GARBAGE
    assert "longer than 64" in overlong.reason and len(overlong.raw) == 64
    assert [o.code.code for o in seen.codes()] == ["SN-0042"]


def test_unplug_goes_offline_and_replug_resumes(sim: SerialScannerSimulator) -> None:
    seen = Seen()

    async def scenario(driver: SerialScanner) -> None:
        await until(lambda: seen.states() == ["online"])
        sim.scan("BEFORE")
        await until(lambda: len(seen.outputs) == 1)
        sim.unplug()
        await until(lambda: seen.states()[-1] == "offline")
        await asyncio.sleep(0.2)
        assert seen.states() == ["online", "offline"], "one offline report, not one per retry"
        sim.plug()  # a new pty behind the same by-id link
        await until(lambda: seen.states()[-1] == "online")
        sim.scan("AFTER")
        await until(lambda: len(seen.outputs) == 2)

    run_with(sim, seen, scenario)
    assert seen.states() == ["online", "offline", "online"]
    assert [o.code.code for o in seen.codes()] == ["BEFORE", "AFTER"]


def test_a_missing_port_is_offline_until_it_appears(tmp_path: Path) -> None:
    sim = SerialScannerSimulator(tmp_path / "usb-Sim_Scanner_0002-if00")
    seen = Seen()

    async def scenario(driver: SerialScanner) -> None:
        await until(lambda: seen.states() == ["offline"])
        sim.plug()
        await until(lambda: seen.states() == ["offline", "online"])
        sim.scan("HELLO")
        await until(lambda: len(seen.outputs) == 1)

    try:
        run_with(sim, seen, scenario)
    finally:
        sim.__exit__()
    assert "not plugged in" in seen.statuses[0][1]
    assert [o.code.code for o in seen.codes()] == ["HELLO"]
