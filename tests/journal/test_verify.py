"""Tampering behind the journal's back (triggers dropped first): verify names the first bad seq."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from edge.journal import BlobStore, EventDraft, Journal, Signer, verify_journal
from edge.journal.merkle import leaf_hash
from edge.journal.note import Checkpoint, sign_checkpoint
from tests.conftest import draft

EVENTS = 150


@pytest.fixture
def filled(station_dir: Path) -> Path:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        for i in range(EVENTS):
            journal.append(draft(subject=f"RET-{i:06d}", i=i))
    return station_dir


def tamper(station_dir: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(station_dir / "journal.db", isolation_level=None)
    for trigger in ("events_no_update", "events_no_delete", "events_gap_free",
                    "checkpoints_grow", "checkpoints_no_delete"):  # fmt: skip
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return conn


def body_of(conn: sqlite3.Connection, seq: int) -> dict[str, object]:
    return json.loads(conn.execute("SELECT body FROM events WHERE seq = ?", (seq,)).fetchone()[0])


def test_an_untouched_journal_verifies(filled: Path) -> None:
    report = verify_journal(filled / "journal.db")
    assert report.ok and report.events == EVENTS and report.checkpoints >= 2


def test_edited_payload_is_named(filled: Path) -> None:
    conn = tamper(filled)
    body = body_of(conn, 37)
    body["payload"] = {"i": 1037}
    conn.execute("UPDATE events SET body = ? WHERE seq = 37", (json.dumps(body).encode(),))
    report = verify_journal(filled / "journal.db")
    assert (report.first_bad_seq, report.events) == (37, 36)
    assert "do not hash" in (report.problem or "")


def test_edit_with_recomputed_hash_breaks_the_link(filled: Path) -> None:
    import rfc8785

    conn = tamper(filled)
    body = body_of(conn, 37)
    body["subject"] = "RET-forged"
    data = rfc8785.dumps(body)
    conn.execute(
        "UPDATE events SET body = ?, hash = ?, subject = 'RET-forged' WHERE seq = 37",
        (data, leaf_hash(data)),
    )
    report = verify_journal(filled / "journal.db")
    # seq 37 alone looks self-consistent; its successor no longer links to it.
    assert report.first_bad_seq == 38
    assert "does not link" in (report.problem or "")


def test_deleted_event_is_named(filled: Path) -> None:
    tamper(filled).execute("DELETE FROM events WHERE seq = 90")
    report = verify_journal(filled / "journal.db")
    assert report.first_bad_seq == 90 and "missing" in (report.problem or "")


def test_deleted_tail_is_caught_by_the_checkpoints(filled: Path) -> None:
    tamper(filled).execute(f"DELETE FROM events WHERE seq > {EVENTS - 10}")
    report = verify_journal(filled / "journal.db")
    assert report.first_bad_seq == EVENTS - 9 and "gone" in (report.problem or "")


def test_reordered_events_are_named(filled: Path) -> None:
    conn = tamper(filled)
    rows = {
        seq: conn.execute(
            "SELECT event_id, type, subject, ts, body, hash, nodes FROM events WHERE seq = ?",
            (seq,),
        ).fetchone()
        for seq in (20, 21)
    }
    conn.execute("DELETE FROM events WHERE seq IN (20, 21)")
    conn.execute("INSERT INTO events VALUES (20, ?, ?, ?, ?, ?, ?, ?)", rows[21])
    conn.execute("INSERT INTO events VALUES (21, ?, ?, ?, ?, ?, ?, ?)", rows[20])
    report = verify_journal(filled / "journal.db")
    assert report.first_bad_seq == 20 and "reordered" in (report.problem or "")


def test_checkpoint_signed_by_another_key_is_refused(filled: Path) -> None:
    conn = tamper(filled)
    last_size = conn.execute("SELECT max(size) FROM checkpoints").fetchone()[0]
    assert last_size == EVENTS
    conn.execute("DELETE FROM checkpoints WHERE size = ?", (last_size,))
    intruder = Signer.generate("ams-1/dock-1")
    # A well-formed checkpoint at a size the log has, signed with a key that is not the station's.
    from edge.journal.reader import JournalReader

    true_root = JournalReader(filled / "journal.db").root_at(EVENTS)
    note = sign_checkpoint(Checkpoint("ams-1/dock-1", EVENTS, true_root), intruder)
    conn.execute("INSERT INTO checkpoints VALUES (?, ?, ?, 'x')", (EVENTS, true_root, note))
    report = verify_journal(filled / "journal.db")
    assert report.first_bad_seq == EVENTS and "does not verify" in (report.problem or "")


def test_verifying_against_a_key_you_trust_refuses_a_journal_signed_by_another(
    filled: Path,
) -> None:
    other = Signer.generate("ams-1/dock-1").verifier
    report = verify_journal(filled / "journal.db", verifier=other)
    assert not report.ok and "does not verify" in (report.problem or "")


def test_altered_blob_is_named(station_dir: Path) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        journal.append(draft())
        sha = journal.blobs.put(b"evidence photo bytes")
        journal.append(
            EventDraft(type="photo.captured", subject="RET-1", operator="op-1", attachments=(sha,))
        )
    blobs = BlobStore(station_dir / "blobs")
    assert verify_journal(station_dir / "journal.db", blobs=blobs).ok
    blobs.path(sha).write_bytes(b"evidence photo bytes, retouched")
    report = verify_journal(station_dir / "journal.db", blobs=blobs)
    assert report.first_bad_seq == 2 and sha in (report.problem or "")


def test_a_body_that_is_not_an_event_is_named_not_a_crash(filled: Path) -> None:
    conn = tamper(filled)
    conn.execute("UPDATE events SET body = '[]', hash = ? WHERE seq = 12", (leaf_hash(b"[]"),))
    report = verify_journal(filled / "journal.db")
    assert report.first_bad_seq == 12 and "not a valid custody event" in (report.problem or "")
