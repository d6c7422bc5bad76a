"""The broker's production files are what the renderer writes, and `edge bus setup` works."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from drivers.hosting import hosted_slots, slot_publishes
from drivers.profile import load_profile
from edge.bus.broker import (
    PRODUCTION,
    BrokerError,
    render_acl,
    render_config,
)
from edge.bus.topics import TopicError
from tests.ports import reserve_port

ROOT = Path(__file__).parents[2]


def acl_blocks(acl: str) -> dict[str, list[str]]:
    """user -> its `topic …` lines."""
    blocks: dict[str, list[str]] = {}
    user = ""
    for line in acl.splitlines():
        if line.startswith("user "):
            user = line.split()[1]
            blocks[user] = []
        elif line.startswith("topic "):
            blocks[user].append(line)
    return blocks


def test_committed_mosquitto_files_match_the_renderer() -> None:
    conf = (ROOT / "systemd/mosquitto/edge.conf").read_text()
    assert conf == render_config(PRODUCTION, run_as="mosquitto")
    assert "allow_anonymous false" in conf and "persistence true" in conf
    assert "use_username_as_clientid true" in conf and "clientid_prefixes edge-" in conf
    dock = load_profile(ROOT / "stations/profiles/dock.toml")
    example = (ROOT / "systemd/mosquitto/acl.dock-example").read_text()
    assert example == render_acl(dock.site, dock.station, hosted_slots(dock), slot_publishes(dock))


def test_acl_scopes_every_client_to_its_own_station() -> None:
    acl = render_acl("ams-1", "dock-7", {"drivers": ["dock-scale"], "camera": ["dock-camera"]})
    topics = [line.split()[-1] for line in acl.splitlines() if line.startswith("topic ")]
    assert topics and all(t.startswith("edge/ams-1/dock-7/") for t in topics)
    writers_of_everything = [
        user
        for user, lines in acl_blocks(acl).items()
        if "readwrite edge/ams-1/dock-7/#" in lines[0]
    ]
    assert writers_of_everything == ["hub"]


def test_acl_lets_each_process_write_only_the_slots_it_hosts() -> None:
    dock = load_profile(ROOT / "stations/profiles/dock.toml")
    acl = render_acl(dock.site, dock.station, hosted_slots(dock), slot_publishes(dock))
    blocks = acl_blocks(acl)
    root = "edge/ams-1/dock-1"

    def slot(device: str, *leaves: str) -> list[str]:
        writes = [f"topic write {root}/dev/{device}/{leaf}" for leaf in leaves]
        return [*writes, f"topic read {root}/cmd/{device}/+"]

    # each slot only what its kind publishes: the camera's credential cannot weigh or identify
    # a phone through its own slot, nor custody through the process's status slot
    assert blocks["drivers"] == [
        *slot("dock-scale", "status", "reply", "weight"),
        *slot("dock-scanner", "status", "reply", "scan"),
        *slot("proc-drivers", "status"),
    ]
    assert blocks["camera"] == [
        *slot("dock-camera", "status", "photo", "reply", "scan"),
        *slot("proc-camera", "status"),
    ]
    assert blocks["screen"] == [f"topic read {root}/#"]


def test_acl_refuses_what_is_not_a_device_slot() -> None:
    with pytest.raises(TopicError):
        render_acl("ams-1", "dock-1", {"drivers": ["dock-scale/#"]})
    with pytest.raises(TopicError):
        render_acl("ams-1", "dock-1", {"drivers": ["x\nuser hub"]})
    with pytest.raises(BrokerError, match="screen"):
        render_acl("ams-1", "dock-1", {"screen": ["dock-scale"]})


def test_bus_setup_writes_a_broker_that_mosquitto_accepts(
    edge_cli: list[str], tmp_path: Path
) -> None:
    if not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("needs the Debian package mosquitto (make test installs it)")
    profile = tmp_path / "profile.toml"
    profile.write_text(
        f'[station]\nsite = "ams-1"\nstation = "dock-1"\n[bus]\nport = {reserve_port(2)}\n'
        '[devices.dock-scale]\nkind = "scale"\npath = "/dev/null"\n'
        '[devices.dock-camera]\nkind = "camera"\nsource = "/dev/null"\n'
    )
    data = tmp_path / "station"
    config_dir = tmp_path / "etc"
    result = subprocess.run(
        [
            *edge_cli,
            "--data-dir",
            str(data),
            "bus",
            "setup",
            "--profile",
            str(profile),
            "--config-dir",
            str(config_dir),
            "--broker-data",
            str(tmp_path / "lib"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    credentials = json.loads((data / "keys" / "mqtt-credentials.json").read_text())
    assert set(credentials) == {"hub", "drivers", "camera", "screen"}
    assert stat.S_IMODE((data / "keys" / "mqtt-credentials.json").stat().st_mode) == 0o600
    passwd = (config_dir / "passwd").read_text() + (config_dir / "passwd-screen").read_text()
    assert all(f"{user}:$7$" in passwd for user in credentials)  # PBKDF2-SHA512 hashes
    assert not any(password in passwd for password in credentials.values())
    assert "screen:" not in (config_dir / "passwd").read_text()  # screens: their own listener
    acl = acl_blocks((config_dir / "acl").read_text())
    assert "topic write edge/ams-1/dock-1/dev/dock-scale/weight" in acl["drivers"]
    assert "topic write edge/ams-1/dock-1/dev/dock-camera/photo" in acl["camera"]
    assert not any(line.endswith("/+") for line in acl["drivers"] if "write" in line)
    assert not any("dock-camera" in line for line in acl["drivers"])
    # Mosquitto itself parses the config (test mode: -t is not in 2.0; start and stop instead).
    conf = (config_dir / "edge.conf").read_text()
    if os.geteuid() == 0:
        (config_dir / "edge.conf").write_text("user root\n" + conf)
    proc = subprocess.Popen(
        ["/usr/sbin/mosquitto", "-c", str(config_dir / "edge.conf")],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(1.5)  # still running: it accepted every line
    finally:
        proc.terminate()
        proc.wait(10)


def test_bus_setup_names_a_bad_profile(edge_cli: list[str], tmp_path: Path) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text('[station]\nsite = "ams 1"\nstation = "dock-1"\n')
    result = subprocess.run(
        [*edge_cli, "--data-dir", str(tmp_path), "bus", "setup", "--profile", str(profile)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "site" in result.stderr and "Traceback" not in result.stderr
