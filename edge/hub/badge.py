"""The verify badge of a custody timeline: is every event the journal shows provably the one
the station signed?

Each event's bytes must hash to its stored leaf, and each event under the latest signed
checkpoint must have a valid inclusion proof against that checkpoint's signed root. Events after
it are "pending" until the next checkpoint (seconds away), never "verified".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from edge.journal import JournalReader, Verifier, merkle
from edge.journal.note import NoteError, open_checkpoint

BadgeState = Literal["verified", "pending", "failed", "empty"]


@dataclass(frozen=True)
class Badge:
    state: BadgeState
    checked: int
    checkpoint_size: int
    message: str
    first_bad_seq: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "checked": self.checked,
            "checkpoint_size": self.checkpoint_size,
            "message": self.message,
            "first_bad_seq": self.first_bad_seq,
        }


def verify_badge(
    reader: JournalReader, seqs: Sequence[int], verifier: Verifier, origin: str
) -> Badge:
    if not seqs:
        return Badge("empty", 0, 0, "no custody events yet")
    latest = reader.latest_checkpoint()
    size, root = 0, b""
    if latest is not None:
        try:
            body = open_checkpoint(latest.note, verifier, origin)
        except NoteError as exc:
            return Badge("failed", 0, latest.size, f"latest checkpoint: {exc}", latest.size)
        size, root = body.size, body.root
    pending = 0
    for seq in sorted(seqs):
        leaf = merkle.leaf_hash(reader.canonical_body(seq))
        stored = reader.event(seq).hash
        if leaf.hex() != stored:
            return Badge("failed", seq - 1, size, f"event {seq} does not hash to its leaf", seq)
        if seq > size:
            pending += 1
            continue
        path = reader.inclusion_proof(seq, size)
        if not merkle.verify_inclusion(leaf, seq - 1, size, path, root):
            return Badge("failed", seq - 1, size, f"event {seq} is not in the signed tree", seq)
    if pending:
        return Badge(
            "pending",
            len(seqs),
            size,
            f"{pending} newest event(s) await the next signed checkpoint",
        )
    return Badge("verified", len(seqs), size, f"all {len(seqs)} events proven in checkpoint {size}")
