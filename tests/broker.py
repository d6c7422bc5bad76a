"""A private Mosquitto for tests: the production config renderer, free ports, a temp folder."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.bus.broker import (
    CLIENT_USERS,
    SCREEN_USER,
    BrokerError,
    BrokerLayout,
    PrivateBroker,
    write_broker_files,
)
from edge.bus.client import BusConfig
from edge.bus.topics import Topics
from tests.ports import owns_listener, reserve_port

SITE = "ams-1"
STATION = "dock-1"
# The device slots the tests publish for, by the process (MQTT user) that hosts them: the ACL
# the fixture's broker gets, as `edge bus setup` would render it from a profile naming them.
TEST_HOSTED: dict[str, tuple[str, ...]] = {
    "drivers": (
        "proc-drivers",
        "dock-scanner",
        "dock-scale",
        "dock-wedge",
        "bench-scanner",
        "bench-cradle",
        "scale",
        "drivers",
        "gizmo",
        "s",
        "s1",
        "s2",
        "x",
    ),
    "camera": ("proc-camera", "dock-camera"),
}
# What a slot may publish besides its status and replies, where the tests hold it to its kind
# (`drivers.hosting.slot_publishes`); the other slots may publish any topic of their own.
TEST_PUBLISHES: dict[str, tuple[str, ...]] = {
    "proc-drivers": (),
    "proc-camera": (),
    "dock-camera": ("scan", "photo"),
    "dock-scale": ("weight",),
}


def _have_mosquitto() -> bool:
    return shutil.which("mosquitto") is not None or Path("/usr/sbin/mosquitto").exists()


@dataclass
class RunningBroker:
    process: PrivateBroker
    credentials: dict[str, str]
    topics: Topics

    @property
    def port(self) -> int:
        return self.process.layout.port

    def port_for(self, user: str) -> int:
        """Screens have their own listener; hub, drivers and camera share the session one."""
        return self.process.layout.screen_port if user == SCREEN_USER else self.port

    def config(
        self,
        user: str,
        client_id: str | None = None,
        password: str | None = None,
        port: int | None = None,
    ) -> BusConfig:
        config = BusConfig.for_process(
            user,
            password if password is not None else self.credentials[user],
            "127.0.0.1",
            port or self.port_for(user),
        )
        return dataclasses.replace(
            config,
            client_id=client_id or config.client_id,
            reconnect_min_s=1,
            reconnect_max_s=2,
        )


START_ATTEMPTS = 5


def start_test_broker(folder: Path, credentials: dict[str, str]) -> PrivateBroker:
    """`private_broker` as the station renders it, started on two ports of this xdist worker's
    block; again on others if anything else holds one by the time Mosquitto binds it."""
    for attempt in range(1, START_ATTEMPTS + 1):
        port = reserve_port(2)
        layout = BrokerLayout(
            folder / "mosquitto", folder / "mosquitto-data", port, "127.0.0.1", port + 1
        )
        write_broker_files(
            layout,
            site=SITE,
            station=STATION,
            hosted=TEST_HOSTED,
            publishes=TEST_PUBLISHES,
            credentials=credentials,
            run_as="root" if os.geteuid() == 0 else None,  # root: do not drop to `mosquitto`
        )
        process = PrivateBroker(layout, folder / "mosquitto.log")
        try:
            process.start()
        except BrokerError:
            if attempt == START_ATTEMPTS:
                raise
            continue
        if _listens_on_both(process):
            return process
        process.stop()
    raise BrokerError(f"mosquitto found its ports taken {START_ATTEMPTS} times: see {folder}")


def _listens_on_both(broker: PrivateBroker, within: float = 10.0) -> bool:
    """`start` saw *a* listener on the port; this one is ours once Mosquitto holds both ports
    (it exits if it cannot bind one)."""
    assert broker.process is not None
    ports = (broker.layout.port, broker.layout.screen_port)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and broker.process.poll() is None:
        if all(owns_listener(broker.process.pid, p) for p in ports):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RunningBroker]:
    if not _have_mosquitto():
        pytest.skip("needs the Debian package mosquitto (make test installs it)")
    credentials = {user: secrets.token_urlsafe(16) for user in CLIENT_USERS}
    process = start_test_broker(tmp_path, credentials)
    try:
        yield RunningBroker(process, credentials, Topics(SITE, STATION))
    finally:
        process.stop()
