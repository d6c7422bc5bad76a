"""A fresh station's and upstream's state is private: folders 0700, files 0600, whatever the
umask of the process (tests, libraries and older installs do not all run under `edge`'s)."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.hub.serve import hub_app
from edge.operators import OPERATORS_FILE, OperatorStore, Role
from edge.upstream import Ledger
from edge.upstream.home import UpstreamHome
from edge.upstream.store import open_store
from stations.profile import load_hub_profile
from tests.api.conftest import DOCK_PROFILE, PIN, SIGN_IN


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    """The common default: files 0644 and folders 0755 unless made private on purpose."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(folder: Path) -> dict[str, int]:
    """Every path under `folder` (and itself) by its relative name, with its permission bits."""
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(folder: Path) -> dict[str, int]:
    found = modes(folder)
    loose = {
        name: f"{mode:04o}"
        for name, mode in found.items()
        if mode != (0o700 if (folder / name).is_dir() else 0o600)
    }
    assert loose == {}
    return found


def test_a_fresh_station_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "station"  # does not exist yet
    with OperatorStore(data_dir / OPERATORS_FILE) as store:
        store.add_operator("ada", "Ada", Role.ADMIN, PIN, badge="BADGE-ADA", now=datetime.now(UTC))
    profile_path = tmp_path / "station.toml"
    shutil.copyfile(DOCK_PROFILE, profile_path)
    app = hub_app(data_dir, load_hub_profile(profile_path), profile_path=profile_path)
    with TestClient(app) as client:
        assert client.post(SIGN_IN, json={"badge": "BADGE-ADA", "pin": PIN}).status_code == 200
        app.state.services.hub.journal.blobs.put(b"a photo of a box")
        found = assert_private(data_dir)
    for name in (
        "journal.db",
        "journal.db-wal",
        "operators.db",
        "operators.db-wal",
        "hub.db",
        "keys",
        "keys/station.key",
        "keys/pin.pepper",
        "blobs",
    ):
        assert name in found, name
    assert any(name.startswith("blobs/") and found[name] == 0o600 for name in found)


def test_an_earlier_versions_loose_data_folder_is_tightened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "station"
    data_dir.mkdir()
    (data_dir / OPERATORS_FILE).write_bytes(b"")  # 0644, as an earlier version left it
    data_dir.chmod(0o755)
    caplog.set_level(logging.WARNING)
    with OperatorStore(data_dir / OPERATORS_FILE) as store:
        store.add_operator("ada", "Ada", Role.ADMIN, PIN, now=datetime.now(UTC))
        assert_private(data_dir)
    assert f"tightened state folder readable by others path={data_dir}" in caplog.text
    assert "mode=0755 new_mode=0700" in caplog.text


def test_a_fresh_upstream_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "upstream"
    home = UpstreamHome.open(folder)
    store = open_store("", folder)
    try:
        Ledger(store, home.cosigner)
        found = assert_private(folder)
    finally:
        store.close()
    assert {"upstream.db", "upstream.key", "admin-token"} <= set(found)


def test_the_edge_command_makes_everything_private(tmp_path: Path) -> None:
    """`edge` sets umask 0077 first thing: also files no code path chmods (an export)."""
    data_dir = tmp_path / "station"
    env = {**os.environ, "EDGE_DATA_DIR": str(data_dir)}
    edge = [sys.executable, "-m", "edge"]
    subprocess.run(
        [*edge, "operator", "add", "ada", "--name", "Ada", "--role", "admin", "--pin-stdin"],
        input=f"{PIN}\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    export = tmp_path / "exports"
    export.mkdir(mode=0o700)
    photo = export / "photo.jpg"
    photo.write_bytes(b"a photo of a box")
    append = ["journal", "append", "--type", "photo.captured", "--subject", "R-1"]
    subprocess.run(
        [
            *edge,
            "--site",
            "ams-1",
            "--station",
            "dock-1",
            *append,
            "--operator",
            "ada",
            "--attach",
            str(photo),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    subprocess.run(
        [*edge, "journal", "export", "--output", str(export / "journal.json")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    found = assert_private(data_dir)
    assert {"journal.db", "operators.db", "keys/pin.pepper", "keys/station.vkey"} <= set(found)
    assert any(name.startswith("blobs/") for name in found)
    assert stat.S_IMODE((export / "journal.json").stat().st_mode) == 0o600
