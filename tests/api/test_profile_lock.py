"""`PUT /api/v1/profile` cannot change what the station runs, reads or sends custody to: every
root-only field of the profile models, and every driver option of every device slot, is refused
with 403 naming the field, and the file on disk stays as it was."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from drivers.cradle.profile import CradleProfile
from drivers.scale.plugin import ScaleOptions
from drivers.scanner.profile import ScannerProfile
from edge.hub.serve import hub_app
from edge.operators import OPERATORS_FILE, OperatorStore, Role
from stations.profile import HubProfile, load_hub_profile
from stations.profile_lock import is_root_only, root_only_fields
from tests.api.conftest import DOCK_PROFILE, OPERATORS, PIN, bearer, sign_in

ROOT = Path(__file__).resolve().parents[2]
# What each driver kind's slot options are (the camera takes a plain table: its keys below).
OPTION_MODELS: dict[str, type[BaseModel]] = {
    "cradle": CradleProfile,
    "scale": ScaleOptions,
    "scanner": ScannerProfile,
}
CAMERA_OPTIONS = ("source", "blob_dir", "readers", "strategy")
SLOTS = {"cradle": "bench-cradle", "scale": "dock-scale", "scanner": "dock-scanner"}
SLOTS["camera"] = "dock-camera"
ERASURE_TOML = tomllib.loads((ROOT / "stations" / "profiles" / "erasure.toml").read_text())
# A valid, different value for each root-only field of the hub's sections. A new root-only
# field fails the test below until it has one here.
CHANGED: dict[str, Any] = {
    "bus.host": "evil.example",
    "bus.port": 1884,
    "hub.api_host": "10.9.8.7",
    "hub.api_port": 8081,
    "erasure.tools": ERASURE_TOML["erasure"]["tools"],
    "disposition.rules": "/tmp/evil-rules.toml",
    "disposition.demand": "/tmp/evil-demand.toml",
    "catalogue.override": "/tmp/evil-catalogue.toml",
    "upstream.url": "https://evil.example/ingest",
    "upstream.vkey": "/tmp/evil.vkey",
    "upstream.ca": "/tmp/evil-ca.pem",
}
# Name parts of a field that says it is a program, a file or an address.
SUSPECT_PARTS = {
    "adb", "bin", "ca", "cmd", "command", "dir", "dsn", "exe", "executable", "file", "folder",
    "host", "key", "override", "path", "port", "program", "rules", "demand", "script", "source",
    "token", "tool", "tools", "url", "vkey",
}  # fmt: skip
# Fields whose names look so but are not: a bin code's pattern; where the file itself is.
NOT_SUSPECT = {"moves.bin_pattern", "folder"}


def toml_text(data: dict[str, Any]) -> str:
    """The TOML for a parsed profile (tables of scalars and lists; nested tables)."""
    lines: list[str] = []

    def table(prefix: str, values: dict[str, Any]) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict)}
        if prefix and (scalars or not values):
            lines.append(f"[{prefix}]")
        for key, value in scalars.items():
            lines.append(f"{json.dumps(key)} = {json.dumps(value)}")
        for key, value in values.items():
            if isinstance(value, dict):
                table(f"{prefix}.{json.dumps(key)}" if prefix else json.dumps(key), value)

    table("", data)
    return "\n".join(lines) + "\n"


def baseline() -> dict[str, Any]:
    """The dock profile with a cradle slot too: every kind of device in one file."""
    data = tomllib.loads(DOCK_PROFILE.read_text(encoding="utf-8"))
    data["devices"]["bench-cradle"] = {"kind": "cradle", "adb": "adb"}
    return data


def with_value(data: dict[str, Any], dotted: list[str], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    node = changed
    for key in dotted[:-1]:
        node = node.setdefault(key, {})
    node[dotted[-1]] = value
    return changed


class ProfileStation:
    def __init__(self, client: TestClient, path: Path, admin: dict[str, str]) -> None:
        self.client, self.path, self.admin = client, path, admin

    def put(self, data: dict[str, Any]) -> Any:
        body = {"toml": toml_text(data)}
        return self.client.put("/api/v1/profile", headers=self.admin, json=body)

    def assert_refused(self, data: dict[str, Any], field: str) -> None:
        before = self.path.read_bytes()
        answer = self.put(data)
        assert answer.status_code == 403, (field, answer.text)
        body = answer.json()
        assert body["error"] == "root_only", field
        assert body["fields"] == [field], body
        assert field in body["message"]
        assert self.path.read_bytes() == before


@pytest.fixture
def station(tmp_path: Path) -> Iterator[ProfileStation]:
    path = tmp_path / "station.toml"
    path.write_text(toml_text(baseline()), encoding="utf-8")
    data_dir = tmp_path / "station"
    data_dir.mkdir()
    operator_id, badge = OPERATORS[Role.ADMIN]
    with OperatorStore(data_dir / OPERATORS_FILE) as store:
        store.add_operator(operator_id, "Ada", Role.ADMIN, PIN, badge=badge, now=datetime.now(UTC))
    app = hub_app(data_dir, load_hub_profile(path), profile_path=path)
    with TestClient(app) as client:
        yield ProfileStation(client, path, bearer(sign_in(client, badge)))


def test_the_reported_attack_a_cradle_tool_and_an_upstream_url_is_403(
    station: ProfileStation,
) -> None:
    attack = with_value(baseline(), ["devices", "bench-cradle", "adb"], "/tmp/evil.sh")
    attack["upstream"] = {"url": "https://evil.example"}
    before = station.path.read_bytes()
    answer = station.put(attack)
    assert answer.status_code == 403, answer.text
    assert answer.json()["fields"] == ["devices.bench-cradle.adb", "upstream.url"]
    assert station.path.read_bytes() == before
    assert not station.path.with_suffix(".toml.bak").exists()


def test_every_root_only_field_of_the_hub_sections_is_refused(station: ProfileStation) -> None:
    fields = [f for f in root_only_fields(HubProfile) if not f.startswith("devices.")]
    assert {"upstream.url", "upstream.vkey", "erasure.tools", "bus.host"} <= set(fields)
    for field in fields:
        assert field in CHANGED, f"give CHANGED a valid new value for root-only {field}"
        station.assert_refused(with_value(baseline(), field.split("."), CHANGED[field]), field)


def test_every_device_option_of_every_driver_is_refused(station: ProfileStation) -> None:
    assert set(root_only_fields(HubProfile)) >= {"devices.*.kind", "devices.*.path", "devices.*.*"}
    options: list[tuple[str, str]] = [
        (SLOTS[kind], name)
        for kind, model in OPTION_MODELS.items()
        for name in model.model_fields
        if name != "kind"
    ]
    options += [(SLOTS["camera"], name) for name in CAMERA_OPTIONS]
    # an option no driver has today (a third-party driver's `command`) is refused as well
    options += [(slot, "command") for slot in SLOTS.values()]
    options += [(SLOTS["scale"], "kind")]
    assert ("bench-cradle", "adb") in options and ("bench-cradle", "ideviceinfo") in options
    for slot, name in options:
        current = baseline()["devices"][slot].get(name)
        new_value = "scanner" if name == "kind" else "/tmp/evil.sh"
        assert current != new_value
        changed = with_value(baseline(), ["devices", slot, name], new_value)
        station.assert_refused(changed, f"devices.{slot}.{name}")


def test_a_new_device_slot_is_refused_whole(station: ProfileStation) -> None:
    added = with_value(baseline(), ["devices", "extra-cradle"], {"kind": "cradle"})
    station.assert_refused(added, "devices.extra-cradle")


def test_what_is_not_root_only_is_still_stored(station: ProfileStation) -> None:
    data = baseline()
    data["receiving"]["weight_reuse_s"] = 30
    data["devices"]["bench-cradle"]["enabled"] = False  # a slot root set up, switched off
    del data["devices"]["dock-scanner"]  # removing a device only stops it
    data["upstream"] = {"batch_events": 200}
    answer = station.put(data)
    assert answer.status_code == 200, answer.text
    assert load_hub_profile(station.path).receiving.weight_reuse_s == 30


def test_the_file_on_disk_is_the_reference(station: ProfileStation) -> None:
    """Root changed a tool in the file after the start: the admin's next edit keeps it."""
    on_disk = with_value(baseline(), ["devices", "bench-cradle", "adb"], "/opt/adb/adb")
    station.path.write_text(toml_text(on_disk), encoding="utf-8")
    edited = with_value(on_disk, ["receiving", "weight_reuse_s"], 25)
    assert station.put(edited).status_code == 200
    reverted = with_value(edited, ["devices", "bench-cradle", "adb"], "adb")
    station.assert_refused(reverted, "devices.bench-cradle.adb")


def _fields(model: type[BaseModel], where: str = "") -> Iterator[tuple[str, bool]]:
    """(dotted name, root-only or under a root-only field) of every field, recursively."""
    for name, info in model.model_fields.items():
        path = f"{where}{name}"
        locked = is_root_only(info)
        yield path, locked
        if locked:
            continue
        for inner in _models(info.annotation):
            yield from _fields(inner, f"{path}.")


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation) if get_origin(annotation) is not None else ():
        yield from _models(arg)


def test_a_field_named_like_a_program_file_or_address_is_root_only() -> None:
    """A field added later whose name says what it is (`*_command`, `*_path`, `*_url`...) and is
    not marked root-only fails here. Device options need no mark: all of them are root-only."""
    unmarked = [
        path
        for path, locked in _fields(HubProfile)
        if not locked
        and not path.startswith("station.devices.")
        and path not in NOT_SUSPECT
        and set(path.rsplit(".", 1)[-1].split("_")) & SUSPECT_PARTS
    ]
    assert unmarked == []
