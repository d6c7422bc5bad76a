"""The upstream ledger on both backends: a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.journal import EventDraft, Journal
from edge.replication.batches import OutgoingBatch, next_batch
from edge.upstream import Cosigner, Ledger, Store, open_store
from edge.upstream.ingest import WireBatch


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        target = request.getfixturevalue("postgres_dsn")
    else:
        target = str(tmp_path / "upstream.db")
    opened = open_store(target, tmp_path)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def cosigner() -> Cosigner:
    return Cosigner.generate("upstream.test/ledger")


@pytest.fixture
def ledger(store: Store, cosigner: Cosigner) -> Ledger:
    return Ledger(store, cosigner)


def drafts(count: int, start: int = 0, subject: str = "R-1001") -> list[EventDraft]:
    return [
        EventDraft.model_validate(
            {
                "type": "package.weighed",
                "subject": subject,
                "operator": "olga",
                "payload": {"grams": f"{400 + i}.5", "return_id": subject},
            }
        )
        for i in range(start, start + count)
    ]


@dataclass
class StationJournal:
    """A real station journal and the batches its replicator would send."""

    journal: Journal
    folder: Path

    @property
    def vkey(self) -> str:
        return self.journal.verifier.encode()

    def append(self, count: int, subject: str = "R-1001") -> None:
        start = self.journal.size
        self.journal.append_many(drafts(count, start, subject))
        self.journal.checkpoint()

    def batch(self, held: int, max_events: int = 500) -> OutgoingBatch:
        found = next_batch(self.journal.reader, held, max_events)
        assert found is not None
        return found

    def wire(self, held: int, max_events: int = 500) -> WireBatch:
        return WireBatch.model_validate(self.batch(held, max_events).body)


@pytest.fixture
def station(tmp_path: Path) -> Iterator[StationJournal]:
    folder = tmp_path / "station"
    with Journal(folder, site="ams-1", station="dock-1") as journal:
        yield StationJournal(journal, folder)


@pytest.fixture
def twin(tmp_path: Path, station: StationJournal) -> Iterator[StationJournal]:
    """Another journal under the same station key: what a restored or forged journal is."""
    folder = tmp_path / "twin"
    (folder / "keys").mkdir(parents=True)
    for name in ("station.key", "station.vkey"):
        shutil.copy2(station.folder / "keys" / name, folder / "keys" / name)
    with Journal(folder, site="ams-1", station="dock-1") as journal:
        yield StationJournal(journal, folder)
