"""Offline proofs: C2SP tlog-proof for one event, and a consistency proof between checkpoints.

Verifying needs only the station's verifier key, the proof file and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from edge.journal import merkle
from edge.journal.note import Checkpoint, NoteError, Verifier, open_checkpoint
from edge.journal.reader import JournalReader

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
CONSISTENCY_FORMAT = "edge.custody/consistency-proof@v1"


class ProofInvalid(ValueError):
    """The proof does not show what it claims."""


@dataclass(frozen=True)
class ProvenEvent:
    checkpoint: Checkpoint
    index: int
    event: dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ProofInvalid(f"{what} is not base64") from exc


def inclusion_proof_text(reader: JournalReader, seq: int, size: int | None = None) -> str:
    """A tlog-proof of event `seq` against the checkpoint at `size` (default: latest)."""
    held = reader.size()
    if not 1 <= seq <= held:
        raise merkle.ProofError(f"no event {seq} in this journal: {_range(held)}")
    checkpoint = reader.checkpoint_at(size) if size is not None else reader.latest_checkpoint()
    if size is not None and size < seq:
        raise merkle.ProofError(f"seq {seq} is not in the tree of size {size}: give a later --size")
    if checkpoint is None or checkpoint.size < seq:
        signed = checkpoint.size if checkpoint else 0
        raise merkle.ProofError(
            f"seq {seq} is not covered by a signed checkpoint yet (latest covers {signed}); "
            "the next checkpoint comes within seconds, or run `edge journal checkpoint`"
        )
    path = reader.inclusion_proof(seq, checkpoint.size)
    lines = [
        TLOG_PROOF_HEADER,
        # extra: the event's canonical bytes, so the verifier sees what was proven.
        f"extra {_b64(reader.canonical_body(seq))}",
        f"index {seq - 1}",
        *(_b64(h) for h in path),
    ]
    return "\n".join(lines) + "\n\n" + checkpoint.note


def _range(size: int) -> str:
    return f"it holds seq 1 to {size}" if size else "it holds no events yet"


def verify_inclusion_text(proof: str, verifier: Verifier, origin: str | None = None) -> ProvenEvent:
    head, sep, note = proof.partition("\n\n")
    if not sep:
        raise ProofInvalid("proof has no checkpoint after its hashes")
    lines = head.split("\n")
    if lines[0] != TLOG_PROOF_HEADER:
        raise ProofInvalid(f"not a {TLOG_PROOF_HEADER} proof")
    if len(lines) < 3 or not lines[1].startswith("extra "):
        raise ProofInvalid("proof carries no event (extra line)")
    body = _unb64(lines[1][len("extra ") :], "extra")
    match = re.fullmatch(r"index (0|[1-9][0-9]{0,18})", lines[2])
    if not match:
        raise ProofInvalid("proof has no valid index line")
    index = int(match.group(1))
    path = [_unb64(line, "proof hash") for line in lines[3:]]
    try:
        checkpoint = open_checkpoint(note, verifier, origin)
    except NoteError as exc:
        raise ProofInvalid(f"checkpoint: {exc}") from exc
    if not merkle.verify_inclusion(
        merkle.leaf_hash(body), index, checkpoint.size, path, checkpoint.root
    ):
        raise ProofInvalid(
            f"event is not at index {index} of the signed tree of size {checkpoint.size}"
        )
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise ProofInvalid("proven bytes are not a JSON event") from exc
    if not isinstance(event, dict) or event.get("seq") != index + 1:
        raise ProofInvalid("proven event's seq does not match its index")
    return ProvenEvent(checkpoint, index, event)


def consistency_proof_text(
    reader: JournalReader, old_size: int, new_size: int | None = None
) -> str:
    held = reader.size()
    for asked in (old_size, new_size):
        if asked is not None and not 1 <= asked <= held:
            raise merkle.ProofError(f"no tree of size {asked} in this journal: {_range(held)}")
    old = reader.checkpoint_at(old_size)
    new = reader.checkpoint_at(new_size) if new_size is not None else reader.latest_checkpoint()
    if new is None:
        raise merkle.ProofError("the journal has no signed checkpoint yet")
    proof = reader.consistency_proof(old.size, new.size)
    document = {
        "format": CONSISTENCY_FORMAT,
        "old": old.note,
        "new": new.note,
        "proof": [_b64(h) for h in proof],
    }
    return json.dumps(document, indent=2) + "\n"


def verify_consistency_text(
    proof: str, verifier: Verifier, origin: str | None = None
) -> tuple[Checkpoint, Checkpoint]:
    try:
        document = json.loads(proof)
        if document.get("format") != CONSISTENCY_FORMAT:
            raise ProofInvalid(f"not a {CONSISTENCY_FORMAT} document")
        old = open_checkpoint(document["old"], verifier, origin)
        new = open_checkpoint(document["new"], verifier, old.origin)
        path = [_unb64(h, "proof hash") for h in document["proof"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProofInvalid(f"malformed consistency proof: {exc}") from exc
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, path):
        raise ProofInvalid(
            f"the tree of size {new.size} does not extend the one of size {old.size}"
        )
    return old, new
