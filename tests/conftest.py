"""Shared fixtures: every test gets its own station folder with a real SQLite journal."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.journal import EventDraft, Journal
from tests.broker import broker  # noqa: F401  (the private Mosquitto fixture)
from tests.postgres_server import PostgresServer, postgres_binaries

# pytest-xdist's workers run with COLUMNS=80 and LINES=24 set (a plain `pytest` run has neither):
# rich's consoles, made when the CLI modules are imported, would keep that width for good and
# wrap what tests/test_cli_certificate.py reads at COLUMNS=200. Every worker runs as one would.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def draft(
    event_type: str = "label.scanned",
    subject: str = "RET-2026-000001",
    operator: str = "op-0042",
    **payload: object,
) -> EventDraft:
    return EventDraft.model_validate(
        {"type": event_type, "subject": subject, "operator": operator, "payload": payload}
    )


@pytest.fixture
def station_dir(tmp_path: Path) -> Path:
    return tmp_path / "station"


@pytest.fixture
def journal(station_dir: Path) -> Iterator[Journal]:
    with Journal(station_dir, site="ams-1", station="dock-1") as j:
        yield j


@pytest.fixture
def edge_cli() -> list[str]:
    """How to run the `edge` command as a user would: a separate process."""
    return [sys.executable, "-m", "edge"]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 640 KiB filesystem, so 'disk full' is the kernel's ENOSPC, not a simulation."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=640k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"needs root (CAP_SYS_ADMIN) to mount a small tmpfs: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the whole session (fsync off: see postgres_server)."""
    if postgres_binaries() is None:
        pytest.skip("needs the Debian package postgresql (make test installs it)")
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database of its own for each test, dropped afterwards."""
    name = f"test_{secrets.token_hex(6)}"
    dsn = postgres_server.create_database(name)
    try:
        yield dsn
    finally:
        postgres_server.drop_database(name)
