"""What `make demo` runs: a whole station and a short shift through it.

A private Mosquitto, the drivers and camera processes' hosts with simulated hardware (a serial
scanner and a scale on ptys, a camera on an image folder, a phone cradle through stand-in adb),
the real hub behind its HTTP API on a free port, and a reference upstream (the ledger on SQLite)
it replicates to and pulls its manifest from. People act through the API as the PWA will;
devices act through their simulators. Everything lands in the custody journal, then upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from stdnum import luhn

from drivers.sim.cradle import load_preset, write_scenario
from drivers.sim.erasure import TOOL as ERASE_TOOL
from edge.bus.broker import free_port
from edge.demo.controls import serve_controls
from edge.demo.devices import demo_station, until
from edge.demo.upstream import DemoUpstream, demo_upstream
from edge.hub.serve import hub_app, server_config
from edge.operators import OPERATORS_FILE, OperatorStore, Role
from edge.upstream import Ledger
from stations.catalogue import Catalogue
from stations.manifest import parse_manifest
from stations.profile import parse_hub_profile

DEMO_PIN = "5274"
JOURNAL_PAGE = 500  # events per request; the demo reads page after page until the last
SHIFT_RETURN = re.compile(r"R-(\d{4,})-\d")
STAFF = (
    ("ada", "Ada", Role.ADMIN),
    ("olga", "Olga", Role.OPERATOR),
    ("tom", "Tom", Role.TECHNICIAN),
)


def galaxy_imei(shift: int) -> str:
    """Each shift docks another Galaxy S7 (the preset's TAC, its own serial and check digit): a
    routed unit is finished, so the same phone again would be a `unit_finished` exception."""
    body = f"35291109{shift % 1_000_000:06d}"
    return body + luhn.calc_check_digit(body)


@dataclass
class ShiftReport:
    """What the shift did, for the screen."""

    api: str
    first_seq: int
    events: list[dict[str, Any]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    certificate: bytes | None = None
    devices: dict[str, str] = field(default_factory=dict)
    upstream_vkey: str = ""
    upstream_size: int = 0
    replication: dict[str, Any] = field(default_factory=dict)
    customer_token: tuple[str, str] = ("", "")
    customer_view: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Serving:
    """Where a person reaches the running demo."""

    report: ShiftReport
    upstream: str
    customer_return: str
    customer_token: str
    controls: Path

    @property
    def api(self) -> str:
        return self.report.api

    @property
    def customer_link(self) -> str:
        return f"{self.upstream}/api/v1/returns/{self.customer_return}"


def _ensure_staff(data_dir: Path) -> None:
    with OperatorStore(data_dir / OPERATORS_FILE) as store:
        for operator_id, name, role in STAFF:
            if store.get(operator_id) is None:
                store.add_operator(
                    operator_id,
                    name,
                    role,
                    DEMO_PIN,
                    badge=f"BADGE-{operator_id.upper()}",
                    now=datetime.now(UTC),
                )
            else:  # a data folder of an earlier version holds the earlier demo PIN
                store.set_pin(operator_id, DEMO_PIN, now=datetime.now(UTC))


def _manifest(shift: int) -> list[dict[str, Any]]:
    return [
        {
            "return_id": f"R-{shift:04d}-1",
            "label_codes": [f"1ZDEMO{shift:04d}0001"],
            "customer_ref": "C-1001",
            "make": "Apple",
            "model": "iPhone 13",
            "screen": "flawless",
            "body": "minor_wear",
            "quote": "240.00",
            "currency": "EUR",
            "status": "accepted",
        },
        {
            "return_id": f"R-{shift:04d}-2",
            "label_codes": [f"1ZDEMO{shift:04d}0002"],
            "customer_ref": "C-1002",
            "make": "Samsung",
            "model": "Galaxy S7",
            "declared_imei": galaxy_imei(shift),
            "screen": "minor_scratches",
            "body": "flawless",
            "function": "all_working",
            "battery": "good",
            "accessories": "complete",
            "quote": "45.00",
            "currency": "EUR",
            "status": "accepted",
        },
    ]


async def run_shift(
    data_dir: Path,
    site: str,
    station: str,
    *,
    serve: Callable[[Serving], Awaitable[None]] | None = None,
) -> ShiftReport:
    """Start the station, run one shift, and (with `serve`) keep it up until `serve` returns."""
    await asyncio.to_thread(_ensure_staff, data_dir)
    async with (
        demo_upstream(data_dir / "demo-upstream", data_dir, site, station) as upstream,
        demo_station(data_dir, site, station) as demo,
    ):
        assert demo.bus_config is not None and demo.scale and demo.scanner and demo.cradle_scenario
        profile = parse_hub_profile(
            {
                **demo.profile_data,
                "hub": {
                    "workflows": ["receiving", "bench", "moves"],
                    "feeds": {"dock-scanner": "dock"},  # the one scanner is the dock's
                },
                "receiving": {"camera": "dock-camera"},
                "erasure": {"tools": {"android": _erasure_tool()}},
                "upstream": {
                    "url": upstream.url,
                    "vkey": upstream.vkey,
                    "sign_after_s": 0.5,
                    "manifest_every_s": 1,
                },
            },
            "demo profile",
            data_dir,
        )
        port = free_port()
        app = hub_app(data_dir, profile, bus_config=demo.bus_config("hub"))
        server = uvicorn.Server(server_config(app, "127.0.0.1", port))
        serving = asyncio.ensure_future(server.serve())
        try:
            await until(lambda: server.started or serving.done(), 20)
            if not server.started:
                await serving  # raises what stopped it
                raise RuntimeError("the hub's API did not start")
            api = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=api, timeout=60) as client:
                report = await _shift(client, demo, api, upstream, site)
            report.devices = {d: s.state for d, s in sorted(demo.hub.statuses.items())}
            if serve is not None:
                async with serve_controls(data_dir, demo) as controls:
                    await serve(Serving(report, upstream.url, *report.customer_token, controls))
            return report
        finally:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await serving


def _erasure_tool() -> dict[str, Any]:
    tool = str(ERASE_TOOL)
    return {
        "command": [tool, "erase", "--serial", "{serial}", "--method", "purge"],
        "verify_command": [tool, "verify", "--serial", "{serial}"],
        "version_command": [tool, "--version"],
        "tool_name": "edge-sim-erase",
        "method": "Purge",
        "technique": "factory reset + crypto erase",
        "verification_method": "quick-sampling",
        "verify_pass_pattern": r"^RESULT: PASS\b",
        "media_type": "flash/eMMC",
        "timeout_s": 60,
    }


class _Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    async def sign_in(self, badge: str) -> None:
        answer = await self.client.post(
            "/api/v1/auth/sign-in", json={"badge": badge, "pin": DEMO_PIN}
        )
        answer.raise_for_status()
        self.tokens[badge] = answer.json()["token"]

    async def call(self, method: str, url: str, badge: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[badge]}"}
        answer = await self.client.request(method, url, headers=headers, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {url}: {answer.status_code} {answer.text}")
        return answer.json()

    async def size(self) -> int:
        """The journal's latest seq (the page says it whatever its length)."""
        page = await self.call("GET", "/api/v1/journal", "BADGE-ADA", params={"limit": 1})
        return int(page["size"])

    async def events(self, after: int, event_type: str | None = None) -> list[dict[str, Any]]:
        """Every event after seq `after` (optionally one type), however many pages that is."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": JOURNAL_PAGE}
        if event_type is not None:
            params["type"] = event_type
        cursor: int | None = after
        while cursor is not None:
            page = await self.call(
                "GET", "/api/v1/journal", "BADGE-ADA", params={**params, "after": cursor}
            )
            found.extend(page["events"])
            cursor = page["next_after"]
        return found

    async def wait_for(self, after: int, event_type: str, count: int = 1) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        async def seen() -> bool:
            found[:] = await self.events(after, event_type)
            return len(found) >= count

        deadline = asyncio.get_running_loop().time() + 30
        while not await seen():
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"no {event_type} within 30 s")
            await asyncio.sleep(0.1)
        return found[count - 1]


async def _shift(
    client: httpx.AsyncClient, demo: Any, api_url: str, upstream: DemoUpstream, site: str
) -> ShiftReport:
    api = _Api(client)
    await api.sign_in("BADGE-ADA")
    start = await api.size()
    report = ShiftReport(api=api_url, first_seq=start + 1, upstream_vkey=upstream.vkey)
    synced = await api.events(0, "manifest.synced")
    known = await asyncio.to_thread(_upstream_return_ids, upstream.ledger, site)
    shift = _next_shift([e["subject"] for e in synced] + known)
    returns = _manifest(shift)
    records = parse_manifest(json.dumps({"returns": returns}).encode(), "json", Catalogue.builtin())
    changed, tokens = await asyncio.to_thread(upstream.ledger.import_manifest, site, records)
    report.customer_token = (returns[0]["return_id"], tokens[returns[0]["return_id"]])
    mark = start
    await api.wait_for(mark, "manifest.synced", count=len(returns))
    report.steps.append(
        f"admin imported {changed} expected returns upstream; the station pulled them over the "
        "manifest feed"
    )
    await until(lambda: {"dock-scale", "dock-scanner", "dock-camera"} <= set(demo.hub.statuses))

    # The dock: Olga receives two boxes.
    await api.sign_in("BADGE-OLGA")
    mark = await api.size()
    demo.scanner.scan(returns[0]["label_codes"][0])
    await api.wait_for(mark, "label.scanned")
    demo.scale.place("398.5")
    await api.wait_for(mark, "photo.captured")
    done = await api.call("POST", "/api/v1/dock/seal", "BADGE-OLGA", json={"intact": True})
    report.steps.append(f"dock: {done['message']}")
    mark = await api.size()
    demo.scanner.scan(f"1ZUNKNOWN{shift:04d}")
    await api.wait_for(mark, "label.scanned")
    demo.scale.place("1210")
    await api.wait_for(mark, "photo.captured")
    done = await api.call(
        "POST", "/api/v1/dock/seal", "BADGE-OLGA", json={"intact": False, "note": "tape cut"}
    )
    report.steps.append(f"dock: {done['message']}")

    # The bench: Tom docks the Galaxy, grades it, erases it, routes and shelves it.
    await api.sign_in("BADGE-TOM")
    mark = await api.size()
    galaxy = load_preset("galaxy_s7_android8")
    galaxy["android"][0]["iphonesubinfo"] = {"string": galaxy_imei(shift)}
    write_scenario(demo.cradle_scenario, galaxy)
    diag = await api.wait_for(mark, "diagnostics.recorded")
    unit_id = diag["subject"]
    unit = await api.call("GET", f"/api/v1/units/{unit_id}", "BADGE-TOM")
    report.steps.append(
        f"bench: cradle read {unit['unit']['model']} IMEI {unit['unit']['imei']} → unit "
        f"{unit_id}, return {unit['unit']['return_id']}"
    )
    checklist = {
        "screen": "minor_scratches",
        "body": "flawless",
        "function": "all_working",
        "accessories": "complete",
        "battery": 88,  # the S7 reports health "good", not a percent: the technician enters it
    }
    graded = await api.call("POST", f"/api/v1/units/{unit_id}/grade", "BADGE-TOM", json=checklist)
    report.steps.append(f"bench: {graded['message']}")
    erased = await api.call("POST", f"/api/v1/units/{unit_id}/erasure", "BADGE-TOM")
    report.steps.append(f"bench: {erased['message']}")
    certificate_sha = erased["events"][0]["payload"]["certificate_sha256"]
    answer = await client.get(
        f"/api/v1/certificates/{certificate_sha}",
        headers={"Authorization": f"Bearer {api.tokens['BADGE-TOM']}"},
    )
    report.certificate = answer.content if answer.status_code == 200 else None
    routed = await api.call("POST", f"/api/v1/units/{unit_id}/route", "BADGE-TOM")
    report.steps.append(f"bench: {routed['message']}")
    moved = await api.call(
        "POST", f"/api/v1/units/{unit_id}/move", "BADGE-TOM", json={"bin": "BIN-A-01"}
    )
    report.steps.append(f"bench: {moved['message']}")
    report.events = await api.events(start)
    report.replication = await _replicated(api)
    report.upstream_size = report.replication.get("upstream_size", 0)
    view = await asyncio.to_thread(upstream.ledger.return_view, *report.customer_token)
    report.customer_view = view or {}
    return report


def _upstream_return_ids(ledger: Ledger, site: str) -> list[str]:
    """Every return id the upstream's manifest holds for the site, page after page."""
    ids: list[str] = []
    cursor, more = 0, True
    while more:
        records, cursor, more = ledger.manifest_since(site, cursor, 1000)
        ids.extend(str(r.get("return_id")) for r in records)
    return ids


def _next_shift(return_ids: list[str]) -> int:
    """One past the highest shift any earlier run used, so each run's return ids are new."""
    shifts = [int(m.group(1)) for r in return_ids if (m := SHIFT_RETURN.fullmatch(r))]
    return max(shifts, default=0) + 1


async def _replicated(api: _Api, within: float = 30) -> dict[str, Any]:
    """The replication status once the upstream holds every event and the round that sent them
    is over (or the time is up)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        status: dict[str, Any] = await api.call("GET", "/api/v1/replication", "BADGE-ADA")
        settled = status["backlog"]["events"] == 0 and status["status"] == "idle"
        if settled or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.2)
