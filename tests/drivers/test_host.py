"""The `edge drivers` host end to end: simulated device → driver → Mosquitto → a subscriber."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from drivers.host import DriverHost
from drivers.profile import ProfileError, parse_profile
from drivers.registry import UnknownDriverError, driver_kinds, kind_for
from drivers.sim.scale import ScaleSimulator
from edge.bus import BusClient
from edge.bus.payloads import Command, DeviceStatus, Reply, Weight
from tests.broker import RunningBroker

WAIT = 10.0


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 90))  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], within: float = WAIT) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def scale_profile(link: Path, **extra: Any) -> dict[str, Any]:
    return {
        "station": {"site": "ams-1", "station": "dock-1"},
        "devices": {
            "dock-scale": {
                "kind": "scale",
                "path": str(link),
                "protocol": "mtsics",
                "poll_interval": 0.03,
                **extra,
            }
        },
    }


class Hub:
    """What the hub would see: every message under the station's dev/ topics, decoded."""

    def __init__(self, broker: RunningBroker) -> None:
        self.client = BusClient(broker.config("hub"), broker.topics)
        self.messages: list[tuple[str, Any]] = []
        self.client.subscribe(broker.topics.all_devices, self._got)

    def _got(self, topic: str, model: Any) -> None:
        self.messages.append((topic, model))

    def of(self, cls: type) -> list[Any]:
        return [m for _, m in self.messages if isinstance(m, cls)]

    def statuses(self, device: str) -> list[str]:
        return [
            m.state for t, m in self.messages if isinstance(m, DeviceStatus) and f"/{device}/" in t
        ]

    async def start(self) -> None:
        self.client.start()
        assert await self.client.wait_connected(WAIT)
        await asyncio.sleep(0.2)


@pytest.fixture
def link(tmp_path: Path) -> Path:
    by_id = tmp_path / "serial" / "by-id"
    by_id.mkdir(parents=True)
    return by_id / "usb-Mettler_Toledo_Sim-if00-port0"


def test_scale_weight_reaches_the_hub_and_survives_unplug(
    broker: RunningBroker, tmp_path: Path, link: Path
) -> None:
    profile = parse_profile(scale_profile(link))

    async def scenario() -> None:
        hub = Hub(broker)
        await hub.start()
        host = DriverHost(profile, "drivers", broker.config("drivers"), tmp_path / "outbox.sqlite")
        stop = asyncio.Event()
        with ScaleSimulator("mtsics", link) as sim:
            running = asyncio.create_task(host.run(stop))
            sim.place("1250")  # grams on the platter; the scale reports kg
            await until(lambda: any(w.accepted for w in hub.of(Weight)))
            accepted = [w for w in hub.of(Weight) if w.accepted]
            assert [(w.grams, w.stable, w.seq) for w in accepted] == [(Decimal(1250), True, 1)]
            assert any(not w.accepted for w in hub.of(Weight))  # the live stream, too
            assert "online" in hub.statuses("dock-scale")
            sim.unplug()
            await until(lambda: hub.statuses("dock-scale")[-1] == "offline")
            sim.plug()
            await until(lambda: hub.statuses("dock-scale")[-1] == "online")
            sim.place("2500")
            await until(lambda: len([w for w in hub.of(Weight) if w.accepted]) == 2)
            assert [w.seq for w in hub.of(Weight) if w.accepted] == [1, 2]
            stop.set()
            await running
        assert host.bus.outbox is not None and host.bus.outbox.stats().pending == 0
        await until(lambda: hub.statuses("proc-drivers")[-1:] == ["offline"])
        await hub.client.stop()

    run(scenario())


def test_commands_reach_the_scale_and_are_answered(
    broker: RunningBroker, tmp_path: Path, link: Path
) -> None:
    profile = parse_profile(scale_profile(link))

    async def scenario() -> None:
        hub = Hub(broker)
        await hub.start()
        host = DriverHost(profile, "drivers", broker.config("drivers"), tmp_path / "outbox.sqlite")
        stop = asyncio.Event()
        with ScaleSimulator("mtsics", link) as sim:
            running = asyncio.create_task(host.run(stop))
            await until(lambda: "online" in hub.statuses("dock-scale"))
            topics = broker.topics
            hub.client.publish(
                topics.command("dock-scale", "tare"), Command(request_id="r-1").to_bytes(), qos=1
            )
            hub.client.publish(
                topics.command("dock-scale", "explode"), Command(request_id="r-2").to_bytes(), qos=1
            )
            hub.client.publish(topics.command("dock-scale", "zero"), b"{not json", qos=1)
            await until(lambda: len(hub.of(Reply)) == 2)
            replies = {r.request_id: r for r in hub.of(Reply)}
            assert replies["r-1"].ok and replies["r-1"].verb == "tare"
            assert any(c.startswith(b"T") for c in sim.commands)  # the scale really got it
            assert not replies["r-2"].ok and "no command 'explode'" in replies["r-2"].message
            assert host.bus.stats.malformed == 1
            stop.set()
            await running
        await hub.client.stop()

    run(scenario())


def test_profile_mistakes_are_named_before_anything_starts(tmp_path: Path) -> None:
    link = tmp_path / "scale"
    with pytest.raises(ProfileError, match="protocol: Input should be 'mtsics'"):
        profile = parse_profile(scale_profile(link, protocol="sics"))
        driver_kinds()["scale"].build(profile.devices[0], None)  # type: ignore[arg-type]
    with pytest.raises(ProfileError, match=r"devices\.0\.id"):
        parse_profile(
            {
                "station": {"site": "ams-1", "station": "dock-1"},
                "devices": {"Dock Scale": {"kind": "scale"}},
            }
        )
    with pytest.raises(ProfileError, match="site"):
        parse_profile({"station": {"site": "ams/1", "station": "dock-1"}})
    unknown = parse_profile(
        {
            "station": {"site": "ams-1", "station": "dock-1"},
            "devices": {"x": {"kind": "teleporter"}},
        }
    )
    with pytest.raises(UnknownDriverError, match="no driver for kind 'teleporter'"):
        kind_for(unknown.devices[0], driver_kinds())


