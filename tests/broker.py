"""A private Mosquitto for tests: the production config renderer, a free port, a temp folder."""

from __future__ import annotations

import dataclasses
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.bus.broker import CLIENT_USERS, SCREEN_USER, PrivateBroker, private_broker
from edge.bus.client import BusConfig
from edge.bus.topics import Topics

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


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RunningBroker]:
    if not _have_mosquitto():
        pytest.skip("needs the Debian package mosquitto (make test installs it)")
    credentials = {user: secrets.token_urlsafe(16) for user in CLIENT_USERS}
    process = private_broker(
        tmp_path,
        site=SITE,
        station=STATION,
        hosted=TEST_HOSTED,
        publishes=TEST_PUBLISHES,
        credentials=credentials,
    )
    process.start()
    try:
        yield RunningBroker(process, credentials, Topics(SITE, STATION))
    finally:
        process.stop()
