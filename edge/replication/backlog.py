"""The backlog: what the station holds that the upstream has not acknowledged yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edge.journal.reader import JournalReader


@dataclass(frozen=True)
class Backlog:
    events: int
    bytes: int
    oldest_ts: str | None  # of the first event not acknowledged
    oldest_age_s: float | None

    def as_json(self) -> dict[str, object]:
        return {
            "events": self.events,
            "bytes": self.bytes,
            "oldest_ts": self.oldest_ts,
            "oldest_age_s": self.oldest_age_s,
        }


def backlog(reader: JournalReader, upstream_size: int, now: datetime) -> Backlog:
    events, size_bytes, oldest = reader.unacknowledged(upstream_size)
    age = None
    if oldest is not None:
        age = max(0.0, round((now - datetime.fromisoformat(oldest)).total_seconds(), 1))
    return Backlog(events, size_bytes, oldest, age)
