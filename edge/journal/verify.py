"""Journal verification: recompute every hash, link, subtree and checkpoint; name the first bad."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from edge.journal import merkle
from edge.journal.blobs import BlobStore
from edge.journal.errors import JournalError
from edge.journal.events import CustodyEvent, canonical_bytes, format_ts
from edge.journal.note import NoteError, Verifier, open_checkpoint
from edge.journal.reader import JournalReader, StoredCheckpoint, event_from_row

Progress = Callable[[int, int], None]  # (events checked, total)


@dataclass(frozen=True)
class VerifyReport:
    events: int
    checkpoints: int
    blobs: int
    root: bytes
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Bad(Exception):
    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(problem)
        self.seq, self.problem = seq, problem


def _check_event(
    seq: int,
    columns: tuple[str, str, str, str],
    body: bytes,
    leaf: bytes,
    prev: str | None,
    site: str,
    station: str,
) -> CustodyEvent:
    if merkle.leaf_hash(body) != leaf:
        raise _Bad(seq, "event bytes do not hash to the stored hash (edited after it was written)")
    try:
        event = event_from_row(body, leaf)
    except (ValueError, ValidationError) as exc:
        raise _Bad(seq, f"event is not a valid custody event: {exc}") from exc
    if canonical_bytes(event.body()) != body:
        raise _Bad(seq, "event bytes are not in canonical (RFC 8785) form")
    if event.seq != seq:
        raise _Bad(seq, f"event says seq {event.seq} but is stored at seq {seq} (reordered)")
    if event.prev != prev:
        raise _Bad(seq, "event does not link to the previous event's hash (missing or reordered)")
    if (event.site, event.station) != (site, station):
        raise _Bad(seq, f"event belongs to {event.site}/{event.station}, not {site}/{station}")
    event_id, event_type, subject, ts = columns
    if (event_id, event_type, subject, ts) != (
        str(event.event_id),
        event.type.value,
        event.subject,
        format_ts(event.ts),
    ):
        raise _Bad(seq, "indexed columns differ from the hashed event")
    return event


def verify_journal(
    path: Path,
    *,
    verifier: Verifier | None = None,
    blobs: BlobStore | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Check everything; stop at the first problem. The verifier defaults to the journal's own
    key as recorded at creation; pass the key you trust to check against that instead."""
    with JournalReader(path) as reader:
        meta = reader.meta()
        if verifier is None:
            try:
                verifier = Verifier.parse(meta.verifier)
            except NoteError as exc:
                raise JournalError(
                    f"journal {path} records a malformed verifier key ({exc}); pass --vkey"
                ) from exc
        checkpoints = reader.checkpoints()
        total = reader.size()
        tree = merkle.CompactRange()
        prev: str | None = None
        blob_count = 0
        cp_index = 0
        expected = 1
        try:
            for seq, event_id, etype, subject, ts, body, leaf, nodes in reader.raw_rows():
                if seq != expected:
                    raise _Bad(expected, f"seq {expected} is missing (next stored is {seq})")
                event = _check_event(
                    seq, (event_id, etype, subject, ts), body, leaf, prev, meta.site, meta.station
                )
                if blobs is not None:
                    for sha256 in event.attachments:
                        if not blobs.matches(sha256):
                            raise _Bad(seq, f"attachment {sha256} is missing or altered")
                        blob_count += 1
                if b"".join(tree.append(leaf)) != nodes:
                    raise _Bad(seq, "stored subtree hashes differ from recomputed ones")
                prev, expected = leaf.hex(), seq + 1
                while cp_index < len(checkpoints) and checkpoints[cp_index].size == seq:
                    _check_checkpoint(checkpoints[cp_index], tree.root(), verifier, meta.origin)
                    cp_index += 1
                if progress is not None and (seq % 1000 == 0 or seq == total):
                    progress(seq, total)
            if cp_index < len(checkpoints):
                cp = checkpoints[cp_index]
                raise _Bad(
                    tree.size + 1, f"checkpoint at size {cp.size} covers events that are gone"
                )
        except _Bad as bad:
            return VerifyReport(tree.size, cp_index, blob_count, tree.root(), bad.seq, bad.problem)
        except JournalError as exc:
            return VerifyReport(tree.size, cp_index, blob_count, tree.root(), expected, str(exc))
        return VerifyReport(tree.size, cp_index, blob_count, tree.root())


def _check_checkpoint(cp: StoredCheckpoint, root: bytes, verifier: Verifier, origin: str) -> None:
    try:
        body = open_checkpoint(cp.note, verifier, origin)
    except NoteError as exc:
        raise _Bad(cp.size, f"checkpoint at size {cp.size} does not verify: {exc}") from exc
    if body.size != cp.size or body.root != cp.root:
        raise _Bad(cp.size, f"checkpoint row at size {cp.size} differs from its signed note")
    if body.root != root:
        raise _Bad(cp.size, f"signed root at size {cp.size} differs from the recomputed tree")
