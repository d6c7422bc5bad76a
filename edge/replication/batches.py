"""What the replicator sends: consecutive journal events ending at a signed checkpoint."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from edge.journal.reader import JournalReader

MAX_BATCH_EVENTS = 500


@dataclass(frozen=True)
class OutgoingBatch:
    first: int
    last: int
    body: dict[str, Any]  # the ingest request's JSON
    bytes_: int  # of event bodies, for the progress and backlog figures

    def encoded(self) -> bytes:
        """The request body, encoded (off the event loop: a batch is up to ~1 MB)."""
        return orjson.dumps(self.body)


def next_batch(
    reader: JournalReader, held: int, max_events: int = MAX_BATCH_EVENTS
) -> OutgoingBatch | None:
    """Events held+1.. up to the largest checkpoint within `max_events` of them; None when no
    checkpoint covers the next event yet (the caller signs one, or waits for it)."""
    checkpoint = reader.last_checkpoint_within(held, held + max_events)
    if checkpoint is None:
        return None
    bodies = reader.bodies(held + 1, checkpoint.size)
    if not bodies or bodies[0][0] != held + 1 or bodies[-1][0] != checkpoint.size:
        raise RuntimeError(f"journal events {held + 1}..{checkpoint.size} are not all readable")
    events = [{"seq": seq, "body": base64.b64encode(body).decode()} for seq, body in bodies]
    return OutgoingBatch(
        held + 1,
        checkpoint.size,
        {"events": events, "checkpoint": checkpoint.note},
        sum(len(body) for _, body in bodies),
    )