def test_edge_drivers_process_publishes_and_stops_cleanly(
    broker: RunningBroker, tmp_path: Path, link: Path, edge_cli: list[str]
) -> None:
    data = tmp_path / "station"
    (data / "keys").mkdir(parents=True)
    (data / "keys" / "mqtt-credentials.json").write_text(json.dumps(broker.credentials))
    profile = tmp_path / "profile.toml"
    profile.write_text(
        f"""
[station]
site = "ams-1"
station = "dock-1"

[bus]
port = {broker.port}

[devices.dock-scale]
kind = "scale"
path = "{link}"
protocol = "toledo8217"
unit = "kg"
"""
    )

    async def scenario() -> None:
        hub = Hub(broker)
        await hub.start()
        with ScaleSimulator("toledo8217", link) as sim:
            process = await asyncio.create_subprocess_exec(
                *edge_cli,
                "--data-dir",
                str(data),
                "drivers",
                "--profile",
                str(profile),
                stderr=asyncio.subprocess.PIPE,
            )
            sim.place("730")
            await until(lambda: any(w.accepted for w in hub.of(Weight)), 20)
            assert [w.grams for w in hub.of(Weight) if w.accepted] == [Decimal(730)]
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), WAIT) == 0
        await until(lambda: hub.statuses("proc-drivers")[-1:] == ["offline"])
        with sqlite3.connect(data / "outbox-drivers.sqlite") as db:  # acknowledged, not pending
            left = db.execute("SELECT seq, payload FROM outbox").fetchall()
        assert left == [], left
        await hub.client.stop()

    run(scenario())


def test_edge_drivers_refuses_a_profile_it_cannot_run(tmp_path: Path, edge_cli: list[str]) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(
        '[station]\nsite = "ams-1"\nstation = "dock-1"\n[devices.x]\nkind = "teleporter"\n'
    )
    (tmp_path / "keys").mkdir()
    credentials = {user: "pw" for user in ("hub", "drivers", "camera", "screen")}
    (tmp_path / "keys" / "mqtt-credentials.json").write_text(json.dumps(credentials))
    result = subprocess.run(
        [*edge_cli, "--data-dir", str(tmp_path), "drivers", "--profile", str(profile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no driver for kind 'teleporter'" in result.stderr
    assert "Traceback" not in result.stderr


def test_edge_drivers_without_credentials_says_run_bus_setup(
    tmp_path: Path, edge_cli: list[str], link: Path
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(
        f'[station]\nsite = "ams-1"\nstation = "dock-1"\n'
        f'[devices.dock-scale]\nkind = "scale"\npath = "{link}"\nprotocol = "mtsics"\n'
    )
    data = tmp_path / "station"
    result = subprocess.run(
        [*edge_cli, "--data-dir", str(data), "drivers", "--profile", str(profile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "edge bus setup" in result.stderr
    assert not (data / "keys" / "mqtt-credentials.json").exists()  # no passwords made up
    (data / "keys").mkdir(parents=True)
    (data / "keys" / "mqtt-credentials.json").write_text("{not json")
    for command in (
        ["drivers", "--profile", str(profile)],
        ["bus", "setup", "--profile", str(profile)],
    ):
        result = subprocess.run(
            [*edge_cli, "--data-dir", str(data), *command],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and "cannot be read" in result.stderr, command
        assert "Traceback" not in result.stderr


def test_bus_host_cannot_smuggle_lines_into_the_broker_config() -> None:
    with pytest.raises(ProfileError, match=r"bus\.host"):
        parse_profile(
            {
                "station": {"site": "ams-1", "station": "dock-1"},
                "bus": {"host": "127.0.0.1\nallow_anonymous true"},
            }
        )


class _Flaky:
    """A device whose first driver crashes; the rebuilt one works."""

    builds = 0

    def __init__(self, publisher: Any) -> None:
        self.publisher = publisher
        self.stopped = asyncio.Event()
        _Flaky.builds += 1
        self.crash = _Flaky.builds == 1

    async def run(self) -> None:
        if self.crash:
            raise RuntimeError("USB hiccup in the driver")
        self.publisher.status("online", "working")
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


def test_a_crashed_driver_is_rebuilt_and_its_status_recovers(
    broker: RunningBroker, tmp_path: Path
) -> None:
    from drivers.registry import DriverKind

    kind = DriverKind("flaky", "drivers", lambda slot, publisher: _Flaky(publisher))
    profile = parse_profile(
        {"station": {"site": "ams-1", "station": "dock-1"}, "devices": {"gizmo": {"kind": "flaky"}}}
    )

    async def scenario() -> None:
        hub = Hub(broker)
        await hub.start()
        host = DriverHost(
            profile,
            "drivers",
            broker.config("drivers"),
            tmp_path / "outbox.sqlite",
            kinds={"flaky": kind},
            restart_after_s=0.2,
        )
        stop = asyncio.Event()
        running = asyncio.create_task(host.run(stop))
        await until(lambda: hub.statuses("gizmo")[-1:] == ["online"])
        assert hub.statuses("gizmo")[0] == "error"
        stop.set()
        await running
        await until(lambda: hub.statuses("gizmo")[-1:] == ["offline"])  # not left "online"
        await hub.client.stop()

    run(scenario())
