"""A station journal holding an event the upstream refuses, written straight into its SQLite
file with the station's own key: consistent, signed, so the journal opens and the hub runs,
whatever the journal's own entry checks would say about the event today."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uuid6

from edge.journal import JOURNAL_FILE, JournalReader, merkle
from edge.journal.events import EVENT_VERSION, event_bytes, format_ts
from edge.journal.keys import SIGNER_FILE, load_signer
from edge.journal.note import Checkpoint, sign_note


def forge_signed_event(data_dir: Path, type_: str, subject: str, payload: dict[str, Any]) -> int:
    """Append one event and a checkpoint over it, as the journal's writer would; its seq."""
    path = data_dir / JOURNAL_FILE
    tree, prev = merkle.CompactRange(), None
    with JournalReader(path) as reader:
        meta = reader.meta()
        for _, leaf, _ in reader.leaf_rows():
            tree.append(leaf)
            prev = leaf.hex()
    signer = load_signer(data_dir / "keys" / SIGNER_FILE, meta.origin)
    seq, ts = tree.size + 1, format_ts(datetime.now(UTC))
    body = {
        "v": EVENT_VERSION,
        "seq": seq,
        "event_id": str(uuid6.uuid7()),
        "type": type_,
        "subject": subject,
        "operator": "olga",
        "station": meta.station,
        "site": meta.site,
        "ts": ts,
        "clock": "synced",
        "payload": payload,
        "attachments": [],
        "prev": prev,
    }
    data = event_bytes(body, plain=True)
    leaf = merkle.leaf_hash(data)
    nodes = b"".join(tree.append(leaf))
    note = sign_note(Checkpoint(meta.origin, seq, tree.root()).text(), signer)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, body["event_id"], type_, subject, ts, data, leaf, nodes),
        )
        conn.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?)", (seq, tree.root(), note, ts))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return seq
