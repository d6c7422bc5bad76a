"""The broker's production files are what the renderer writes, and `edge bus setup` works."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from edge.bus.broker import ACL_TEMPLATE, PRODUCTION, free_port, render_acl, render_config

ROOT = Path(__file__).parents[2]


def test_committed_mosquitto_files_match_the_renderer() -> None:
    conf = (ROOT / "systemd/mosquitto/edge.conf").read_text()
    assert conf == render_config(PRODUCTION, run_as="mosquitto")
    assert (ROOT / "systemd/mosquitto/acl.template").read_text() == ACL_TEMPLATE
    assert "allow_anonymous false" in conf and "persistence true" in conf


def test_acl_scopes_every_client_to_its_own_station() -> None:
    acl = render_acl("ams-1", "dock-7")
    topics = [line.split()[-1] for line in acl.splitlines() if line.startswith("topic ")]
    assert topics and all(t.startswith("edge/ams-1/dock-7/") for t in topics)
    writers_of_everything = [
        block.split("\n")[0]
        for block in acl.split("\nuser ")
        if "readwrite edge/ams-1/dock-7/#" in block
    ]
    assert writers_of_everything == ["hub"]


def test_bus_setup_writes_a_broker_that_mosquitto_accepts(
    edge_cli: list[str], tmp_path: Path
) -> None:
    if not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("needs the Debian package mosquitto (make test installs it)")
    profile = tmp_path / "profile.toml"
    profile.write_text(
        f'[station]\nsite = "ams-1"\nstation = "dock-1"\n[bus]\nport = {free_port()}\n'
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
    passwd = (config_dir / "passwd").read_text()
    assert all(f"{user}:$7$" in passwd for user in credentials)  # PBKDF2-SHA512 hashes
    assert not any(password in passwd for password in credentials.values())
    assert "edge/ams-1/dock-1/dev/#" in (config_dir / "acl").read_text()
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
