"""What the replicator sends: consecutive journal events ending at a signed checkpoint."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from edge.journal.reader import JournalReader, StoredCheckpoint
from edge.limits import MAX_BATCH_EVENTS

BATCH_EVENTS = 500  # the profile's default `batch_events`


class BatchOutOfReach(Exception):
    """The next signed checkpoint is further than the upstream takes in one batch."""


@dataclass(frozen=True)
class OutgoingBatch:
    first: int
    last: int
    body: dict[str, Any]  # the ingest request's JSON
    bytes_: int  # of event bodies, for the progress and backlog figures

    def encoded(self) -> bytes:
        """The request body, encoded (off the event loop: a batch is up to ~1 MB)."""
        return orjson.dumps(self.body)


def batch_end(reader: JournalReader, held: int, max_events: int) -> StoredCheckpoint | None:
    """The checkpoint a batch after `held` ends on: the largest within `max_events`, else the
    largest within what the upstream takes (`MAX_BATCH_EVENTS`); None when nothing past `held`
    is signed yet. Checkpoints only ever appear past the journal's tail, so a None may be out
    of date a moment later, an answer never is."""
    within = reader.last_checkpoint_within(held, held + min(max_events, MAX_BATCH_EVENTS))
    if within is None and max_events < MAX_BATCH_EVENTS:
        within = reader.last_checkpoint_within(held, held + MAX_BATCH_EVENTS)
    if within is not None:
        return within
    if reader.last_checkpoint_within(held, 2**62) is None:
        return None
    nearest = min(c.size for c in reader.checkpoints() if c.size > held)
    raise BatchOutOfReach(
        f"the next signed checkpoint after seq {held} is at {nearest}, {nearest - held} events "
        f"away, but a batch holds at most {MAX_BATCH_EVENTS} events: the journal was signed too "
        "rarely (written by another tool?) and nothing past it can be sent until a person looks"
    )


def next_batch(
    reader: JournalReader, held: int, max_events: int = BATCH_EVENTS
) -> OutgoingBatch | None:
    """Events held+1.. up to the checkpoint `batch_end` picks; None when no checkpoint covers
    the next event yet (the caller signs one, or waits for it)."""
    checkpoint = batch_end(reader, held, max_events)
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
