"""The scale driver on real pty pairs: simulator (the device) -> pyserial -> readings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from drivers.scale import (
    Continuous,
    MtSics,
    ScaleProtocol,
    ScaleReading,
    ScaleState,
    StableWeightFilter,
    Toledo8217,
)
from drivers.scale.driver import ScaleCommandError, ScaleDriver
from drivers.scale.protocol import Output
from drivers.sim.scale import ScaleSimulator, SimProtocol

PROTOCOLS: dict[SimProtocol, Callable[[], ScaleProtocol]] = {
    "mtsics": MtSics,
    "toledo8217": Toledo8217,
    "indicator": Continuous,
    "and": lambda: Continuous(variant="and"),
}


@dataclass
class Seen:
    outputs: list[Output] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)

    def weights(self) -> list[ScaleReading]:
        return [o for o in self.outputs if isinstance(o, ScaleReading)]


@pytest.fixture
def link(tmp_path: Path) -> Path:
    by_id = tmp_path / "serial" / "by-id"
    by_id.mkdir(parents=True)
    return by_id / "usb-Scale_Sim_0001-if00-port0"


@pytest.fixture
def sim_factory(link: Path) -> Iterator[Callable[[SimProtocol], ScaleSimulator]]:
    made: list[ScaleSimulator] = []

    def make(protocol: SimProtocol) -> ScaleSimulator:
        sim = ScaleSimulator(protocol, link)
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.__exit__()


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def driver_for(protocol: SimProtocol, link: Path, seen: Seen) -> ScaleDriver:
    return ScaleDriver(
        link,
        PROTOCOLS[protocol](),
        on_output=seen.outputs.append,
        on_status=lambda state, reason: seen.statuses.append((state, reason)),
        poll_interval=0.03,
        reopen_interval=0.05,
        silent_after=0.5,
    )


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_a_box_on_the_scale_becomes_one_accepted_weight(
    protocol: SimProtocol, link: Path, sim_factory: Callable[[SimProtocol], ScaleSimulator]
) -> None:
    sim = sim_factory(protocol)
    sim.plug()
    sim.place("1234", settling=3)
    seen = Seen()
    rule = StableWeightFilter(repeats=3)
    accepted: list[Decimal] = []

    async def scenario() -> None:
        driver = driver_for(protocol, link, seen)
        task = asyncio.create_task(driver.run())
        await until(lambda: len([w for w in seen.weights() if w.stable]) >= 5)
        driver.stop()
        await task

    asyncio.run(scenario())
    for output in seen.outputs:
        if isinstance(output, ScaleReading) and (grams := rule.offer(output)) is not None:
            accepted.append(grams)
    assert accepted == [Decimal("1234")]
    assert seen.statuses[0][0] == "online"
    assert any(not w.stable for w in seen.weights()), "the settling readings were reported"


@pytest.mark.parametrize("protocol", ["mtsics", "indicator"])
def test_unplug_goes_offline_and_replug_resumes_without_restart(
    protocol: SimProtocol, link: Path, sim_factory: Callable[[SimProtocol], ScaleSimulator]
) -> None:
    sim = sim_factory(protocol)
    sim.plug()
    sim.place("1234", settling=0)
    seen = Seen()

    async def scenario() -> None:
        driver = driver_for(protocol, link, seen)
        task = asyncio.create_task(driver.run())
        await until(lambda: len(seen.weights()) >= 2)
        sim.unplug()
        await until(lambda: seen.statuses[-1][0] == "offline")
        before = len(seen.weights())
        sim.place("2500", settling=0)
        sim.plug()  # a new pty behind the same by-id link
        await until(lambda: seen.statuses[-1][0] == "online" and len(seen.weights()) > before + 2)
        driver.stop()
        await task

    asyncio.run(scenario())
    states = [s for s, _ in seen.statuses]
    assert states[:3] == ["online", "offline", "online"]
    assert "unplugged" in seen.statuses[1][1] or "cannot open" in seen.statuses[1][1]
    assert seen.weights()[-1].grams == Decimal("2500")


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_garbage_on_the_line_never_becomes_a_weight(
    protocol: SimProtocol, link: Path, sim_factory: Callable[[SimProtocol], ScaleSimulator]
) -> None:
    sim = sim_factory(protocol)
    sim.plug()
    sim.place("1234", settling=0)
    sim.set(garbage=True)
    seen = Seen()

    async def scenario() -> None:
        driver = driver_for(protocol, link, seen)
        task = asyncio.create_task(driver.run())
        await until(lambda: len(seen.weights()) >= 5 and driver.frame_errors >= 3)
        driver.stop()
        await task

    asyncio.run(scenario())
    assert {w.grams for w in seen.weights()} == {Decimal("1234")}


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_overload_is_reported_and_never_accepted(
    protocol: SimProtocol, link: Path, sim_factory: Callable[[SimProtocol], ScaleSimulator]
) -> None:
    sim = sim_factory(protocol)
    sim.plug()
    sim.place("45000", settling=0)  # capacity is 30 kg
    seen = Seen()
    rule = StableWeightFilter(repeats=2)

    async def scenario() -> None:
        driver = driver_for(protocol, link, seen)
        task = asyncio.create_task(driver.run())
        await until(lambda: len(seen.weights()) >= 5)
        driver.stop()
        await task

    asyncio.run(scenario())
    assert all(w.state is ScaleState.OVER and w.grams is None for w in seen.weights())
    assert all(rule.offer(w) is None for w in seen.weights())


def test_a_silent_scale_is_reported_and_recovers(
    link: Path, sim_factory: Callable[[SimProtocol], ScaleSimulator]
) -> None:
    sim = sim_factory("mtsics")
    sim.plug()
    seen = Seen()

    async def scenario() -> None:
        driver = driver_for("mtsics", link, seen)
        task = asyncio.create_task(driver.run())
        await until(lambda: len(seen.weights()) >= 2)
        sim.set(silent=True)
        await until(lambda: seen.statuses[-1][0] == "silent")
        sim.set(silent=False)
        await until(lambda: seen.statuses[-1][0] == "online" and len(seen.statuses) >= 3)
        driver.stop()
        await task

    asyncio.run(scenario())
    assert [s for s, _ in seen.statuses][:3] == ["online", "silent", "online"]


def test_a_scale_plugged_in_after_the_driver_started(
    link: Path, sim_factory: Callable[[SimProtocol], ScaleSimulator]
) -> None:
    sim = sim_factory("toledo8217")
    seen = Seen()

    async def scenario() -> None:
        driver = driver_for("toledo8217", link, seen)
        task = asyncio.create_task(driver.run())
        await until(lambda: bool(seen.statuses))
        assert seen.statuses[0][0] == "offline" and "cannot open" in seen.statuses[0][1]
        sim.place("1234", settling=0)
        sim.plug()
        await until(lambda: len(seen.weights()) >= 2)
        driver.stop()
        await task

    asyncio.run(scenario())
    assert seen.weights()[-1].grams == Decimal("1234.000")


def test_zero_and_tare_commands(
    link: Path, sim_factory: Callable[[SimProtocol], ScaleSimulator]
) -> None:
    sim = sim_factory("mtsics")
    sim.plug()
    sim.place("250", settling=0)  # an empty tote left on the platter
    seen = Seen()

    async def scenario() -> None:
        driver = driver_for("mtsics", link, seen)
        task = asyncio.create_task(driver.run())
        await until(lambda: len(seen.weights()) >= 2)
        zeroed = await driver.zero()
        assert zeroed.ok
        mark = len(seen.weights())
        await until(lambda: len(seen.weights()) >= mark + 3)
        assert seen.weights()[-1].grams == Decimal("0.00")
        sim.place("1250", settling=0)
        tared = await driver.tare()
        assert tared.ok and "1000.00 g" in tared.detail
        driver.stop()
        await task

    asyncio.run(scenario())
    assert b"Z" in sim.commands and b"T" in sim.commands


def test_zero_on_a_scale_without_commands_is_a_clear_error(
    link: Path, sim_factory: Callable[[SimProtocol], ScaleSimulator]
) -> None:
    sim = sim_factory("indicator")
    sim.plug()
    seen = Seen()

    async def scenario() -> None:
        driver = driver_for("indicator", link, seen)
        task = asyncio.create_task(driver.run())
        await until(lambda: len(seen.weights()) >= 1)
        with pytest.raises(ScaleCommandError, match="has no zero command"):
            await driver.zero()
        driver.stop()
        await task

    asyncio.run(scenario())


@pytest.mark.parametrize("protocol", ["mtsics", "toledo8217"])
def test_busy_replies_are_states_between_weights_and_the_box_is_accepted_once(
    protocol: SimProtocol, link: Path, sim_factory: Callable[[SimProtocol], ScaleSimulator]
) -> None:
    sim = sim_factory(protocol)
    sim.plug()
    sim.place("1234", settling=0)
    seen = Seen()
    rule = StableWeightFilter(repeats=2)

    async def scenario() -> None:
        driver = driver_for(protocol, link, seen)
        task = asyncio.create_task(driver.run())
        await until(lambda: len(seen.weights()) >= 3)
        sim.answer_busy(3)  # MT-SICS `S I`, 8217 motion status: ask again
        mark = len(seen.weights())
        await until(lambda: len(seen.weights()) >= mark + 6)
        driver.stop()
        await task

    asyncio.run(scenario())
    busy = [w for w in seen.weights() if w.state is ScaleState.BUSY]
    assert len(busy) == 3 and all(w.grams is None and not w.stable for w in busy)
    assert {w.grams for w in seen.weights() if w.state is ScaleState.OK} == {Decimal(1234)}
    accepted = [g for w in seen.weights() if (g := rule.offer(w)) is not None]
    # MT-SICS `S I` in between is "not yet", not a new load; the 8217's motion status is the
    # load moving (it has no other way to say so), after which the box is weighed anew.
    assert accepted == [Decimal(1234)] * (1 if protocol == "mtsics" else 2)
