"""The PWA in a real browser: Debian's chromium driven by Playwright (its own browser download
cannot work here), against the real hub served by uvicorn on a free port, with a private
Mosquitto and simulated scanner and scale on ptys. One hub and one browser per module, a new
browser context (fresh storage, service workers, IndexedDB) per test."""

from __future__ import annotations

import secrets
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from edge.bus.broker import CLIENT_USERS, private_broker
from edge.hub.serve import hub_app, server_config
from edge.operators import Role
from stations.profile import load_hub_profile
from tests.broker import SITE, STATION, TEST_HOSTED, TEST_PUBLISHES, RunningBroker, _have_mosquitto
from tests.hub.live import (
    DOCK_SCANNER_AND_SCALE,
    PIN,
    DeviceLoop,
    add_operator,
    write_profile,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {"handheld": (360, 640), "station": (1280, 800)}
SCREENS_ENV = "EDGE_SCREENS_DIR"  # where screenshots go; scripts/pwa-screens.sh sets it

PROFILE = DOCK_SCANNER_AND_SCALE  # the live dock without its camera

__all__ = ["PIN", "WebStation"]


@dataclass
class WebStation:
    url: str
    data_dir: Path
    broker: RunningBroker
    scanner: Any
    scale: Any

    def at(self, path: str) -> str:
        return self.url + path


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def web_station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStation]:
    """A dock station's hub on a free port with its broker, drivers and simulated devices."""
    from drivers.host import DriverHost
    from drivers.sim.scale import ScaleSimulator
    from drivers.sim.serial_scanner import SerialScannerSimulator
    from edge.bus.topics import Topics

    if not _have_mosquitto():
        pytest.skip("needs the Debian package mosquitto (make test installs it)")
    root = tmp_path_factory.mktemp("web-station")
    credentials = {user: secrets.token_urlsafe(16) for user in CLIENT_USERS}
    process = private_broker(
        root / "broker",
        site=SITE,
        station=STATION,
        hosted=TEST_HOSTED,
        publishes=TEST_PUBLISHES,
        credentials=credentials,
    )
    process.start()
    broker = RunningBroker(process, credentials, Topics(SITE, STATION))
    by_id = root / "dev" / "serial" / "by-id"
    by_id.mkdir(parents=True)
    scale = ScaleSimulator("mtsics", by_id / "usb-Mettler_Toledo_Sim-if00-port0")
    scanner = SerialScannerSimulator(by_id / "usb-Honeywell_Granit_Sim-if00")
    data_dir = root / "station"
    data_dir.mkdir()
    path = write_profile(
        root, PROFILE.format(port=broker.port, scale=scale.link, scanner=scanner.link)
    )
    profile = load_hub_profile(path)
    for operator_id, role in (
        ("olga", Role.OPERATOR),
        ("oscar", Role.OPERATOR),
        ("tom", Role.TECHNICIAN),
        ("ada", Role.ADMIN),
    ):
        add_operator(data_dir, operator_id, role, f"BADGE-{operator_id.upper()}")
    scale.plug()
    scanner.plug()
    devices = DeviceLoop(
        [
            DriverHost(
                profile.station,
                "drivers",
                broker.config("drivers"),
                data_dir / "outbox-drivers.sqlite",
            )
        ]
    )
    app = hub_app(
        data_dir,
        profile,
        profile_path=path,
        bus_config=broker.config("hub", client_id=f"{SITE}.{STATION}.hub"),
    )
    sock = _free_socket()
    server = uvicorn.Server(server_config(app, "127.0.0.1", sock.getsockname()[1]))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            thread.join(0.05)
        devices.start()
        host, port = sock.getsockname()
        yield WebStation(f"http://{host}:{port}", data_dir, broker, scanner, scale)
    finally:
        devices.stop()
        server.should_exit = True
        thread.join(30)
        sock.close()
        scanner.unplug()
        scale.unplug()
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, with a fresh profile (Playwright makes one per launch)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("needs the Debian package chromium (make test installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs playwright from the test extra (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new browser context (storage, service workers, IndexedDB) at the handheld's size, in
    English or the locale a test gives by indirect parametrisation."""
    width, height = VIEWPORTS["handheld"]
    locale = getattr(request, "param", None) or "en-GB"
    created = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    created.set_default_timeout(15_000)
    console: list[str] = []
    created.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    created.on("weberror", lambda error: console.append(f"error: {error.error}"))
    try:
        yield created
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            # what the person would have seen, for the failure report
            for open_page in created.pages:
                print(f"--- {open_page.url}\n{open_page.inner_text('body')}")
            print("--- console\n" + "\n".join(console[-40:]))
    finally:
        created.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()
