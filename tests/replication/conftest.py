"""A real upstream process (SQLite or PostgreSQL) and a real station journal with a profile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.journal import EventDraft, Journal
from stations.profile import HubProfile, load_hub_profile
from tests.replication.upstream_process import UpstreamProcess

SITE, STATION = "ams-1", "dock-1"


@pytest.fixture(params=["sqlite", "postgres"])
def upstream(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UpstreamProcess]:
    db = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else ""
    process = UpstreamProcess(tmp_path / "upstream", db)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def weighed(i: int, subject: str = "R-1001") -> EventDraft:
    return EventDraft.model_validate(
        {
            "type": "package.weighed",
            "subject": subject,
            "operator": "olga",
            "payload": {"grams": f"{400 + i % 300}.5", "return_id": subject},
        }
    )


@dataclass
class Station:
    folder: Path
    profile_path: Path

    @property
    def profile(self) -> HubProfile:
        return load_hub_profile(self.profile_path)

    def open(self) -> Journal:
        return Journal(self.folder, site=SITE, station=STATION)


def fill(journal: Journal, count: int, chunk: int = 50) -> None:
    start = journal.size
    for first in range(start, start + count, chunk):
        journal.append_many([weighed(i) for i in range(first, min(first + chunk, start + count))])


def make_station(
    tmp_path: Path, upstream_url: str, cosigner_vkey: str, name: str = "station"
) -> Station:
    folder = tmp_path / name
    profile_path = tmp_path / f"{name}.toml"
    profile_path.write_text(
        f"""
[station]
site = "{SITE}"
station = "{STATION}"
role = "dock"

[upstream]
url = "{upstream_url}"
vkey = "{cosigner_vkey}"
batch_events = 200
sign_after_s = 0.1
manifest_every_s = 1
backoff_max_s = 1
""",
        encoding="utf-8",
    )
    return Station(folder, profile_path)


def write_token(folder: Path, token: str) -> None:
    """The station's upstream token where the hub looks for it (mode 0600)."""
    keys = folder / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    path = keys / "upstream-token"
    path.write_text(token + "\n")
    path.chmod(0o600)


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
