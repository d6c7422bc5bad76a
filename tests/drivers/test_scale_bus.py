"""A scale slot from the profile to the bus: options per protocol, and states on the wire."""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from drivers.host import DriverHost
from drivers.profile import ProfileError, parse_profile
from drivers.registry import driver_kinds
from drivers.scale.mtsics import MtSics
from drivers.scale.plugin import ScaleOptions
from drivers.scale.reading import GRAMS_PER_UNIT
from drivers.scale.toledo8217 import Toledo8217
from drivers.sim.scale import ScaleSimulator
from edge.bus import BusClient
from edge.bus.payloads import PayloadError, Weight, decode
from tests.broker import RunningBroker

WAIT = 10.0


def profile(link: Path, **options: Any) -> dict[str, Any]:
    slot = {"kind": "scale", "path": str(link), "poll_interval": 0.03, **options}
    return {"station": {"site": "ams-1", "station": "dock-1"}, "devices": {"dock-scale": slot}}


def build_slot(**options: Any) -> object:
    slot = parse_profile(profile(Path("/dev/serial/by-id/x"), **options)).devices[0]
    return driver_kinds()["scale"].build(slot, None)  # type: ignore[arg-type]


# -- options: every parser setting comes from the profile, checked --


def test_each_protocol_gets_its_options_from_the_profile() -> None:
    lb = ScaleOptions(protocol="toledo8217", unit="lb", weight_format="000.00").parser()
    assert isinstance(lb, Toledo8217) and (lb.unit, lb.weight_format) == ("lb", "000.00")
    assert isinstance(sics := ScaleOptions(protocol="mtsics").parser(), MtSics)
    assert sics.unit == "g"
    assert ScaleOptions(protocol="mtsics", unit="kg").parser().unit == "kg"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"protocol": "toledo8217"}, "unit: Value error, missing: 'kg' or 'lb'"),
        ({"protocol": "toledo8217", "unit": "stone"}, "unit: Value error, 'stone' is not"),
        ({"protocol": "toledo8217", "unit": "kg", "weight_format": "0.0.0"}, "weight_format:"),
        ({"protocol": "mtsics", "unit": "lbs"}, "unit: Value error, 'lbs' is not a unit"),
        ({"protocol": "and", "unit": "g"}, "unit: Value error, and lines carry their own unit"),
        ({"protocol": "mtsics", "weight_format": "00.000"}, "weight_format: Value error, only"),
        ({"protocol": "mtsics", "units": "g"}, "units: Extra inputs are not permitted"),
    ],
)
def test_a_bad_option_is_refused_naming_the_field(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ProfileError, match=f"device 'dock-scale': {named}"):
        build_slot(**options)


def test_a_weight_payload_without_a_number_is_never_ok() -> None:
    base = '"v":1,"raw":"","ts":"2026-01-01T00:00:00Z"'
    with pytest.raises(PayloadError, match="busy reading carries no weight"):
        decode("weight", f'{{{base},"grams":"0","stable":false,"state":"busy"}}'.encode())
    with pytest.raises(PayloadError, match="an ok reading carries its weight"):
        decode("weight", f'{{{base},"grams":null,"stable":true,"state":"ok"}}'.encode())
    busy = decode("weight", f'{{{base},"grams":null,"stable":false,"state":"busy"}}'.encode())
    assert isinstance(busy, Weight) and busy.grams is None


# -- end to end: an lb 8217 on a pty, through the driver host, to a subscriber --


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 90))  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], within: float = WAIT) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_a_pound_8217_reads_pounds_and_its_motion_is_busy_not_a_weight(
    broker: RunningBroker, tmp_path: Path
) -> None:
    link = tmp_path / "usb-Toledo_8217_Sim-if00-port0"
    station = parse_profile(profile(link, protocol="toledo8217", unit="lb", stable_repeats=2))
    pounds = Decimal("1.25") * GRAMS_PER_UNIT["lb"]  # 566.9904625 g: the scale shows 001.25

    async def scenario() -> None:
        weights: list[Weight] = []
        hub = BusClient(broker.config("hub"), broker.topics)
        hub.subscribe(
            broker.topics.all_devices,
            lambda _t, m: weights.append(m) if isinstance(m, Weight) else None,
        )
        hub.start()
        assert await hub.wait_connected(WAIT)
        host = DriverHost(station, "drivers", broker.config("drivers"), tmp_path / "out.sqlite")
        stop = asyncio.Event()
        with ScaleSimulator("toledo8217", link, unit="lb") as sim:
            running = asyncio.create_task(host.run(stop))
            sim.place(pounds, settling=4)  # four motion status replies, then 001.25
            await until(lambda: any(w.accepted for w in weights))
            stop.set()
            await running
        await hub.stop()
        accepted = [w for w in weights if w.accepted]
        assert [(w.grams, w.state) for w in accepted] == [(pounds, "ok")]
        assert round(pounds) == 567
        busy = [w for w in weights if w.state == "busy"]
        assert busy and all(w.grams is None and not w.stable for w in busy)
        assert {w.grams for w in weights if w.state == "ok"} == {pounds}  # never 0 g, never kg

    run(scenario())


def test_the_profile_examples_in_the_docs_are_valid() -> None:
    text = (Path(__file__).parents[2] / "docs" / "scales.md").read_text()
    block = re.search(r"```toml\n(.*?)```", text, re.S)
    assert block is not None
    slots = tomllib.loads(block.group(1))["devices"]
    built = [
        ScaleOptions.model_validate(
            {k: v for k, v in slot.items() if k not in ("kind", "path")}
        ).parser()
        for slot in slots.values()
    ]
    assert [type(p).__name__ for p in built] == ["Toledo8217", "MtSics", "Continuous"]
